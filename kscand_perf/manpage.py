"""Manual pages of the commands, written from their argument parsers (one source of truth).

kscand-perf(1), and one page per command of the product: kscand-perf-report(1),
kscand-perf-record(1), kscand-perf-compare(1), kscand-perf-merge(1); kscand-record(1)
points at kscand-perf-record(1). Each page has NAME, SYNOPSIS, DESCRIPTION (the
command's description and the text of its epilog), OPTIONS (every option of --help, by
group), EXAMPLES (the epilog's examples), EXIT STATUS and SEE ALSO.

``python3 -m kscand_perf.manpage DIR`` writes them into DIR (make install, the .deb's
build). The date is $SOURCE_DATE_EPOCH's when set (reproducible builds), else today's.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from . import __version__, cli
from .argparsing import Parser
from .errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE

SECTION = "1"
MANUAL = "kscand-perf manual"
# Exit status of each command, beyond 0 for success. (status, meaning)
EXIT_STATUS: Dict[str, List[Tuple[str, str]]] = {
    "report": [
        ("0", "the report was written"),
        (str(EXIT_FAILURE), "the recording is damaged or truncated (the report of what was "
                            "read is written, and a warning says at which byte and why "
                            "reading stopped), or the report could not be written"),
        (str(EXIT_USAGE), "bad arguments, or an input that cannot be used as given; with "
                          "--strict also when the report found something a test pipeline "
                          "should stop on (the report is written, and one line on standard "
                          "error says what)"),
    ],
    "record": [
        ("0", "recorded; otherwise perf record's own status (e.g. the workload's)"),
        (str(EXIT_FAILURE), "nothing could be recorded: events missing from this kernel, "
                            "perf or /proc/vmstat unusable"),
        (str(EXIT_USAGE), "bad arguments"),
    ],
    "compare": [
        ("0", "the comparison was written"),
        (str(EXIT_FAILURE), "the comparison could not be written"),
        (str(EXIT_USAGE), "bad arguments, or a file that is not a report written with "
                          "--json"),
    ],
    "merge": [
        ("0", "the merged report was written"),
        (str(EXIT_FAILURE), "the merged report could not be written"),
        (str(EXIT_USAGE), "bad arguments, or reports that cannot be merged"),
    ],
}
COMMON_EXIT = [(str(EXIT_INTERRUPTED), "interrupted (Ctrl-C)")]
SEE_ALSO_PERF = ["perf-record(1)", "perf-script(1)", "perf-script-python(1)"]
# Commands of the product that have a program of their own besides kscand-perf COMMAND.
ALIASES = {"record": "kscand-record"}


def product_commands() -> List[Tuple[str, str, str]]:
    """(name, module, help) of the commands that are installed (not the test machinery)."""
    return [c for c in cli.COMMANDS if c[1].startswith("kscand_perf.")]


def command_parser(name: str) -> Tuple[argparse.ArgumentParser, str]:
    """The parser of ``kscand-perf NAME``, as it runs, and the command's epilog."""
    module_name = next(c[1] for c in cli.COMMANDS if c[0] == name)
    module = importlib.import_module(module_name)
    parser = Parser(prog="%s %s" % (cli.PROG, name), description=module.DESCRIPTION,
                    epilog=module.EPILOG)
    module.set_argparser(parser)
    return parser, str(module.EPILOG)


def main_parser() -> argparse.ArgumentParser:
    return cli.build_parser(())


# -- roff ------------------------------------------------------------------------------

