"""Shared fixtures: a tiny random bundle, generated images and DICOM, a scanned project, the shared data folder."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

HOME_REDIRECTS = {
    "HOME": "home",
    "TORCH_HOME": "torch",
    "HF_HOME": "huggingface",
    "XDG_CACHE_HOME": "cache",
    "XDG_CONFIG_HOME": "config",
    "XDG_DATA_HOME": "data",
    "MPLCONFIGDIR": "matplotlib",
}
"""Where the tests' libraries would write under ``~`` (torch hub checkpoints, Hugging Face, matplotlib, the XDG
cache, config and data users such as the embedding cache and Qt, and anything else below ``~``, e.g. pydicom's
``~/.pydicom``): a scratch folder of the test run instead, set before any of them is imported (Hugging Face reads
its folders at import). ``tests/test_home.py`` checks it."""
SCRATCH_HOME = Path(tempfile.mkdtemp(prefix="lcmem-tests-home-"))
for _variable, _folder in HOME_REDIRECTS.items():
    os.environ[_variable] = str(SCRATCH_HOME / _folder)
atexit.register(shutil.rmtree, SCRATCH_HOME, True)

import numpy as np  # noqa: E402 - after the redirects above
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LCMEM_SHARED_DATA", REPO.parent / "shared" / "data"))


def require_shared_data(*parts: str) -> Path:
    """Return ``../shared/data/<parts>`` or skip the test with a message saying why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data {path} is absent (set LCMEM_SHARED_DATA to the data folder to run this test)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's embedding cache out of the user's cache folder."""
    monkeypatch.setenv("LCMEM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved bundle with seeded random weights: ConvNeXt-atto, 64×64 input, a tiny AutoencoderKL."""
    return save_untrained_bundle(tmp_path_factory.mktemp("bundles") / "tiny", "tiny-test", seed=7)


def save_untrained_bundle(folder: Path, name: str, seed: int) -> Path:
    """Save a seeded random bundle (:func:`lcmem.model.untrained.build_untrained_model`) to ``folder``."""
    from lcmem.model.bundle import save_bundle
    from lcmem.model.untrained import build_untrained_model

    save_bundle(build_untrained_model(name, seed=seed), folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path):
    """The loaded :func:`tiny_bundle_dir`."""
    from lcmem.model.bundle import load_bundle

    return load_bundle(tiny_bundle_dir)


def make_image(seed: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> Image.Image:
    """A smooth random image (blobs of colour), distinct for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    image = Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)
    noise = rng.integers(-20, 21, size=(size[1], size[0], 3))
    pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode)


def write_images(folder: Path, seeds: list[int], suffix: str = ".png") -> list[Path]:
    """Write one generated image per seed into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"img_{seed:04d}{suffix}"
        make_image(seed).save(path)
        paths.append(path)
    return paths


def write_multiframe_dicom(path: Path, frames: np.ndarray, patient_id: str = "PAT-001") -> Path:
    """Write a MONOCHROME2 uint16 multi-frame DICOM (frames: ``(n, rows, cols)``) with pydicom."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.Modality = patient_id, "OT"
    ds.Rows, ds.Columns = frames.shape[1:]
    ds.NumberOfFrames = frames.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.ascontiguousarray(frames, dtype="<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def make_sources(root: Path) -> tuple[Path, Path]:
    """12 real images + a 2-frame DICOM; 3 new synthetic images, 2 copies, a DICOM copy, a broken TIFF."""
    real, synthetic = root / "real", root / "synthetic"
    write_images(real, list(range(12)))
    write_images(synthetic, [40, 41, 42])
    for seed in (2, 7):
        shutil.copy(real / f"img_{seed:04d}.png", synthetic / f"copy_{seed}.png")
    frames = (np.random.default_rng(0).random((2, 24, 24)) * 3000).astype(np.uint16)
    write_multiframe_dicom(real / "ct.dcm", frames, patient_id="PAT-SECRET-1")
    shutil.copy(real / "ct.dcm", synthetic / "ct_copy.dcm")
    (synthetic / "broken.tif").write_bytes(b"II*\x00garbage")
    return real, synthetic


def write_scanned_project(root: Path, bundle) -> Path:
    """``root/review.lcmem`` over :func:`make_sources`, scanned with ``bundle`` (top-3) and closed: 21 pairs."""
    from lcmem.scan.types import ScanSettings
    from lcmem.store.ingest import scan_project
    from lcmem.store.project import Project

    real, synthetic = make_sources(root)
    with Project.create(root / "review.lcmem", [real], [synthetic]) as project:
        scan_project(project, bundle, ScanSettings(top_k=3))
    return root / "review.lcmem"


@pytest.fixture()
def scanned_project(tmp_path: Path, tiny_bundle):
    """A project over :func:`make_sources`, scanned with the tiny bundle (top-3), open."""
    from lcmem.store.project import Project

    project = Project.open(write_scanned_project(tmp_path, tiny_bundle))
    yield project
    project.close()


def make_labelled_dataset(root: Path, identities: int = 12, per_identity: int = 3, domain: str = "toy") -> Path:
    """A dataset folder: each identity is a base image seen with small shifts and noise; split by identity."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    rows = ["path,identity,split,domain"]
    rng = np.random.default_rng(0)
    for identity in range(identities):
        base = np.asarray(make_image(1000 + identity, (40, 40)), dtype=np.int16)
        split = "train" if identity < identities * 2 // 3 else ("val" if identity % 2 == 0 else "test")
        for view in range(per_identity):
            shifted = np.roll(base, int(rng.integers(-3, 4)), axis=1) + rng.integers(-15, 16, base.shape)
            name = f"images/id{identity:03d}_{view}.png"
            Image.fromarray(np.clip(shifted, 0, 255).astype(np.uint8)).save(root / name)
            rows.append(f"{name},person{identity},{split},{domain}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root
