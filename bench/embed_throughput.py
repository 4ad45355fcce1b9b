"""Encoder throughput and its ceiling: images/s end to end (decode included) against the machine's FLOP/s.

Prints the figures and one JSON line. Usage::

    .venv/bin/python bench/embed_throughput.py [--model BUNDLE] [--images 200] [--repeats 3] [--threads 2] [--paper]

The default model is the bundled one. ``--paper`` also times the paper's configuration (a Stable-Diffusion-
sized AutoencoderKL + ConvNeXt-Tiny at 512×512, random weights) on a few images, so the ratio shows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from common import emit, median, model_or_default, write_images
from torch.utils.flop_counter import FlopCounterMode

from lcmem.embed.runner import EmbedSettings, embed_files
from lcmem.model.bundle import Bundle
from lcmem.model.config import LCMemConfig, VaeRef
from lcmem.model.latent import build_vae
from lcmem.model.siamese import LCMemModel
from lcmem.runtime import configure_threads

SD_VAE = {
    "in_channels": 3, "out_channels": 3, "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4, "block_out_channels": (128, 256, 512, 512), "layers_per_block": 2,
    "latent_channels": 4, "norm_num_groups": 32, "sample_size": 512,
}  # fmt: skip


def matmul_flops(seconds: float = 2.0, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        done += 1
    return 2 * n**3 * done / (time.perf_counter() - start)


def flops_per_image(bundle: Bundle) -> float:
    x = torch.rand(1, 3, bundle.config.image_size, bundle.config.image_size)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        bundle.model.embed_images(x)
    return float(counter.get_total_flops())


def images_per_second(bundle: Bundle, files: list[Path], repeats: int, batch: int) -> list[float]:
    rates = []
    settings = EmbedSettings(batch_size=batch, decode_threads=2)
    for _ in range(repeats):
        start = time.perf_counter()
        embed_files(files, bundle, settings=settings)
        rates.append(len(files) / (time.perf_counter() - start))
    return rates


def paper_bundle() -> Bundle:
    config = LCMemConfig(name="paper-random", image_size=512, backbone="tiny", stem_stride=4, vae=VaeRef())
    torch.manual_seed(0)
    return Bundle(Path("."), config, LCMemModel(config, build_vae("AutoencoderKL", **SD_VAE)).eval())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--paper", action="store_true")
    args = parser.parse_args()
    threads = configure_threads(args.threads)
    bundle = model_or_default(args.model)
    ceiling = matmul_flops()
    flops = flops_per_image(bundle)
    with tempfile.TemporaryDirectory() as folder:
        files = write_images(Path(folder), args.images)
        rates = images_per_second(bundle, files, args.repeats, args.batch_size)
        result = {
            "benchmark": "embed_throughput", "model": bundle.config.name, "checksum": bundle.checksum[:16],
            "input_size": bundle.config.image_size, "threads": threads, "images": args.images,
            "images_per_s_median": median(rates), "images_per_s_runs": rates,
            "gflop_per_image": flops / 1e9, "matmul_gflops": ceiling / 1e9,
            "fraction_of_ceiling": median(rates) * flops / ceiling,
        }  # fmt: skip
        print(f"{bundle.config.name}: {result['images_per_s_median']:.1f} images/s (median of {args.repeats}), "
              f"{result['gflop_per_image']:.3f} GFLOP/image, ceiling {result['matmul_gflops']:.1f} GFLOP/s "
              f"(matmul), {100 * result['fraction_of_ceiling']:.1f} % of it")  # fmt: skip
        if args.paper:
            paper = paper_bundle()
            paper_rates = images_per_second(paper, files[:8], 1, 4)
            result["paper_images_per_s"] = paper_rates[0]
            result["paper_gflop_per_image"] = flops_per_image(paper) / 1e9
            result["speed_ratio"] = result["images_per_s_median"] / paper_rates[0]
            print(
                f"paper configuration (SD VAE + ConvNeXt-Tiny, 512²): {paper_rates[0]:.2f} images/s, "
                f"{result['paper_gflop_per_image']:.1f} GFLOP/image; ratio {result['speed_ratio']:.0f}×"
            )
    emit(result)


if __name__ == "__main__":
    main()