def esc(text: str) -> str:
    """``text`` for roff: backslashes and minus signs escaped, no control character at
    the start of a line."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + ln) if ln[:1] in (".", "'") else ln for ln in out.split("\n"))


def paragraphs(text: str) -> List[str]:
    """``text`` as roff: blocks separated by blank lines; a block with an indented line is
    kept as it is (.nf), others are filled."""
    out: List[str] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = block.rstrip().split("\n")
        if not block.strip():
            continue
        if any(ln[:1].isspace() for ln in lines):
            body = "\n".join(ln.rstrip() for ln in lines)
            out.append(".PP\n.nf\n%s\n.fi" % esc(_dedent(body)))
        else:
            out.append(".PP\n%s" % esc(" ".join(ln.strip() for ln in lines)))
    return out


def _dedent(text: str) -> str:
    lines = text.split("\n")
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(ln[indent:] for ln in lines)


def split_epilog(epilog: str) -> Tuple[List[str], str]:
    """The example lines of an epilog (the indented lines after ``examples:``, up to a
    blank or unindented line; dedented) and the rest of its text."""
    examples: List[str] = []
    rest: List[str] = []
    in_examples = False
    for line in epilog.split("\n"):
        if line.strip().lower() == "examples:":
            in_examples = True
        elif in_examples and line[:1].isspace() and line.strip():
            examples.append(line)
        else:
            in_examples = False
            rest.append(line)
    return _dedent("\n".join(examples)).split("\n") if examples else [], \
        "\n".join(rest).strip("\n")


def option_heading(action: argparse.Action) -> str:
    """``\\fB\\-i\\fR, \\fB\\-\\-input\\fR \\fIFILE\\fR`` for an option, the metavar for a
    positional argument."""
    metavar = _metavar(action)
    if not action.option_strings:
        return "\\fI%s\\fR" % esc(metavar)
    names = ", ".join("\\fB%s\\fR" % esc(o) for o in action.option_strings)
    if action.nargs == 0:
        return names
    if isinstance(action.metavar, tuple):
        return names + " " + " ".join("\\fI%s\\fR" % esc(m) for m in action.metavar)
    return names + " \\fI%s\\fR" % esc(metavar)


def _metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, tuple):
        return " ".join(action.metavar)
    if action.metavar is not None:
        return str(action.metavar)
    if action.choices is not None:
        return "{%s}" % ",".join(str(c) for c in action.choices)
    return action.dest.upper() if action.option_strings else action.dest


def options_section(parser: argparse.ArgumentParser) -> List[str]:
    formatter = parser._get_formatter()
    out: List[str] = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS
                   and not isinstance(a, argparse._SubParsersAction)]
        if not actions:
            continue
        title = group.title or "options"
        if title in ("positional arguments", "options", "optional arguments"):
            title = "arguments" if title.startswith("positional") else "options"
        out.append(".SS %s" % esc(title[:1].upper() + title[1:]))
        for action in actions:
            help_text = formatter._expand_help(action) if action.help else ""
            if action.choices is not None and action.metavar is not None:
                help_text += " (one of: %s)" % ", ".join(str(c) for c in action.choices)
            out.append(".TP\n%s\n%s" % (option_heading(action), esc(" ".join(
                help_text.split()))))
    return out


def synopsis(parser: argparse.ArgumentParser) -> str:
    usage = parser.format_usage().strip()
    usage = re.sub(r"^usage:\s*", "", usage)
    return esc(" ".join(usage.split()))


def exit_section(statuses: Sequence[Tuple[str, str]]) -> List[str]:
    return [".TP\n.B %s\n%s" % (code, esc(meaning)) for code, meaning in statuses]


def header(name: str, summary: str, date: str) -> List[str]:
    return ['.\\" Generated from the argument parsers by kscand_perf/manpage.py: do not edit.',
            '.TH "%s" "%s" "%s" "kscand-perf %s" "%s"' % (
                esc(name.upper()), SECTION, date, esc(__version__), MANUAL),
            ".SH NAME", "%s \\- %s" % (esc(name), esc(summary))]


def see_also(pages: Sequence[str]) -> List[str]:
    refs = []
    for page in pages:
        m = re.match(r"(.+)\((\d)\)$", page)
        assert m is not None, page
        refs.append("\\fB%s\\fR(%s)" % (esc(m.group(1)), m.group(2)))
    return [".SH SEE ALSO", ",\n".join(refs)]


def page_name(command: str) -> str:
    return "%s-%s" % (cli.PROG, command)


def command_page(name: str, summary: str, date: str) -> str:
    summary = re.sub(r"\s*\(as bin/[^)]*\)", "", summary)  # (a checkout's name of it)
    parser, epilog = command_parser(name)
    examples, rest = split_epilog(epilog)
    lines = header(page_name(name), summary, date)
    lines += [".SH SYNOPSIS", synopsis(parser)]
    alias = ALIASES.get(name)
    lines += [".SH DESCRIPTION"] + paragraphs(parser.description or "")
    if alias:
        lines += [".PP", "\\fB%s\\fR is the same command under its own name." % esc(alias)]
    lines += paragraphs(rest) if rest else []
    lines += [".SH OPTIONS"] + options_section(parser)
    if examples:
        lines += [".SH EXAMPLES", ".nf", esc("\n".join(examples)), ".fi"]
    lines += [".SH EXIT STATUS"] + exit_section(EXIT_STATUS.get(name, []) + COMMON_EXIT)
    others = ["%s(1)" % page_name(c[0]) for c in product_commands() if c[0] != name]
    lines += see_also(["%s(1)" % cli.PROG] + others + SEE_ALSO_PERF)
    return "\n".join(lines) + "\n"


def main_page(date: str) -> str:
    parser = main_parser()
    lines = header(cli.PROG, "reports on perf recordings of kscand, the slow-tier page "
                   "promotion thread", date)
    lines += [".SH SYNOPSIS", ".nf", esc("%s COMMAND [OPTIONS]" % cli.PROG),
              esc("%s [-h] [--version]" % cli.PROG), ".fi"]
    lines += [".SH DESCRIPTION"] + paragraphs(parser.description or "")
    lines += [".PP", esc("kscand is a proposed Linux kernel thread that walks page tables to "
                         "find accessed pages on slow memory tiers; kmigrated promotes them. "
                         "Its tracepoints kmem:kmem_mm_enter, kmem_mm_exit, "
                         "kmem_scan_mm_start, kmem_scan_mm_end and kmem_scan_mm_migrate, "
                         "recorded with perf, are what the commands read."),
              ".SH COMMANDS"]
    for name, _module, help_text in product_commands():
        lines.append(".TP\n\\fB%s\\fR(1)\n%s" % (esc(page_name(name)), esc(help_text)))
    lines += [".SH OPTIONS", ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow the commands and exit",
              ".TP\n\\fB\\-\\-version\\fR\nshow the version and exit",
              ".SH THE PERF SCRIPT",
              ".PP", esc("The same report runs inside perf: where the package is installed "
                         "with perf's scripts, perf script -l lists kscand-report."),
              ".PP", ".nf",
              esc("perf script record kscand-report -- ./workload\n"
                  "perf script report kscand-report [-- OPTIONS]\n"
                  "perf script -s kscand_report.py -i perf.data [-- OPTIONS]"), ".fi",
              ".SH EXAMPLES", ".nf",
              esc("kscand-record -o run.data -- ./workload\n"
                  "kscand-perf report -i run.data\n"
                  "kscand-perf report -i run.data --json > run.json\n"
                  "kscand-perf compare a.json b.json\n"
                  "kscand-perf merge host1.json host2.json"), ".fi",
              ".SH EXIT STATUS", ".PP",
              "The status of the command; %s for bad arguments, %s when interrupted."
              % (EXIT_USAGE, EXIT_INTERRUPTED)]
    lines += see_also(["%s(1)" % page_name(c[0]) for c in product_commands()]
                      + ["kscand-record(1)"] + SEE_ALSO_PERF)
    return "\n".join(lines) + "\n"


def pages(date: Optional[str] = None) -> Dict[str, str]:
    """File name -> text of every page."""
    date = date or build_date()
    out = {"%s.%s" % (cli.PROG, SECTION): main_page(date)}
    for name, _module, help_text in product_commands():
        out["%s.%s" % (page_name(name), SECTION)] = command_page(name, help_text, date)
    for command, alias in ALIASES.items():
        out["%s.%s" % (alias, SECTION)] = ".so man%s/%s.%s\n" % (SECTION, page_name(command),
                                                                 SECTION)
    return out


def build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
            if epoch and epoch.isdigit() else datetime.datetime.now(datetime.timezone.utc))
    return when.strftime("%Y-%m-%d")


def write(folder: str) -> List[str]:
    os.makedirs(folder, exist_ok=True)
    written = []
    for name, text in sorted(pages().items()):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(path)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write("usage: python3 -m kscand_perf.manpage DIR\n")
        return EXIT_USAGE
    write(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
