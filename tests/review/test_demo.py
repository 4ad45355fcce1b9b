"""The demo generator: deterministic files, planted copies as the manifest says, CT DICOM in HU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lcmem.io import load_image
from lcmem.review.demo import create_demo_project, generate_demo_images, read_manifest
from lcmem.store.project import Project

SMALL = dict(n_real_radiographs=10, n_patients=3, n_new_radiographs=3, n_new_ct=1)


def test_planted_copies_are_what_the_manifest_says(tmp_path: Path) -> None:
    demo = generate_demo_images(tmp_path, **SMALL)
    assert len(list(demo.real.iterdir())) == 10 + 6
    assert read_manifest(tmp_path) == list(demo.planted)
    kinds = [p.kind for p in demo.planted]
    assert kinds.count("exact file") == 4 and kinds.count("augmented") == 7
    for copy in demo.planted:
        synthetic, real = tmp_path / copy.synthetic, tmp_path / copy.real
        if copy.kind == "exact file":
            assert synthetic.read_bytes() == real.read_bytes()
        elif copy.kind == "same pixels, new header":
            assert synthetic.read_bytes() != real.read_bytes()
            assert np.array_equal(load_image(synthetic).pixels, load_image(real).pixels)
        else:
            assert not np.array_equal(load_image(synthetic).pixels, load_image(real).pixels)


def test_ct_slices_carry_hounsfield_units_and_a_soft_tissue_window(tmp_path: Path) -> None:
    demo = generate_demo_images(tmp_path, **SMALL)
    ct = load_image(demo.real / "patient01_slice1.dcm")
    assert ct.meta.modality == "CT" and ct.meta.window == (40.0, 400.0)
    assert ct.meta.patient_id == "DEMO-PATIENT-01"
    lung = load_image(demo.real / "patient01_slice1.dcm", window=(-600, 1500))
    assert lung.pixels.mean() > ct.pixels.mean()


def test_the_same_seed_gives_the_same_images_and_the_project_is_made_once(tmp_path: Path) -> None:
    first = generate_demo_images(tmp_path / "a", seed=3, **SMALL)
    second = generate_demo_images(tmp_path / "b", seed=3, **SMALL)
    assert (first.real / "cxr_004.png").read_bytes() == (second.real / "cxr_004.png").read_bytes()
    path = create_demo_project(tmp_path / "c")
    assert create_demo_project(tmp_path / "c") == path
    with Project.open(path, read_only=True) as project:
        assert [Path(s.path).name for s in project.sources()] == ["real", "synthetic"]


def test_the_demo_uses_the_default_model_and_an_untrained_one_only_without_it(tmp_path: Path, monkeypatch) -> None:
    from lcmem.model.bundle import read_bundle_config
    from lcmem.model.default import default_bundle_path
    from lcmem.review import demo

    assert demo.demo_model(tmp_path / "models") == default_bundle_path()
    assert not (tmp_path / "models").exists()
    monkeypatch.setattr(demo, "default_bundle_path", lambda: None)
    made = demo.demo_model(tmp_path / "models")
    assert made == tmp_path / "models" / demo.DEMO_BUNDLE_NAME
    assert read_bundle_config(made).name == demo.DEMO_BUNDLE_NAME


def test_the_default_model_finds_every_planted_copy_as_the_demo_text_promises(tmp_path: Path) -> None:
    """``app.demo_flow.demo_text`` tells the reviewer what to expect of seed 0; the scan must deliver it."""
    import csv
    import json

    from lcmem.cli.main import main

    generate_demo_images(tmp_path / "demo")
    out = tmp_path / "matches.csv"
    assert main(["scan", "--real", str(tmp_path / "demo" / "real"), "--synthetic", str(tmp_path / "demo" / "synthetic"),
                 "--out", str(out), "--quiet", "--no-cache", "--threads", "2"]) == 0  # fmt: skip
    with out.open(newline="", encoding="utf-8") as stream:
        first = {Path(r["synthetic_path"]).name: r for r in csv.DictReader(stream) if r["rank"] == "1"}
    threshold = json.loads(out.with_name("matches.run.json").read_text())["threshold_in_force"]["value"]
    planted = read_manifest(tmp_path / "demo")
    assert len(planted) == 13
    for copy in planted:
        row = first[Path(copy.synthetic).name]
        assert Path(row["real_path"]).name == Path(copy.real).name, copy.how
        assert row["flagged"] == "1", copy.how
    below = [c.how for c in planted if float(first[Path(c.synthetic).name]["score"]) < threshold]
    assert below == ["crop and resize"]
    others = [r for name, r in first.items() if name not in {Path(c.synthetic).name for c in planted}]
    assert sum(r["flagged"] == "1" for r in others) <= 2
