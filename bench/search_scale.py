"""Search at scale: index build, query throughput, peak memory and recall of the exact top-1 at 10^5–10^6 reals.

The real side is made of *real-looking* embeddings: the default model's embeddings of real images (a sample
across ``../shared/data``, or generated images where that folder is absent), multiplied into ``N`` vectors by
perturbing them in logit space with noise of half the per-dimension spread of the real embeddings. Queries are
half near-copies of random reals (small noise: what a memorized synthetic image looks like) and half novel
perturbations of the real images. For each index kind the script times the build and search + exact LCMem
re-scoring of all queries (the scan's own ``CandidateIndex`` and ``search_candidates``, top-k 20 chosen among
4 × 20 index candidates), reads the peak RSS of each phase, and checks on a sample of queries whether the
exact top-1 (the best LCMem pair score over *all* N reals, computed by brute force) is among the candidates.

Usage::

    .venv/bin/python bench/search_scale.py [--sizes 100000 1000000] [--queries 10000] [--kinds flat ivf-sq8]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
import torch
from common import emit, model_or_default, write_images

from lcmem.embed.runner import embed_files
from lcmem.index.faiss_index import CandidateIndex, IndexSettings
from lcmem.index.rescore import OVERSAMPLE, search_candidates
from lcmem.model.bundle import Bundle
from lcmem.runtime import configure_threads

SHARED_DATA = Path(os.environ.get("LCMEM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs`` 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    """Peak RSS since the last reset, in MiB (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def sample_real_files(count: int, seed: int) -> list[Path]:
    """Up to ``count`` image files spread over every data set of the shared data folder."""
    files = []
    for labels in sorted(SHARED_DATA.glob("*/labels.csv")):
        with labels.open(newline="") as handle:
            files.extend(labels.parent / row["path"] for row in csv.DictReader(handle))
    rng = np.random.default_rng(seed)
    return [files[i] for i in sorted(rng.choice(len(files), size=min(count, len(files)), replace=False))]


def base_embeddings(bundle: Bundle, count: int, folder: Path) -> tuple[np.ndarray, str]:
    """Embeddings of real images (or generated ones where the shared data is absent) and what they are."""
    files = sample_real_files(count, seed=0) if SHARED_DATA.is_dir() else []
    source = f"{len(files)} images from {SHARED_DATA}"
    if not files:
        files = write_images(folder, count)
        source = f"{count} generated images ({SHARED_DATA} is absent)"
    return embed_files(files, bundle).embeddings, source


class EmbeddingSynthesizer:
    """Perturbs real embeddings in logit space: ``sigmoid(logit(e) + scale · noise · spread)``."""

    def __init__(self, base: np.ndarray, seed: int) -> None:
        self.logits = np.log(np.clip(base, 1e-4, 1 - 1e-4) / np.clip(1 - base, 1e-4, 1))
        self.spread = self.logits.std(axis=0, keepdims=True)
        self.rng = np.random.default_rng(seed)

    def around(self, centres: np.ndarray, scale: float) -> np.ndarray:
        noise = self.rng.standard_normal(centres.shape, dtype=np.float32) * (scale * self.spread)
        return (1 / (1 + np.exp(-(centres + noise)))).astype(np.float32)

    def reals(self, count: int, chunk: int = 100_000) -> np.ndarray:
        out = np.empty((count, self.logits.shape[1]), np.float32)
        for start in range(0, count, chunk):
            picks = self.rng.integers(0, len(self.logits), min(chunk, count - start))
            out[start : start + len(picks)] = self.around(self.logits[picks], 0.5)
        return out

    def queries(self, reals: np.ndarray, count: int) -> np.ndarray:
        copies = reals[self.rng.integers(0, len(reals), count // 2)]
        copy_logits = np.log(np.clip(copies, 1e-6, 1 - 1e-6) / np.clip(1 - copies, 1e-6, 1))
        novel = self.logits[self.rng.integers(0, len(self.logits), count - count // 2)]
        return np.concatenate([self.around(copy_logits, 0.05), self.around(novel, 0.5)])


def exact_top1(bundle: Bundle, queries: np.ndarray, reals: np.ndarray, chunk: int = 50_000) -> np.ndarray:
    """The real with the best LCMem pair logit for each query, by brute force over every real."""
    head = bundle.model.network.fc_end
    weight = head.weight.detach().float()[0]
    positive, negative = weight.clamp_min(0), (-weight).clamp_min(0)
    q = torch.from_numpy(queries)
    best_logit = torch.full((len(q),), -torch.inf)
    best_index = torch.zeros(len(q), dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(reals), chunk):
            r = torch.from_numpy(reals[start : start + chunk])
            logits = torch.cdist(q * positive, r * positive, p=1) - torch.cdist(q * negative, r * negative, p=1)
            value, index = logits.max(dim=1)
            better = value > best_logit
            best_logit = torch.where(better, value, best_logit)
            best_index = torch.where(better, index + start, best_index)
    return best_index.numpy()


def measure(bundle: Bundle, kind: str, reals: np.ndarray, queries: np.ndarray, truth_rows: np.ndarray,
            truth: np.ndarray, top_k: int, oversample: int, chunk: int = 1024) -> dict:  # fmt: skip
    """Build ``kind`` over ``reals``, search + re-score ``queries``; time, memory and recall of the exact top-1."""
    head = bundle.model.network.fc_end.weight.detach().numpy()[0]
    reset_peak_rss()
    start = time.perf_counter()
    index = CandidateIndex(head, IndexSettings(kind=kind))
    index.build(reals)
    build_s = time.perf_counter() - start
    build_rss = peak_rss_mib()

    reset_peak_rss()
    checked = dict(zip(truth_rows.tolist(), truth.tolist(), strict=True))
    found = np.zeros(len(queries), bool)
    first = np.full(len(queries), -1)
    start = time.perf_counter()
    for begin in range(0, len(queries), chunk):
        batch = queries[begin : begin + chunk]
        ranked = search_candidates(index, bundle.model.network, batch, reals, top_k, oversample)
        first[begin : begin + len(batch)] = ranked.indices[:, 0]
        for r in range(len(batch)):
            if begin + r in checked:
                found[begin + r] = checked[begin + r] in ranked.indices[r]
    search_s = time.perf_counter() - start
    sampled_found = found[truth_rows]
    return {
        "kind": index.kind, "n_real": len(reals), "n_queries": len(queries), "top_k": top_k, "oversample": oversample,
        "build_s": build_s, "build_peak_rss_mib": build_rss,
        "search_rescore_s": search_s, "queries_per_s": len(queries) / search_s,
        "search_peak_rss_mib": peak_rss_mib(), "recall_exact_top1": float(sampled_found.mean()),
        "top1_is_exact": float((first[truth_rows] == truth).mean()), "recall_sample": len(truth_rows),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--kinds", nargs="+", default=["flat", "ivf-sq8"], help="index kinds to measure")
    parser.add_argument(
        "--flat-max-queries",
        type=int,
        default=2_000,
        help="above 10^5 reals the exact index searches at most this many queries (it is slow)",
    )
    parser.add_argument("--recall-sample", type=int, default=200, help="queries checked against brute force")
    parser.add_argument("--base", type=int, default=1_000, help="real images embedded to seed the vectors")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--oversample", type=int, default=OVERSAMPLE, help="index candidates per kept candidate")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    threads = configure_threads(args.threads)
    bundle = model_or_default(args.model)
    base, source = base_embeddings(bundle, args.base, Path("/tmp/lcmem-search-scale-images"))
    print(f"seeded from {source}")
    runs = []
    for size in args.sizes:
        synthesizer = EmbeddingSynthesizer(base, seed=size)
        reals = synthesizer.reals(size)
        queries = synthesizer.queries(reals, args.queries)
        rng = np.random.default_rng(1)
        truth_rows = np.sort(rng.choice(len(queries), size=min(args.recall_sample, len(queries)), replace=False))
        start = time.perf_counter()
        truth = exact_top1(bundle, queries[truth_rows], reals)
        seconds = time.perf_counter() - start
        print(f"{size} reals: brute-force exact top-1 of {len(truth_rows)} queries in {seconds:.0f} s")
        for kind in args.kinds:
            n_queries = args.queries if kind != "flat" or size <= 100_000 else args.flat_max_queries
            keep = truth_rows[truth_rows < n_queries]
            truth_kept = truth[: len(keep)]
            row = measure(bundle, kind, reals, queries[:n_queries], keep, truth_kept, args.top_k, args.oversample)
            runs.append(row)
            print(
                f"{size} reals, {row['kind']}: build {row['build_s']:.1f} s "
                f"(peak {row['build_peak_rss_mib']:.0f} MiB), "
                f"{n_queries} queries searched + re-scored in {row['search_rescore_s']:.1f} s "
                f"({row['queries_per_s']:.0f}/s, peak {row['search_peak_rss_mib']:.0f} MiB), exact top-1 among the "
                f"candidates for {100 * row['recall_exact_top1']:.1f} % of {len(keep)} sampled queries"
            )
        del reals
    emit({"benchmark": "search_scale", "model": bundle.config.name, "threads": threads, "seed_source": source,
          "runs": runs})  # fmt: skip


if __name__ == "__main__":
    main()
