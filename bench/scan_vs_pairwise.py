"""Scan versus the official pairwise approach, on the same N×M folders, in one run, with the same model.

The official LCMem detector (``detector.py``, ``benchmark.py``) scores a (real, synthetic) pair by loading
and encoding *both* images for that pair: a DataLoader of pairs, batch 32, VAE → normalisation (applied
twice) → ConvNeXt → ``sigmoid(fc_end(|f1 − f2|))``, in the default NCHW layout under ``torch.no_grad``.
It is reproduced here faithfully, with two deliberate differences that cost nothing: the VAE latent is the
bundle's (the mean, where the official code draws ``latent_dist.sample()``) so that both approaches give the
same scores, and images are decoded by this project's loader so both read the same pixels. ``lcmem scan``
(``run_scan``, in-process, cold embedding cache, median of ``--repeats`` runs) embeds each image once, searches
FAISS and re-scores exactly. Both approaches are checked to agree on every synthetic image's best real match.

Usage::

    .venv/bin/python bench/scan_vs_pairwise.py [--sizes 40 80] [--model BUNDLE] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import emit, median, model_or_default, write_images, write_noisy_copies
from torch.utils.data import DataLoader, Dataset

from lcmem.embed.cache import EmbeddingCache
from lcmem.io import iter_frames
from lcmem.model.bundle import Bundle
from lcmem.model.latent import normalize_latents
from lcmem.model.preprocess import to_model_input
from lcmem.runtime import configure_threads
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate


class PairDataset(Dataset):
    """Every (real, synthetic) pair; each item decodes both of its images, as the official dataset does."""

    def __init__(self, reals: list[Path], synthetics: list[Path], size: int) -> None:
        self.pairs = [(r, s) for s in synthetics for r in reals]
        self.size = size

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        real, synthetic = self.pairs[index]
        return self._load(real), self._load(synthetic)

    def _load(self, path: Path) -> torch.Tensor:
        return to_model_input(next(iter_frames(path)), self.size)


def pairwise_scores(bundle: Bundle, reals: list[Path], synthetics: list[Path]) -> np.ndarray:
    """The official approach: an ``(M, N)`` score matrix, each pair encoded from its two files."""
    model = bundle.model
    config = bundle.config
    loader = DataLoader(PairDataset(reals, synthetics, config.image_size), batch_size=32, num_workers=0)

    def embed(images: torch.Tensor) -> torch.Tensor:
        latents = model.encoder.encode_raw(images)
        for _ in range(2):  # the official detector normalises twice (idempotent, but it costs)
            latents = normalize_latents(latents, config.norm_mean, config.norm_std, config.norm_eps)
        return model.network.embed(latents)

    scores = []
    with torch.no_grad():
        for x1, x2 in loader:
            scores.append(torch.sigmoid(model.network.pair_logits(embed(x1), embed(x2))).numpy())
    return np.concatenate(scores).reshape(len(synthetics), len(reals))


def scan_best(bundle: Bundle, real_dir: Path, synthetic_dir: Path, cache_dir: Path) -> dict[str, tuple[str, float]]:
    """``lcmem scan``'s work in-process with a cold cache: each synthetic file → (best real file, score)."""
    best: dict[str, tuple[str, float]] = {}

    def sink(chunk: list[Candidate]) -> None:
        for candidate in chunk:
            if candidate.rank == 1:
                best[candidate.synthetic.path] = (candidate.real.path, candidate.score)

    with EmbeddingCache(cache_dir, bundle.checksum, bundle.config.embedding_dim) as cache:
        run_scan([real_dir], [synthetic_dir], bundle, sink, cache=cache)
    return best


def compare(bundle: Bundle, size: int, root: Path, repeats: int) -> dict:
    """Time both approaches on ``size`` reals × ``size`` synthetics (half of them noisy copies of reals).

    The pairwise run (minutes) is timed once; the scan (about a second) ``repeats`` times, each with a new,
    empty cache, and its median is used.
    """
    reals = write_images(root / f"real{size}", size, seed=size)
    copies = write_noisy_copies(reals[: size // 2], root / f"synthetic{size}")
    synthetics = copies + write_images(root / f"synthetic{size}", size - len(copies), seed=10_000 + size, prefix="new")
    synthetics = sorted(synthetics)

    start = time.perf_counter()
    matrix = pairwise_scores(bundle, reals, synthetics)
    pairwise_s = time.perf_counter() - start

    scan_runs = []
    for repeat in range(repeats):
        start = time.perf_counter()
        best = scan_best(bundle, root / f"real{size}", root / f"synthetic{size}", root / f"cache{size}-{repeat}")
        scan_runs.append(time.perf_counter() - start)
    scan_s = median(scan_runs)

    agree, max_diff = 0, 0.0
    for row, synthetic in enumerate(synthetics):
        real_path, score = best[str(synthetic)]
        agree += reals[int(np.argmax(matrix[row]))] == Path(real_path)
        max_diff = max(max_diff, abs(float(matrix[row].max()) - score))
    return {
        "n_real": size, "n_synthetic": size, "pairs": size * size, "pairwise_s": pairwise_s, "scan_s": scan_s,
        "scan_s_runs": scan_runs,
        "ratio": pairwise_s / scan_s, "top1_agreement": agree / size, "max_score_diff": max_diff,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 80], help="N (= M) of each comparison")
    parser.add_argument("--model", type=Path, default=None, help="model bundle (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="cold scans per size (the median is used)")
    args = parser.parse_args()
    threads = configure_threads(args.threads)
    bundle = model_or_default(args.model)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            row = compare(bundle, size, Path(folder), args.repeats)
            rows.append(row)
            print(
                f"{size}×{size}: pairwise {row['pairwise_s']:.1f} s, scan {row['scan_s']:.2f} s (median of "
                f"{args.repeats}), "
                f"ratio {row['ratio']:.0f}×, best match agrees on {100 * row['top1_agreement']:.0f} % "
                f"(max score difference {row['max_score_diff']:.1e})"
            )
    emit({"benchmark": "scan_vs_pairwise", "model": bundle.config.name, "threads": threads, "runs": rows})


if __name__ == "__main__":
    main()
