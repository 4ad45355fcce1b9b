"""Query views: mirrored, rotated and zoomed-out versions of a batch, same shape, in [0, 1]."""

from __future__ import annotations

import pytest
import torch

from lcmem.errors import LCMemError
from lcmem.model.views import DEFAULT_VIEWS, VIEWS, apply_views
from lcmem.verify.settings import VerifySettings


def test_views_keep_the_shape_and_mirror_is_a_flip() -> None:
    images = torch.rand(3, 3, 32, 32)
    viewed = apply_views(images, DEFAULT_VIEWS)
    assert viewed.shape == (3, len(DEFAULT_VIEWS), 3, 32, 32)
    assert float(viewed.min()) >= 0.0 and float(viewed.max()) <= 1.0
    assert torch.equal(viewed[:, DEFAULT_VIEWS.index("mirror")], images.flip(-1))
    assert apply_views(images, ()).shape == (3, 0, 3, 32, 32)


def test_rotations_turn_the_image_both_ways_and_leave_black_corners() -> None:
    image = torch.zeros(1, 3, 64, 64)
    image[..., 28:36, 40:60] = 1.0  # a bar right of the centre
    plus, minus = (apply_views(image, (name,))[0, 0] for name in ("rotate+8", "rotate-8"))
    assert not torch.allclose(plus, minus)
    assert torch.allclose(plus, minus.flip(-2), atol=1e-5)  # mirror images of each other about the row axis
    corner = apply_views(torch.ones(1, 3, 64, 64), ("rotate+8",))[0, 0]
    assert float(corner[:, 0, 0].max()) == 0.0 and float(corner[:, 32, 32].min()) == pytest.approx(1.0)


def test_zoom_out_shrinks_the_image_into_a_border_of_its_repeated_edge() -> None:
    image = torch.zeros(1, 3, 50, 50)
    image[..., :, :25] = 1.0  # left half white
    zoomed = apply_views(image, ("zoom-out-88",))[0, 0]
    assert float(zoomed[:, :, 0].min()) == pytest.approx(1.0)  # the left edge, repeated
    assert float(zoomed[:, :, -1].max()) == pytest.approx(0.0)
    assert zoomed.shape == image.shape[1:]


def test_unknown_views_are_a_clear_error_and_the_scan_default_names_every_view() -> None:
    with pytest.raises(LCMemError, match="unknown query views"):
        apply_views(torch.rand(1, 3, 8, 8), ("upside-down",))
    assert VerifySettings().views == DEFAULT_VIEWS == tuple(VIEWS)
