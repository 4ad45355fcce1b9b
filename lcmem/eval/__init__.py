"""Evaluation: the official re-identification and copy-detection protocols, baselines, reports."""
