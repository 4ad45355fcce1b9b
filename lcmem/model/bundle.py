"""Model bundles: a folder with ``lcmem.json``, ``siamese.safetensors`` and optionally ``vae/``.

Loading is strict and checksummed: every weight file listed in ``lcmem.json`` must exist and match its
sha256, and a missing, unexpected or mis-shaped key is an error that names it. Nothing here unpickles.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from lcmem.errors import BundleError, ImageReadError
from lcmem.io.hashing import sha256_file
from lcmem.model.config import LCMemConfig
from lcmem.model.latent import load_vae
from lcmem.model.siamese import LCMemModel, SiameseNetwork
from lcmem.provenance import software_versions

logger = logging.getLogger(__name__)

CONFIG_NAME = "lcmem.json"
WEIGHTS_NAME = "siamese.safetensors"
VAE_DIR = "vae"


@dataclass(frozen=True)
class Bundle:
    """A loaded model with where it came from and the checksum that keys its embedding cache."""

    path: Path
    config: LCMemConfig
    model: LCMemModel

    @property
    def checksum(self) -> str:
        """The model checksum (see :attr:`LCMemConfig.checksum`)."""
        return self.config.checksum


def read_bundle_config(path: str | Path) -> LCMemConfig:
    """Read and validate ``lcmem.json`` of a bundle folder without loading any weights.

    Raises:
        BundleError: the folder or its ``lcmem.json`` is missing or malformed.
    """
    folder = Path(path)
    config_path = folder / CONFIG_NAME
    if not folder.is_dir():
        raise BundleError(f"{folder}: not a model bundle folder (expected a folder holding {CONFIG_NAME})")
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"{config_path}: cannot read ({exc.strerror or exc}); is this a model bundle?") from exc
    return LCMemConfig.from_json(text, str(config_path))


def record_metrics(path: str | Path, **metrics: Any) -> LCMemConfig:
    """Add ``metrics`` to a bundle's ``lcmem.json`` (atomically); the checksum, which metrics do not enter,
    stays the same, so embedding caches and threshold cards made with the bundle stay valid."""
    folder = Path(path)
    config = read_bundle_config(folder)
    updated = replace(config, metrics={**config.metrics, **metrics})
    staging = folder / f".{CONFIG_NAME}.tmp"
    try:
        staging.write_text(updated.to_json(), encoding="utf-8")
        os.replace(staging, folder / CONFIG_NAME)
    except OSError as exc:
        raise BundleError(
            f"{folder / CONFIG_NAME}: cannot write ({exc.strerror or exc}); copy the bundle to a writable folder"
        ) from exc
    return updated


def verify_bundle_files(folder: Path, config: LCMemConfig) -> None:
    """Check that every weight file listed in the config exists and has its recorded sha256.

    Raises:
        BundleError: a file is missing, unlisted or altered.
    """
    if WEIGHTS_NAME not in config.weights_sha256:
        raise BundleError(f"{folder / CONFIG_NAME}: weights_sha256 does not list {WEIGHTS_NAME}")
    if config.vae.bundled and not any(name.startswith(f"{VAE_DIR}/") for name in config.weights_sha256):
        raise BundleError(f"{folder / CONFIG_NAME}: the VAE is bundled but no vae/ file has a checksum")
    for name, expected in config.weights_sha256.items():
        file = folder / name
        try:
            actual = sha256_file(file)
        except ImageReadError as exc:
            raise BundleError(f"{file}: listed in {CONFIG_NAME} but cannot be read ({exc.reason})") from exc
        if actual != expected:
            raise BundleError(
                f"{file}: sha256 {actual[:12]}… does not match {expected[:12]}… recorded in {CONFIG_NAME}; "
                "the bundle was altered or damaged. Re-copy it from its source."
            )


def load_state_strict(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``module`` requiring exactly the same keys and shapes.

    Raises:
        BundleError: naming the missing, unexpected or mis-shaped keys.
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {_first(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_first(unexpected)}")
        raise BundleError(f"{source}: {'; '.join(parts)}. The weights do not fit the architecture in the config.")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise BundleError(
                f"{source}: key {key} has shape {tuple(tensor.shape)}, the config expects {tuple(expected[key].shape)}"
            )
    module.load_state_dict(state, strict=True)


def _first(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return f"[{shown}{', …' if len(keys) > limit else ''}] ({len(keys)} in all)"


def load_bundle(path: str | Path, device: str | torch.device = "cpu") -> Bundle:
    """Load a bundle strictly, verifying every weight file's sha256 first.

    Args:
        path: the bundle folder.
        device: where to place the model.

    Raises:
        BundleError: the bundle is missing, malformed, altered, or its weights do not fit its config.
    """
    folder = Path(path).resolve()
    config = read_bundle_config(folder)
    verify_bundle_files(folder, config)
    network = SiameseNetwork.from_config(config)
    weights_path = folder / WEIGHTS_NAME
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise BundleError(f"{weights_path}: not a readable safetensors file ({exc})") from exc
    load_state_strict(network, state, str(weights_path))
    vae = _load_bundle_vae(folder, config)
    model = LCMemModel(config, vae, network).to(device).eval()
    logger.info("loaded bundle %s (%s, checksum %s)", folder, config.name, config.checksum[:12])
    return Bundle(folder, config, model)


def _load_bundle_vae(folder: Path, config: LCMemConfig) -> nn.Module:
    ref = config.vae
    location = str(folder / VAE_DIR) if ref.bundled else ref.path
    try:
        return load_vae(ref.kind, location, ref.subfolder)
    except Exception as exc:
        raise BundleError(
            f"{folder}: the VAE {location!r} ({ref.kind}) could not be loaded: {exc}. Put a diffusers VAE "
            "folder with safetensors weights in the bundle's vae/ folder, or point vae.path at one."
        ) from exc


def save_bundle(model: LCMemModel, path: str | Path, *, overwrite: bool = False) -> LCMemConfig:
    """Write ``model`` as a bundle folder, atomically (a temporary folder renamed into place).

    The VAE is written into ``vae/`` when ``model.config.vae`` is bundled. Weight checksums and the
    software versions are recorded in ``lcmem.json``.

    Returns:
        The configuration as written, with ``weights_sha256`` filled in.

    Raises:
        BundleError: the folder exists and ``overwrite`` is false, or it cannot be written.
    """
    target = Path(path).resolve()
    if target.exists() and not overwrite:
        raise BundleError(f"{target}: already exists; choose another folder or allow overwriting")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        config = _write_bundle_files(model, staging)
        _make_shareable(staging)
        _replace_folder(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundleError(f"{target}: cannot write the bundle ({exc})") from exc
    return config


def _write_bundle_files(model: LCMemModel, folder: Path) -> LCMemConfig:
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.network.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
    if model.config.vae.bundled:
        model.encoder.vae.save_pretrained(str(folder / VAE_DIR), safe_serialization=True)
    checksums = {
        file.relative_to(folder).as_posix(): sha256_file(file)
        for file in sorted(folder.rglob("*"))
        if file.is_file() and file.name != CONFIG_NAME
    }
    config = replace(model.config.with_weights(checksums), software=software_versions())
    (folder / CONFIG_NAME).write_text(config.to_json(), encoding="utf-8")
    return config


def _make_shareable(folder: Path) -> None:
    """Give the bundle ordinary permissions (temporary folders and files are created owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in (folder, *folder.rglob("*")):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _replace_folder(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
