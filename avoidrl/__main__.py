"""``python -m avoidrl``: the ``avoidrl`` command (see :mod:`avoidrl.cli`)."""

import sys

from .cli import console_main

if __name__ == "__main__":
    sys.exit(console_main())
