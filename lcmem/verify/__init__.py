"""Geometric verification of candidate pairs: SIFT features, ratio-tested one-to-one matches, a RANSAC
similarity (the mirrored image tried too), features and verdicts cached by content. Qt-free; OpenCV only."""
