"""Shipped resources (default model, icons) are found in a source checkout, an installed wheel and a frozen app."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import lcmem.resources
from lcmem.model.default import DEFAULT_BUNDLE_NAME, default_bundle_path
from lcmem.resources import RESOURCES_PACKAGE, resource_path, resources_dir, source_checkout
from tests.conftest import REPO


def _fake_resources(root: Path) -> Path:
    """A resources folder with a default model's ``lcmem.json`` and one icon."""
    (root / "models" / DEFAULT_BUNDLE_NAME).mkdir(parents=True)
    (root / "models" / DEFAULT_BUNDLE_NAME / "lcmem.json").write_text("{}")
    (root / "icons").mkdir()
    (root / "icons" / "lcmem-review-16.png").write_bytes(b"png")
    return root


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LCMEM_DEFAULT_MODEL", raising=False)


def test_a_source_checkout_reads_the_top_level_resources_folder() -> None:
    assert source_checkout() == REPO
    assert resources_dir() == REPO / "resources"
    assert default_bundle_path() == REPO / "resources" / "models" / DEFAULT_BUNDLE_NAME
    assert resource_path("icons", "lcmem-review.svg") == REPO / "resources" / "icons" / "lcmem-review.svg"
    assert resource_path("icons", "no-such-icon.png") is None


def test_the_environment_overrides_the_default_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LCMEM_DEFAULT_MODEL", str(tmp_path / "mine"))
    assert default_bundle_path() == tmp_path / "mine"


def test_a_frozen_app_reads_resources_from_its_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_resources(tmp_path / "_internal" / "resources")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_internal"), raising=False)
    assert resources_dir() == tmp_path / "_internal" / "resources"
    assert default_bundle_path() == tmp_path / "_internal" / "resources" / "models" / DEFAULT_BUNDLE_NAME
    monkeypatch.setenv("LCMEM_DEFAULT_MODEL", str(tmp_path / "mine"))
    assert default_bundle_path() == tmp_path / "mine"


def test_a_frozen_app_without_resources_has_no_default_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() is None and default_bundle_path() is None


def test_an_installed_wheel_reads_the_resources_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    package = _fake_resources(tmp_path / "site-packages" / RESOURCES_PACKAGE)
    shutil.copyfile(REPO / "resources" / "__init__.py", package / "__init__.py")
    monkeypatch.setattr(lcmem.resources, "source_checkout", lambda: None)
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    monkeypatch.delitem(sys.modules, RESOURCES_PACKAGE, raising=False)
    assert resources_dir() == package
    assert default_bundle_path() == package / "models" / DEFAULT_BUNDLE_NAME
    assert resource_path("icons", "lcmem-review-16.png") == package / "icons" / "lcmem-review-16.png"


def test_an_installation_without_resources_has_no_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lcmem.resources, "source_checkout", lambda: None)
    monkeypatch.setattr(lcmem.resources, "RESOURCES_PACKAGE", "lcmem_resources_not_installed")
    assert resources_dir() is None and default_bundle_path() is None
