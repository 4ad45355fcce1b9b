"""The project store: one SQLite file per review project (sources, images, scans, candidates, decisions)."""
