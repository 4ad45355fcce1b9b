"""Recovery checkpoints of a training run: written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from lcmem.errors import LCMemError

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) to ``run_dir/checkpoint.pt``."""
    target = Path(run_dir) / CHECKPOINT_NAME
    temp = target.with_suffix(".tmp")
    torch.save(state, temp)
    os.replace(temp, target)
    return target


def load_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's last checkpoint, or ``None`` when there is none (a fresh run).

    Raises:
        LCMemError: the checkpoint exists but cannot be read as plain weights and numbers.
    """
    target = Path(run_dir) / CHECKPOINT_NAME
    if not target.exists():
        return None
    try:
        return torch.load(target, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise LCMemError(f"{target}: cannot resume from this checkpoint ({exc}); delete it to start over") from exc
