"""The ``lcmem`` command line: scan, info, init-bundle, import-checkpoint."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch

from lcmem.cli.main import main
from lcmem.model.siamese import SiameseNetwork
from lcmem.review.export import BASE_COLUMNS
from lcmem.scan.report import MATCH_COLUMNS, PAIR_COLUMNS
from tests.conftest import write_images


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture()
def scan_folders(tmp_path: Path) -> tuple[Path, Path]:
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    write_images(real, list(range(10)))
    write_images(synthetic, [50, 51])
    shutil.copy(real / "img_0004.png", synthetic / "leak.png")
    (synthetic / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return real, synthetic


def test_scan_writes_ranked_matches_problems_and_a_run_record(
    tiny_bundle_dir: Path, scan_folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    real, synthetic = scan_folders
    out = tmp_path / "out" / "matches.csv"
    args = [
        "scan",
        "--real",
        str(real),
        "--synthetic",
        str(synthetic),
        "--out",
        str(out),
        "--model",
        str(tiny_bundle_dir),
        "--top-k",
        "3",
        "--threads",
        "1",
    ]
    assert main(args) == 0
    rows = read_csv(out)
    assert list(rows[0]) == [
        "synthetic_path",
        "real_path",
        "synthetic_frame",
        "real_frame",
        "synthetic_sha256",
        "real_sha256",
        "score",
        "null_fraction_below",
        "inliers",
        "transform",
        "rank",
        "flagged",
    ]
    assert len(rows) == 3 * 3
    leak = [r for r in rows if r["synthetic_path"].endswith("leak.png")]
    assert leak[0]["rank"] == "1" and leak[0]["real_path"].endswith("img_0004.png")
    assert leak[0]["synthetic_sha256"] == leak[0]["real_sha256"]
    assert all(0 <= float(r["score"]) <= 1 and r["inliers"].isdigit() for r in rows)
    problems = read_csv(out.with_name("matches.problems.csv"))
    assert [Path(p["path"]).name for p in problems] == ["corrupt.jpg"]
    assert problems[0]["reason"]
    record = json.loads(out.with_name("matches.run.json").read_text())
    threshold = record["threshold_in_force"]  # 10 reals: too few to anchor, the LCMem default (no model default)
    assert (threshold["rule"], threshold["value"], threshold["n_null"]) == ("LCMem default", 0.5, 10)
    assert "too few" in threshold["text"] and record["summary"]["n_null_scores"] == 10
    assert [r["flagged"] for r in rows] == [str(int(float(r["score"]) >= 0.5)) for r in rows]
    assert record["n_flagged"] == sum(r["flagged"] == "1" for r in rows)
    assert record["summary"]["computed_files"] == 13  # the leaked copy too: synthetics are embedded with views
    assert record["settings"]["top_k"] == 3
    assert record["software"]["torch"] == metadata.version("torch")

    assert main(args) == 0
    again = json.loads(out.with_name("matches.run.json").read_text())
    assert (again["summary"]["computed_files"], again["summary"]["cached_files"]) == (0, 13)
    assert read_csv(out) == rows
    assert "candidate pairs" in capsys.readouterr().err


def test_scan_flags_pairs_under_the_threshold_anchored_on_its_real_images(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    real, synthetic, out = tmp_path / "real", tmp_path / "synthetic", tmp_path / "out" / "matches.csv"
    write_images(real, list(range(30)))
    write_images(synthetic, [60, 61, 62])
    for index in (3, 7):
        shutil.copy(real / f"img_{index:04d}.png", synthetic / f"copy_{index}.png")
    options = ["--model", str(tiny_bundle_dir), "--top-k", "5", "--threads", "1", "--quiet"]
    assert main(["scan", "--real", str(real), "--synthetic", str(synthetic), "--out", str(out), *options]) == 0
    threshold = json.loads(out.with_name("matches.run.json").read_text())["threshold_in_force"]
    assert (threshold["rule"], threshold["n_null"], threshold["model_default"]) == ("real→real null", 30, None)
    assert threshold["quantile"] == pytest.approx(30 / 31) and threshold["value"] == threshold["null_value"]
    rows = read_csv(out)
    assert list(rows[0]) == list(MATCH_COLUMNS) and len(rows) == 5 * 5
    for row in rows:
        score, below = float(row["score"]), float(row["null_fraction_below"])
        assert row["flagged"] == str(int(score >= threshold["value"]))
        assert (below == 1.0) == (score > threshold["value"])  # the threshold is the largest null score
    copies = [r for r in rows if Path(r["synthetic_path"]).name.startswith("copy") and r["rank"] == "1"]
    assert {r["flagged"] for r in copies} == {"1"} and all(r["synthetic_sha256"] == r["real_sha256"] for r in copies)
    assert [float(r["score"]) for r in copies] == pytest.approx([threshold["copy_score"]] * 2, abs=1e-6)
    assert f"pairs flagged under the threshold in force {threshold['value']:.3f}" in capsys.readouterr().err


def test_scan_and_export_share_their_columns_in_one_order() -> None:
    assert MATCH_COLUMNS[: len(PAIR_COLUMNS)] == BASE_COLUMNS[: len(PAIR_COLUMNS)] == PAIR_COLUMNS
    shared = [c for c in MATCH_COLUMNS if c in BASE_COLUMNS]
    assert shared == [c for c in BASE_COLUMNS if c in MATCH_COLUMNS] and "rank" in shared


def test_scan_outputs_are_created_with_the_umask_not_owner_only(
    tiny_bundle_dir: Path, scan_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    real, synthetic = scan_folders
    out = tmp_path / "out" / "matches.csv"
    previous = os.umask(0o027)
    try:
        options = ["--model", str(tiny_bundle_dir), "--threads", "1", "--quiet"]
        assert main(["scan", "--real", str(real), "--synthetic", str(synthetic), "--out", str(out), *options]) == 0
    finally:
        os.umask(previous)
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == ["matches.csv", "matches.log", "matches.problems.csv", "matches.run.json"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.parent.iterdir()} == {0o640}


def test_scan_without_model_says_what_to_do(scan_folders, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("lcmem.cli.scan.default_bundle_path", lambda: None)
    real, synthetic = scan_folders
    code = main(["scan", "--real", str(real), "--synthetic", str(synthetic), "--out", str(tmp_path / "m.csv")])
    assert code == 1
    assert "--model" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()


def test_scan_with_a_damaged_bundle_fails_cleanly(tiny_bundle_dir, scan_folders, tmp_path: Path, capsys) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, bundle)
    with (bundle / "siamese.safetensors").open("r+b") as stream:
        stream.seek(-4, 2)
        stream.write(b"\0\0\0\0")
    real, synthetic = scan_folders
    code = main(
        [
            "scan",
            "--real",
            str(real),
            "--synthetic",
            str(synthetic),
            "--out",
            str(tmp_path / "m.csv"),
            "--model",
            str(bundle),
            "--quiet",
        ]
    )
    assert code == 1
    assert "does not match" in capsys.readouterr().err


def test_info_prints_metadata_json(tiny_bundle_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["info", str(tiny_bundle_dir), "--verify"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "tiny-test"
    assert data["verified"] is True
    assert len(data["checksum"]) == 64
    assert "siamese.safetensors" in data["weights_sha256"]


def test_init_bundle_then_info(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["init-bundle", "--out", str(tmp_path / "b"), "--backbone", "femto", "--seed", "5"]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "b")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["backbone"], data["seed"]) == ("femto", 5)


def test_import_checkpoint_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lcmem.model.latent import build_vae, small_vae_config

    build_vae("AutoencoderTiny", **small_vae_config("AutoencoderTiny")).save_pretrained(str(tmp_path / "vae"))
    net = SiameseNetwork("atto", stem_stride=2)
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, tmp_path / "official.pth")
    args = [
        "import-checkpoint",
        str(tmp_path / "official.pth"),
        "--vae",
        str(tmp_path / "vae"),
        "--vae-kind",
        "AutoencoderTiny",
        "--out",
        str(tmp_path / "bundle"),
        "--image-size",
        "64",
    ]
    code = main(args)
    assert code == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "bundle"), "--verify"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["backbone"], data["stem_stride"], data["vae"]["kind"]) == ("atto", 2, "AutoencoderTiny")


def test_installed_entry_point_runs() -> None:
    lcmem = Path(sys.executable).with_name("lcmem")
    if not lcmem.exists():
        pytest.skip("the lcmem console script is not installed in this environment (pip install -e .)")
    result = subprocess.run([str(lcmem), "--version"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("lcmem ")


def test_info_without_a_bundle_verifies_the_default_model(capsys: pytest.CaptureFixture) -> None:
    from lcmem.model.default import default_bundle_path

    assert main(["info", "--verify", "--environment"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert Path(data["path"]) == default_bundle_path().resolve() and data["verified"] is True
    environment = data["environment"]
    assert environment["frozen"] is False and environment["versions"]["torch"] == metadata.version("torch")
    decoders = environment["dicom_decoders"]
    assert decoders["uncompressed"] == ["pydicom"]
    for family in ("jpeg_lossless", "jpeg_ls", "jpeg_2000", "htj2k", "rle"):  # pylibjpeg and its three plugins
        assert "pylibjpeg" in decoders[family], family


def test_info_without_a_bundle_or_default_model_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("lcmem.cli.info.default_bundle_path", lambda: None)
    assert main(["info"]) == 1
    assert "no default model is installed" in capsys.readouterr().err
