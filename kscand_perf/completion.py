"""Bash completion of kscand-perf and kscand-record, written from their argument parsers.

Completes the commands, each command's options, the values of options with choices
(``--via``), folders for DIR options, files for the others that take a file and for
positional arguments, and the workload after kscand-record's ``--`` (a command, then
files). Options that take numbers or patterns get no completion.

``python3 -m kscand_perf.completion FILE`` writes the script (make install, the .deb's
build); bash-completion loads it as ``completions/kscand-perf`` and, through a link,
``completions/kscand-record``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from . import cli
from .manpage import ALIASES, command_parser, product_commands

# metavars whose values are folders, and those whose values are files
DIR_METAVARS = {"DIR"}
FILE_METAVARS = {"FILE", "FILE|-", "OUT", "BEFORE", "AFTER", "PATH", "A.json", "B.json",
                 "REPORT.json"}


def option_kinds(parser: argparse.ArgumentParser) -> Tuple[List[str], Dict[str, str]]:
    """Every option string of ``parser`` (as --help shows them) and, for those that take
    a value, how to complete it: ``dirs``, ``files``, ``words:A B C`` or ``none``."""
    names: List[str] = []
    kinds: Dict[str, str] = {}
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        names += action.option_strings
        if action.nargs == 0:
            continue
        if action.choices is not None:
            kind = "words:" + " ".join(str(c) for c in action.choices)
        else:
            metavar = action.metavar
            first = metavar[0] if isinstance(metavar, tuple) else metavar
            kind = "dirs" if first in DIR_METAVARS else \
                "files" if first in FILE_METAVARS else "none"
        for option in action.option_strings:
            kinds[option] = kind
    return names, kinds


def _case_values(kinds: Dict[str, str], indent: str) -> List[str]:
    """bash case arms completing the value after an option (``$prev``)."""
    by_kind: Dict[str, List[str]] = {}
    for option, kind in sorted(kinds.items()):
        by_kind.setdefault(kind, []).append(option)
    out = []
    for kind, options in sorted(by_kind.items()):
        pattern = "|".join(options)
        if kind == "dirs":
            action = '_kscand_perf_files -d "$cur"'
        elif kind == "files":
            action = '_kscand_perf_files -f "$cur"'
        elif kind.startswith("words:"):
            action = '_kscand_perf_reply "$(compgen -W "%s" -- "$cur")"' % kind[6:]
        else:
            action = "COMPREPLY=()"
        out.append("%s%s) %s; return ;;" % (indent, pattern, action))
    return out


def script() -> str:
    top = cli.build_parser(())
    top_names, _ = option_kinds(top)
    commands = [c[0] for c in product_commands()]
    lines = [
        "# bash completion for kscand-perf and kscand-record.",
        "# Generated from the argument parsers by kscand_perf/completion.py: do not edit.",
        "",
        "_kscand_perf_reply() {   # _kscand_perf_reply WORDS: one reply per line of WORDS",
        "    COMPREPLY=()",
        '    [[ -n $1 ]] && mapfile -t COMPREPLY <<<"$1"',
        "    return 0",
        "}",
        "",
        "_kscand_perf_files() {   # _kscand_perf_files -f|-d WORD: files or folders",
        "    compopt -o filenames 2>/dev/null",
        '    _kscand_perf_reply "$(compgen "$1" -- "$2")"',
        "}",
        "",
        "# _kscand_perf_command COMMAND FIRST: complete the word under the cursor for",
        "# COMMAND's options and arguments, its own words starting at index FIRST",
        "_kscand_perf_command() {",
        "    local command=$1 first=$2 cur prev i",
        "    cur=${COMP_WORDS[COMP_CWORD]}",
        "    prev=${COMP_WORDS[COMP_CWORD-1]}",
        "    for ((i = first; i < COMP_CWORD; i++)); do",
        '        if [[ ${COMP_WORDS[i]} == -- ]]; then',
        "            # after --: a workload, a command then its files",
        "            if ((i + 1 == COMP_CWORD)); then",
        '                _kscand_perf_reply "$(compgen -c -- "$cur" | sort -u)"',
        "            else",
        '                _kscand_perf_files -f "$cur"',
        "            fi",
        "            return",
        "        fi",
        "    done",
        "    if ((COMP_CWORD > first)); then",
        '        case "$command:$prev" in',
    ]
    options: Dict[str, List[str]] = {}
    for name in commands:
        parser, _ = command_parser(name)
        names, kinds = option_kinds(parser)
        options[name] = names
        lines += _case_values({"%s:%s" % (name, o): k for o, k in kinds.items()}, " " * 8)
    lines += [
        "        esac",
        "    fi",
        "    local opts",
        '    case "$command" in',
    ]
    for name in commands:
        lines.append('    %s) opts="%s" ;;' % (name, " ".join(options[name])))
    lines += [
        "    esac",
        '    if [[ $cur == -* ]]; then',
        '        _kscand_perf_reply "$(compgen -W "$opts" -- "$cur")"',
        "    else",
        '        _kscand_perf_files -f "$cur"',
        "    fi",
        "}",
        "",
        "_kscand_perf() {",
        "    local i",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        "        -*) ;;",
        '        *) _kscand_perf_command "${COMP_WORDS[i]}" $((i + 1)); return ;;',
        "        esac",
        "    done",
        '    _kscand_perf_reply "$(compgen -W "%s" -- "${COMP_WORDS[COMP_CWORD]}")"'
        % " ".join(commands + top_names),
        "}",
        "complete -F _kscand_perf kscand-perf",
        "",
    ]
    for command, alias in sorted(ALIASES.items()):
        func = "_" + alias.replace("-", "_")
        lines += ["%s() {" % func, "    _kscand_perf_command %s 1" % command, "}",
                  "complete -F %s %s" % (func, alias)]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write("usage: python3 -m kscand_perf.completion FILE\n")
        return 2
    with open(args[0], "w", encoding="utf-8") as f:
        f.write(script())
    return 0


if __name__ == "__main__":
    sys.exit(main())
