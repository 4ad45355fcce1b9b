"""Pair sampling: the official independent draws, distinct re-identification pairs, copy rows."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lcmem.errors import LCMemError
from lcmem.train.augment import PRESETS, AugmentConfig
from lcmem.train.data import Record
from lcmem.train.sampler import PairSampler
from lcmem.train.stages import image_inputs, latent_inputs


def records(singletons: int = 30, pairs: int = 10, per_identity: int = 3) -> list[Record]:
    """``singletons`` one-image identities (dataset "a") and ``pairs`` identities of several images ("b")."""
    out = [Record(f"s{i}.png", f"s{i}", "train", "natural", "a") for i in range(singletons)]
    for i in range(pairs):
        out += [Record(f"m{i}_{k}.png", f"m{i}", "train", "xray", "b") for k in range(per_identity)]
    return out


def test_distinct_positives_are_two_different_images_of_one_identity() -> None:
    data = records()
    sampler = PairSampler(data, positives="distinct")
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = sampler.batch(8, rng)
        assert len(batch.first) == 8 and not any(batch.copies)
        for a, b in zip(batch.first, batch.second, strict=True):
            assert a != b and data[a].identity == data[b].identity
            assert data[a].dataset == "b"
        assert batch.datasets == [data[a].dataset for a in batch.first]


def test_official_draws_give_singletons_as_image_and_itself() -> None:
    data = records()
    batch = PairSampler(data, positives="draws").batch(30, np.random.default_rng(1))
    singles = [(a, b) for a, b in zip(batch.first, batch.second, strict=True) if data[a].dataset == "a"]
    assert singles and all(a == b for a, b in singles)


def test_copy_rows_are_marked_mixed_in_and_drawn_from_every_identity() -> None:
    data = records()
    sampler = PairSampler(data, copy_p=0.5, positives="distinct")
    rng = np.random.default_rng(2)
    copies, identity_rows, copy_datasets = 0, 0, Counter()
    positions = Counter()
    for _ in range(50):
        batch = sampler.batch(16, rng)
        for row, (a, b, is_copy) in enumerate(zip(batch.first, batch.second, batch.copies, strict=True)):
            if is_copy:
                assert a == b
                copies += 1
                copy_datasets[data[a].dataset] += 1
                positions[row] += 1
            else:
                assert a != b
                identity_rows += 1
    assert 0.4 < copies / (copies + identity_rows) < 0.6
    assert copy_datasets["a"] > 0 and copy_datasets["b"] > 0
    assert positions[0] > 0 and positions[15] > 0


def test_distinct_positives_without_repeated_identities_is_a_clear_error() -> None:
    with pytest.raises(LCMemError, match="two images"):
        PairSampler(records(pairs=0), positives="distinct")
    with pytest.raises(LCMemError, match="unknown positives"):
        PairSampler(records(), positives="random")


def test_latent_flip_mirrors_only_the_second_latent_and_only_in_training() -> None:
    latents = np.random.default_rng(3).normal(size=(4, 4, 8, 8)).astype(np.float16)
    batch = PairSampler(records(singletons=0, pairs=4, per_identity=1), positives="draws").batch(
        4, np.random.default_rng(4)
    )
    make = latent_inputs(latents, flip_p=1.0)
    first, second = make(batch, np.random.default_rng(5), True)
    expected = torch.from_numpy(latents[batch.second].astype(np.float32))
    assert torch.equal(first, torch.from_numpy(latents[batch.first].astype(np.float32)))
    assert torch.equal(second, expected.flip(-1))
    _, untouched = make(batch, np.random.default_rng(5), False)
    assert torch.equal(untouched, expected)


def test_copy_rows_and_identity_rows_get_their_own_augmentation(monkeypatch: pytest.MonkeyPatch) -> None:
    nothing = AugmentConfig(rotate_p=0, flip_p=0, blur_p=0, noise_p=0, jpeg_p=0, brightness_p=0, contrast_p=0, crop_p=0)
    monkeypatch.setitem(PRESETS, "nothing", nothing)
    data = records(singletons=10, pairs=10, per_identity=2)
    pixels = np.random.default_rng(6).integers(0, 256, size=(len(data), 3, 24, 24), dtype=np.uint8)
    batch = PairSampler(data, copy_p=0.5, positives="distinct").batch(16, np.random.default_rng(7))
    assert 0 < sum(batch.copies) < 16
    model = SimpleNamespace(encoder=lambda images: images)
    _, second = image_inputs(model, pixels, "strong", "nothing")(batch, np.random.default_rng(8), True)
    originals = torch.from_numpy(pixels[batch.second].astype(np.float32) / 255)
    changed = [not torch.allclose(s, o) for s, o in zip(second, originals, strict=True)]
    assert not any(c for c, is_copy in zip(changed, batch.copies, strict=True) if not is_copy)
    assert all(c for c, is_copy in zip(changed, batch.copies, strict=True) if is_copy)


def neighbour_records() -> list[Record]:
    """Two datasets of eight identities each; identities of "b" have two images, those of "a" one."""
    out = [Record(f"a{i}.png", f"a{i}", "train", "natural", "a") for i in range(8)]
    for i in range(8):
        out += [Record(f"b{i}_{k}.png", f"b{i}", "train", "xray", "b") for k in range(2)]
    return out


def test_grouped_batches_hold_a_seed_and_its_mined_neighbours() -> None:
    data = neighbour_records()
    neighbours = {f"{d}{i}": [f"{d}{(i + 1) % 8}", f"{d}{(i + 2) % 8}"] for d in "ab" for i in range(8)}
    sampler = PairSampler(data, copy_p=0.0, positives="distinct", neighbours=neighbours, group_size=3)
    rng = np.random.default_rng(4)
    for _ in range(20):
        batch = sampler.batch(9, rng)
        assert batch.groups is not None and len(batch.groups) == len(batch.first) == 9
        identities = [data[a].identity for a in batch.first]
        assert len(set(identities)) == 9
        for group in set(batch.groups):
            members = [identities[r] for r, g in enumerate(batch.groups) if g == group]
            assert len({data[a].dataset for a, g in zip(batch.first, batch.groups, strict=True) if g == group}) == 1
            assert any(all(m == seed or m in neighbours[seed] for m in members) for seed in members)
        for a, b, is_copy in zip(batch.first, batch.second, batch.copies, strict=True):
            assert data[a].identity == data[b].identity
            assert (a == b) == is_copy
            assert is_copy or data[a].dataset == "b"


def test_grouped_batches_make_copies_at_the_asked_rate() -> None:
    data = neighbour_records()
    neighbours = {f"b{i}": [f"b{(i + 1) % 8}"] for i in range(8)}
    sampler = PairSampler(data, copy_p=0.5, positives="distinct", neighbours=neighbours, group_size=2)
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(200):
        batch = sampler.batch(8, rng)
        rows += [(data[a].dataset, c) for a, c in zip(batch.first, batch.copies, strict=True)]
    assert 0.4 < np.mean([c for _, c in rows]) < 0.6
    assert all(c for d, c in rows if d == "a")
    assert not all(c for d, c in rows if d == "b")
