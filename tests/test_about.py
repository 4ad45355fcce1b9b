"""What About and ``lcmem --version`` report: versions from metadata, the model, its data licenses, licenses."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from lcmem import __version__
from lcmem.about import (
    DATA_LICENSES_NAME,
    THIRD_PARTY_NAME,
    component_versions,
    license_info,
    model_summary,
    read_data_licenses,
    version_text,
)
from lcmem.cli.main import main
from lcmem.errors import BundleError
from lcmem.model.bundle import read_bundle_config, verify_bundle_files
from lcmem.model.default import default_bundle_path
from tests.conftest import REPO

SHIPPED = REPO / "resources" / "models" / "lcmem-small"
SHIPPED_CHECKSUM = "f24c84e0901c0924450e8f0daf2661cb6ed56a5200534ec547638e6b30f36ee8"


def test_versions_come_from_package_metadata() -> None:
    import faiss
    import pydicom

    versions = component_versions()
    assert versions["lcmem"] == __version__
    assert (versions["torch"], versions["pydicom"]) == (metadata.version("torch"), pydicom.__version__)
    assert versions["FAISS"] == faiss.__version__
    assert versions["diffusers"] not in ("", "not installed")
    assert version_text().startswith(f"lcmem {__version__} (Python ")


def test_lcmem_version_prints_the_library_versions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out == version_text() + "\n" and "torch " in out and "diffusers " in out


def test_the_shipped_model_summary_and_its_training_data_licenses() -> None:
    summary = model_summary(SHIPPED)
    assert (summary.name, summary.checksum) == ("lcmem-small", SHIPPED_CHECKSUM)
    licenses = {d.dataset: d.license for d in summary.data_licenses}
    assert licenses["ham10000"] == "CC BY-NC 4.0" and licenses["cxr_kermany"] == "CC BY 4.0"
    assert "research use only" in summary.data_summary
    trained_on = read_bundle_config(SHIPPED).training["stage1"]["data"]
    assert set(licenses) == set(trained_on), "every training dataset needs its license recorded"


def test_the_license_file_beside_the_model_changes_no_checksum() -> None:
    config = read_bundle_config(SHIPPED)
    assert DATA_LICENSES_NAME not in config.weights_sha256
    verify_bundle_files(SHIPPED, config)
    assert config.checksum == SHIPPED_CHECKSUM


def test_reading_the_summary_imports_no_torch() -> None:
    code = (
        "import sys; from lcmem.about import model_summary; from lcmem.model.default import default_bundle_path;"
        "s = model_summary(default_bundle_path()); print(s.checksum, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == [SHIPPED_CHECKSUM, "False"]


def test_a_model_without_a_license_file_says_nothing(tiny_bundle_dir: Path) -> None:
    assert read_data_licenses(tiny_bundle_dir) == ("", ())
    assert model_summary(tiny_bundle_dir).data_licenses == ()


@pytest.mark.parametrize("text", ["not json", "{}", json.dumps({"datasets": [{"dataset": "x"}]})])
def test_a_malformed_license_file_is_a_bundle_error(tmp_path: Path, text: str) -> None:
    (tmp_path / DATA_LICENSES_NAME).write_text(text)
    with pytest.raises(BundleError, match=DATA_LICENSES_NAME):
        read_data_licenses(tmp_path)


def test_a_folder_without_lcmem_json_is_a_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"lcmem\.json"):
        model_summary(tmp_path)


def test_licenses_in_a_source_checkout() -> None:
    info = license_info()
    assert info.project == "Apache-2.0" and info.project_text == REPO / "LICENSE"
    assert "Apache License" in info.project_text.read_text()
    assert info.third_party is not None and any(info.third_party.glob("torch-*.dist-info"))
    assert default_bundle_path() == SHIPPED


def test_licenses_in_a_frozen_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "licenses").mkdir()
    (tmp_path / "licenses" / "LICENSE").write_text("Apache License")
    (tmp_path / "licenses" / THIRD_PARTY_NAME).write_text("| torch |")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    info = license_info()
    assert info.project_text == tmp_path / "licenses" / "LICENSE"
    assert info.third_party == tmp_path / "licenses" / THIRD_PARTY_NAME
