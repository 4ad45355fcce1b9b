"""``lcmem-review [P.lcmem] [--screenshot OUT.png]``: start the desktop app."""

from __future__ import annotations

import sys


def main() -> int:
    """Entry point (to be completed by the app work)."""
    print("lcmem-review: the desktop app is not built yet", file=sys.stderr)
    return 1
