"""Records of a memorization scan."""

from __future__ import annotations

from dataclasses import dataclass, field

from lcmem.embed.runner import EmbedSettings
from lcmem.embed.types import ImageRef
from lcmem.index.faiss_index import IndexSettings
from lcmem.index.rescore import OVERSAMPLE
from lcmem.io.types import FileProblem
from lcmem.verify.settings import VerifySettings
from lcmem.verify.types import Transform


@dataclass(frozen=True)
class ScanSettings:
    """What a scan does: ``top_k`` candidates per synthetic image, chosen by exact score among ``oversample ×
    top_k`` that the index proposes (with ``verify``: the ``verify.depth`` best are verified and re-ranked
    first, :mod:`lcmem.scan.verification`; ``None``: a quick pass by score alone); embedding and index
    settings; and for the real→real null distribution at most ``null_sample`` reals with ``null_k`` candidates
    each."""

    top_k: int = 20
    oversample: int = OVERSAMPLE
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    query_chunk: int = 1024
    null_sample: int = 20_000
    null_k: int = 8
    verify: VerifySettings | None = field(default_factory=VerifySettings)

    @property
    def search_k(self) -> int:
        """How many candidates the search returns per synthetic image (``top_k``, or the verification depth)."""
        return max(self.top_k, self.verify.depth) if self.verify is not None else self.top_k


@dataclass(frozen=True)
class Candidate:
    """A suspected match: synthetic and real items, the LCMem pair probability, its rank (1 = best) and, when
    verified, the inlier count and fitted transform (``inliers`` ``None``: not verified)."""

    synthetic: ImageRef
    real: ImageRef
    rank: int
    score: float
    inliers: int | None = None
    transform: Transform | None = None


@dataclass(frozen=True)
class ScanSummary:
    """What a scan did: counts, problems, the model and index used, and stage timings in seconds."""

    model_checksum: str
    model_name: str
    n_real_files: int
    n_synthetic_files: int
    n_real_items: int
    n_synthetic_items: int
    n_candidates: int
    index_kind: str
    problems: tuple[FileProblem, ...]
    cached_files: int
    computed_files: int
    seconds: dict[str, float]
    n_null_scores: int = 0
