"""Inputs and checks of ``installer/smoke.sh``; run with the build environment's Python (the repository on
``PYTHONPATH``), never in the bundle.

``python installer/smoke_files.py inputs DIR``: writes ``DIR/real`` (PNGs and DICOMs compressed as JPEG
baseline, JPEG 2000 lossless and RLE, the latter two through pylibjpeg-openjpeg and pylibjpeg-rle) and
``DIR/synthetic`` (new images, byte-exact copies of some reals including every DICOM, and one broken file).

``python installer/smoke_files.py check DIR``: checks what the frozen commands wrote to ``DIR/out``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lcmem.about import model_summary
from lcmem.model.default import default_bundle_path
from lcmem.scan.report import MATCH_COLUMNS, PROBLEM_COLUMNS

TOP_K = 3
DICOMS = ("jpeg_baseline.dcm", "j2k_lossless.dcm", "rle.dcm")
COPIED_PNGS = ("real_01.png", "real_04.png")


def _pixels(seed: int, size: int = 96) -> np.ndarray:
    """A smooth grey image with a bright disc, different for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 6), dtype=np.uint8)
    grey = np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
    grey[(yy - cy) ** 2 + (xx - cx) ** 2 < (size // 6) ** 2] = 240
    return grey.astype(np.uint8)


def _dicom(pixels: np.ndarray, bits: int = 8):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("smoke.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.Modality = "SMOKE-1", "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    dtype = np.uint8 if bits == 8 else np.dtype("<u2")
    ds.PixelData = np.ascontiguousarray(pixels, dtype=dtype).tobytes()
    return ds


def write_inputs(root: Path) -> None:
    """Write the real and synthetic folders under ``root``."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

    real, synthetic = root / "real", root / "synthetic"
    real.mkdir(parents=True)
    synthetic.mkdir(parents=True)
    for seed in range(6):
        Image.fromarray(_pixels(seed)).save(real / f"real_{seed:02d}.png")
    for seed in (50, 51):
        Image.fromarray(_pixels(seed)).save(synthetic / f"new_{seed}.png")
    baseline = _dicom(_pixels(10))
    buffer = io.BytesIO()
    Image.fromarray(_pixels(10)).save(buffer, "JPEG", quality=90)
    baseline.PixelData = encapsulate([buffer.getvalue()])
    baseline.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    baseline.save_as(real / "jpeg_baseline.dcm", enforce_file_format=True)
    j2k = _dicom(_pixels(11).astype(np.uint16) * 16, bits=16)
    j2k.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    j2k.save_as(real / "j2k_lossless.dcm", enforce_file_format=True)
    rle = _dicom(_pixels(12))
    rle.compress(RLELossless, encoding_plugin="pylibjpeg")
    rle.save_as(real / "rle.dcm", enforce_file_format=True)
    for name in (*COPIED_PNGS, *DICOMS):
        shutil.copyfile(real / name, synthetic / f"copy_{name}")
    (synthetic / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")


def _fail(message: str) -> None:
    print(f"smoke: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def _rows(path: Path, header: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        _fail(f"{path} was not written")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != header:
            _fail(f"{path} has the header {reader.fieldnames}, expected {header}")
        return list(reader)


def check_scan(out: Path) -> str:
    """The matches CSV ranks every copy's source first; only the broken file is a problem."""
    matches = _rows(out / "matches.csv", MATCH_COLUMNS)
    problems = _rows(out / "matches.problems.csv", PROBLEM_COLUMNS)
    synthetic = {row["synthetic_path"] for row in matches}
    if len(synthetic) != len(COPIED_PNGS) + len(DICOMS) + 2:
        _fail(f"matches.csv covers {len(synthetic)} synthetic images, expected {len(COPIED_PNGS) + len(DICOMS) + 2}")
    if len(matches) != TOP_K * len(synthetic):
        _fail(f"matches.csv has {len(matches)} rows, expected {TOP_K} per synthetic image")
    for name in (*COPIED_PNGS, *DICOMS):
        first = next(r for r in matches if r["synthetic_path"].endswith(f"copy_{name}") and r["rank"] == "1")
        if Path(first["real_path"]).name != name or first["synthetic_sha256"] != first["real_sha256"]:
            _fail(f"the copy of {name} was matched first to {first['real_path']}")
    if [Path(p["path"]).name for p in problems] != ["broken.png"]:
        _fail(f"unexpected problems: {problems}")
    return f"scan: {len(matches)} pairs, every copy (PNG, JPEG, JPEG 2000 and RLE DICOM) ranked first, 1 problem"


def check_demo_scan(out: Path) -> str:
    """The frozen app scanned the demo (in its worker process, a second start of the frozen executable)."""
    status = json.loads((out / "demo-status.json").read_text(encoding="utf-8"))
    if not any(scan["status"] == "done" for scan in status["scans"]):
        _fail(f"the demo project has no finished scan: {status['scans']}")
    if not status.get("pairs"):
        _fail("the demo scan stored no candidate pairs")
    return f"demo: scanned by the frozen app's worker process, {status['pairs']} pairs"


def check_info(out: Path) -> str:
    """``lcmem info --verify --environment`` verified the bundled model (the repository's) and found the pylibjpeg
    plugins."""
    info = json.loads((out / "info.json").read_text(encoding="utf-8"))
    shipped = default_bundle_path()
    if shipped is None:
        _fail("no default model in this checkout to compare the bundled one with")
    if not info.get("verified") or info["checksum"] != model_summary(shipped).checksum:
        _fail(f"the bundled model was not verified: {info.get('verified')} {info['checksum']}")
    environment = info["environment"]
    if not environment["frozen"]:
        _fail("lcmem info did not run frozen")
    decoders = environment["dicom_decoders"]
    missing = [f for f in ("jpeg_lossless", "jpeg_ls", "jpeg_2000", "htj2k", "rle") if "pylibjpeg" not in decoders[f]]
    if missing:
        _fail(f"pylibjpeg plugins missing for {missing}: {decoders}")
    return f"info: {info['name']} verified, checksum {info['checksum'][:12]}…, DICOM decoders {decoders}"


def check_screenshot(path: Path, size: tuple[int, int]) -> str:
    """A PNG of ``size``: valid, not blank (the demo's review screen, or the About box)."""
    if not path.is_file() or path.stat().st_size < 20_000:
        _fail(f"{path} is missing or too small")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        levels = np.unique(np.asarray(image.convert("L"))).size
        if image.size != size or levels < 50:
            _fail(f"{path} is {image.size} with {levels} grey levels, expected {size} and a real screen")
    return f"{path.name}: {path.stat().st_size:,} bytes, {size[0]} × {size[1]}"


def main(argv: list[str]) -> int:
    """``inputs DIR`` or ``check DIR``."""
    if len(argv) != 2 or argv[0] not in ("inputs", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "inputs":
        write_inputs(root)
        return 0
    out = root / "out"
    checks = (
        check_info(out),
        check_scan(out),
        check_screenshot(out / "demo.png", (1440, 900)),
        check_demo_scan(out),
        check_screenshot(out / "about.png", (720, 640)),
    )
    for line in checks:
        print(f"smoke: ok: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
