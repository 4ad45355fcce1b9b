"""``LCMemConfig``: every setting needed to rebuild a model, and its ``lcmem.json`` form."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lcmem.errors import BundleError

FORMAT_VERSION = 1
VAE_KINDS = ("AutoencoderKL", "AutoencoderTiny")


@dataclass(frozen=True)
class VaeRef:
    """Where the frozen diffusers VAE comes from.

    ``path`` is either ``"vae"`` (a diffusers folder inside the bundle, checksummed like every weight
    file) or an external reference: a local diffusers folder or a Hugging Face hub id, with an optional
    ``subfolder`` (e.g. ``"vae"`` of a Stable Diffusion repository). ``latent`` is always ``"mean"``: the
    latent distribution's mean is used, not a sample, so embeddings are deterministic (the official code
    samples; see docs/ARCHITECTURE.md).
    """

    kind: str = "AutoencoderKL"
    path: str = "vae"
    subfolder: str | None = None
    latent: str = "mean"

    @property
    def bundled(self) -> bool:
        """Whether the VAE lives inside the bundle folder."""
        return self.path == "vae" and self.subfolder is None


@dataclass(frozen=True)
class LCMemConfig:
    """The architecture and provenance of one LCMem model, stored as ``lcmem.json``.

    Image inputs are RGB in [0, 1] resized to ``image_size`` × ``image_size``; the VAE turns them into
    ``latent_channels`` channels; each latent is normalised per sample and channel to mean
    ``norm_mean`` and std ``norm_std``; a ConvNeXt of size ``backbone`` with a ``stem_stride`` patchify
    stem maps it to an ``embedding_dim`` sigmoid embedding.
    """

    name: str
    version: str = "0.0.0"
    image_size: int = 512
    latent_channels: int = 4
    backbone: str = "tiny"
    stem_stride: int = 4
    embedding_dim: int = 512
    norm_mean: float = 0.0
    norm_std: float = 0.5
    norm_eps: float = 1e-8
    vae: VaeRef = field(default_factory=VaeRef)
    weights_sha256: dict[str, str] = field(default_factory=dict)
    description: str = ""
    seed: int | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def default_threshold(self) -> float | None:
        """The decision threshold shipped with the model (``metrics["default_threshold"]``, the val-split
        threshold of ``lcmem eval``), or ``None`` when the bundle carries none."""
        value = self.metrics.get("default_threshold")
        return float(value) if isinstance(value, int | float) and 0 <= value <= 1 else None

    def with_weights(self, weights_sha256: dict[str, str]) -> LCMemConfig:
        """Return a copy with the given weight checksums."""
        return replace(self, weights_sha256=dict(sorted(weights_sha256.items())))

    @property
    def checksum(self) -> str:
        """sha256 identifying what the model computes: architecture, normalisation, VAE and weights.

        Names, descriptions, metrics and training records do not enter it, so re-labelling a bundle
        keeps its embedding cache valid while any change of weights invalidates it.
        """
        keys = (
            "format_version",
            "image_size",
            "latent_channels",
            "backbone",
            "stem_stride",
            "embedding_dim",
            "norm_mean",
            "norm_std",
            "norm_eps",
            "vae",
            "weights_sha256",
        )
        data = asdict(self)
        payload = json.dumps({k: data[k] for k in keys}, sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()

    def to_json(self) -> str:
        """Serialise to the ``lcmem.json`` text (sorted keys, stable across runs)."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "lcmem.json", *, validate: bool = True) -> LCMemConfig:
        """Parse ``lcmem.json``; unknown or missing keys raise :class:`BundleError` naming them.

        ``validate=False`` skips :meth:`validate` (which imports torch for the backbone sizes): enough to read
        a bundle's name, version and checksum.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BundleError(f"{source} is not valid JSON ({exc}); the bundle is damaged") from exc
        if not isinstance(data, dict):
            raise BundleError(f"{source} must hold a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise BundleError(
                f"{source} has format_version {version!r}; this lcmem reads version {FORMAT_VERSION}. "
                "Upgrade lcmem to open this bundle."
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise BundleError(f"{source} has unknown keys {unknown}")
        try:
            vae = VaeRef(**data.pop("vae", {}))
            config = cls(vae=vae, **data)
        except TypeError as exc:
            raise BundleError(f"{source} is incomplete or malformed: {exc}") from exc
        if validate:
            config.validate(source)
        return config

    def validate(self, source: str = "lcmem.json") -> None:
        """Check value ranges; raise :class:`BundleError` naming the bad field."""
        from lcmem.model.convnext import CONVNEXT_SIZES

        if self.backbone not in CONVNEXT_SIZES:
            raise BundleError(f"{source}: backbone {self.backbone!r} is not one of {sorted(CONVNEXT_SIZES)}")
        if self.vae.kind not in VAE_KINDS:
            raise BundleError(f"{source}: vae.kind {self.vae.kind!r} is not one of {list(VAE_KINDS)}")
        if self.vae.latent != "mean":
            raise BundleError(f"{source}: vae.latent must be 'mean', got {self.vae.latent!r}")
        for name in ("image_size", "latent_channels", "stem_stride", "embedding_dim"):
            if int(getattr(self, name)) <= 0:
                raise BundleError(f"{source}: {name} must be positive")
        if self.norm_std <= 0:
            raise BundleError(f"{source}: norm_std must be positive")
