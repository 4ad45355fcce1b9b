"""The review tier: the Qt-free review queue, threshold calibration and export."""
