"""Memorization by a real generative model: a small DDPM trained here until it reproduces its training images.

Every other benchmark's "synthetic" images are edited copies of real ones. This one trains a diffusers DDPM
(``UNet2DModel`` + ``DDPMScheduler``, DDIM sampling) on a few real images of one shared dataset, long enough
that it memorizes them, and asks what LCMem catches on its output. Stages (each reads what the previous one
cached in ``--work``, outside the repository; rerunning a stage resumes or reuses it):

1. ``train``: the training set (one image per identity, train split, seeded), held-out real images of other
   identities, then DDPM training with EMA weights and a warm-up + cosine learning rate. Checkpoints are
   written atomically every ``--checkpoint-every`` seconds (rerunning resumes); EMA snapshots are kept every
   ``--snapshot-every`` steps for the reproduction-vs-steps curve and the non-memorizing control.
2. ``sample``: ``--samples`` DDIM samples (seeded) of the final EMA model and of the early control snapshot.
3. ``label``: ground truth that does not depend on LCMem: each sample's nearest training image by NCC after a
   small shift search, "reproduction" when NCC ≥ ``--cutoff``; a contact sheet PNG; the curve of reproduction
   rate against training steps.
4. ``scan``: ``run_scan`` with the training images (plus ``--distractors`` further real images of unseen
   identities) as real and samples + held-out real images as synthetic, plus the baselines of
   :mod:`lcmem.eval.detectors`; recall of reproductions (source at rank 1) at the threshold in force
   (:mod:`lcmem.scan.threshold`), false-positive rates on novel samples and held-out real images, timings.

The defaults (8 chest X-rays at 64², a 0.27 M-parameter UNet, 2,000 steps) are the run measured in
docs/BENCHMARKS.md §6; the script writes ``report.json``, ``per_image.csv`` and ``contact_sheet.png`` (or
``--sheet``) in ``--work``.

``--stage all`` (the default) runs them in order and prints one JSON line.

Usage::

    .venv/bin/python bench/generator_memorization.py [--work DIR] [--stage all|train|sample|label|scan]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DATA_ROOT = Path(os.environ.get("LCMEM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@dataclass(frozen=True)
class Settings:
    """What the generator and its data are; the work folder holds one run of exactly these settings."""

    dataset: Path = DATA_ROOT / "cxr_kermany"
    n_train: int = 8
    n_heldout: int = 48
    size: int = 64
    widths: tuple[int, ...] = (16, 32, 32)
    steps: int = 2000
    batch: int = 8
    lr: float = 2e-3
    warmup: int = 100
    ema: float = 0.998
    seed: int = 0
    snapshot_every: int = 500
    prediction: str = "epsilon"

    def record(self) -> dict:
        """The settings as JSON-ready values."""
        return {**asdict(self), "dataset": str(Path(self.dataset).resolve()), "widths": list(self.widths)}

    def key(self) -> str:
        """A checksum of every setting that changes the trained generator."""
        return hashlib.sha256(json.dumps(self.record(), sort_keys=True).encode()).hexdigest()[:16]


def atomic_save(obj: object, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename (a crash never leaves half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_json(obj: object, path: Path) -> None:
    """Write ``obj`` as JSON atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def load_square(path: Path, size: int) -> np.ndarray:
    """A grayscale image, centre-cropped to a square and resized to ``size``², as uint8."""
    image = Image.open(path).convert("L")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def one_per_identity(rows: list[dict], count: int, rng: np.random.Generator) -> list[dict]:
    """``count`` rows of distinct identities (each identity's first image by path), drawn with ``rng``."""
    first: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r["path"]):
        first.setdefault(row["identity"], row)
    identities = sorted(first)
    picked = rng.permutation(len(identities))[:count]
    return [first[identities[i]] for i in sorted(picked)]


