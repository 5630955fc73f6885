"""``python3 -m kscand_perf COMMAND ...``: the same as the ``kscand-perf`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
