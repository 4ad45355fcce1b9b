"""The scan tier: discover, embed, search, re-score and report."""
