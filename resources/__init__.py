"""Files shipped with lcmem: the default model bundle, the app icons and the Linux desktop entry.

Installed, this folder is the package ``lcmem_resources``; code finds it through :mod:`lcmem.resources`.
"""
