"""The sdist and the wheel carry the default model, the icons and the desktop entry, and an installed wheel finds
them (slow: builds both with ``python -m build``, in an isolated environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from lcmem import __version__
from tests.conftest import REPO

MODEL_FILES = ("lcmem.json", "siamese.safetensors", "vae/config.json", "vae/diffusion_pytorch_model.safetensors")
RESOURCE_FILES = (
    *(f"models/lcmem-small/{name}" for name in (*MODEL_FILES, "DATA_LICENSES.json", "MODEL_CARD.md")),
    "icons/lcmem-review.svg",
    "icons/lcmem-review-256.png",
    "icons/lcmem-review.ico",
    "linux/lcmem-review.desktop",
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_wheel_holds_the_model_icons_and_both_commands(dists: Path) -> None:
    (wheel,) = dists.glob(f"lcmem-{__version__}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"lcmem-{__version__}.dist-info/entry_points.txt").decode()
    assert {f"lcmem_resources/{name}" for name in RESOURCE_FILES} <= names
    assert {"lcmem/resources.py", "lcmem/about.py", "app/about_dialog.py", "app/icon.py"} <= names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
    assert "lcmem = lcmem.cli.main:main" in entry_points and "lcmem-review = app.main:main" in entry_points
    assert any(n.startswith(f"lcmem-{__version__}.dist-info/") and "LICENSE" in n for n in names)


@pytest.mark.slow
def test_the_sdist_holds_the_resources_folder(dists: Path) -> None:
    (sdist,) = dists.glob(f"lcmem-{__version__}.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {f"resources/{name}" for name in RESOURCE_FILES} <= names
    assert {"setup.py", "pyproject.toml", "LICENSE", "resources/__init__.py"} <= names


@pytest.mark.slow
def test_an_installed_wheel_finds_its_default_model(dists: Path, tmp_path: Path) -> None:
    (wheel,) = dists.glob("*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        capture_output=True,
        timeout=300,
        check=True,
    )
    code = (
        "import json, lcmem; from lcmem.model.default import default_bundle_path; from lcmem.resources import "
        "resource_path; print(json.dumps([lcmem.__file__, str(default_bundle_path()), "
        "str(resource_path('icons', 'lcmem-review-256.png'))]))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("LCMEM_DEFAULT_MODEL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=True
    )
    module, model, icon = json.loads(result.stdout)
    assert Path(module).is_relative_to(site)
    assert Path(model) == site / "lcmem_resources" / "models" / "lcmem-small"
    assert Path(icon).is_file() and Path(icon).is_relative_to(site)
    info = subprocess.run(
        [sys.executable, "-m", "lcmem.cli.main", "info", model, "--verify"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert json.loads(info.stdout)["verified"] is True
