"""In-domain hard negatives: for each training identity, the identities of its own dataset that the current
network scores closest to it (by the exact pair score, not a proxy).

A reviewer's ranking fails when a different patient of the same domain outscores the true source. Random
negatives are mostly other domains or easy look-alikes; a batch built of groups of mutual nearest identities
(:class:`lcmem.train.sampler.PairSampler` with ``neighbours``) makes both the BCE negatives and the NT-Xent
in-batch negatives the ones that matter.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from lcmem.model.siamese import LCMemModel, SiameseNetwork
from lcmem.train.data import Record
from lcmem.train.pixels import to_float

logger = logging.getLogger(__name__)


def pair_logit_matrix(network: SiameseNetwork, a: Tensor, b: Tensor, chunk: int = 16) -> Tensor:
    """Pair logits of every row of ``a`` against every row of ``b`` (embeddings), ``(len(a), len(b))``."""
    with torch.inference_mode():
        return torch.cat([network.pair_logits(a[i : i + chunk, None, :], b[None, :, :])
                          for i in range(0, len(a), chunk)]) if len(a) else torch.zeros(0, len(b))  # fmt: skip


def embed_pixels(model: LCMemModel, pixels: np.ndarray, batch: int = 64) -> Tensor:
    """Embeddings of cached uint8 pixels ``(N, 3, S, S)`` through the model's VAE and network."""
    model.eval()
    out = []
    with torch.inference_mode():
        for start in tqdm(range(0, len(pixels), batch), desc="embedding for hard negatives", unit="batch"):
            images = torch.from_numpy(to_float(np.asarray(pixels[start : start + batch])))
            out.append(model.embed_images(images))
    return torch.cat(out) if out else torch.zeros(0, model.network.fc_end.in_features)


def nearest_identities(network: SiameseNetwork, embeddings: Tensor, records: list[Record], k: int,
                       chunk: int = 16) -> dict[str, list[str]]:  # fmt: skip
    """For each identity, up to ``k`` other identities of its dataset, closest first.

    An identity's distance to another is the highest pair score between any of their images.
    """
    by_dataset: dict[str, list[int]] = defaultdict(list)
    for row, record in enumerate(records):
        by_dataset[record.dataset].append(row)
    out: dict[str, list[str]] = {}
    for rows in by_dataset.values():
        names = [records[r].identity for r in rows]
        features = embeddings[rows]
        best: dict[str, dict[str, float]] = defaultdict(dict)
        for start in range(0, len(rows), 256):
            logits = pair_logit_matrix(network, features[start : start + 256], features, chunk).numpy()
            for offset, row_logits in enumerate(logits):
                mine, seen = names[start + offset], best[names[start + offset]]
                found: set[str] = set()
                for j in np.argsort(-row_logits, kind="stable"):
                    other = names[j]
                    if other == mine or other in found:
                        continue
                    found.add(other)
                    seen[other] = max(seen.get(other, -np.inf), float(row_logits[j]))
                    if len(found) >= k:
                        break
        for name, others in best.items():
            out[name] = sorted(others, key=lambda o: (-others[o], o))[:k]
    return out


def mined_neighbours(model: LCMemModel, records: list[Record], pixels: np.ndarray, k: int,
                     cache: Path) -> dict[str, list[str]]:  # fmt: skip
    """:func:`nearest_identities` under ``model``, cached in ``cache`` by the network's weights, images and ``k``."""
    digest = hashlib.sha256(f"{len(records)}:{k}".encode())
    for name, tensor in sorted(model.network.state_dict().items()):
        digest.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    for record in records:
        digest.update(f"{record.path}\0{record.identity}\n".encode())
    target = cache / f"neighbours-{digest.hexdigest()[:16]}.json"
    if target.exists():
        return json.loads(target.read_text())
    neighbours = nearest_identities(model.network, embed_pixels(model, pixels), records, k)
    cache.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(neighbours, sort_keys=True))
    logger.info("mined %d nearest identities for each of %d identities", k, len(neighbours))
    return neighbours
