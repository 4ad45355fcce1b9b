"""A demo project made from generated images: no data of one's own needed to see the whole workflow.

The "real" set holds chest-radiograph-like PNGs and CT-like DICOM slices (16-bit, Hounsfield units with a
rescale, two slices per fake patient). Every image has its own texture, findings, position and exposure (a
patient its own body shape), so that different images are told apart by the bundled default model as different
patients are. The "synthetic" set holds new images from the same generators plus planted copies of real ones:
byte-exact files, pixel-exact DICOMs with new headers, and augmented copies (crop, rotation, contrast, noise,
blur), and one truncated file that cannot be read. ``demo_manifest.json`` lists every planted copy, so a
reviewer can check what the scan found. Everything is seeded: the same seed gives the same files. Nothing here
is patient data; every identifier is invented.

What the default model makes of seed 0 (``lcmem-small`` 0.4, top-k 20, verification on, threshold in force 0.922:
the closest of the 48 real images to its nearest other): all 13 planted copies at rank 1 and flagged, 12 by their
score and the crop-and-resize copy (score 0.644: crops are the model's weak point on these images) by its 162
matched keypoints; 1 of the 20 new synthetic images above the threshold (0.933, 3 keypoints), as about 1 in 49
different images is expected to be at this threshold; the planted CT copies' second candidates, the same
patient's other slice, above it too (18 flagged pairs in all).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lcmem.model.default import default_bundle_path
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress
from lcmem.store.project import Project

logger = logging.getLogger(__name__)

SIZE = 256
MANIFEST_NAME = "demo_manifest.json"
PROJECT_NAME = "demo.lcmem"
DEMO_BUNDLE_NAME = "untrained-demo"
HU_OFFSET = 1024


@dataclass(frozen=True)
class PlantedCopy:
    """A synthetic file made from a real one: paths relative to the demo folder, the kind, and how."""

    synthetic: str
    real: str
    kind: str  # "exact file" | "same pixels, new header" | "augmented"
    how: str


@dataclass(frozen=True)
class DemoImages:
    """Where the demo images are and which synthetic files are planted copies."""

    root: Path
    real: Path
    synthetic: Path
    planted: tuple[PlantedCopy, ...]


def _smooth_field(rng: np.random.Generator, cells: int, size: int = SIZE) -> np.ndarray:
    """Smooth noise with unit-ish amplitude: random values on a coarse grid, resized bicubically."""
    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((size, size), Image.Resampling.BICUBIC))


def _ellipse(cx: float, cy: float, rx: float, ry: float, size: int = SIZE) -> np.ndarray:
    """A boolean ellipse mask in coordinates from -1 to 1."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


class _Jitter:
    """``j(scale)``: a uniform random offset in [-scale, scale]."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, scale: float) -> float:
        return float(self.rng.uniform(-scale, scale))


def _texture(rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Smooth noise at three scales (coarse to fine): what makes one generated image unlike another."""
    fields = 1.0 * _smooth_field(rng, 5) + 0.8 * _smooth_field(rng, 12) + 0.6 * _smooth_field(rng, 30)
    return amplitude * fields / 1.6


