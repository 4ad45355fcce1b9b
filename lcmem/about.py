"""What "About LCMem Review" and ``lcmem --version`` report: versions, the default model, licenses (no Qt).

Versions come from package metadata, so nothing heavy (torch, FAISS, diffusers) is imported to report them;
a frozen app carries that metadata. The training-data licenses of a model are read from ``DATA_LICENSES.json``
beside its ``lcmem.json`` (outside the checksummed files, so adding it changes no checksum).
"""

from __future__ import annotations

import json
import platform
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lcmem import __version__
from lcmem.errors import BundleError
from lcmem.model.config import LCMemConfig
from lcmem.provenance import package_version
from lcmem.resources import frozen_root, source_checkout

PROJECT_LICENSE = "Apache-2.0"
DATA_LICENSES_NAME = "DATA_LICENSES.json"
LICENSES_FOLDER = "licenses"
THIRD_PARTY_NAME = "THIRD_PARTY_LICENSES.md"
VERSION_PACKAGES = {"torch": "torch", "FAISS": "faiss-cpu", "pydicom": "pydicom", "diffusers": "diffusers"}


@dataclass(frozen=True)
class DataLicense:
    """The license of one training dataset of a model."""

    dataset: str
    domain: str
    license: str
    terms: str


@dataclass(frozen=True)
class ModelSummary:
    """A model bundle as the About box shows it."""

    path: Path
    name: str
    version: str
    checksum: str
    data_summary: str
    data_licenses: tuple[DataLicense, ...]


@dataclass(frozen=True)
class LicenseInfo:
    """The project's license and where its text and the third-party licenses are."""

    project: str
    project_text: Path | None
    third_party: Path | None
    third_party_note: str


def component_versions() -> dict[str, str]:
    """lcmem, Python, and the libraries a result depends on (PySide6 and Qt are added by the app)."""
    versions = {"lcmem": __version__, "Python": platform.python_version()}
    versions.update({label: package_version(name) for label, name in VERSION_PACKAGES.items()})
    return versions


def version_text() -> str:
    """``lcmem X (Python …, torch …, …)``: the one-line answer of ``lcmem --version``."""
    versions = component_versions()
    rest = ", ".join(f"{name} {version}" for name, version in versions.items() if name != "lcmem")
    return f"lcmem {versions['lcmem']} ({rest})"


def read_data_licenses(bundle: Path) -> tuple[str, tuple[DataLicense, ...]]:
    """The summary and per-dataset licenses in ``bundle/DATA_LICENSES.json``; ``("", ())`` when absent.

    Raises:
        BundleError: the file exists but is not the expected JSON.
    """
    path = bundle / DATA_LICENSES_NAME
    if not path.is_file():
        return "", ()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        licenses = tuple(
            DataLicense(str(d["dataset"]), str(d.get("domain", "")), str(d["license"]), str(d.get("terms", "")))
            for d in data["datasets"]
        )
        return str(data.get("summary", "")), licenses
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{path}: not a readable list of dataset licenses ({exc})") from exc


def model_summary(bundle: Path) -> ModelSummary:
    """Name, version, checksum and training-data licenses of a bundle, read without loading weights.

    Raises:
        BundleError: no readable ``lcmem.json`` or ``DATA_LICENSES.json``.
    """
    config_path = bundle / "lcmem.json"
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"{config_path}: cannot read ({exc.strerror or exc}); is this a model bundle?") from exc
    config = LCMemConfig.from_json(text, str(config_path), validate=False)
    summary, licenses = read_data_licenses(bundle)
    return ModelSummary(bundle, config.name, config.version, config.checksum, summary, licenses)


def license_info() -> LicenseInfo:
    """Where the project's license text and the third-party licenses are in this installation."""
    frozen = frozen_root()
    if frozen is not None:
        folder = frozen / LICENSES_FOLDER
        return LicenseInfo(
            PROJECT_LICENSE,
            _existing(folder / "LICENSE"),
            _existing(folder / THIRD_PARTY_NAME),
            "the licenses of every bundled package, one folder each beside this list",
        )
    purelib = Path(sysconfig.get_paths()["purelib"])
    return LicenseInfo(
        PROJECT_LICENSE,
        _project_license_text(),
        purelib,
        "each installed package's license is in its *.dist-info folder here",
    )


def _project_license_text() -> Path | None:
    checkout = source_checkout()
    if checkout is not None:
        return _existing(checkout / "LICENSE")
    try:
        distribution = metadata.distribution("lcmem")
    except metadata.PackageNotFoundError:
        return None
    for file in distribution.files or ():
        if file.name.startswith("LICENSE"):
            return _existing(Path(str(distribution.locate_file(file))))
    return None


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None
