"""The calibration screen: how labelled scores separate (beside the real→real null distribution: how close two
different real images or patients get), ROC and precision–recall with bands, and the operating point the
reviewer picks (target recall or precision), saved as a threshold card.

Until both classes have :data:`lcmem.review.calibrate.MIN_LABELS_PER_CLASS` labels the screen says plainly
that the default threshold is in use and is not calibrated.
"""

from __future__ import annotations

import html
import logging

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.plots import CurvePlot, HistogramPlot
from lcmem.errors import ProjectError
from lcmem.review.audit import audit_estimate, describe_audit
from lcmem.review.calibrate import (
    MIN_LABELS_PER_CLASS,
    ThresholdCard,
    calibrate_project,
    card_is_calibrated,
    choose_threshold,
    latest_card,
    precision_recall_at,
    threshold_in_force,
)
from lcmem.review.curves import (
    Curve,
    NullLine,
    histogram_floor,
    null_line,
    pr_curve,
    roc_curve,
    score_histogram,
)
from lcmem.review.double_read import describe_agreement, project_agreement
from lcmem.review.probability import describe_fit, fit_isotonic
from lcmem.scan.threshold import ThresholdInForce, null_anchored_threshold
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, count_pairs, labelled_scores, real_null_scores

logger = logging.getLogger(__name__)

NO_THRESHOLD = null_anchored_threshold((), None)
"""The threshold in force without a project (the LCMem default)."""


def describe_area(curve: Curve, n_accepted: int, n_rejected: int) -> str:
    """The area under a curve with its 95 % bootstrap interval, and, with fewer than
    :data:`~lcmem.review.calibrate.MIN_LABELS_PER_CLASS` labels of a class, that they cannot support it (a
    perfect area from a handful of labels is no evidence; the bootstrap cannot show that either)."""
    low, high = curve.area_ci
    text = f"area {curve.area:.3f} (95 % CI {low:.3f}–{high:.3f}) · band: 95 % bootstrap"
    if min(n_accepted, n_rejected) < MIN_LABELS_PER_CLASS:
        text += (
            f"\nfrom {n_accepted} memorized and {n_rejected} not-a-match labels: too few to support it "
            f"(at least {MIN_LABELS_PER_CLASS} of each)"
        )
    return text


def describe_card(card: ThresholdCard | None, threshold: ThresholdInForce = NO_THRESHOLD) -> str:
    """A paragraph (HTML) describing the threshold in force: the calibrated card, or before calibration its rule,
    quantile and the number of real images behind it."""
    if card is None or card.precision_ci is None or card.recall_ci is None or not card_is_calibrated(card):
        return (
            f"<span style='font-size:15pt'><b>Threshold in use: {threshold.value:.3f} — {threshold.rule} (not "
            f"calibrated)</b></span><br>Flagged means {html.escape(threshold.text)}. It has not been checked on "
            f"your labels: label at least {MIN_LABELS_PER_CLASS} memorized and "
            f"{MIN_LABELS_PER_CLASS} not-a-match pairs, then save a threshold card below."
        )
    target = "recall" if card.rule == "target_recall" else "precision"
    return (
        f"<span style='font-size:15pt'><b>Threshold in use: {card.threshold:.3f} — calibrated</b></span><br>"
        f"Chosen for {target} ≥ {card.target:g} on {card.n_accepted} memorized and {card.n_rejected} "
        f"not-a-match labels ({card.created_at}). On those labels: precision {card.precision:.2f} "
        f"[{card.precision_ci[0]:.2f}, {card.precision_ci[1]:.2f}], recall {card.recall:.2f} "
        f"[{card.recall_ci[0]:.2f}, {card.recall_ci[1]:.2f}] (95 % bootstrap intervals). "
        f"Model {card.model_checksum[:12]}."
    )


