"""Choosing the best epoch by val detection quality: the selector's figures and the stage that uses them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lcmem.errors import LCMemError
from lcmem.eval.metrics import roc_auc
from lcmem.eval.pairs import reid_pairs
from lcmem.eval.transforms import STRENGTHS
from lcmem.train.data import load_labelled
from lcmem.train.pixels import image_cache, to_float
from lcmem.train.run import encode_latents
from lcmem.train.sampler import PairSampler
from lcmem.train.selection import DetectionSelector, SelectionSettings
from lcmem.train.stages import StageConfig, latent_inputs, run_stage
from tests.conftest import make_labelled_dataset

SETTINGS = SelectionSettings(copy_per_dataset=3, min_positives=1, transform_size=64, work_size=64)


@pytest.fixture(scope="module")
def val_data(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("selection")
    data = load_labelled([make_labelled_dataset(root / "toy", identities=24),
                          make_labelled_dataset(root / "few", identities=9, domain="other")])  # fmt: skip
    return data, root


def _val(data, root: Path, model) -> tuple[list, np.ndarray, np.ndarray]:
    records = data.split("val")
    pixels = image_cache(records, model.config.image_size, root / "cache", 1)
    return records, pixels, encode_latents(model, pixels, root / "cache", "val")


def test_selector_auc_is_the_auc_of_the_eval_pairs_scored_by_the_model(val_data, tiny_bundle) -> None:
    data, root = val_data
    model = tiny_bundle.model.eval()
    records, pixels, latents = _val(data, root, model)
    selector = DetectionSelector.build(model, records, latents, SETTINGS)
    figures = selector(model.network)

    pairs = [p for p in reid_pairs(records, 42) if p.dataset == "toy"]
    with torch.inference_mode():
        features = model.embed_images(torch.from_numpy(to_float(np.asarray(pixels))))
        scores = model.score(features[[p.first for p in pairs]], features[[p.second for p in pairs]]).numpy()
    expected = roc_auc(scores, np.array([p.positive for p in pairs]))
    assert figures["val_auc:toy"] == pytest.approx(expected, abs=1e-4)
    cells = sum(len(s) for s in STRENGTHS.values())
    assert len(selector.copies) == cells + 1
    assert 0.0 <= figures["val_copy_min"] <= figures["val_copy_mean"] <= 1.0
    parts = [figures[k] for k in figures if k.startswith("val_auc:")] + [figures["val_copy_mean"]]
    assert figures["val_score"] == pytest.approx(np.mean(parts))


def test_datasets_with_too_few_positive_pairs_do_not_count(val_data, tiny_bundle) -> None:
    data, root = val_data
    model = tiny_bundle.model.eval()
    records, _, latents = _val(data, root, model)
    positives = {d: sum(p.positive and p.dataset == d for p in reid_pairs(records, 42)) for d in ("toy", "few")}
    assert positives["few"] < positives["toy"]
    settings = SelectionSettings(copy_per_dataset=1, min_positives=positives["few"] + 1, transform_size=64)
    figures = DetectionSelector.build(model, records, latents, settings)(model.network)
    assert "val_auc:toy" in figures and "val_auc:few" not in figures


class ScriptedSelector:
    """Returns the given scores epoch by epoch and remembers the network's weights at each call."""

    def __init__(self, scores: list[float]) -> None:
        self.scores, self.states = list(scores), []

    def __call__(self, network) -> dict[str, float]:
        self.states.append({k: v.clone() for k, v in network.state_dict().items()})
        return {"val_score": self.scores[len(self.states) - 1]}


def _stage_parts(data, root: Path, model):
    splits = {s: data.split(s) for s in ("train", "val")}
    latents = {s: encode_latents(model, image_cache(r, model.config.image_size, root / "cache", 1), root / "cache", s)
               for s, r in splits.items()}  # fmt: skip
    samplers = [PairSampler(splits[s], positives="distinct") for s in ("train", "val")]

    def inputs(batch, rng, train):
        return latent_inputs(latents["train" if train else "val"])(batch, rng, train)

    return samplers, inputs


def test_a_stage_selecting_by_detection_keeps_the_best_scoring_epoch(val_data, tmp_path: Path) -> None:
    from lcmem.model.untrained import build_untrained_model

    data, root = val_data
    model = build_untrained_model("selected", seed=3)
    samplers, inputs = _stage_parts(data, root, model)
    config = StageConfig(batch_size=4, steps_per_epoch=2, max_epochs=4, val_batches=1, patience=10, select="detection")
    selector = ScriptedSelector([0.5, 0.9, 0.7, 0.8])
    result = run_stage(model, *samplers, inputs, config, tmp_path, selector)
    assert result.best_epoch == 2 and result.best_val_score == 0.9
    assert result.best_val_loss == result.history[1]["val_loss"]
    assert [h["val_score"] for h in result.history] == [0.5, 0.9, 0.7, 0.8]
    for key, value in model.network.state_dict().items():
        assert torch.equal(value, selector.states[1][key]), key
    assert not torch.equal(model.network.fc_end.weight, selector.states[3]["fc_end.weight"])


def test_a_stage_stops_when_the_detection_score_stops_improving(val_data, tmp_path: Path) -> None:
    from lcmem.model.untrained import build_untrained_model

    data, root = val_data
    model = build_untrained_model("patient", seed=3)
    samplers, inputs = _stage_parts(data, root, model)
    config = StageConfig(batch_size=4, steps_per_epoch=1, max_epochs=10, val_batches=1, patience=2, select="detection")
    result = run_stage(model, *samplers, inputs, config, tmp_path, ScriptedSelector([0.6, 0.5, 0.5, 0.5, 0.9] * 2))
    assert result.best_epoch == 1 and len(result.history) == 4