def _place(pixels: np.ndarray, rng: np.random.Generator, background: float) -> np.ndarray:
    """Position the subject as a new acquisition would: rotated up to 10°, shifted up to 10 %, scaled ±15 %."""
    image = Image.fromarray(pixels.astype(np.float32), mode="F")
    shift = tuple(float(v) for v in rng.uniform(-0.1, 0.1, 2) * SIZE)
    image = image.rotate(float(rng.uniform(-10, 10)), Image.Resampling.BILINEAR, translate=shift, fillcolor=background)
    side = int(SIZE * rng.uniform(0.85, 1.15))
    scaled = image.resize((side, side), Image.Resampling.BILINEAR)
    canvas = Image.new("F", (SIZE, SIZE), background)
    canvas.paste(scaled, ((SIZE - side) // 2, (SIZE - side) // 2))
    return np.array(canvas, np.float32)


def _add_findings(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Nodules, a tube from the top edge and a bright marker, each placed at random: every image its own."""
    image = Image.fromarray(np.clip(pixels, 0, 1).astype(np.float32), mode="F")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x, y, r = rng.uniform(40, SIZE - 40), rng.uniform(40, SIZE - 40), rng.uniform(4, 14)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=float(rng.uniform(0.6, 0.95)))
    start = (float(rng.uniform(0.3, 0.7) * SIZE), 0.0)
    bend = tuple(float(v) for v in rng.uniform(0.3, 0.7, 2) * SIZE)
    end = tuple(float(v) for v in rng.uniform(0.2, 0.85, 2) * SIZE)
    draw.line([start, bend, end], fill=0.96, width=2)
    x, y = rng.uniform(10, SIZE - 56, 2)
    draw.rectangle((x, y, x + rng.uniform(10, 30), y + rng.uniform(10, 30)), fill=0.98)
    return np.array(image, np.float32)


def radiograph(rng: np.random.Generator) -> np.ndarray:
    """A chest-radiograph-like image: body, lungs with ribs, heart, spine, findings, its own texture, position and
    exposure; float32 in [0, 1]."""
    j = _Jitter(rng)
    image = np.full((SIZE, SIZE), 0.06, np.float32)
    y, x = np.mgrid[-1 : 1 : SIZE * 1j, -1 : 1 : SIZE * 1j]
    radius = ((x - j(0.03)) / (0.9 + j(0.05))) ** 2 + ((y - 0.25 - j(0.03)) / (1.15 + j(0.05))) ** 2
    body = radius <= 1.0
    image[body] = 0.38 + 0.22 * np.sqrt(1.0 - radius[body])
    lungs = np.zeros_like(body)
    for side in (-1, 1):
        lungs |= _ellipse(side * (0.36 + j(0.04)), -0.02 + j(0.05), 0.27 + j(0.04), 0.55 + j(0.06))
    image[lungs] = 0.2
    ribs = np.zeros_like(image)
    spacing, tilt = 0.16 + j(0.015), 0.35 + j(0.1)
    for k in range(8):
        centre = -0.55 + k * spacing + tilt * x**2
        ribs += np.exp(-(((y - centre) / 0.022) ** 2))
    image += np.where(lungs, 0.16 * ribs, 0.0)
    image[_ellipse(0.12 + j(0.04), 0.22 + j(0.04), 0.24 + j(0.03), 0.26 + j(0.03))] = 0.62
    spine = (np.abs(x - j(0.02)) < 0.07) & body
    image[spine] = np.maximum(image[spine], 0.72)
    image += np.where(body, 1.0, 0.3) * _texture(rng, 0.35)
    image = _place(np.clip(_add_findings(image, rng), 0, 1), rng, background=0.06)
    image += 0.015 * rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    blurred = Image.fromarray(np.clip(image, 0, 1) * 255).convert("L").filter(ImageFilter.GaussianBlur(1.2))
    return (np.asarray(blurred, np.float32) / 255.0) ** float(rng.uniform(0.7, 1.4))


def ct_slice(rng: np.random.Generator, anatomy: np.random.Generator | None = None) -> np.ndarray:
    """A CT-like axial chest slice in Hounsfield units (air −1000, lung −850, tissue ~40, bone ~700).

    ``anatomy`` fixes the patient: body and lung shapes, where the patient lies and the texture of the tissue
    (two slices of a patient share them); ``rng`` varies the slice (vessels, noise).
    """
    shape = anatomy or rng
    k = _Jitter(shape)
    width, height = 0.85 + k(0.1), 0.62 + k(0.1)
    hu = np.full((SIZE, SIZE), -1000.0, np.float32)
    hu[_ellipse(0, 0.05, width, height)] = -90.0
    hu[_ellipse(0, 0.05, width - 0.06, height - 0.06)] = 40.0
    for side in (-1, 1):
        hu[_ellipse(side * (0.36 + k(0.05)), -0.02 + k(0.05), 0.26 + k(0.06), 0.38 + k(0.08))] = -850.0
    hu[_ellipse(0.08 + k(0.05), 0.05 + k(0.05), 0.19 + k(0.04), 0.17 + k(0.04))] = 45.0
    hu[_ellipse(0.0, 0.42, 0.09, 0.08)] = 700.0
    hu[_ellipse(0.0, 0.40, 0.035, 0.03)] = 20.0
    hu[_ellipse(-0.1 + k(0.03), 0.3, 0.05, 0.05)] = 180.0
    lung = hu < -500
    hu += np.where(lung, 150.0, 120.0) * _texture(shape, 1.0)
    for _ in range(30):
        side = rng.choice([-1, 1])
        r = rng.uniform(0.01, 0.03)
        hu[_ellipse(side * rng.uniform(0.15, 0.55), rng.uniform(-0.35, 0.3), r, r)] = 30.0
    hu += 10.0 * rng.standard_normal((SIZE, SIZE))
    return _place(hu, shape, background=-1000.0)


def _augment(pixels: np.ndarray, rng: np.random.Generator, how: str) -> np.ndarray:
    """Apply one named augmentation to a [0, 1] grey image."""
    image = Image.fromarray(np.clip(pixels, 0, 1) * 255).convert("L")
    if how == "crop and resize":
        margin = SIZE // 12
        image = image.crop((margin, margin, SIZE - margin // 2, SIZE - margin // 2)).resize((SIZE, SIZE))
    elif how == "rotation 4°":
        image = image.rotate(4, resample=Image.Resampling.BILINEAR, fillcolor=15)
    elif how == "blur":
        image = image.filter(ImageFilter.GaussianBlur(2.0))
    out = np.asarray(image, np.float32) / 255.0
    if how == "contrast":
        out = (out - 0.5) * 1.25 + 0.53
    elif how == "noise":
        out = out + 0.04 * rng.standard_normal(out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


AUGMENTATIONS = ("crop and resize", "rotation 4°", "contrast", "noise", "blur")


def _save_png(pixels: np.ndarray, path: Path) -> None:
    Image.fromarray(np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8), "L").save(path)


def write_ct_dicom(
    path: Path, hu: np.ndarray, *, patient_id: str | None, description: str, study_uid: str | None = None
) -> Path:
    """Write a CT-like slice as a 16-bit DICOM (stored = HU + 1024, Rescale Intercept −1024, W 400 L 40)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid or generate_uid(), generate_uid()
    if patient_id is not None:
        ds.PatientID, ds.PatientName = patient_id, "Demo^Invented"
    ds.Modality, ds.SeriesDescription = "CT", description
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -HU_OFFSET, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelSpacing = [0.7, 0.7]
    stored = np.clip(np.rint(hu + HU_OFFSET), 0, 4095).astype("<u2")
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def generate_demo_images(
    root: str | Path,
    *,
    seed: int = 0,
    n_real_radiographs: int = 36,
    n_patients: int = 6,
    n_new_radiographs: int = 16,
    n_new_ct: int = 4,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> DemoImages:
    """Write the demo's real and synthetic images (and the manifest) under ``root``.

    Args:
        root: the demo folder; ``real/`` and ``synthetic/`` are created in it.
        seed: everything follows from it.
        n_real_radiographs: real PNG radiographs.
        n_patients: fake patients with two CT slices each (real DICOM).
        n_new_radiographs: new synthetic radiographs (no planted source).
        n_new_ct: new synthetic CT slices.
        progress: receives ``(done, total, text)``.
        cancel: checked between files.

    Returns:
        The folders and the planted copies.
    """
    base = Path(root)
    real, synthetic = base / "real", base / "synthetic"
    real.mkdir(parents=True, exist_ok=True)
    synthetic.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    total = n_real_radiographs + 2 * n_patients + n_new_radiographs + n_new_ct
    steps = _Steps(total, progress, cancel)

    radiographs = []
    for i in range(n_real_radiographs):
        pixels = radiograph(rng)
        _save_png(pixels, real / f"cxr_{i:03d}.png")
        radiographs.append(pixels)
        steps.advance("writing real radiographs")
    slices = []
    for p in range(n_patients):
        anatomy_seed = int(rng.integers(2**31))
        study = f"1.2.826.0.1.3680043.8.498.{seed}.{p + 1}"
        for s in range(2):
            hu = ct_slice(rng, np.random.default_rng(anatomy_seed))
            name = f"patient{p + 1:02d}_slice{s + 1}.dcm"
            patient = f"DEMO-PATIENT-{p + 1:02d}"
            write_ct_dicom(real / name, hu, patient_id=patient, description="demo chest CT", study_uid=study)
            slices.append((name, hu))
            steps.advance("writing real CT slices")
    for i in range(n_new_radiographs):
        _save_png(radiograph(rng), synthetic / f"gen_{i:03d}.png")
        steps.advance("writing new synthetic images")
    for i in range(n_new_ct):
        write_ct_dicom(synthetic / f"gen_ct_{i:03d}.dcm", ct_slice(rng), patient_id=None, description="synthetic")
        steps.advance("writing new synthetic images")
    planted = _plant_copies(real, synthetic, radiographs, slices, rng)
    (synthetic / "gen_truncated.png").write_bytes((real / "cxr_000.png").read_bytes()[:200])
    manifest = {"seed": seed, "planted": [asdict(p) for p in planted]}
    (base / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return DemoImages(base, real, synthetic, tuple(planted))


class _Steps:
    def __init__(self, total: int, progress: Progress, cancel: CancelToken) -> None:
        self.done, self.total, self.progress, self.cancel = 0, total, progress, cancel

    def advance(self, text: str) -> None:
        self.cancel.raise_if_cancelled()
        self.done += 1
        self.progress(self.done, self.total, text)


def _plant_copies(
    real: Path,
    synthetic: Path,
    radiographs: list[np.ndarray],
    slices: list[tuple[str, np.ndarray]],
    rng: np.random.Generator,
) -> list[PlantedCopy]:
    """Copy some real images into the synthetic set: exact, same pixels with a new header, augmented."""
    planted = []
    picks = rng.permutation(len(radiographs))
    for n, i in enumerate(picks[:4]):
        name = f"gen_{100 + n:03d}.png"
        shutil.copyfile(real / f"cxr_{i:03d}.png", synthetic / name)
        planted.append(PlantedCopy(f"synthetic/{name}", f"real/cxr_{i:03d}.png", "exact file", "byte copy"))
    for n, i in enumerate(picks[4:9]):
        how = AUGMENTATIONS[n % len(AUGMENTATIONS)]
        name = f"gen_{200 + n:03d}.png"
        _save_png(_augment(radiographs[i], rng, how), synthetic / name)
        planted.append(PlantedCopy(f"synthetic/{name}", f"real/cxr_{i:03d}.png", "augmented", how))
    slice_picks = rng.permutation(len(slices))
    for n, i in enumerate(slice_picks[:2]):
        source, hu = slices[i]
        name = f"gen_ct_{100 + n:03d}.dcm"
        write_ct_dicom(synthetic / name, hu, patient_id=None, description="synthetic")
        planted.append(PlantedCopy(f"synthetic/{name}", f"real/{source}", "same pixels, new header", "pixel copy"))
    for n, i in enumerate(slice_picks[2:4]):
        source, hu = slices[i]
        name = f"gen_ct_{200 + n:03d}.dcm"
        noisy = np.roll(hu, 3, axis=1) + 25.0 * rng.standard_normal(hu.shape).astype(np.float32)
        write_ct_dicom(synthetic / name, noisy, patient_id=None, description="synthetic")
        planted.append(PlantedCopy(f"synthetic/{name}", f"real/{source}", "augmented", "shift 3 px and noise"))
    return planted


def read_manifest(root: str | Path) -> list[PlantedCopy]:
    """The planted copies listed in a demo folder's manifest."""
    data = json.loads((Path(root) / MANIFEST_NAME).read_text(encoding="utf-8"))
    return [PlantedCopy(**item) for item in data["planted"]]


def ensure_demo_bundle(folder: str | Path, seed: int = 0) -> Path:
    """An untrained, seeded bundle, made once (it finds exact copies only): the demo's model where no default
    model is installed, and a quick model for tests.

    Imports torch when the bundle has to be made.
    """
    target = Path(folder)
    if (target / "lcmem.json").is_file():
        return target
    from lcmem.model.bundle import save_bundle
    from lcmem.model.untrained import build_untrained_model

    logger.info("making the untrained demo model")
    save_bundle(build_untrained_model(DEMO_BUNDLE_NAME, seed=seed), target)
    return target


def create_demo_project(
    root: str | Path,
    *,
    seed: int = 0,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Generate the demo images under ``root`` and create ``root/demo.lcmem`` over them (not scanned yet).

    Returns:
        The project file (an existing one is returned as it is).
    """
    path = Path(root) / PROJECT_NAME
    if path.exists():
        return path
    images = generate_demo_images(root, seed=seed, progress=progress, cancel=cancel)
    with Project.create(path, [images.real], [images.synthetic]):
        pass
    return path


def demo_model(models_folder: str | Path) -> Path:
    """The demo's model: the bundled default model, else (none installed) an untrained one made once under
    ``models_folder``."""
    return default_bundle_path() or ensure_demo_bundle(Path(models_folder) / DEMO_BUNDLE_NAME)


def prepare_demo(
    root: str | Path,
    models_folder: str | Path,
    *,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[Path, Path]:
    """Make (once) the demo project under ``root``; return it and :func:`demo_model`.

    The app runs this in a worker process (:mod:`lcmem.worker_process`): making an untrained model imports torch.
    """
    project = create_demo_project(root, progress=progress, cancel=cancel)
    progress(0, 0, "finding the demo's model")
    return project, demo_model(models_folder)
