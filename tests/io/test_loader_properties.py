"""Property tests of the public loader: random small images load to [0, 1]; corrupt files fail cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from pydicom import Dataset

from lcmem.errors import ImageReadError
from lcmem.io import LoadedImage, iter_frames, load_image

FIXED_BUDGET = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))


def assert_unit(loaded: LoadedImage, shape: tuple[int, ...]) -> None:
    assert loaded.pixels.dtype == np.float32
    assert loaded.pixels.shape == shape
    assert np.isfinite(loaded.pixels).all()
    assert loaded.pixels.min() >= 0.0
    assert loaded.pixels.max() <= 1.0


@FIXED_BUDGET
@given(
    data=st.data(),
    shape=shapes,
    kind=st.sampled_from(["L", "RGB", "I;16"]),
    fmt=st.sampled_from(["PNG", "TIFF"]),
)
def test_random_raster_round_trips(
    tmp_path: Path, data: st.DataObject, shape: tuple[int, int], kind: str, fmt: str
) -> None:
    dtype, full, top = (np.uint16, shape, 65535) if kind == "I;16" else (np.uint8, shape, 255)
    if kind == "RGB":
        full = (*shape, 3)
    arr = data.draw(arrays(dtype, full))
    path = tmp_path / f"r.{fmt.lower()}"
    Image.fromarray(arr).save(path, format=fmt)
    loaded = load_image(path)
    assert_unit(loaded, full)
    np.testing.assert_allclose(loaded.pixels, arr / top, rtol=1e-6)


@FIXED_BUDGET
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 10), st.integers(1, 10)),
    bits=st.sampled_from([8, 12, 16]),
    signed=st.booleans(),
    photometric=st.sampled_from(["MONOCHROME1", "MONOCHROME2"]),
    rescale=st.none() | st.tuples(st.sampled_from([0.5, 1.0, 2.5, -1.0]), st.integers(-2048, 2048)),
    window=st.none() | st.tuples(st.floats(-5000, 5000), st.floats(0.5, 10000)),
    function=st.sampled_from([None, "LINEAR", "LINEAR_EXACT", "SIGMOID"]),
)
def test_random_dicom_loads_to_unit_range(
    write_dicom: Callable[..., Path],
    data: st.DataObject,
    shape: tuple[int, int, int],
    bits: int,
    signed: bool,
    photometric: str,
    rescale: tuple[float, int] | None,
    window: tuple[float, float] | None,
    function: str | None,
) -> None:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    dtype = (np.int8 if signed else np.uint8) if bits == 8 else (np.int16 if signed else np.uint16)
    frames = data.draw(arrays(dtype, shape, elements=st.integers(low, high)))
    attrs: dict[str, object] = {}
    if rescale is not None:
        attrs.update(RescaleSlope=rescale[0], RescaleIntercept=rescale[1])
    if window is not None:
        attrs.update(WindowCenter=round(window[0], 3), WindowWidth=round(window[1], 3))
    if function is not None:
        attrs["VOILUTFunction"] = function
    pixels = frames[0] if shape[0] == 1 else frames
    path = write_dicom("p.dcm", pixels, photometric=photometric, bits_stored=bits, attrs=attrs)
    items = list(iter_frames(path))
    assert len(items) == shape[0]
    for item in items:
        assert_unit(item, shape[1:])
        assert item.meta.window_source in {"window", "percentile", "range"}


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory: pytest.TempPathFactory, new_dataset: Callable[..., Dataset]) -> dict[str, bytes]:
    """The bytes of one valid PNG, JPEG, TIFF and DICOM file, to corrupt."""
    folder = tmp_path_factory.mktemp("valid")
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    out: dict[str, bytes] = {}
    for suffix, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".tif", "TIFF")):
        Image.fromarray(rgb).save(folder / f"v{suffix}", format=fmt)
        out[suffix] = (folder / f"v{suffix}").read_bytes()
    stored = rng.integers(-1000, 1000, (2, 8, 8)).astype(np.int16)
    attrs = {"RescaleSlope": 1, "RescaleIntercept": -1024, "WindowCenter": 40, "WindowWidth": 400}
    ds = new_dataset(stored, attrs=attrs)
    ds.save_as(folder / "v.dcm", enforce_file_format=True)
    out[".dcm"] = (folder / "v.dcm").read_bytes()
    return out


@FIXED_BUDGET
@given(
    suffix=st.sampled_from([".png", ".jpg", ".tif", ".dcm"]),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.floats(0, 1),
)
@pytest.mark.filterwarnings("ignore")
def test_corrupted_files_load_or_raise_image_read_error(
    tmp_path: Path,
    valid_files: dict[str, bytes],
    suffix: str,
    edits: list[tuple[float, int]],
    cut: float | None,
) -> None:
    data = bytearray(valid_files[suffix])
    for position, value in edits:
        data[int(position * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path / f"c{suffix}"
    path.write_bytes(bytes(data))
    for load in (lambda: [load_image(path)], lambda: list(iter_frames(path))):
        try:
            loaded = load()
        except ImageReadError as exc:
            assert exc.reason
            continue
        for item in loaded:
            assert_unit(item, item.pixels.shape)
