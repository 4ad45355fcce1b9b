"""Large-archive figures: images/s of ``lcmem embed`` with the local and the Ray engine, index build time, and a
cost estimate for 10^7 images on N GPU workers derived from the measured per-image encoder cost.

Prints the figures and one JSON line. Usage (Ray in local mode on this machine)::

    .venv/bin/python bench/cluster_embed.py [--model BUNDLE] [--images 300] [--threads 2] [--gpu-factor 50]

The default model is the bundled one. The GPU estimate is not a measurement: it divides the measured CPU cost
of the encoder by ``--gpu-factor`` (an assumed speed ratio of one GPU worker to this CPU), see docs/SCALING.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from embed_throughput import write_images

from lcmem.embed.archive import run_embed_job
from lcmem.embed.items import FileDigest, decode_file, digest_file, encode_inputs
from lcmem.embed.local_engine import LocalEngine
from lcmem.embed.ray_engine import RayEngine, RaySettings
from lcmem.embed.runner import EmbedSettings
from lcmem.index.build import BuildSettings, build_index
from lcmem.io import DEFAULT_MAX_PIXELS
from lcmem.model.bundle import load_bundle
from lcmem.model.default import model_path_or_default
from lcmem.runtime import configure_threads

ARCHIVE = 10_000_000


def decode_seconds_per_image(files: list[Path], size: int) -> tuple[float, list]:
    """Hash, decode and preprocess each file in this thread (what a Ray decode task does per image); the inputs."""
    start = time.perf_counter()
    inputs = []
    for path in files:
        digest = digest_file(path)
        assert isinstance(digest, FileDigest)
        inputs.extend(decode_file(digest, size, DEFAULT_MAX_PIXELS).tensors)
    return (time.perf_counter() - start) / len(files), inputs


def encoder_seconds_per_image(bundle, inputs: list, repeats: int = 3) -> float:
    """The encoder alone (VAE latents + ConvNeXt), one batch of ``inputs`` at a time, best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        encode_inputs(bundle, inputs, "cpu")
        best = min(best, time.perf_counter() - start)
    return best / len(inputs)


def job_seconds(source: Path, bundle, out: Path, engine, files_per_shard: int, repeats: int) -> float:
    """The best wall time of ``repeats`` fresh jobs (the least disturbed by other work on the machine)."""
    best = float("inf")
    for attempt in range(repeats):
        start = time.perf_counter()
        run_embed_job(source, bundle, out / str(attempt), engine, files_per_shard=files_per_shard)
        best = min(best, time.perf_counter() - start)
    return best


def rates(root: Path, name: str, bundle, engine, args: argparse.Namespace, half: int, n: int) -> dict[str, float]:
    """Wall time of a job over all images, and the marginal rate: the extra images of a job twice as large per
    extra second, which leaves out what every job pays once (Ray's actor start-up, model loading)."""
    half_s = job_seconds(root / "half.txt", bundle, root / f"{name}-half", engine, args.files_per_shard, args.repeats)
    all_s = job_seconds(root / "all.txt", bundle, root / f"{name}-all", engine, args.files_per_shard, args.repeats)
    return {"s": all_s, "images_per_s": n / all_s, "marginal_images_per_s": (n - half) / max(all_s - half_s, 1e-9)}


def generated(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    return write_images(folder, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2, help="CPU cores to use (local engine and Ray)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--files-per-shard", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=2, help="jobs per measurement; the fastest counts")
    parser.add_argument("--gpu-factor", type=float, default=50.0, help="assumed GPU-worker : this-CPU speed ratio")
    parser.add_argument("--workers", default="1,8,32,128", help="GPU worker counts for the estimate")
    args = parser.parse_args()
    threads = configure_threads(args.threads)
    bundle = load_bundle(model_path_or_default(args.model))
    n = args.images
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        files = generated(root / "images", n)
        half = n // 2
        (root / "half.txt").write_text("\n".join(str(f) for f in files[:half]) + "\n")
        (root / "all.txt").write_text("\n".join(str(f) for f in files) + "\n")
        decode_s, inputs = decode_seconds_per_image(files[: args.batch_size], bundle.config.image_size)
        encoder_s = encoder_seconds_per_image(bundle, inputs)

        local_engine = LocalEngine(EmbedSettings(args.batch_size, decode_threads=threads))
        local = rates(root, "local", bundle, local_engine, args, half, n)

        import ray

        start = time.perf_counter()
        ray.init(num_cpus=threads, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_init_s = time.perf_counter() - start
        settings = RaySettings(batch_size=args.batch_size, concurrency=max(1, threads // 2), files_per_block=16)
        ray_rates = rates(root, "ray", bundle, RayEngine(settings), args, half, n)
        ray.shutdown()

        start = time.perf_counter()
        build_index(root / "local-all" / "0", root / "index", bundle, BuildSettings())
        index_s = time.perf_counter() - start
        start = time.perf_counter()
        build_index(root / "local-all" / "0", root / "index-disk", bundle, BuildSettings(on_disk=True, block_rows=100))
        index_disk_s = time.perf_counter() - start

    gpu_s_per_image = encoder_s / args.gpu_factor
    workers = [int(w) for w in args.workers.split(",")]
    estimate = {
        str(w): {
            "hours": ARCHIVE * gpu_s_per_image / w / 3600,
            "gpu_hours": ARCHIVE * gpu_s_per_image / 3600,
            "decode_cores_needed": w * decode_s / gpu_s_per_image,
        }
        for w in workers
    }
    result = {
        "benchmark": "cluster_embed", "model": bundle.config.name, "input_size": bundle.config.image_size,
        "threads": threads, "images": n, "repeats": args.repeats, "load_average": os.getloadavg()[0],
        "decode_s_per_image": decode_s, "encoder_s_per_image": encoder_s,
        "local": local, "ray": ray_rates, "ray_init_s": ray_init_s, "ray_concurrency": settings.concurrency,
        "index_build_s": index_s, "index_build_on_disk_s": index_disk_s,
        "gpu_factor_assumed": args.gpu_factor, "estimate_1e7": estimate,
    }  # fmt: skip
    print(f"{bundle.config.name} ({bundle.config.image_size}²), {n} images, {threads} CPU threads, best of "
          f"{args.repeats}; load average {result['load_average']:.1f} at the end")  # fmt: skip
    print(f"  per image: decode (hash + decode + resize) {1000 * decode_s:.1f} ms on one thread, "
          f"encoder {1000 * encoder_s:.1f} ms on {threads} threads")  # fmt: skip
    for label, r in (("local engine", local), ("ray engine  ", ray_rates)):
        print(f"  {label}: {r['images_per_s']:.1f} images/s over a {n}-image job ({r['s']:.1f} s), "
              f"{r['marginal_images_per_s']:.1f} images/s marginal")  # fmt: skip
    print(f"  ray.init (local mode, {threads} CPUs): {ray_init_s:.1f} s")
    print(f"  index build (IVF-SQ8): {index_s:.2f} s in memory, {index_disk_s:.2f} s on disk")
    print(f"  estimate for 10^7 images, one GPU worker = {args.gpu_factor:g}× this CPU (an assumption):")
    for w, e in estimate.items():
        print(f"    {w:>4} GPU workers: {e['hours']:.1f} h ({e['gpu_hours']:.0f} GPU-hours), "
              f"{e['decode_cores_needed']:.0f} decode cores to keep them fed")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