def choose_images(settings: Settings) -> tuple[list[dict], list[dict]]:
    """Training rows (one per train-split identity) and held-out rows (other splits' identities), seeded."""
    with open(Path(settings.dataset) / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(settings.seed)
    train = one_per_identity([r for r in rows if r["split"] == "train"], settings.n_train, rng)
    heldout = one_per_identity([r for r in rows if r["split"] != "train"], settings.n_heldout, rng)
    if len(train) < settings.n_train or len(heldout) < settings.n_heldout:
        raise SystemExit(f"{settings.dataset} has too few identities for --n-train / --n-heldout")
    return train, heldout


def prepare(settings: Settings, work: Path) -> dict:
    """Write the chosen images (uint8 arrays at the generator's size) and the work folder's manifest."""
    work.mkdir(parents=True, exist_ok=True)
    manifest_path = work / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["key"] != settings.key():
            raise SystemExit(f"{work} holds a run with other settings: pass another --work or delete it")
        return manifest
    train, heldout = choose_images(settings)
    root = Path(settings.dataset)
    arrays = {
        "train": np.stack([load_square(root / r["path"], settings.size) for r in train]),
        "heldout": np.stack([load_square(root / r["path"], settings.size) for r in heldout]),
    }
    np.savez(work / "images.npz", **arrays)
    manifest = {
        "key": settings.key(),
        "settings": settings.record(),
        "train": [{"path": r["path"], "identity": r["identity"]} for r in train],
        "heldout": [{"path": r["path"], "identity": r["identity"]} for r in heldout],
        "versions": versions(),
    }
    atomic_json(manifest, manifest_path)
    return manifest


def versions() -> dict[str, str]:
    """Library versions recorded with the generator."""
    import diffusers

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "numpy": np.__version__}


def make_unet(settings: Settings) -> torch.nn.Module:
    """A small attention-free UNet (0.27 M parameters at widths 16-32-32, 1.06 M at 32-64-64)."""
    from diffusers import UNet2DModel

    depth = len(settings.widths)
    return UNet2DModel(
        sample_size=settings.size,
        in_channels=1,
        out_channels=1,
        layers_per_block=1,
        block_out_channels=settings.widths,
        down_block_types=("DownBlock2D",) * depth,
        up_block_types=("UpBlock2D",) * depth,
        norm_num_groups=8,
    )


