"""Compare helpers: presets, W/L drags, window text, metadata diffs without raw patient ids, differences."""

from __future__ import annotations

import numpy as np
import pytest

from lcmem.io.types import ImageMeta
from lcmem.review.compare import (
    WINDOW_PRESETS,
    describe_window,
    difference_image,
    drag_window,
    has_window,
    metadata_fields,
)


def meta(**changes) -> ImageMeta:
    base = dict(
        path="/data/real/a.dcm",
        format="DICOM",
        width=64,
        height=48,
        mode="L",
        source_mode="MONOCHROME2",
        frame=0,
        n_frames=1,
        modality="CT",
        sop_instance_uid="1.2.3",
        patient_id="RAW-PATIENT-7",
        window=(40.0, 400.0),
        window_source="window",
    )
    return ImageMeta(**{**base, **changes})


def test_presets_are_the_ohif_defaults() -> None:
    assert [(p.name, p.width, p.level) for p in WINDOW_PRESETS] == [
        ("Soft tissue", 400, 40),
        ("Lung", 1500, -600),
        ("Liver", 150, 90),
        ("Bone", 2500, 480),
        ("Brain", 80, 40),
    ]
    assert WINDOW_PRESETS[1].window == (-600, 1500)


def test_drag_widens_to_the_right_raises_the_level_downwards_and_never_collapses() -> None:
    center, width = drag_window((40.0, 400.0), 10, 4)
    assert width == pytest.approx(420.0) and center == pytest.approx(48.0)
    assert drag_window((40.0, 2.0), -1000, 0)[1] == 1.0


def test_window_text_says_where_the_window_comes_from() -> None:
    assert describe_window(meta()) == "W 400 L 40 · file window"
    assert describe_window(meta(window=(-600.0, 1500.0), window_source="override"), "Lung") == "W 1500 L -600 · Lung"
    png = meta(format="PNG", window=None, window_source=None)
    assert not has_window(png) and "no window/level" in describe_window(png)
    assert not has_window(meta(mode="RGB"))


def test_metadata_fields_highlight_differences_and_never_show_raw_patient_ids() -> None:
    fields = metadata_fields(
        meta(),
        meta(path="/data/synthetic/b.dcm", sop_instance_uid="9.9.9", patient_id="RAW-OTHER"),
        real_sha256="a" * 64,
        synthetic_sha256="a" * 64,
        real_patient="P-0123",
        synthetic_patient=None,
    )
    by_label = {f.label: f for f in fields}
    assert by_label["File"].differs and by_label["SOP instance UID"].differs
    assert not by_label["Size"].differs and not by_label["Content sha256"].differs
    assert by_label["Patient (pseudonym)"].real == "P-0123" and by_label["Patient (pseudonym)"].synthetic == "—"
    assert not any("RAW" in f.real or "RAW" in f.synthetic for f in fields)


def test_difference_is_at_the_synthetic_size_and_zero_for_copies() -> None:
    rng = np.random.default_rng(0)
    real = rng.random((40, 60)).astype(np.float32)
    assert difference_image(real, real).max() == 0.0
    synthetic = rng.random((20, 30, 3)).astype(np.float32)
    diff = difference_image(real, synthetic)
    assert diff.shape == (20, 30) and diff.dtype == np.float32 and diff.min() >= 0 and diff.max() <= 1
