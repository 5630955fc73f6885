"""The two ways a command fails, and the exit status of each.

Every command of the project raises one of these and its entry point turns it
into one line on stderr and the status below: never a traceback.
"""

from __future__ import annotations

import os
import sys

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
