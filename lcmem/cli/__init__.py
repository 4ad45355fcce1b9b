"""The `lcmem` command line."""
