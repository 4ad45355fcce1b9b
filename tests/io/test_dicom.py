"""Tests for DICOM files through the public loader: files written with pydicom in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import Dataset, dcmread
from pydicom.encaps import encapsulate
from pydicom.pixels import convert_color_space, get_encoder
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

import lcmem.io.dicom_codecs as dicom_codecs
from lcmem.errors import ImageReadError, ImageTooLargeError, UnsupportedImageError
from lcmem.io import FileWindow, count_frames, dicom_decoders, iter_frames, load_image

WriteDicom = Callable[..., Path]
CT_ATTRS = {
    "RescaleSlope": 2,
    "RescaleIntercept": -1024,
    "WindowCenter": 40,
    "WindowWidth": 400,
    "Modality": "CT",
}
CT_STORED = np.array([[0, 433], [532, 562]], dtype=np.int16)  # modality -1024, -158, 40, 100
CT_EXPECTED = [[0.0, 0.005012531], [0.50125313, 0.65162907]]  # LINEAR, PS3.3 C.11.2.1.2.1, by hand

SKIP_J2K = not get_encoder(JPEG2000Lossless).is_available
"""pylibjpeg-openjpeg encodes JPEG 2000; without it the round trip cannot be tested."""


def test_monochrome2_rescale_and_window_exact(write_dicom: WriteDicom) -> None:
    path = write_dicom("ct.dcm", CT_STORED, attrs=CT_ATTRS)
    loaded = load_image(path)
    assert loaded.pixels.dtype == np.float32
    np.testing.assert_allclose(loaded.pixels, CT_EXPECTED, atol=1e-6)
    ds = dcmread(path)
    meta = loaded.meta
    assert (meta.format, meta.mode, meta.source_mode) == ("DICOM", "L", "MONOCHROME2")
    assert (meta.width, meta.height, meta.frame, meta.n_frames) == (2, 2, 0, 1)
    assert meta.modality == "CT"
    assert meta.patient_id == "TEST-PATIENT-42"
    assert meta.sop_instance_uid == ds.SOPInstanceUID
    assert meta.series_instance_uid == ds.SeriesInstanceUID
    assert meta.study_instance_uid == ds.StudyInstanceUID
    assert meta.window == (40.0, 400.0)
    assert meta.window_source == "window"
    assert meta.extra["transfer_syntax"] == "Explicit VR Little Endian"
    assert meta.path == str(path)


def test_window_override(write_dicom: WriteDicom) -> None:
    path = write_dicom("ct.dcm", CT_STORED, attrs=CT_ATTRS)
    loaded = load_image(path, window=(49.5, 100))  # LINEAR: x <= 0 -> 0, x > 99 -> 1
    np.testing.assert_allclose(loaded.pixels, [[0.0, 0.0], [40.5 / 99, 1.0]], atol=1e-6)
    assert loaded.meta.window == (49.5, 100.0)
    assert loaded.meta.window_source == "override"
    frames = list(iter_frames(path, window=(49.5, 100)))
    np.testing.assert_array_equal(frames[0].pixels, loaded.pixels)


@pytest.mark.parametrize("function", ["LINEAR_EXACT", "SIGMOID"])
def test_voi_functions_in_a_file(write_dicom: WriteDicom, function: str) -> None:
    path = write_dicom("f.dcm", CT_STORED, attrs={**CT_ATTRS, "VOILUTFunction": function})
    loaded = load_image(path)
    x = np.array([[-1024.0, -158.0], [40.0, 100.0]])
    if function == "LINEAR_EXACT":
        expected = np.clip((x - 40) / 400 + 0.5, 0, 1)
    else:
        expected = 1 / (1 + np.exp(-4 * (x - 40) / 400))
    np.testing.assert_allclose(loaded.pixels, expected, atol=1e-6)


def test_multi_valued_window(write_dicom: WriteDicom) -> None:
    attrs = {**CT_ATTRS, "WindowCenter": [40, 400], "WindowWidth": [400, 2000]}
    loaded = load_image(write_dicom("mv.dcm", CT_STORED, attrs=attrs))
    assert loaded.meta.window == (40.0, 400.0)
    np.testing.assert_allclose(loaded.pixels, CT_EXPECTED, atol=1e-6)


def test_voi_lut_sequence_preferred(write_dicom: WriteDicom) -> None:
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.add_new(0x00283006, "US", [255 - i for i in range(256)])  # LUT Data as a list of US values
    stored = np.array([[0, 255], [51, 10]], dtype=np.uint8)
    attrs = {"WindowCenter": 128, "WindowWidth": 256, "VOILUTSequence": [item]}
    loaded = load_image(write_dicom("lut.dcm", stored, attrs=attrs))
    assert loaded.meta.window_source == "voi_lut_sequence"
    np.testing.assert_allclose(loaded.pixels, (255 - stored) / 255, atol=1e-6)


def test_broken_voi_lut_loads_with_fallback(write_dicom: WriteDicom) -> None:
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.LUTData = np.arange(100, dtype="<u2").tobytes()  # OW: 100 entries where 4096 are declared
    stored = np.arange(64, dtype=np.uint8).reshape(8, 8)
    loaded = load_image(write_dicom("badlut.dcm", stored, attrs={"VOILUTSequence": [item]}))
    assert loaded.meta.window_source == "percentile"
    assert "4096" in loaded.meta.extra["voi_fallback"]
    assert loaded.pixels.min() == 0.0
    assert loaded.pixels.max() == 1.0


def test_monochrome1_is_inverted(write_dicom: WriteDicom) -> None:
    path = write_dicom("m1.dcm", CT_STORED, photometric="MONOCHROME1", attrs=CT_ATTRS)
    loaded = load_image(path)
    np.testing.assert_allclose(loaded.pixels, 1 - np.array(CT_EXPECTED), atol=1e-6)
    assert loaded.meta.source_mode == "MONOCHROME1"


def test_no_window_uses_percentiles(write_dicom: WriteDicom) -> None:
    stored = np.arange(400, dtype=np.uint16).reshape(20, 20)
    loaded = load_image(write_dicom("nowin.dcm", stored, bits_stored=12))
    assert loaded.meta.window_source == "percentile"
    assert loaded.pixels[0, 0] == 0.0
    assert loaded.pixels[-1, -1] == 1.0


def test_rgb(write_dicom: WriteDicom) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    loaded = load_image(write_dicom("rgb.dcm", rgb, photometric="RGB"))
    assert loaded.meta.mode == "RGB"
    assert loaded.meta.window_source == "range"
    np.testing.assert_allclose(loaded.pixels, rgb / 255, atol=1e-6)


def test_ybr_full(write_dicom: WriteDicom) -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [30, 60, 90]]], dtype=np.uint8)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    loaded = load_image(write_dicom("ybr.dcm", ybr, photometric="YBR_FULL"))
    assert loaded.meta.source_mode == "YBR_FULL"
    np.testing.assert_allclose(loaded.pixels, rgb / 255, atol=2 / 255)


def test_palette_color(write_dicom: WriteDicom) -> None:
    indices = np.array([[0, 1], [2, 1]], dtype=np.uint8)
    attrs: dict[str, object] = {}
    for n, colour in enumerate(("Red", "Green", "Blue")):
        values = np.zeros(3, dtype="<u2")
        values[n] = 65535
        attrs[f"{colour}PaletteColorLookupTableDescriptor"] = [3, 0, 16]
        attrs[f"{colour}PaletteColorLookupTableData"] = values.tobytes()
    loaded = load_image(write_dicom("pal.dcm", indices, photometric="PALETTE COLOR", attrs=attrs))
    assert loaded.meta.mode == "RGB"
    np.testing.assert_allclose(loaded.pixels[0, 0], [1, 0, 0])
    np.testing.assert_allclose(loaded.pixels[0, 1], [0, 1, 0])
    np.testing.assert_allclose(loaded.pixels[1, 0], [0, 0, 1])


def test_multi_frame_items(write_dicom: WriteDicom) -> None:
    frames = np.stack([np.full((3, 4), v, dtype=np.uint8) for v in (0, 100, 200)])
    frames[:, 0, 0] = 255  # each frame has a bright pixel, so the windows are not flat
    path = write_dicom("mf.dcm", frames, attrs={"WindowCenter": 128, "WindowWidth": 256})
    assert count_frames(path) == 3
    items = list(iter_frames(path))
    assert [item.meta.frame for item in items] == [0, 1, 2]
    assert all(item.meta.n_frames == 3 for item in items)
    assert all(item.pixels.shape == (3, 4) for item in items)
    means = [float(item.pixels[1:, 1:].mean()) for item in items]
    np.testing.assert_allclose(means, [0.0, 100 / 255, 200 / 255], atol=1e-6)
    np.testing.assert_array_equal(load_image(path, frame=2).pixels, items[2].pixels)
    assert load_image(path).meta.frame == 0
    with pytest.raises(ImageReadError, match="frame 3 does not exist"):
        load_image(path, frame=3)


def test_rle_lossless_round_trip(write_dicom: WriteDicom) -> None:
    frames = np.random.default_rng(2).integers(0, 4096, (2, 6, 5), dtype=np.uint16)
    plain = write_dicom("plain.dcm", frames, bits_stored=12, attrs={"WindowCenter": 2048, "WindowWidth": 4096})
    rle = write_dicom(
        "rle.dcm",
        frames,
        bits_stored=12,
        attrs={"WindowCenter": 2048, "WindowWidth": 4096},
        transfer_syntax=RLELossless,
    )
    assert dcmread(rle).file_meta.TransferSyntaxUID == RLELossless
    for a, b in zip(iter_frames(plain), iter_frames(rle), strict=True):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    assert load_image(rle, frame=1).meta.extra["transfer_syntax"] == "RLE Lossless"


@pytest.mark.skipif(SKIP_J2K, reason="pylibjpeg-openjpeg is not installed: no JPEG 2000 encoder")
def test_jpeg2000_lossless_round_trip(write_dicom: WriteDicom) -> None:
    stored = np.random.default_rng(3).integers(0, 4096, (32, 32), dtype=np.uint16)
    plain = load_image(write_dicom("p.dcm", stored, bits_stored=12))
    j2k = load_image(write_dicom("j.dcm", stored, bits_stored=12, transfer_syntax=JPEG2000Lossless))
    np.testing.assert_array_equal(plain.pixels, j2k.pixels)


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRBigEndian])
def test_other_native_syntaxes(tmp_path: Path, new_dataset: Callable[..., Dataset], syntax: UID) -> None:
    ds = new_dataset(CT_STORED, attrs=CT_ATTRS)
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = CT_STORED.astype("<i2" if syntax.is_little_endian else ">i2").tobytes()
    path = tmp_path / "x.dcm"
    ds.save_as(
        path,
        implicit_vr=syntax.is_implicit_VR,
        little_endian=syntax.is_little_endian,
        enforce_file_format=True,
    )
    np.testing.assert_allclose(load_image(path).pixels, CT_EXPECTED, atol=1e-6)


def test_extensionless_file_is_sniffed(write_dicom: WriteDicom) -> None:
    path = write_dicom("IM000001", CT_STORED, attrs=CT_ATTRS)
    assert load_image(path).meta.format == "DICOM"
    assert count_frames(path) == 1


@pytest.mark.parametrize("name", ["bare.dcm", "bare_no_extension"])
def test_file_without_preamble_is_read_with_force(write_dicom: WriteDicom, name: str) -> None:
    path = write_dicom(name, CT_STORED, attrs=CT_ATTRS, preamble=False)
    assert path.read_bytes()[128:132] != b"DICM"
    loaded = load_image(path)
    np.testing.assert_allclose(loaded.pixels, CT_EXPECTED, atol=1e-6)
    assert loaded.meta.extra["transfer_syntax_inferred"].startswith("yes")
    assert len(list(iter_frames(path))) == 1
    assert count_frames(path) == 1


def test_no_pixel_data(tmp_path: Path, new_dataset: Callable[..., Dataset]) -> None:
    ds = new_dataset(CT_STORED)
    del ds.PixelData
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, keyword)
    path = tmp_path / "sr.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(UnsupportedImageError, match="no pixel data"):
        load_image(path)
    with pytest.raises(UnsupportedImageError, match="no pixel data"):
        list(iter_frames(path))
    with pytest.raises(UnsupportedImageError, match="no pixel data"):
        count_frames(path)


def test_rows_columns_inconsistent_with_data(write_dicom: WriteDicom) -> None:
    path = write_dicom("bad.dcm", CT_STORED, attrs={"Rows": 20})
    with pytest.raises(ImageReadError) as info:
        load_image(path)
    assert type(info.value) is ImageReadError
    assert "truncated or its header is wrong" in info.value.reason


def test_huge_declared_size(write_dicom: WriteDicom) -> None:
    path = write_dicom("bomb.dcm", CT_STORED, attrs={"Rows": 4096, "Columns": 4096, "NumberOfFrames": 10_000})
    with pytest.raises(ImageTooLargeError, match="decompression bomb"):
        load_image(path)
    with pytest.raises(ImageTooLargeError):
        load_image(write_dicom("small.dcm", CT_STORED), max_pixels=3)


@pytest.mark.filterwarnings("ignore:Invalid value for VR IS")
def test_invalid_number_of_frames(write_dicom: WriteDicom) -> None:
    path = write_dicom("nf.dcm", CT_STORED, attrs={"NumberOfFrames": 1})
    element = b"\x28\x00\x08\x00IS\x02\x001 "  # (0028,0008) IS, 2 bytes: "1 "
    data = path.read_bytes()
    assert data.count(element) == 1
    path.write_bytes(data.replace(element, element[:-2] + b"x "))
    with pytest.raises(ImageReadError, match="Number of Frames"):
        load_image(path)


def test_unknown_transfer_syntax_is_unsupported(tmp_path: Path, new_dataset: Callable[..., Dataset]) -> None:
    ds = new_dataset(CT_STORED)
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 12])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2 video
    path = tmp_path / "mpeg.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(UnsupportedImageError) as info:
        load_image(path)
    assert "MPEG2" in info.value.reason
    assert "1.2.840.10008.1.2.4.100" in info.value.reason


def test_missing_decoder_names_the_package(write_dicom: WriteDicom, monkeypatch: pytest.MonkeyPatch) -> None:
    class Unavailable:
        is_available = False

    real = dicom_codecs.get_decoder
    monkeypatch.setattr(dicom_codecs, "get_decoder", lambda uid: Unavailable() if uid == JPEGLSLossless else real(uid))
    ds_path = write_dicom("jls.dcm", CT_STORED)
    ds = dcmread(ds_path)
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    ds.save_as(ds_path, enforce_file_format=True)
    with pytest.raises(UnsupportedImageError) as info:
        load_image(ds_path)
    assert "JPEG-LS Lossless" in info.value.reason
    assert "pylibjpeg-libjpeg" in info.value.reason
    assert dicom_decoders()["jpeg_ls"] is False


def test_dicom_decoders_reports_every_family() -> None:
    report = dicom_decoders()
    assert set(report) >= {"uncompressed", "deflate", "rle", "jpeg_baseline", "jpeg_ls", "jpeg_2000"}
    assert all(isinstance(value, bool) for value in report.values())
    assert report["uncompressed"] and report["rle"]


def test_decoder_exception_is_wrapped(write_dicom: WriteDicom) -> None:
    path = write_dicom("rle.dcm", CT_STORED, transfer_syntax=RLELossless)
    ds = dcmread(path)
    ds.PixelData = encapsulate([b"\x01\x00\x00\x00" + b"\xff" * 60])  # an RLE header with nonsense segments
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(ImageReadError) as info:
        load_image(path)
    assert type(info.value) is ImageReadError
    assert "cannot decode the DICOM pixel data (RuntimeError" in info.value.reason


def test_unexpected_decoder_exception_is_wrapped(write_dicom: WriteDicom, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_dicom("ok.dcm", CT_STORED)

    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("pydicom.pixels.decoders.base.Decoder.as_array", explode)
    monkeypatch.setattr("pydicom.pixels.decoders.base.Decoder.iter_array", explode)
    with pytest.raises(ImageReadError, match="KeyError"):
        load_image(path)
    with pytest.raises(ImageReadError, match="KeyError"):
        list(iter_frames(path))


def test_png_named_dcm_loads_with_pillow(tmp_path: Path) -> None:
    path = tmp_path / "mislabelled.dcm"
    Image.new("L", (3, 2), 50).save(path, format="PNG")
    loaded = load_image(path)
    assert loaded.meta.format == "PNG"
    assert len(list(iter_frames(path))) == 1
    assert count_frames(path) == 1


def test_text_named_dcm_is_not_dicom(tmp_path: Path) -> None:
    path = tmp_path / "notes.dcm"
    path.write_text("hello, this is not DICOM at all\n" * 20)
    with pytest.raises(UnsupportedImageError, match="not a DICOM file"):
        load_image(path)
    with pytest.raises(UnsupportedImageError, match="not a DICOM file"):
        list(iter_frames(path))
    with pytest.raises(UnsupportedImageError, match="not a DICOM file"):
        count_frames(path)


def test_a_files_other_windows_are_offered_with_their_explanations(write_dicom: WriteDicom) -> None:
    attrs = {
        **CT_ATTRS,
        "WindowCenter": [40, 400, -600],
        "WindowWidth": [400, 2000, 1500],
        "WindowCenterWidthExplanation": ["SOFT", "BONE", "LUNG"],
    }
    loaded = load_image(write_dicom("three.dcm", CT_STORED, attrs=attrs))
    assert loaded.meta.window == (40.0, 400.0)
    assert loaded.meta.alternative_windows == (
        FileWindow(400.0, 2000.0, "BONE", 2),
        FileWindow(-600.0, 1500.0, "LUNG", 3),
    )
    second = load_image(loaded.meta.path, window=(400.0, 2000.0))
    assert (
        second.meta.window_source == "override" and second.meta.alternative_windows == loaded.meta.alternative_windows
    )


def test_invalid_window_pairs_are_not_offered_and_a_broken_first_pair_is_an_alternative_no_more(
    write_dicom: WriteDicom,
) -> None:
    attrs = {**CT_ATTRS, "WindowCenter": [40, 400, 50], "WindowWidth": [0, 2000, 350]}
    loaded = load_image(write_dicom("bad_first.dcm", CT_STORED, attrs=attrs))
    assert loaded.meta.window_source == "percentile"
    assert [w.number for w in loaded.meta.alternative_windows] == [2, 3]
    assert [w.explanation for w in loaded.meta.alternative_windows] == ["", ""]
    single = load_image(write_dicom("one.dcm", CT_STORED, attrs=CT_ATTRS))
    assert single.meta.alternative_windows == ()


def test_with_a_voi_lut_sequence_every_window_pair_is_an_alternative(write_dicom: WriteDicom) -> None:
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.add_new(0x00283006, "US", list(range(256)))
    stored = np.array([[0, 255], [51, 10]], dtype=np.uint8)
    attrs = {"WindowCenter": [128, 60], "WindowWidth": [256, 100], "VOILUTSequence": [item]}
    loaded = load_image(write_dicom("lut2.dcm", stored, attrs=attrs))
    assert loaded.meta.window_source == "voi_lut_sequence"
    assert [(w.center, w.width, w.number) for w in loaded.meta.alternative_windows] == [(128, 256, 1), (60, 100, 2)]


@pytest.mark.parametrize(("slope", "why"), [("NaN", r"Rescale Slope is nan"), (0, r"Rescale Slope is 0")])
def test_a_degenerate_rescale_slope_is_refused(write_dicom: Callable[..., Path], slope: object, why: str) -> None:
    pixels = np.arange(400, dtype=np.uint16).reshape(20, 20)
    path = write_dicom("slope.dcm", pixels, attrs={"RescaleSlope": slope, "RescaleIntercept": 7})
    with pytest.raises(ImageReadError, match=why):
        list(iter_frames(path))


def test_one_bit_allocated_for_sixteen_bit_data_is_refused(write_dicom: Callable[..., Path]) -> None:
    pixels = np.arange(24 * 20, dtype=np.uint16).reshape(24, 20)
    path = write_dicom("bits1.dcm", pixels, attrs={"BitsAllocated": 1, "BitsStored": 1, "HighBit": 0})
    with pytest.raises(ImageReadError, match=r"Bits Allocated is 1 but .* 16 times .* header is wrong"):
        load_image(path)


def test_a_compressed_dicom_cut_in_its_pixel_data_is_called_cut(write_dicom: Callable[..., Path]) -> None:
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    whole = write_dicom("rle.dcm", pixels, transfer_syntax=RLELossless).read_bytes()
    cut = whole[: len(whole) - 300]
    path = write_dicom("x.dcm", pixels)
    path.write_bytes(cut)
    with pytest.raises(ImageReadError, match=r"^.*cut short: its header describes an image") as info:
        load_image(path)
    assert not info.value.reason.startswith("DICOM file has no pixel data")
