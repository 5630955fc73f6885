"""The one argument-parser convention of every command: errors raise, types check.

:class:`Parser` raises :class:`~kscand_perf.errors.UsageError` instead of
printing and exiting, so the entry point decides how an error looks and which
status it exits with; the ``*_arg`` functions are argparse ``type=`` checks.
"""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from . import __version__
from .errors import UsageError


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError and knows ``--version``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.add_argument("--version", action="version",
                          version="kscand-perf " + __version__)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)  # the entry point names the program


def int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text) from None


def positive_int_arg(text: str) -> int:
    value = int_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %d" % value)
    return value


def positive_float_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number, not %s" % text)
    return value
