"""Writing an evaluation: ``report.json``, ``report.md`` (tables) and PNG plots (ROC, recall vs strength); a run
without the paper's protocols writes ``retrieval.json`` and ``retrieval.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lcmem.eval.transforms import EDITS, STRENGTHS
from lcmem.eval.verified import NAME as VERIFY_NAME
from lcmem.provenance import software_versions


def write_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the report files into ``out_dir``; return their paths."""
    out = Path(out_dir)
    curves = report.get("curves", {})
    data = {k: v for k, v in report.items() if k != "curves"}
    data["software"] = software_versions()
    stem = "report" if data["settings"].get("paper", True) else "retrieval"
    paths = [out / f"{stem}.json", out / f"{stem}.md"]
    paths[0].write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(data), encoding="utf-8")
    if stem == "report":
        paths += _plots(data, curves, out)
    return paths


def markdown(report: dict[str, Any]) -> str:
    """The report's tables as Markdown: in-domain retrieval first, then the paper's protocols where they ran."""
    lines = [f"# Evaluation of `{report['model']['name']}` (checksum `{report['model']['checksum'][:16]}`)", ""]
    if "retrieval" in report:
        lines += retrieval_markdown(report)
    if "reid" in next(iter(report["detectors"].values())):
        lines += _paper_markdown(report)
    lines += [f"Images: {report['n_images']}. Time: {report['seconds']} s.", ""]
    return "\n".join(lines)


def retrieval_markdown(report: dict[str, Any]) -> list[str]:
    """The in-domain retrieval tables: every detector per dataset, then LCMem's rank-1 per edit."""
    detectors, protocol = report["detectors"], report["retrieval"]
    datasets = sorted(protocol["datasets"])
    settings = protocol["settings"]
    lines = [f"## In-domain retrieval ({report['settings']['split']} split)", "",
             f"Gallery: {protocol['gallery']} images of the split, {settings['held_out_fraction']:.0%} of each "
             f"dataset's identities held out (at least {settings['held_out_minimum']}, at most half); queries per "
             f"dataset: {len(protocol['edits'])} edits of {settings['sources_per_dataset']} gallery images at "
             f"{protocol['working_size']} px, ≤ {settings['reid_per_dataset']} re-identification queries, "
             f"≤ {settings['unseen_per_dataset']} unseen-identity images. Rank-1 and mAP (ties shared, never won) "
             "and the median margin (true source − best other) are over edited copies; recall = true source at "
             "or above the threshold; unseen FPR = unseen images whose best gallery score reaches it. *val*: the "
             "detector's val threshold (FPR 5 % on val re-ID pairs); *null*: the "
             f"{settings['null_quantile']:.1%} order statistic (the scan's rule: rank ⌈q(n+1)⌉, capped at n, "
             "unfloored) of the dataset's gallery "
             "images' nearest-other-identity scores. µAP: DISC21-style, edited and unseen queries, top "
             f"{settings['top_k']}, one ranking. MSE, SSIM and NCC compare {settings['pixel_size']} px thumbnails "
             f"(SSIM at every {settings['ssim_stride']}th window position).", "",
             "| dataset | detector | rank-1 | mAP | margin | recall val | unseen FPR val | recall null "
             "| unseen FPR null | re-ID rank-1 | µAP | queries |", "|---|---|" + "---|" * 10]  # fmt: skip
    for dataset in [*datasets, "pooled"]:
        for name, result in detectors.items():
            r = result["retrieval"][dataset]
            reid = r["reid"].get("rank1", float("nan"))
            lines.append(
                f"| {dataset} | {name} | {r['rank1']:.3f} | {r['map']:.3f} | {r['margin']:+.3f} "
                f"| {r['recall_at_threshold']:.3f} | {r['unseen_fpr']:.3f} | {r['recall_at_null_threshold']:.3f} "
                f"| {r['unseen_fpr_at_null_threshold']:.3f} | {reid:.3f} | {r['uap']:.3f} "
                f"| {r['n_queries']} / {r['reid']['n_queries']} / {r['n_unseen']} |"
            )
    titles = {"lcmem": "LCMem", VERIFY_NAME: "LCMem + verification"}
    for name in [n for n in titles if n in detectors]:
        per_dataset = detectors[name]["retrieval"]
        header = "| edit | " + " | ".join(datasets) + " | pooled |"
        lines += ["", f"{titles[name]}, rank-1 per edit (recall at the val / null threshold in brackets):", "",
                  header, "|---|" + "---|" * (len(datasets) + 1)]  # fmt: skip
        for edit in EDITS:
            cells = [per_dataset[d]["by_edit"][edit] for d in [*datasets, "pooled"]]
            lines.append(f"| {edit} | " + " | ".join(_edit_cell(c) for c in cells) + " |")
    if "lcmem" in detectors:
        lcmem = detectors["lcmem"]["retrieval"]
        nulls = [f"{d} {lcmem[d]['null_threshold']['value']:.3f} ({lcmem[d]['null_threshold']['n']} images)"
                 for d in datasets]  # fmt: skip
        lines += [
            "",
            f"LCMem null thresholds: {', '.join(nulls)}; val threshold {detectors['lcmem']['threshold']:.3f}.",
        ]
    if VERIFY_NAME in detectors:
        lines += ["", f"{VERIFY_NAME}: the scan's geometric verification of LCMem's top 50 (files at their stored "
                  "size, long side ≤ 512), re-ranked and flagged by the scan's rule (score ≥ threshold or ≥ 20 "
                  "inliers; lcmem.verify.rule) with LCMem's thresholds; its margin and µAP are of the re-ranked "
                  "order (steps of 1 / gallery size), not of a similarity."]  # fmt: skip
    return [*lines, ""]


