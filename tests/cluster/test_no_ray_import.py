"""Without ``--engine ray`` nothing changes: a local embed, an index build and scans never import Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import Archive

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from lcmem.cli.main import main
bundle, real, synthetic, out = sys.argv[1:]
quiet = ["--quiet", "--threads", "1"]
assert main(["embed", "--engine", "local", "--input", real, "--model", bundle, "--out", out + "/emb", *quiet]) == 0
assert main(["index", "build", out + "/emb", "--out", out + "/index", "--nlist", "2", *quiet]) == 0
scan = ["scan", "--synthetic", synthetic, "--model", bundle, "--top-k", "2", *quiet]
assert main([*scan, "--real", real, "--out", out + "/local.csv"]) == 0
assert main([*scan, "--real-index", out + "/index", "--out", out + "/index.csv"]) == 0
print(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray.")))
"""


def test_local_embed_index_and_scans_never_import_ray(archive: Archive, tiny_bundle_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    args = [str(tiny_bundle_dir), str(archive.real), str(archive.synthetic), str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "index.csv").read_text().count("\n") == (tmp_path / "local.csv").read_text().count("\n")
