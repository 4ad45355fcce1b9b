"""A Ray embed job that dies: ``python embed_child.py ADDRESS SOURCE BUNDLE OUT FILES_PER_SHARD KILL_AFTER``.

It joins the Ray cluster at ADDRESS and SIGKILLs itself (no clean-up of any kind) as soon as KILL_AFTER shards
exist in OUT, the way a driver dies when its machine is lost.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from lcmem.embed.archive import SHARDS, run_embed_job
from lcmem.embed.ray_engine import RayEngine, RaySettings
from lcmem.model.bundle import load_bundle


def main() -> None:
    address, source, bundle, out, files_per_shard, kill_after = sys.argv[1:]

    def progress(_done: int, _total: int, _text: str) -> None:
        if len(list((Path(out) / SHARDS).glob("part-*.parquet"))) >= int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)

    engine = RayEngine(RaySettings(address=address, batch_size=2, files_per_block=1))
    run_embed_job(source, load_bundle(bundle), out, engine, files_per_shard=int(files_per_shard), progress=progress)


if __name__ == "__main__":
    main()