def make_scheduler(settings: Settings) -> object:
    """The DDPM noise schedule (1,000 steps, cosine betas) and what the UNet predicts (``sample``: the clean
    image, which weighs the high noise levels where a sample's source is decided more than ``epsilon`` does)."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type=settings.prediction
    )


def learning_rate(settings: Settings, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of ``lr`` at ``steps``."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = min(1.0, (step - settings.warmup) / max(1, settings.steps - settings.warmup))
    return settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(
    settings: Settings,
    work: Path,
    checkpoint_every: float = 180.0,
    max_seconds: float | None = None,
    log: Callable[[str], None] = print,
) -> Path | None:
    """Train (or resume training) the generator; return the path of its final EMA weights, or ``None`` when
    this run stopped after ``max_seconds`` (a checkpoint is written then; calling again resumes)."""
    prepare(settings, work)
    final = work / f"ema_step{settings.steps:06d}.pt"
    if final.exists():
        return final
    torch.manual_seed(settings.seed)
    unet, ema = make_unet(settings), make_unet(settings)
    ema.load_state_dict(unet.state_dict())
    ema.requires_grad_(False)
    optimizer = torch.optim.Adam(unet.parameters(), lr=settings.lr)
    generator = torch.Generator().manual_seed(settings.seed)
    state_path = work / "checkpoint.pt"
    step, seconds = 0, 0.0
    if state_path.exists():
        state = torch.load(state_path, weights_only=False)
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        step, seconds = state["step"], state["seconds"]
        log(f"resuming at step {step}")
    scheduler = make_scheduler(settings)
    images = np.load(work / "images.npz")["train"]
    data = torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)
    unet.train()
    run_start = last_save = time.monotonic()
    started = run_start - seconds
    history = json.loads((work / "loss.json").read_text()) if (work / "loss.json").exists() else []
    while step < settings.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, step)
        index = torch.randint(0, len(data), (settings.batch,), generator=generator)
        if settings.batch >= len(data):
            index = torch.cat([torch.randperm(len(data), generator=generator), index])[: settings.batch]
        x0 = data[index]
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(x0),), generator=generator)
        target = x0 if settings.prediction == "sample" else noise
        loss = torch.nn.functional.mse_loss(unet(scheduler.add_noise(x0, noise, t), t).sample, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        decay = min(settings.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema.parameters(), unet.parameters(), strict=True):
                e.lerp_(p, 1 - decay)
        if step % 50 == 0:
            history.append({"step": step, "loss": loss.item(), "seconds": time.monotonic() - started})
        if step % settings.snapshot_every == 0 or step == settings.steps:
            atomic_save(ema.state_dict(), work / f"ema_step{step:06d}.pt")
        out_of_time = max_seconds is not None and time.monotonic() - run_start >= max_seconds
        if time.monotonic() - last_save >= checkpoint_every or step == settings.steps or out_of_time:
            state = {
                "unet": unet.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "step": step,
                "seconds": time.monotonic() - started,
            }
            atomic_save(state, state_path)
            atomic_json(history, work / "loss.json")
            last_save = time.monotonic()
            log(f"step {step}/{settings.steps} loss {loss.item():.4f} {time.monotonic() - started:.0f} s")
        if out_of_time and step < settings.steps:
            return None
    return final


def load_unet(settings: Settings, weights: Path) -> torch.nn.Module:
    """A UNet with the EMA weights at ``weights``, in eval mode."""
    unet = make_unet(settings)
    unet.load_state_dict(torch.load(weights, weights_only=True))
    return unet.eval()


def sample(
    settings: Settings, weights: Path, count: int, seed: int, ddim_steps: int = 50, batch: int = 32
) -> np.ndarray:
    """``count`` DDIM samples (η = 0) of the generator at ``weights``, as uint8 ``(count, size, size)``; sample ``i``
    starts from noise seeded by ``(seed, i)``, so a smaller count gives the first samples of a larger one."""
    from diffusers import DDIMScheduler

    unet = load_unet(settings, weights)
    ddim = DDIMScheduler.from_config(make_scheduler(settings).config)
    ddim.set_timesteps(ddim_steps)
    shape = (1, settings.size, settings.size)
    out = []
    with torch.inference_mode():
        for start in range(0, count, batch):
            indices = range(start, min(start + batch, count))
            x = torch.stack(
                [torch.randn(shape, generator=torch.Generator().manual_seed(seed * 100_003 + i)) for i in indices]
            )
            for t in ddim.timesteps:
                x = ddim.step(unet(x, t).sample, t, x).prev_sample
            out.append(((x[:, 0].clamp(-1, 1) + 1) * 127.5).round().byte().numpy())
    return np.concatenate(out)


def cached_samples(
    settings: Settings, work: Path, step: int, count: int, seed: int, ddim_steps: int = 50
) -> np.ndarray:
    """The samples of the EMA snapshot at ``step`` (computed once, then read from ``work``, or the first ``count``
    of a larger set already there)."""
    stem = f"samples_step{step:06d}_seed{seed}_ddim{ddim_steps}_n"
    for cached in work.glob(f"{stem}*.npy"):
        if cached.stem[len(stem) :].isdigit() and int(cached.stem[len(stem) :]) >= count:
            return np.load(cached)[:count]
    weights = work / f"ema_step{step:06d}.pt"
    if not weights.exists():
        raise SystemExit(f"{weights} is missing: run --stage train first (or pick a --control-step snapshot)")
    images = sample(settings, weights, count, seed, ddim_steps)
    path = work / f"{stem}{count}.npy"
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, images)
    os.replace(tmp, path)
    return images


def shifted_ncc(queries: np.ndarray, references: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """NCC of each query to each reference after the best translation within ±``shift`` pixels.

    Both are compared on the central ``(S − 2·shift)²`` window of the reference against the same window of
    the query moved by every shift; returns the ``(Q, R)`` best NCC and the index of each query's nearest
    reference.
    """
    size = references.shape[-1]
    inner = size - 2 * shift

    def standardize(x: np.ndarray) -> np.ndarray:
        x = x.reshape(*x.shape[:-2], -1).astype(np.float64)
        x = x - x.mean(-1, keepdims=True)
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    ref = standardize(references[:, shift : shift + inner, shift : shift + inner])
    best = np.full((len(queries), len(references)), -1.0)
    for dy in range(2 * shift + 1):
        for dx in range(2 * shift + 1):
            window = standardize(queries[:, dy : dy + inner, dx : dx + inner])
            best = np.maximum(best, window @ ref.T)
    return best, best.argmax(1)


@dataclass(frozen=True)
class Labels:
    """Ground truth of the synthetic images, from pixels only (never from LCMem)."""

    ncc: np.ndarray
    nearest: np.ndarray
    kind: list[str]
    reproduction_cutoff: float
    novel_below: float

    def label(self, i: int) -> str:
        """``reproduction`` (NCC ≥ cut-off), ``novel`` (below every held-out real's best NCC: no closer to a
        training image than real images of other patients are) or ``ambiguous`` (in between; left out)."""
        if self.kind[i] == "heldout":
            return "heldout"
        if self.ncc[i] >= self.reproduction_cutoff:
            return "reproduction"
        return "novel" if self.ncc[i] < self.novel_below else "ambiguous"


def label_samples(train: np.ndarray, synthetic: np.ndarray, kind: list[str], cutoff: float, shift: int) -> Labels:
    """Each synthetic image's nearest training image and its shifted NCC; the novel bound from held-out reals."""
    scores, nearest = shifted_ncc(synthetic, train, shift)
    ncc = scores.max(1)
    heldout = ncc[[k == "heldout" for k in kind]]
    novel_below = float(heldout.max()) if heldout.size else cutoff
    return Labels(ncc, nearest, kind, cutoff, min(novel_below, cutoff))