def _edit_cell(cell: dict[str, Any]) -> str:
    if not cell["n_queries"]:
        return "–"
    return f"{cell['rank1']:.2f} ({cell['recall_at_threshold']:.2f} / {cell['recall_at_null_threshold']:.2f})"


def paper_detectors(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The detectors that ran the paper's protocols (a retrieval-only re-ranker such as lcmem+verify did not)."""
    return {name: result for name, result in report["detectors"].items() if "reid" in result}


def _paper_markdown(report: dict[str, Any]) -> list[str]:
    """The paper's protocols: re-identification and copy detection."""
    detectors = paper_detectors(report)
    datasets = sorted(next(iter(detectors.values()))["reid"])
    lines = ["## Re-identification: ROC-AUC [95 % bootstrap CI] (pairs)", "",
             "| detector | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]  # fmt: skip
    for name, result in detectors.items():
        cells = []
        for dataset in datasets:
            r = result["reid"][dataset]
            cells.append(f"{r['auc']:.3f} [{r['auc_ci'][0]:.3f}, {r['auc_ci'][1]:.3f}] ({r['n_pairs']})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Val split, pooled re-identification ROC-AUC (what models are chosen on): "
              + ", ".join(f"{name} {r['val_reid_auc']['pooled']:.3f}" for name, r in detectors.items()
                          if "val_reid_auc" in r)]  # fmt: skip
    lines += ["", "## Re-identification, pooled: precision / recall at best F1, precision at recall ≥ 0.99", "",
              "| detector | P@bestF1 | R@bestF1 | P@R≥0.99 | FPR@R≥0.99 |", "|---|---|---|---|---|"]  # fmt: skip
    for name, result in detectors.items():
        r = result["reid"]["pooled"]
        lines.append(f"| {name} | {r['precision_bestF1']:.3f} | {r['recall_bestF1']:.3f} | {r['precision_atR99']:.3f} "
                     f"| {r['fpr_atR99']:.3f} |")  # fmt: skip
    lines += ["", "## Copy detection: recall at the val threshold (FPR 5 % on val re-ID negatives)", ""]
    header = [f"{t} {s:g}" for t, strengths in STRENGTHS.items() for s in strengths]
    lines += ["| detector | mean | min | " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) + 2)]
    for name, result in detectors.items():
        recalls = [result["copy"][t][_key(s)]["recall"] for t, strengths in STRENGTHS.items() for s in strengths]
        lines.append(f"| {name} | {np.mean(recalls):.3f} | {np.min(recalls):.3f} | "
                     + " | ".join(f"{r:.2f}" for r in recalls) + " |")  # fmt: skip
    lines += ["", "Lowest cell of each detector (found / copies, 95 % Wilson interval):", ""]
    for name, result in detectors.items():
        transform, strength, cell = min(
            ((t, s, result["copy"][t][_key(s)]) for t, strengths in STRENGTHS.items() for s in strengths),
            key=lambda item: item[2]["recall"],
        )
        low, high = cell["recall_ci"]
        lines.append(f"- {name}: {transform} {strength:g}: {cell['recall']:.3f} ({cell['n_found']} / {cell['n']}, "
                     f"[{low:.3f}, {high:.3f}])")  # fmt: skip
    return [*lines, ""]


def _key(strength: float) -> str:
    return str(int(strength)) if float(strength).is_integer() else str(strength)


def _plots(report: dict[str, Any], curves: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    paths = []
    if curves:
        figure, axis = plt.subplots(figsize=(5, 5))
        for name, curve in curves.items():
            fpr, tpr = _roc(np.array(curve["scores"]), np.array(curve["labels"], dtype=bool))
            axis.plot(fpr, tpr, label=f"{name} ({report['detectors'][name]['reid']['pooled']['auc']:.3f})")
        axis.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
        axis.set(xlabel="false positive rate", ylabel="true positive rate", title="Re-identification ROC (pooled)")
        axis.legend(fontsize=8)
        paths.append(out / "roc.png")
        figure.savefig(paths[-1], dpi=120, bbox_inches="tight")
        plt.close(figure)
    figure, axes = plt.subplots(2, 3, figsize=(12, 7))
    for axis, (transform, strengths) in zip(axes.flat, STRENGTHS.items(), strict=True):
        for name, result in paper_detectors(report).items():
            axis.plot(
                strengths, [result["copy"][transform][_key(s)]["recall"] for s in strengths], marker="o", label=name
            )
        axis.set(title=transform, xlabel="strength", ylabel="recall", ylim=(-0.02, 1.02))
    axes.flat[0].legend(fontsize=7)
    figure.tight_layout()
    paths.append(out / "copy_recall.png")
    figure.savefig(paths[-1], dpi=120)
    plt.close(figure)
    return paths


def _roc(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    y = labels[order]
    tpr = np.concatenate([[0], np.cumsum(y) / max(y.sum(), 1)])
    fpr = np.concatenate([[0], np.cumsum(~y) / max((~y).sum(), 1)])
    return fpr, tpr
