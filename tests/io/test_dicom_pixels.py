"""Tests for the pure DICOM pixel pipeline in lcmem.io.dicom_pixels (and the frame view)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pydicom import Dataset
from pydicom.pixels import convert_color_space

from lcmem.io.dicom_frames import frame_dataset
from lcmem.io.dicom_pixels import (
    VoiWindow,
    apply_modality,
    apply_voi_lut_sequence,
    apply_window,
    color_to_unit,
    file_windows,
    monochrome_to_unit,
    percentile_window,
    range_window,
    window_from_dataset,
)
from lcmem.io.types import FileWindow

NewDataset = Callable[..., Dataset]


def lut_item(descriptor: list[int], data: list[int]) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = descriptor
    item.LUTData = data
    return item


@pytest.fixture
def ct(new_dataset: NewDataset) -> Dataset:
    """A signed 16-bit CT-like dataset with slope 2 and intercept -1024."""
    return new_dataset(
        np.zeros((2, 2), dtype=np.int16),
        attrs={"RescaleSlope": 2, "RescaleIntercept": -1024},
    )


def test_apply_modality_uses_slope_and_intercept(ct: Dataset) -> None:
    stored = np.array([[0, 432], [532, 632]], dtype=np.int16)
    np.testing.assert_array_equal(apply_modality(stored, ct), [[-1024, -160], [40, 240]])


def test_linear_window_hand_computed() -> None:
    # PS3.3 C.11.2.1.2.1 with c = 40, w = 400: x <= c - 0.5 - (w-1)/2 = -160 -> 0;
    # x > c - 0.5 + (w-1)/2 = 239 -> 1; else ((x - 39.5) / 399 + 0.5).
    values = np.array([-1024.0, -160.0, -158.0, 39.5, 40.0, 100.0, 239.0, 240.0])
    expected = [0.0, 0.0, 0.005012531, 0.5, 0.50125313, 0.65162907, 1.0, 1.0]
    np.testing.assert_allclose(apply_window(values, VoiWindow(40, 400)), expected, atol=1e-7)


def test_linear_exact_window_hand_computed() -> None:
    # PS3.3 C.11.2.1.3.2: x <= c - w/2 -> 0; x > c + w/2 -> 1; else (x - c) / w + 0.5.
    values = np.array([-200.0, -160.0, 40.0, 140.0, 240.0, 300.0])
    result = apply_window(values, VoiWindow(40, 400, "LINEAR_EXACT"))
    np.testing.assert_allclose(result, [0.0, 0.0, 0.5, 0.75, 1.0, 1.0], atol=1e-9)


def test_sigmoid_window_hand_computed() -> None:
    # PS3.3 C.11.2.1.3.1: 1 / (1 + exp(-4 (x - c) / w)).
    values = np.array([40.0, 140.0, -60.0])
    result = apply_window(values, VoiWindow(40, 400, "SIGMOID"))
    np.testing.assert_allclose(result, [0.5, 1 / (1 + np.exp(-1)), 1 / (1 + np.exp(1))], atol=1e-9)


def test_full_pipeline_with_rescale_and_window(ct: Dataset) -> None:
    ct.WindowCenter = 40
    ct.WindowWidth = 400
    stored = np.array([[0, 433], [532, 562]], dtype=np.int16)  # modality -1024, -158, 40, 100
    unit = monochrome_to_unit(stored, ct)
    assert unit.pixels.dtype == np.float32
    np.testing.assert_allclose(unit.pixels, [[0.0, 0.005012531], [0.50125313, 0.65162907]], atol=1e-6)
    assert (unit.window.center, unit.window.width, unit.window.source) == (40, 400, "window")
    assert unit.notes == {}


def test_multi_valued_window_uses_the_first(ct: Dataset) -> None:
    ct.WindowCenter = [40, 600]
    ct.WindowWidth = [400, 1600]
    window = window_from_dataset(ct)
    assert window is not None
    assert (window.center, window.width) == (40, 400)


def test_voi_function_is_read(ct: Dataset) -> None:
    ct.WindowCenter = 40
    ct.WindowWidth = 400
    ct.VOILUTFunction = "SIGMOID"
    unit = monochrome_to_unit(np.array([[532]], dtype=np.int16), ct)  # modality 40
    assert unit.window.function == "SIGMOID"
    assert unit.pixels[0, 0] == pytest.approx(0.5)


def test_voi_lut_sequence_preferred_over_window(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((2, 2), dtype=np.uint8))
    ds.WindowCenter = 128
    ds.WindowWidth = 256
    ds.VOILUTSequence = [lut_item([256, 0, 8], [255 - i for i in range(256)])]
    unit = monochrome_to_unit(np.array([[0, 255], [51, 300]], dtype=np.uint16), ds)
    np.testing.assert_allclose(unit.pixels, [[1.0, 0.0], [204 / 255, 0.0]], atol=1e-6)
    assert unit.window.source == "voi_lut_sequence"
    assert (unit.window.center, unit.window.width) == (128, 256)


def test_voi_lut_with_12_bit_entries_declared_16(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint16), bits_stored=12)
    ds.VOILUTSequence = [lut_item([4096, 0, 16], list(range(4096)))]
    mapped, window = apply_voi_lut_sequence(np.array([0.0, 2048.0, 4095.0, 5000.0]), ds)
    np.testing.assert_allclose(mapped, [0.0, 2048 / 4095, 1.0, 1.0])
    assert window.source == "voi_lut_sequence"


def test_monochrome1_is_inverted(ct: Dataset) -> None:
    ct.WindowCenter = 40
    ct.WindowWidth = 400
    stored = np.array([[0, 433], [532, 632]], dtype=np.int16)
    normal = monochrome_to_unit(stored, ct).pixels
    ct.PhotometricInterpretation = "MONOCHROME1"
    inverted = monochrome_to_unit(stored, ct).pixels
    np.testing.assert_allclose(inverted, 1.0 - normal, atol=1e-7)
    assert inverted[0, 0] == 1.0  # the lowest value is white in MONOCHROME1


def test_no_window_uses_percentiles(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint16), bits_stored=12)
    stored = np.arange(1000, dtype=np.uint16).reshape(20, 50)
    unit = monochrome_to_unit(stored, ds)
    lo, hi = np.percentile(np.arange(1000), [0.5, 99.5])
    assert unit.window.source == "percentile"
    assert unit.window.center == pytest.approx((lo + hi) / 2)
    assert unit.window.width == pytest.approx(hi - lo)
    assert unit.pixels[0, 0] == 0.0
    assert unit.pixels[-1, -1] == 1.0
    assert unit.pixels.flat[500] == pytest.approx((500 - lo) / (hi - lo), abs=1e-6)


def test_flat_frame_uses_the_stored_range(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint8))
    unit = monochrome_to_unit(np.full((3, 3), 51, dtype=np.uint8), ds)
    assert unit.window.source == "range"
    np.testing.assert_allclose(unit.pixels, 51 / 255, atol=1e-6)


def test_range_window_follows_rescale(ct: Dataset) -> None:
    window = range_window(ct)  # stored 16-bit signed, slope 2, intercept -1024
    assert window.center - window.width / 2 == -32768 * 2 - 1024
    assert window.center + window.width / 2 == 32767 * 2 - 1024


def test_percentile_window_of_flat_values_is_none() -> None:
    assert percentile_window(np.full(10, 3.0)) is None
    assert percentile_window(np.array([np.nan, np.inf])) is None


def test_broken_voi_lut_falls_back_to_percentile(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint8))
    ds.VOILUTSequence = [lut_item([512, 0, 8], list(range(256)))]
    unit = monochrome_to_unit(np.arange(100, dtype=np.uint8).reshape(10, 10), ds)
    assert unit.window.source == "percentile"
    assert "512" in unit.notes["voi_fallback"]
    assert "256" in unit.notes["voi_fallback"]


def test_broken_voi_lut_falls_back_to_a_valid_window(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint8))
    ds.VOILUTSequence = [lut_item([256, 0, 7], list(range(256)))]
    ds.WindowCenter = 100
    ds.WindowWidth = 50
    unit = monochrome_to_unit(np.arange(100, dtype=np.uint8).reshape(10, 10), ds)
    assert unit.window.source == "window"
    assert "VOI LUT Sequence" in unit.notes["voi_fallback"]


@pytest.mark.parametrize("width,function", [(0, "LINEAR"), (-5, "LINEAR_EXACT"), (0.5, "LINEAR"), (0, "SIGMOID")])
def test_invalid_window_width_falls_back(new_dataset: NewDataset, width: float, function: str) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint8))
    ds.WindowCenter = 100
    ds.WindowWidth = width
    ds.VOILUTFunction = function
    unit = monochrome_to_unit(np.arange(100, dtype=np.uint8).reshape(10, 10), ds)
    assert unit.window.source == "percentile"
    assert "Window Width" in unit.notes["voi_fallback"]


def test_unknown_voi_function_falls_back(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((1, 1), dtype=np.uint8))
    ds.WindowCenter = 100
    ds.WindowWidth = 50
    ds.VOILUTFunction = "CUBIC"
    unit = monochrome_to_unit(np.arange(100, dtype=np.uint8).reshape(10, 10), ds)
    assert unit.window.source == "percentile"
    assert "CUBIC" in unit.notes["voi_fallback"]


def test_override_replaces_the_files_voi(ct: Dataset) -> None:
    ct.VOILUTSequence = [lut_item([256, 0, 8], list(range(256)))]
    ct.WindowCenter = 40
    ct.WindowWidth = 400
    stored = np.array([[512, 562]], dtype=np.int16)  # modality 0 and 100
    unit = monochrome_to_unit(stored, ct, window=(50.5, 101))
    assert unit.window.source == "override"
    assert (unit.window.center, unit.window.width) == (50.5, 101)
    np.testing.assert_allclose(unit.pixels, [[0.0, 1.0]], atol=1e-6)


def test_invalid_override_falls_back(ct: Dataset) -> None:
    unit = monochrome_to_unit(np.array([[0, 1], [2, 3]], dtype=np.int16), ct, window=(10, 0))
    assert unit.window.source == "percentile"
    assert "override" in unit.notes["voi_fallback"]


def test_rgb_scaled_by_bits_stored(new_dataset: NewDataset) -> None:
    arr = np.array([[[0, 128, 255]]], dtype=np.uint8)
    ds = new_dataset(arr, photometric="RGB")
    unit = color_to_unit(arr, ds, "RGB")
    np.testing.assert_allclose(unit.pixels, arr / 255)
    assert unit.window.source == "range"
    arr16 = np.array([[[0, 2048, 4095]]], dtype=np.uint16)
    ds16 = new_dataset(arr16, photometric="RGB", bits_stored=12)
    np.testing.assert_allclose(color_to_unit(arr16, ds16, "RGB").pixels, arr16 / 4095)


def test_ybr_full_converted_once(new_dataset: NewDataset) -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [20, 40, 200]]], dtype=np.uint8)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    ds = new_dataset(ybr, photometric="YBR_FULL")
    unit = color_to_unit(ybr, ds, "YBR_FULL")
    np.testing.assert_allclose(unit.pixels, rgb / 255, atol=2 / 255)
    np.testing.assert_allclose(color_to_unit(rgb, ds, "RGB").pixels, rgb / 255)


@pytest.mark.parametrize("bits", [8, 16])
def test_palette_color(new_dataset: NewDataset, bits: int) -> None:
    indices = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    ds = new_dataset(indices, photometric="PALETTE COLOR")
    top = 2**bits - 1
    red, green, blue = [top, 0, 0, top // 3], [0, top, 0, top // 3], [0, 0, top, top // 3]
    dtype = "<u1" if bits == 8 else "<u2"
    for colour, values in zip(("Red", "Green", "Blue"), (red, green, blue), strict=True):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [4, 0, bits])
        setattr(ds, f"{colour}PaletteColorLookupTableData", np.array(values, dtype=dtype).tobytes())
    unit = color_to_unit(indices, ds, "PALETTE COLOR")
    assert unit.pixels.shape == (2, 2, 3)
    np.testing.assert_allclose(unit.pixels[0, 0], [1, 0, 0])
    np.testing.assert_allclose(unit.pixels[0, 1], [0, 1, 0])
    np.testing.assert_allclose(unit.pixels[1, 0], [0, 0, 1])
    np.testing.assert_allclose(unit.pixels[1, 1], [(top // 3) / top] * 3, atol=1e-6)


def test_frame_dataset_applies_functional_groups(new_dataset: NewDataset) -> None:
    ds = new_dataset(np.zeros((2, 2, 2), dtype=np.uint16), bits_stored=12)
    shared = Dataset()
    transform = Dataset()
    transform.RescaleSlope = 1
    transform.RescaleIntercept = -1024
    shared.PixelValueTransformationSequence = [transform]
    voi = Dataset()
    voi.WindowCenter = 40
    voi.WindowWidth = 400
    shared.FrameVOILUTSequence = [voi]
    ds.SharedFunctionalGroupsSequence = [shared]
    second = Dataset()
    second_voi = Dataset()
    second_voi.WindowCenter = [600, 40]
    second_voi.WindowWidth = [1200, 400]
    second_voi.WindowCenterWidthExplanation = ["LUNG", "SOFT"]
    second.FrameVOILUTSequence = [second_voi]
    ds.PerFrameFunctionalGroupsSequence = [Dataset(), second]

    first_view, second_view = frame_dataset(ds, 0), frame_dataset(ds, 1)
    assert (first_view.RescaleIntercept, first_view.WindowCenter) == (-1024, 40)
    assert (second_view.RescaleIntercept, second_view.WindowCenter, second_view.WindowWidth) == (
        -1024,
        [600, 40],
        [1200, 400],
    )
    assert file_windows(first_view) == (FileWindow(40.0, 400.0, "", 1),)
    assert file_windows(second_view) == (FileWindow(600.0, 1200.0, "LUNG", 1), FileWindow(40.0, 400.0, "SOFT", 2))
    assert first_view.Rows == 2
    assert "RescaleIntercept" not in ds  # the dataset itself is untouched
    assert "WindowCenter" not in ds
