"""Frozen entry point of the ``lcmem`` executable (the command line)."""

import multiprocessing
import sys

from lcmem.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
