"""Keep pydicom from echoing element values while lcmem reads a file: the values can be patient data.

pydicom validates each value when it first converts it and, by default, warns (and logs) with the value in
the message: ``Invalid value for VR UI: '1.2.826…'``. In a corrupt file an element's length can run over the
next elements, so such a message can carry a patient's name. While :func:`values_unechoed` is active, pydicom's
reading validation is off; the previous mode is restored when the last lcmem reader (of any thread) leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pydicom import config

_lock = threading.Lock()
_depth = 0
_saved_mode: int | None = None


@contextmanager
def values_unechoed() -> Iterator[None]:
    """Turn pydicom's reading validation off for the duration (re-entrant and safe across threads)."""
    global _depth, _saved_mode
    with _lock:
        if _depth == 0:
            _saved_mode = config.settings.reading_validation_mode
            config.settings.reading_validation_mode = config.IGNORE
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_mode is not None:
                config.settings.reading_validation_mode = _saved_mode
                _saved_mode = None
