"""The two ways a command fails, and the exit status of each.

Every command of the project raises one of these and its entry point turns it
into one line on stderr and the status below: never a traceback.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Iterable

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad arguments or an input that cannot be used as given: exit status 2."""

    exit_status = EXIT_USAGE


class CommandError(Exception):
    """The command could not do its work (a write failed, perf failed): exit status 1."""

    exit_status = EXIT_FAILURE


def one_line(e: BaseException) -> str:
    """``e``'s message folded onto one line (its class name when it has none)."""
    return " ".join(str(e).split()) or type(e).__name__


def quiet_stdout() -> None:
    """After a failed write to stdout (EPIPE, ENOSPC): point it at /dev/null, so the
    interpreter's last flush cannot fail again and print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def stdin_is_fifo() -> bool:
    """Whether standard input is a pipe (perf script reads one when no input is named)."""
    try:
        return stat.S_ISFIFO(os.fstat(0).st_mode)
    except (OSError, ValueError):
        return False


def write_stdout(pieces: Iterable[str], what: str = "the report") -> int:
    """Write ``pieces`` to stdout as they come (a long JSON never sits whole in memory);
    a failed write (the reader went away, a full disk) is a CommandError. Returns 0."""
    try:
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
    except OSError as e:
        quiet_stdout()
        raise CommandError("cannot write %s: %s" % (what, e.strerror or e)) from None
    return 0


# What an Analyzer method raises for data it cannot use (a field of the wrong type, an
# impossible value), having changed nothing: the front end counts the event as bad. Any
# other exception is a bug of the analysis, and the front ends let it raise.
BAD_DATA = (TypeError, ValueError)
