"""LCMem Review desktop app (PySide6): a thin view over the lcmem library."""
