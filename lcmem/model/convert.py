"""Import of an official LCMem checkpoint (a PyTorch ``.pth`` state dict) into a bundle.

This is the only module that reads a pickle, and it does so with ``torch.load(weights_only=True)``, which
refuses arbitrary objects. The key remap (``module.`` prefixes from DDP, ``vae.*`` keys of the image-space
network) lives in :func:`split_official_state_dict`, beside the loader. A stage-2 checkpoint's ``vae.*`` weights
are compared with the VAE given for the import (:func:`check_vae_weights`); they must be the same VAE.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import torch

from lcmem.errors import BundleError
from lcmem.model.bundle import load_state_strict, save_bundle
from lcmem.model.config import LCMemConfig, VaeRef
from lcmem.model.convnext import infer_convnext_size
from lcmem.model.latent import load_vae
from lcmem.model.siamese import LCMemModel, SiameseNetwork

logger = logging.getLogger(__name__)


VAE_TOLERANCE = 1e-3
"""Largest difference allowed between a checkpoint's stored VAE weights and the VAE given (half precision)."""


def split_official_state_dict(
    state: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Split into the network's ``model.*``/``fc_end.*`` keys and the stored VAE's (``vae.`` removed), without
    ``module.`` prefixes."""
    network, vae = {}, {}
    for key, value in state.items():
        while key.startswith("module."):
            key = key[len("module.") :]
        if key.startswith("vae."):
            vae[key[len("vae.") :]] = value
        else:
            network[key] = value
    return network, vae


def read_official_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint safely (``weights_only=True``) and return its network's state dict (no ``vae.*``)."""
    return read_checkpoint_parts(path)[0]


def read_checkpoint_parts(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Read a checkpoint safely (``weights_only=True``); return its network's and its stored VAE's state dicts.

    Accepts a bare state dict or a training checkpoint holding one under ``state_dict``, ``model``,
    ``net`` or ``model_state_dict``.

    Raises:
        BundleError: the file is unreadable, holds arbitrary objects, or no state dict.
    """
    file = Path(path)
    try:
        raw = torch.load(file, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        raise BundleError(
            f"{file}: not a loadable weights-only PyTorch checkpoint ({exc}). Only plain state dicts are "
            "accepted; files that need arbitrary code to unpickle are refused."
        ) from exc
    if isinstance(raw, dict):
        for wrapper in ("state_dict", "model_state_dict", "model", "net"):
            inner = raw.get(wrapper)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                raw = inner
                break
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise BundleError(f"{file}: holds no state dict of tensors")
    return split_official_state_dict(raw)


def check_vae_weights(source: str, stored: dict[str, torch.Tensor], vae: torch.nn.Module, vae_ref: str) -> int:
    """Compare a checkpoint's stored VAE weights with the VAE given; return how many tensors matched.

    Raises:
        BundleError: a stored tensor has another shape or other values than the given VAE's, or none of the
            stored keys belongs to the given VAE: the checkpoint was trained with another VAE.
    """
    given = vae.state_dict()
    shared = [key for key in stored if key in given]
    if stored and not shared:
        raise BundleError(
            f"{source}: its {len(stored)} stored VAE weights (vae.*) name none of the parameters of {vae_ref!r}; "
            "pass the VAE the model was trained with (--vae, --vae-kind, --vae-subfolder)"
        )
    for key in shared:
        theirs, ours = stored[key], given[key]
        differs = tuple(theirs.shape) != tuple(ours.shape) or not torch.allclose(
            theirs.float(), ours.float(), rtol=VAE_TOLERANCE, atol=VAE_TOLERANCE
        )
        if differs:
            raise BundleError(
                f"{source}: its stored VAE weight vae.{key} differs from {vae_ref!r}'s: the checkpoint was trained "
                "with another VAE, and its latents would not mean what the network learned; pass the VAE the "
                "model was trained with (--vae, --vae-kind, --vae-subfolder)"
            )
    return len(shared)


def check_latent_channels(source: str, in_channels: int, vae: torch.nn.Module, vae_ref: str) -> None:
    """Refuse a network whose stem does not take the VAE's latent channels.

    Raises:
        BundleError: naming both counts (a 3-channel stem is an image-space network, not a latent one).
    """
    latent = int(getattr(getattr(vae, "config", None), "latent_channels", in_channels))
    if latent != in_channels:
        raise BundleError(
            f"{source}: the network's stem (model.features.0.0.weight) takes {in_channels} channels but the VAE "
            f"{vae_ref!r} makes {latent}-channel latents; import it with the VAE it was trained with "
            f"({in_channels} latent channels)"
        )


def import_official_checkpoint(
    checkpoint: str | Path,
    vae_ref: str,
    out_dir: str | Path,
    *,
    vae_kind: str = "AutoencoderKL",
    vae_subfolder: str | None = None,
    image_size: int = 512,
    name: str = "lcmem-official",
    copy_vae: bool = True,
    overwrite: bool = False,
) -> LCMemConfig:
    """Convert an official LCMem ``SiameseNetwork`` checkpoint into a bundle folder.

    Args:
        checkpoint: the ``.pth`` file (``model.*`` and ``fc_end.*`` keys, optionally ``module.``-prefixed).
        vae_ref: a local diffusers folder or a hub id of the VAE the model was trained with.
        out_dir: the bundle folder to create.
        vae_kind: ``AutoencoderKL`` (Stable Diffusion) or ``AutoencoderTiny``.
        vae_subfolder: e.g. ``"vae"`` when ``vae_ref`` is a whole pipeline.
        image_size: the input size the model was trained at (512 for the paper).
        name: the bundle's name.
        copy_vae: copy the VAE into the bundle (self-contained and checksummed) instead of referencing it.
        overwrite: replace ``out_dir`` if it exists.

    Raises:
        BundleError: the checkpoint or the VAE cannot be read, the weights fit no known architecture, the
            stem's channels differ from the VAE's latent channels, or the checkpoint's stored VAE weights are
            not the given VAE's.
    """
    state, stored_vae = read_checkpoint_parts(checkpoint)
    try:
        backbone, in_channels, stem_stride, embedding_dim = infer_convnext_size(state, prefix="model.")
    except (KeyError, ValueError) as exc:
        raise BundleError(f"{checkpoint}: not an LCMem SiameseNetwork state dict ({exc})") from exc
    try:
        vae = load_vae(vae_kind, vae_ref, vae_subfolder)
    except Exception as exc:
        raise BundleError(f"VAE {vae_ref!r} could not be loaded: {exc}") from exc
    check_latent_channels(str(checkpoint), in_channels, vae, vae_ref)
    verified = check_vae_weights(str(checkpoint), stored_vae, vae, vae_ref)
    vae_config = VaeRef(kind=vae_kind) if copy_vae else VaeRef(kind=vae_kind, path=vae_ref, subfolder=vae_subfolder)
    config = LCMemConfig(
        name=name,
        image_size=image_size,
        latent_channels=in_channels,
        backbone=backbone,
        stem_stride=stem_stride,
        embedding_dim=embedding_dim,
        vae=vae_config,
        description=f"imported from {Path(checkpoint).name}",
        training={"imported_from": Path(checkpoint).name, "vae_ref": vae_ref, "vae_weights_verified": verified},
    )
    network = SiameseNetwork.from_config(config)
    load_state_strict(network, state, str(checkpoint))
    logger.info("imported %s: ConvNeXt-%s, %d latent channels", checkpoint, backbone, in_channels)
    return save_bundle(LCMemModel(config, vae, network), out_dir, overwrite=overwrite)
