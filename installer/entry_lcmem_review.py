"""Frozen entry point of the ``lcmem-review`` executable (the desktop app)."""

import multiprocessing
import sys

from app.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
