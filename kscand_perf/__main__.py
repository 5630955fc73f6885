"""``python3 -m kscand_perf COMMAND ...``: see :mod:`kscand_perf.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