def contact_sheet(
    synthetic: np.ndarray, train: np.ndarray, labels: Labels, path: Path, count: int = 36, columns: int = 6
) -> Path:
    """A PNG of samples (left) beside their nearest training image (right), NCC and label above, spread evenly
    over the NCC ranking of the generated samples so the cut-off can be checked by eye."""
    from PIL import ImageDraw

    generated = [i for i, k in enumerate(labels.kind) if k != "heldout"]
    ranked = sorted(generated, key=lambda i: -labels.ncc[i])
    picks = [ranked[round(j * (len(ranked) - 1) / max(1, count - 1))] for j in range(min(count, len(ranked)))]
    size = synthetic.shape[-1]
    scale = max(1, 96 // size)
    cell = size * scale
    pad, text = 6, 14
    rows = math.ceil(len(picks) / columns)
    sheet = Image.new("L", (columns * (2 * cell + pad) + pad, rows * (cell + text + pad) + pad), 255)
    draw = ImageDraw.Draw(sheet)
    for n, i in enumerate(picks):
        x = pad + (n % columns) * (2 * cell + pad)
        y = pad + (n // columns) * (cell + text + pad)
        for offset, pixels in ((0, synthetic[i]), (cell, train[labels.nearest[i]])):
            tile = Image.fromarray(pixels).resize((cell, cell), Image.Resampling.NEAREST)
            sheet.paste(tile, (x + offset, y + text))
        tag = {"reproduction": "REPRO", "novel": "novel", "ambiguous": "ambig."}[labels.label(i)]
        draw.text((x, y), f"{labels.kind[i]} NCC {labels.ncc[i]:.3f} {tag}", fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)
    return path


def write_pngs(folder: Path, images: np.ndarray, names: list[str]) -> list[Path]:
    """Write uint8 grayscale images as ``folder/NAME.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png" for name in names]
    for pixels, path in zip(images, paths, strict=True):
        Image.fromarray(pixels).save(path)
    return paths


def as_batch(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(B, S, S)`` → ``(B, 3, S, S)`` float in [0, 1], as the detectors take them."""
    return torch.from_numpy(images).float().div(255).unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def score_matrix(detector: object, queries: np.ndarray, references: np.ndarray, batch: int = 64) -> np.ndarray:
    """``(Q, R)`` scores of every query against every reference (features computed once per image)."""
    f_ref = torch.cat(
        [detector.features(as_batch(references[i : i + batch])) for i in range(0, len(references), batch)]
    )
    f_query = torch.cat([detector.features(as_batch(queries[i : i + batch])) for i in range(0, len(queries), batch)])
    rows = []
    for f in f_query:
        rows.append(detector.compare(f.unsqueeze(0).expand(len(f_ref), *f.shape), f_ref).float().numpy())
    return np.stack(rows)


def null_max(real_scores: np.ndarray) -> np.ndarray:
    """Each real image's best score against a *different* real image (the real→real null scores)."""
    scores = real_scores.astype(np.float64).copy()
    np.fill_diagonal(scores, -np.inf)
    return scores.max(1)


def detector_figures(
    best: np.ndarray,
    match: np.ndarray,
    labels: Labels,
    threshold: float,
    null: np.ndarray,
    flagged: np.ndarray | None = None,
) -> dict[str, float | int]:
    """Recall of reproductions (flagged with their source at rank 1), rank-1 of the source, false-positive rates
    on novel samples and held-out real images, and the AUC of reproductions against both by best score. An
    image is flagged when its best score reaches ``threshold``, unless ``flagged`` says otherwise."""
    from lcmem.eval.metrics import roc_auc

    kinds = np.array([labels.label(i) for i in range(len(best))])
    repro, novel, heldout = kinds == "reproduction", kinds == "novel", kinds == "heldout"
    flagged = best >= threshold if flagged is None else flagged
    rank1 = match == labels.nearest

    def rate(mask: np.ndarray, hit: np.ndarray) -> float | None:
        return float(hit[mask].mean()) if mask.any() else None

    negatives = novel | heldout
    scored = repro | negatives
    return {
        "threshold": float(threshold),
        "recall_rank1": rate(repro, flagged & rank1),
        "recall": rate(repro, flagged),
        "rank1": rate(repro, rank1),
        "fpr_novel": rate(novel, flagged),
        "fpr_heldout": rate(heldout, flagged),
        "auc": roc_auc(best[scored], repro[scored]) if repro.any() and negatives.any() else None,
        "null_max": float(null.max()),
    }


def lcmem_scan(
    real: np.ndarray, synthetic: np.ndarray, names: list[str], bundle: object, folder: Path
) -> tuple[list[list[tuple[int, float, int | None]]], np.ndarray, dict[str, float]]:
    """``run_scan`` (with its default geometric verification) with the real images as real and the rest as
    synthetic, as PNGs at the generator's size.

    Returns each synthetic image's candidates in rank order as ``(real index, score, inliers)``, the
    real→real null scores, and the scan's timings (``total`` included).
    """
    import shutil

    from lcmem.scan.pipeline import run_scan

    shutil.rmtree(folder, ignore_errors=True)
    real_paths = write_pngs(folder / "real", real, [f"real_{i:03d}" for i in range(len(real))])
    synthetic_paths = write_pngs(folder / "synthetic", synthetic, names)
    real_index = {str(p): i for i, p in enumerate(real_paths)}
    synthetic_index = {str(p): i for i, p in enumerate(synthetic_paths)}
    ranked: list[list[tuple[int, int, float, int | None]]] = [[] for _ in synthetic]
    null: list[float] = []

    def sink(chunk: list) -> None:
        for c in chunk:
            entry = (c.rank, real_index[c.real.path], c.score, c.inliers)
            ranked[synthetic_index[c.synthetic.path]].append(entry)

    clock = time.perf_counter()
    summary = run_scan(
        [folder / "real"], [folder / "synthetic"], bundle, sink, on_null=lambda s: null.extend(n.score for n in s)
    )
    seconds = {**summary.seconds, "total": time.perf_counter() - clock}
    if summary.problems or not all(ranked):
        raise SystemExit(f"the scan left images unscored: {summary.problems}")
    candidates = [[(r, score, inliers) for _, r, score, inliers in sorted(row)] for row in ranked]
    return candidates, np.array(null), seconds


def baseline_threshold(null: np.ndarray) -> float:
    """A baseline's threshold by the rule LCMem's threshold in force anchors on (the real→real null scores at
    :data:`~lcmem.scan.threshold.NULL_QUANTILE`, the maximum below 999 reals), without LCMem's floor; the
    maximum when there are too few null scores for the rule."""
    from lcmem.scan.threshold import null_quantile

    scores = np.sort(null)
    anchor = null_quantile(scores)
    return anchor[0] if anchor is not None else float(scores[-1])


def snapshot_steps(settings: Settings) -> list[int]:
    """The training steps with an EMA snapshot."""
    steps = list(range(settings.snapshot_every, settings.steps, settings.snapshot_every))
    return [*steps, settings.steps]


def training_seconds(work: Path, step: int) -> float | None:
    """Training wall time to ``step`` (from the loss log, recorded every 50 steps)."""
    history = json.loads((work / "loss.json").read_text()) if (work / "loss.json").exists() else []
    times = [h["seconds"] for h in history if h["step"] <= step]
    return round(times[-1], 1) if times else None


def generated(settings: Settings, work: Path, args: argparse.Namespace) -> tuple[np.ndarray, list[str]]:
    """The synthetic side: memorizing-model samples, control samples, held-out real images; and their kinds."""
    final = cached_samples(settings, work, settings.steps, args.samples, args.sample_seed, args.ddim_steps)
    control = cached_samples(settings, work, args.control_step, args.samples, args.sample_seed + 1, args.ddim_steps)
    heldout = np.load(work / "images.npz")["heldout"]
    kinds = ["final"] * len(final) + ["control"] * len(control) + ["heldout"] * len(heldout)
    return np.concatenate([final, control, heldout]), kinds


def curve(settings: Settings, work: Path, args: argparse.Namespace, train_images: np.ndarray) -> list[dict]:
    """Reproduction rate against training steps: ``--curve-samples`` samples of every EMA snapshot."""
    rows = []
    for step in snapshot_steps(settings):
        images = cached_samples(settings, work, step, args.curve_samples, args.sample_seed, args.ddim_steps)
        scores, nearest = shifted_ncc(images, train_images, args.shift)
        ncc = scores.max(1)
        rows.append(
            {
                "step": step,
                "train_seconds": training_seconds(work, step),
                "reproduced": int((ncc >= args.cutoff).sum()),
                "of": len(ncc),
                "distinct_sources": len(set(nearest[ncc >= args.cutoff].tolist())),
                "ncc_median": round(float(np.median(ncc)), 3),
                "ncc_max": round(float(ncc.max()), 3),
            }
        )
    return rows


def distractors(settings: Settings, manifest: dict, count: int) -> np.ndarray:
    """``count`` further train-split images of identities the generator never saw (seeded), at its size: the
    rest of a reviewer's training folder, which the generator did not memorize."""
    with open(Path(settings.dataset) / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    used = {r["identity"] for r in manifest["train"]}
    pool = [r for r in rows if r["split"] == "train" and r["identity"] not in used]
    picked = one_per_identity(pool, count, np.random.default_rng(settings.seed + 1))
    return np.stack([load_square(Path(settings.dataset) / r["path"], settings.size) for r in picked])


def label_stage(settings: Settings, work: Path, args: argparse.Namespace) -> tuple[np.ndarray, list[str], Labels]:
    """Ground truth, the contact sheet and the curve; returns the synthetic side and its labels."""
    train_images = np.load(work / "images.npz")["train"]
    synthetic, kinds = generated(settings, work, args)
    labels = label_samples(train_images, synthetic, kinds, args.cutoff, args.shift)
    sheet = contact_sheet(synthetic, train_images, labels, args.sheet or work / "contact_sheet.png")
    counts = {
        kind: {name: sum(1 for i, k in enumerate(kinds) if k == kind and labels.label(i) == name)
               for name in ("reproduction", "novel", "ambiguous", "heldout")}
        for kind in ("final", "control", "heldout")
    }  # fmt: skip
    update_report(
        work,
        {
            "labels": {
                "reproduction_cutoff": args.cutoff,
                "novel_below": round(labels.novel_below, 4),
                "shift": args.shift,
                "counts": counts,
                "distinct_sources": len(
                    set(labels.nearest[[labels.label(i) == "reproduction" for i in range(len(kinds))]])
                ),
                "heldout_ncc_max": round(float(labels.ncc[[k == "heldout" for k in kinds]].max()), 4),
                "contact_sheet": str(sheet),
            },
            "curve": curve(settings, work, args, train_images),
        },
    )
    return synthetic, kinds, labels


def scan_stage(settings: Settings, work: Path, args: argparse.Namespace) -> None:
    """LCMem (``run_scan``) and the baselines on the labelled synthetic side."""
    from common import model_or_default

    from lcmem.eval.detectors import baselines
    from lcmem.scan.threshold import LCMEM_DEFAULT_THRESHOLD, null_anchored_threshold

    manifest = prepare(settings, work)
    synthetic, kinds, labels = label_stage(settings, work, args)
    real = np.concatenate([np.load(work / "images.npz")["train"], distractors(settings, manifest, args.distractors)])
    bundle = model_or_default(args.model)
    names = [f"{kind}_{i:04d}" for i, kind in enumerate(kinds)]
    candidates, null, seconds = lcmem_scan(real, synthetic, names, bundle, work / "scan")
    best = np.array([max(score for _, score, _ in row) for row in candidates])
    match = np.array([row[0][0] for row in candidates])
    threshold = null_anchored_threshold(null, bundle.config.default_threshold)
    model_default = threshold.model_default if threshold.model_default is not None else LCMEM_DEFAULT_THRESHOLD
    in_force = np.array([any(threshold.flags(score, inliers) for _, score, inliers in row) for row in candidates])
    per_image = {"lcmem": (best, match)}
    detectors = {
        "lcmem": {
            **detector_figures(best, match, labels, threshold.value, null, in_force),
            "rule": threshold.label,
            "rule_text": threshold.text,
            "min_inliers": threshold.min_inliers,
            "verified_rank1": sum(row[0][2] is not None for row in candidates),
            "score_only": detector_figures(best, match, labels, threshold.value, null),
            "at_model_default": detector_figures(best, match, labels, model_default, null),
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
        }
    }
    for detector in baselines(bundle.model):
        clock = time.perf_counter()
        scores = score_matrix(detector, synthetic, real)
        null_scores = null_max(score_matrix(detector, real, real))
        elapsed = time.perf_counter() - clock
        per_image[detector.name] = (scores.max(1), scores.argmax(1))
        value = baseline_threshold(null_scores)
        figures = detector_figures(*per_image[detector.name], labels, value, null_scores)
        detectors[detector.name] = {
            **figures,
            "rule": "real→real null, as LCMem's (no floor)",
            "seconds": {"total": round(elapsed, 2)},
        }
    write_per_image(work / "per_image.csv", names, labels, per_image)
    update_report(
        work,
        {
            "scan": {
                "model": bundle.config.name,
                "model_checksum": bundle.checksum,
                "n_real": len(real),
                "n_distractors": len(real) - settings.n_train,
                "n_synthetic": len(synthetic),
                "detectors": detectors,
            }
        },
    )


def write_per_image(
    path: Path, names: list[str], labels: Labels, per_image: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    """One row per synthetic image: its label, shifted NCC and nearest training image, and each detector's best
    score and the index of its rank-1 real image."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["name", "label", "ncc", "nearest", *(f"{d}_{c}" for d in per_image for c in ("best", "match"))]
        )
        for i, name in enumerate(names):
            cells = [c for best, match in per_image.values() for c in (f"{best[i]:.5f}", int(match[i]))]
            writer.writerow([name, labels.label(i), f"{labels.ncc[i]:.4f}", int(labels.nearest[i]), *cells])


def update_report(work: Path, fields: dict) -> dict:
    """Merge ``fields`` into ``work/report.json`` and return the whole report."""
    path = work / "report.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report.update(fields)
    atomic_json(report, path)
    return report


def settings_from(args: argparse.Namespace) -> Settings:
    """The :class:`Settings` named on the command line."""
    return Settings(
        dataset=args.dataset,
        n_train=args.n_train,
        n_heldout=args.n_heldout,
        size=args.size,
        widths=tuple(args.widths),
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        warmup=args.warmup,
        ema=args.ema,
        seed=args.seed,
        snapshot_every=args.snapshot_every,
        prediction=args.prediction,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "lcmem-generator-memorization")
    parser.add_argument("--stage", choices=["all", "train", "sample", "label", "scan"], default="all")
    parser.add_argument("--dataset", type=Path, default=defaults.dataset)
    parser.add_argument("--n-train", type=int, default=defaults.n_train)
    parser.add_argument("--n-heldout", type=int, default=defaults.n_heldout)
    parser.add_argument("--size", type=int, default=defaults.size)
    parser.add_argument("--widths", type=int, nargs="+", default=list(defaults.widths))
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--batch", type=int, default=defaults.batch)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--ema", type=float, default=defaults.ema)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--snapshot-every", type=int, default=defaults.snapshot_every)
    parser.add_argument("--prediction", choices=["sample", "epsilon"], default=defaults.prediction)
    parser.add_argument("--checkpoint-every", type=float, default=180.0, help="seconds between checkpoints")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop training after this long (resumable)")
    parser.add_argument("--ddim-steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=64, help="samples of the trained and of the control model")
    parser.add_argument("--curve-samples", type=int, default=32, help="samples per snapshot for the curve")
    parser.add_argument("--sample-seed", type=int, default=1)
    parser.add_argument("--control-step", type=int, default=1000, help="the EMA snapshot used as the control")
    parser.add_argument("--cutoff", type=float, default=0.9, help="shifted NCC at or above which is a reproduction")
    parser.add_argument("--shift", type=int, default=3, help="registration search, ± pixels")
    parser.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG (default: in --work)")
    parser.add_argument("--distractors", type=int, default=48, help="further real images of unseen identities")
    parser.add_argument("--model", type=Path, default=None, help="LCMem bundle (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Run the stages named by ``--stage``; print and return the report."""
    from common import emit

    from lcmem.runtime import configure_threads

    args = parse_args(argv)
    configure_threads(args.threads)
    settings = settings_from(args)
    work = args.work
    if args.stage in ("all", "train"):
        max_seconds = None if args.max_minutes is None else 60 * args.max_minutes
        if train(settings, work, args.checkpoint_every, max_seconds, lambda text: print(text, flush=True)) is None:
            print(f"stopped after --max-minutes {args.max_minutes}: run again to resume", flush=True)
            return {}
    if args.stage == "sample":
        generated(settings, work, args)
    if args.stage == "label":
        label_stage(settings, work, args)
    if args.stage in ("all", "scan"):
        scan_stage(settings, work, args)
    report = update_report(work, {"key": settings.key(), "settings": settings.record(), "versions": versions()})
    emit(report)
    return report


if __name__ == "__main__":
    main()
