"""Writing an evaluation: ``report.json``, ``report.md`` (tables) and PNG plots (ROC, recall vs strength)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lcmem.eval.transforms import STRENGTHS
from lcmem.provenance import software_versions


def write_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the report files into ``out_dir``; return their paths."""
    out = Path(out_dir)
    curves = report.get("curves", {})
    data = {k: v for k, v in report.items() if k != "curves"}
    data["software"] = software_versions()
    paths = [out / "report.json", out / "report.md"]
    paths[0].write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(data), encoding="utf-8")
    paths += _plots(data, curves, out)
    return paths


def markdown(report: dict[str, Any]) -> str:
    """The report's tables as Markdown."""
    detectors = report["detectors"]
    datasets = sorted(next(iter(detectors.values()))["reid"])
    lines = [f"# Evaluation of `{report['model']['name']}` (checksum `{report['model']['checksum'][:16]}`)", "",
             "## Re-identification: ROC-AUC [95 % bootstrap CI] (pairs)", "",
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
    lines += ["", f"Images: {report['n_images']}. Time: {report['seconds']} s.", ""]
    return "\n".join(lines)


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
        for name, result in report["detectors"].items():
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
