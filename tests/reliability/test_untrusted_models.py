"""Model files are untrusted input: bundles load from safetensors and JSON only; pickles never run.

Every pickle below, if unpickled, would create a marker file; the tests check that it never appears. An
attacker who can write the bundle folder can also rewrite the checksums in ``lcmem.json``, so the checksums
are updated to match: the refusal must come from the format, not only from the checksum. The checksum check
itself is covered by ``tests/model/test_bundle.py::test_altered_weights_are_refused``.
"""

from __future__ import annotations

import ast
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from lcmem.cli.main import main
from lcmem.errors import BundleError
from lcmem.io.hashing import sha256_file
from lcmem.model.bundle import WEIGHTS_NAME, load_bundle
from tests.reliability.processes import REPO as REPO_ROOT

VAE_WEIGHTS = "vae/diffusion_pytorch_model.safetensors"


class Payload:
    """Unpickling this creates ``marker``: the proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, folder)
    return folder


def rewrite_checksums(folder: Path, drop: str | None = None, add: str | None = None) -> None:
    """Record the current sha256 of the bundle's files, as an attacker with write access would."""
    config = json.loads((folder / "lcmem.json").read_text())
    sums = config["weights_sha256"]
    if drop:
        del sums[drop]
    if add:
        sums[add] = ""
    config["weights_sha256"] = {name: sha256_file(folder / name) for name in sums}
    (folder / "lcmem.json").write_text(json.dumps(config))


def test_pickle_in_place_of_the_safetensors_is_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder, marker = bundle_copy(tiny_bundle_dir, tmp_path), tmp_path / "pwned"
    with (folder / WEIGHTS_NAME).open("wb") as stream:
        pickle.dump({"fc_end.weight": Payload(marker)}, stream)
    with pytest.raises(BundleError, match="does not match"):
        load_bundle(folder)
    rewrite_checksums(folder)
    with pytest.raises(BundleError, match="not a readable safetensors file"):
        load_bundle(folder)
    torch.save({"fc_end.weight": Payload(marker)}, folder / WEIGHTS_NAME)  # a torch zip pickle, too
    rewrite_checksums(folder)
    with pytest.raises(BundleError, match="not a readable safetensors file"):
        load_bundle(folder)
    assert not marker.exists()


def test_pickled_vae_weights_are_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder, marker = bundle_copy(tiny_bundle_dir, tmp_path), tmp_path / "pwned"
    (folder / VAE_WEIGHTS).unlink()
    torch.save({"encoder.conv_in.weight": Payload(marker)}, folder / "vae" / "diffusion_pytorch_model.bin")
    rewrite_checksums(folder, drop=VAE_WEIGHTS, add="vae/diffusion_pytorch_model.bin")
    with pytest.raises(BundleError, match="VAE"):
        load_bundle(folder)
    config = json.loads((folder / "lcmem.json").read_text())  # the same VAE as an external reference
    config["vae"]["path"] = str(folder / "vae")
    config["weights_sha256"] = {WEIGHTS_NAME: config["weights_sha256"][WEIGHTS_NAME]}
    (folder / "lcmem.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match="VAE"):
        load_bundle(folder)
    assert not marker.exists()


def test_official_checkpoint_import_runs_no_pickle(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    marker, checkpoint = tmp_path / "pwned", tmp_path / "official.pth"
    torch.save({"model.features.0.0.weight": Payload(marker)}, checkpoint)
    args = ["import-checkpoint", str(checkpoint), "--vae", str(tiny_bundle_dir / "vae"), "--out", str(tmp_path / "b")]
    assert main(args) == 1
    assert "weights-only" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "b").exists()


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name
    ]


def _keyword(call: ast.Call, name: str) -> object:
    return next((k.value.value for k in call.keywords if k.arg == name and isinstance(k.value, ast.Constant)), None)


def test_the_code_reads_pickles_only_weights_only() -> None:
    """Static check of lcmem/ and app/: every unpickling entry point is called in its safe form."""
    loaders: list[str] = []
    for path in sorted((*REPO_ROOT.glob("lcmem/**/*.py"), *REPO_ROOT.glob("app/**/*.py"))):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(REPO_ROOT).as_posix()
        for call in (*_calls(tree, "load"), *_calls(tree, "loads")):
            owner = getattr(call.func.value, "id", "")  # type: ignore[attr-defined]
            assert owner not in ("pickle", "dill", "joblib"), f"{where}: {owner}.{call.func.attr}"  # type: ignore[attr-defined]
            if owner == "torch":
                assert _keyword(call, "weights_only") is True, f"{where}: torch.load without weights_only=True"
                loaders.append(where)
            if owner == "np":
                assert _keyword(call, "allow_pickle") is not True, f"{where}: np.load(allow_pickle=True)"
        for call in _calls(tree, "from_pretrained"):
            assert _keyword(call, "use_safetensors") is True, f"{where}: from_pretrained may read a pickle"
    assert sorted(set(loaders)) == ["lcmem/model/convert.py", "lcmem/train/checkpoint.py"]