def test_detection_selection_needs_a_selector_and_a_known_mode(val_data, tmp_path: Path) -> None:
    from lcmem.model.untrained import build_untrained_model

    data, root = val_data
    model = build_untrained_model("unselected", seed=3)
    samplers, inputs = _stage_parts(data, root, model)
    with pytest.raises(LCMemError, match="selector"):
        run_stage(model, *samplers, inputs, StageConfig(select="detection"), tmp_path)
    with pytest.raises(LCMemError, match="unknown select mode"):
        run_stage(model, *samplers, inputs, StageConfig(select="auc"), tmp_path)


def test_annealing_restarts_from_the_best_epoch_at_a_lower_rate(val_data, tmp_path: Path) -> None:
    from lcmem.model.untrained import build_untrained_model

    data, root = val_data
    model = build_untrained_model("annealed", seed=3)
    samplers, inputs = _stage_parts(data, root, model)
    config = StageConfig(batch_size=4, steps_per_epoch=1, max_epochs=3, val_batches=1, patience=10, lr=1e-3,
                         select="detection", anneal_epochs=2, anneal_lr_factor=0.0)  # fmt: skip
    selector = ScriptedSelector([0.5, 0.9, 0.7, 0.6, 0.95])
    result = run_stage(model, *samplers, inputs, config, tmp_path, selector)
    assert [h["lr"] for h in result.history] == [1e-3, 1e-3, 1e-3, 0.0, 0.0]
    assert result.best_epoch == 5
    for key, value in selector.states[3].items():
        assert torch.equal(value, selector.states[1][key]), key
    assert not torch.equal(selector.states[2]["fc_end.weight"], selector.states[1]["fc_end.weight"])


def test_an_interrupted_annealing_resumes_where_it_stopped(val_data, tmp_path: Path) -> None:
    from lcmem.model.untrained import build_untrained_model

    data, root = val_data
    samplers, inputs = _stage_parts(data, root, build_untrained_model("resumed", seed=3))
    config = StageConfig(batch_size=4, steps_per_epoch=1, max_epochs=2, val_batches=1, lr=1e-3, anneal_epochs=1)
    run_stage(build_untrained_model("resumed", seed=3), *samplers, inputs, config, tmp_path)
    longer = replace(config, anneal_epochs=3)
    result = run_stage(build_untrained_model("resumed", seed=3), *samplers, inputs, longer, tmp_path)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]
    assert [h["lr"] for h in result.history] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-4])


def test_a_run_cannot_resume_with_another_selection_rule(val_data, tmp_path: Path) -> None:
    from lcmem.model.untrained import build_untrained_model

    data, root = val_data
    samplers, inputs = _stage_parts(data, root, build_untrained_model("switched", seed=3))
    config = StageConfig(batch_size=4, steps_per_epoch=1, max_epochs=1, val_batches=1)
    run_stage(build_untrained_model("switched", seed=3), *samplers, inputs, config, tmp_path)
    detection = replace(config, max_epochs=2, select="detection")
    with pytest.raises(LCMemError, match="--select loss"):
        run_stage(build_untrained_model("switched", seed=3), *samplers, inputs, detection, tmp_path,
                  ScriptedSelector([0.5, 0.6]))  # fmt: skip


def test_in_domain_rank1_counts_queries_whose_source_scores_highest_in_their_dataset() -> None:
    from lcmem.model.untrained import build_untrained_model
    from lcmem.train.selection import InDomainQueries

    network = build_untrained_model("ranked", seed=5).network.eval()
    with torch.no_grad():
        network.fc_end.weight.fill_(-1.0)
    gallery = torch.randn(6, 4, 16, 16) * 0.5
    datasets = np.array(["a", "a", "a", "b", "b", "b"])
    selector = DetectionSelector(torch.zeros(0), np.zeros(0, int), np.zeros(0, int), np.zeros(0, bool),
                                 np.zeros(0, str), {"original": gallery[:1]}, SETTINGS)  # fmt: skip
    exact = InDomainQueries(gallery, datasets, gallery[[0, 2, 4]], np.array([0, 2, 4]))
    assert exact.rank1(network, selector._embed) == {"a": 1.0, "b": 1.0}
    wrong = InDomainQueries(gallery, datasets, gallery[[1, 2, 3]], np.array([0, 2, 4]))
    assert wrong.rank1(network, selector._embed) == {"a": 0.5, "b": 0.0}


def test_retrieval_selection_adds_in_domain_rank1_as_a_third_part(val_data, tiny_bundle) -> None:
    data, root = val_data
    model = tiny_bundle.model.eval()
    records, pixels, latents = _val(data, root, model)
    settings = replace(SETTINGS, rank_sources=2)
    figures = DetectionSelector.build(model, records, latents, settings, pixels=pixels)(model.network)
    assert set(figures) >= {"val_rank1:toy", "val_rank1:few", "val_rank1"}
    assert all(0.0 <= figures[f"val_rank1:{d}"] <= 1.0 for d in ("toy", "few"))
    aucs = np.mean([figures[k] for k in figures if k.startswith("val_auc:")])
    expected = np.mean([aucs, figures["val_copy_mean"], figures["val_rank1"]])
    assert figures["val_score"] == pytest.approx(expected)
    plain = DetectionSelector.build(model, records, latents, settings)(model.network)
    assert "val_rank1" not in plain and plain["val_copy_mean"] == pytest.approx(figures["val_copy_mean"])
