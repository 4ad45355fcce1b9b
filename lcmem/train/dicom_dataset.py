"""A labelled dataset from a DICOM archive: identity = keyed hash of PatientID, split by identity, seeded.

The raw PatientID never reaches ``labels.csv``: identities are ``HMAC-SHA256(key, PatientID)`` (first 16 hex
digits), with a key kept beside the CSV (``labels.key``, readable by the owner only) so that re-running on a
grown archive gives the same identities. Files without a PatientID become their own identity.
"""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from pathlib import Path

from lcmem.io import discover_images, read_dicom_identifiers
from lcmem.store.pseudonym import new_secret, pseudonymise

SPLIT_FRACTIONS = (("train", 0.70), ("val", 0.15), ("test", 0.15))


def read_or_create_key(path: Path) -> str:
    """The hex key in ``path``, created (mode 0600) if absent."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = new_secret()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(key + "\n")
    return key


def assign_splits(identities: list[str], seed: int) -> dict[str, str]:
    """Shuffle identities with ``seed`` and cut them 70 / 15 / 15 into train / val / test."""
    order = sorted(identities)
    random.Random(seed).shuffle(order)
    splits, start = {}, 0
    for index, (name, fraction) in enumerate(SPLIT_FRACTIONS):
        end = len(order) if index == len(SPLIT_FRACTIONS) - 1 else start + round(fraction * len(order))
        splits.update(dict.fromkeys(order[start:end], name))
        start = end
    return splits


def dicom_labels(folder: str | Path, out: str | Path, *, key_file: str | Path | None = None, seed: int = 0,
                 domain: str | None = None) -> int:  # fmt: skip
    """Write ``labels.csv`` for every DICOM image under ``folder``; return the number of rows."""
    root = Path(folder).resolve()
    target = Path(out)
    key = read_or_create_key(Path(key_file) if key_file else target.with_suffix(".key"))
    rows = []
    for path in discover_images([root]).files:
        ids = read_dicom_identifiers(path)
        if ids is None:
            continue
        relative = path.relative_to(root).as_posix()
        identity = pseudonymise(ids.patient_id, key) or f"file-{pseudonymise(relative, key)}"
        rows.append((relative, identity, domain or (ids.modality or "unknown").lower()))
    splits = assign_splits(sorted({identity for _, identity, _ in rows}), seed)
    by_identity: dict[str, int] = defaultdict(int)
    for _, identity, _ in rows:
        by_identity[identity] += 1
    with target.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "identity", "split", "domain", "images_of_identity"])
        for relative, identity, row_domain in sorted(rows):
            writer.writerow([relative, identity, splits[identity], row_domain, by_identity[identity]])
    return len(rows)
