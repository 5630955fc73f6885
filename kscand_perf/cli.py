"""``kscand-perf COMMAND ...``: the one entry point of every command.

Each command is a module with ``DESCRIPTION``, ``EPILOG``,
``set_argparser(parser)`` and ``main(args) -> int``, registered in
:data:`COMMANDS`. A command raises :class:`~kscand_perf.errors.UsageError`
(exit 2) or :class:`~kscand_perf.errors.CommandError` (exit 1); this module
turns either into one line on stderr, never a traceback. Adding a command:
write its module and add one line to the table.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import sys
from typing import Callable, List, Optional, Sequence, Tuple

from .argparsing import Parser
from .errors import EXIT_INTERRUPTED, EXIT_USAGE, CommandError, UsageError, one_line

PROG = "kscand-perf"

# (command, module, one-line help). Only the module of the command that runs is imported
# (the others' cost no start-up time). Commands of the test machinery (kscand_testkit:
# present in a checkout, never installed) are offered only where their package is.
COMMANDS: Tuple[Tuple[str, str, str], ...] = (
    ("report", "kscand_perf.cmd_report", "report on a perf.data recording without perf"),
    ("record", "kscand_perf.record", "record the kscand events with perf, and the kernel's "
                                     "counters around them (as bin/kscand-record)"),
    ("compare", "kscand_perf.cmd_compare", "two JSON reports side by side, with absolute and "
                                           "relative differences"),
    ("merge", "kscand_perf.cmd_merge", "many JSON reports (machines, recordings, parts of "
                                       "one) as one report"),
    ("synth", "kscand_testkit.synth_cmd", "write a simulated kscand trace (perf.data) and "
                                          "its ground truth"),
)
_TESTKIT = "kscand_testkit."


def available_commands() -> List[Tuple[str, str, str]]:
    """The commands that can run here, in table order."""
    have_testkit = importlib.util.find_spec(_TESTKIT[:-1]) is not None
    return [c for c in COMMANDS if have_testkit or not c[1].startswith(_TESTKIT)]


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the options of the command ``argv`` names (its first word)."""
    parser = Parser(prog=PROG, description="Analyse traces of the kscand tracepoints "
                                           "(kmem_mm_*, kmem_scan_mm_*) with or without perf.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, module_name, help_text in available_commands():
        if name != chosen:
            subparsers.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        p = subparsers.add_parser(name, help=help_text, description=module.DESCRIPTION,
                                  epilog=module.EPILOG, prog="%s %s" % (PROG, name))
        module.set_argparser(p)
        p.set_defaults(run=module.main)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command in ``argv`` (default sys.argv[1:]); return the exit status."""
    args_list: List[str] = list(sys.argv[1:] if argv is None else argv)
    if not args_list:  # no command: the commands there are to run, then the error line
        try:
            sys.stderr.write(build_parser().format_help() + "\n")
        except (OSError, ValueError):
            pass
        error_line(PROG, args_list, UsageError("a COMMAND is needed (kscand-perf COMMAND -h "
                                               "shows its options)"))
        return EXIT_USAGE

    def run() -> int:
        args = build_parser(args_list).parse_args(args_list)
        return int(args.run(args))
    return _guarded(run, PROG, args_list)


def at_process_end() -> None:
    """For the command-line entry points only, after :func:`main` and just before the
    process exits: the objects still alive are frozen (gc.freeze), so that the
    interpreter's teardown does not walk and collect them first (0.02 s of the report on
    a 1M-event recording). Not for callers that go on (the tests call main() in their
    own process): a frozen object is never collected."""
    gc.freeze()


def _guarded(run: Callable[[], int], prog: str, argv: Sequence[str]) -> int:
    """``run()``'s status; a UsageError or CommandError as one line on stderr and its
    status, never a traceback."""
    try:
        return run()
    except (UsageError, CommandError) as e:
        error_line(prog, argv, e)
        return e.exit_status
    except SystemExit as e:           # --help, --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % prog)
        return EXIT_INTERRUPTED


def error_line(prog: str, argv: Sequence[str], e: BaseException) -> None:
    """Print ``e`` as ``PROG[ COMMAND]: error: MESSAGE`` on one line."""
    line = one_line(e)
    names = {c[0] for c in COMMANDS}
    command = next((a for a in argv if not a.startswith("-")), "")
    prefix = "%s %s" % (prog, command) if command in names else prog
    for known in (prefix, prog):
        if line.startswith(known + ": "):
            prefix, line = known, line[len(known) + 2:]
            break
    try:
        sys.stderr.write("%s: error: %s\n" % (prefix, line))
    except (OSError, ValueError):
        pass


def run_command(name: str, argv: Optional[Sequence[str]] = None,
                prog: Optional[str] = None) -> int:
    """Run one command as a program of its own (bin/kscand-record, bin/kscand-report):
    the same parser and errors as ``kscand-perf NAME``, named ``prog``."""
    args_list: List[str] = list(sys.argv[1:] if argv is None else argv)
    name_prog = prog or "%s %s" % (PROG, name)

    def run() -> int:
        module = importlib.import_module(next(c[1] for c in COMMANDS if c[0] == name))
        parser = Parser(prog=name_prog, description=module.DESCRIPTION,
                        epilog=module.EPILOG)
        module.set_argparser(parser)
        return int(module.main(parser.parse_args(args_list)))
    return _guarded(run, name_prog, [])