class CalibrateView(QWidget):
    """Histogram, ROC, PR and the operating-point picker for the open project.

    Signals:
        cardSaved(ThresholdCard): a new card was saved; the threshold in use changed.
    """

    cardSaved = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.model_checksum: str | None = None
        self.card: ThresholdCard | None = None
        self.threshold = NO_THRESHOLD
        self.scores = np.zeros(0)
        self.positive = np.zeros(0, dtype=bool)
        self.null_scores = np.zeros(0)
        self.null: NullLine | None = None
        self.summary = QLabel()
        self.audit = QLabel()
        self.double_read = QLabel()
        self.probability = QLabel()
        self.labels = QLabel()
        self.histogram = HistogramPlot()
        self.roc = CurvePlot("ROC", "false-positive rate", "true-positive rate (recall)", diagonal=True)
        self.pr = CurvePlot("Precision–recall", "recall", "precision", diagonal=False)
        self.by_recall = QRadioButton("Target recall (privacy first: miss few copies)")
        self.by_precision = QRadioButton("Target precision (few false alarms)")
        self.target = QDoubleSpinBox()
        self.preview = QLabel()
        self.save = QPushButton("Save threshold card")
        self._build()

    def _build(self) -> None:
        for label in (self.summary, self.labels, self.audit, self.probability, self.double_read, self.preview):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
        plots = QHBoxLayout()
        for plot in (self.histogram, self.roc, self.pr):
            plots.addWidget(plot)
        self.by_recall.setChecked(True)
        self.target.setRange(0.5, 1.0)
        self.target.setSingleStep(0.01)
        self.target.setDecimals(3)
        self.target.setValue(0.99)
        self.by_recall.toggled.connect(lambda _on: self.update_preview())
        self.target.valueChanged.connect(lambda _v: self.update_preview())
        self.save.clicked.connect(self.save_card)
        picker = QGroupBox("Operating point")
        picker_layout = QHBoxLayout(picker)
        choice = QVBoxLayout()
        choice.addWidget(self.by_recall)
        choice.addWidget(self.by_precision)
        picker_layout.addLayout(choice)
        picker_layout.addWidget(QLabel("Target"))
        picker_layout.addWidget(self.target)
        picker_layout.addWidget(self.preview, 1)
        picker_layout.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.labels)
        layout.addWidget(self.audit)
        layout.addWidget(self.probability)
        layout.addWidget(self.double_read)
        layout.addLayout(plots, 1)
        layout.addWidget(picker)

    def set_project(self, project: Project | None, model_checksum: str | None) -> None:
        """Show the labels of ``project`` for the model of its current scan."""
        self.project, self.model_checksum = project, model_checksum
        self.refresh()

    def refresh(self) -> None:
        """Read labels and the latest card again, and redraw."""
        project = self.project
        labelled = labelled_scores(project) if project is not None else []
        self.scores = np.array([s for s, _ in labelled], dtype=np.float64)
        self.positive = np.array([p for _, p in labelled], dtype=bool)
        self.card = latest_card(project, self.model_checksum) if project is not None and self.model_checksum else None
        self.threshold = (
            threshold_in_force(project, self.card, self.model_checksum) if project is not None else NO_THRESHOLD
        )
        n_accepted, n_rejected = int(self.positive.sum()), int((~self.positive).sum())
        unsure = count_pairs(project, PairFilter(status="unsure")) if project is not None else 0
        self.summary.setText(describe_card(self.card, self.threshold))
        need = ""
        if min(n_accepted, n_rejected) < MIN_LABELS_PER_CLASS:
            need = (
                f" — <b>calibration needs at least {MIN_LABELS_PER_CLASS} of each</b> "
                f"({max(0, MIN_LABELS_PER_CLASS - n_accepted)} more memorized, "
                f"{max(0, MIN_LABELS_PER_CLASS - n_rejected)} more not-a-match)"
            )
        self.labels.setText(
            f"Labels on the current scan: <b>{n_accepted}</b> memorized (accepted) · <b>{n_rejected}</b> not a "
            f"match (rejected) · {unsure} unsure (not used){need}"
        )
        threshold = self.threshold.value
        self.audit.setText(describe_audit(audit_estimate(project, threshold)) if project is not None else "")
        self.probability.setText(describe_fit(fit_isotonic(self.scores, self.positive)) if project is not None else "")
        self.double_read.setText(describe_agreement(*project_agreement(project)) if project is not None else "")
        self.null_scores = np.array(real_null_scores(project) if project is not None else [], dtype=np.float64)
        self.null = null_line(self.null_scores)
        marks = [threshold] if self.null is None else [threshold, self.null.p999, np.percentile(self.null_scores, 1)]
        low = histogram_floor(np.append(self.scores, marks))
        accepted, edges = score_histogram(self.scores[self.positive], low=low)
        rejected, _ = score_histogram(self.scores[~self.positive], low=low)
        null, _ = score_histogram(self.null_scores, low=low)
        self.histogram.set_data(edges, accepted, rejected, null)
        self.histogram.set_null_mark(
            self.null.p999 if self.null else None,
            f"99.9 % of real→real below {self.null.p999:.3f} (99.9th pct)" if self.null else "",
        )
        roc, pr = roc_curve(self.scores, self.positive), pr_curve(self.scores, self.positive)
        self.roc.set_curve(
            roc.x if roc else None,
            roc.y if roc else np.zeros(0),
            roc.low if roc else np.zeros(0),
            roc.high if roc else np.zeros(0),
            describe_area(roc, n_accepted, n_rejected) if roc else "",
        )
        self.pr.set_curve(
            pr.x if pr else None,
            pr.y if pr else np.zeros(0),
            pr.low if pr else np.zeros(0),
            pr.high if pr else np.zeros(0),
            describe_area(pr, n_accepted, n_rejected) if pr else "",
        )
        self.update_preview()

    def enough_labels(self) -> bool:
        """Whether both classes have the minimum number of labels."""
        return min(int(self.positive.sum()), int((~self.positive).sum())) >= MIN_LABELS_PER_CLASS

    def _target_kwargs(self) -> dict[str, float]:
        key = "target_recall" if self.by_recall.isChecked() else "target_precision"
        return {key: float(self.target.value())}

    def update_preview(self) -> None:
        """Show what the chosen target gives on the labels (threshold, precision, recall) and mark it."""
        threshold = self.threshold.value
        self.histogram.set_threshold(threshold, f"threshold in use {threshold:.3f} ({self.threshold.label})")
        writable = self.project is not None and not self.project.read_only
        self.save.setEnabled(writable and self.enough_labels())
        if not self.enough_labels():
            self.save.setToolTip(
                f"Needs at least {MIN_LABELS_PER_CLASS} memorized and {MIN_LABELS_PER_CLASS} not-a-match labels"
            )
            self.preview.setText("Label more pairs to choose an operating point.")
            self._mark(threshold)
            return
        self.save.setToolTip("Save this operating point as the project's threshold card")
        try:
            chosen = choose_threshold(self.scores, self.positive, **self._target_kwargs())
        except ValueError as exc:
            self.preview.setText(f"<span style='color:#a1121e'>{exc}</span>")
            self.save.setEnabled(False)
            return
        precision, recall = precision_recall_at(self.scores, self.positive, chosen)
        flagged = count_pairs(self.project, PairFilter(min_score=chosen)) if self.project is not None else 0
        self.preview.setText(
            f"This target gives threshold <b>{chosen:.3f}</b>: precision {precision:.2f}, recall {recall:.2f} on "
            f"the labels; {flagged:,} pairs of the scan score at or above it."
        )
        self._mark(chosen)

    def _mark(self, threshold: float) -> None:
        if not (self.positive.any() and (~self.positive).any()):
            self.roc.set_marker(None)
            self.pr.set_marker(None)
            return
        precision, recall = precision_recall_at(self.scores, self.positive, threshold)
        negatives = ~self.positive
        false_positive_rate = float(np.sum((self.scores >= threshold) & negatives) / max(int(negatives.sum()), 1))
        self.roc.set_marker((false_positive_rate, recall))
        self.pr.set_marker((recall, precision))

    def save_card(self) -> ThresholdCard | None:
        """Fit and save a threshold card for the chosen target; return it."""
        if self.project is None or self.model_checksum is None:
            return None
        try:
            card = calibrate_project(self.project, self.model_checksum, **self._target_kwargs())
        except ProjectError as exc:
            self.preview.setText(f"<span style='color:#a1121e'>{exc}</span>")
            return None
        self.refresh()
        self.cardSaved.emit(card)
        return card
