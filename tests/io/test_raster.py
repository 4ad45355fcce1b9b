"""Tests for lcmem.io.raster, through the public loader."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from lcmem.errors import ImageReadError, ImageTooLargeError, UnsupportedImageError
from lcmem.io import count_frames, iter_frames, load_image

RNG = np.random.default_rng(7)


def save(image: Image.Image, path: Path, **params: object) -> Path:
    image.save(path, **params)
    return path


def crafted_png(width: int, height: int) -> bytes:
    """A PNG signature and IHDR declaring ``width`` x ``height`` grey pixels, then IEND: no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_grey_8bit_png_exact(tmp_path: Path) -> None:
    arr = np.array([[0, 1, 128], [254, 255, 7]], dtype=np.uint8)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "g.png"))
    assert loaded.pixels.dtype == np.float32
    assert loaded.pixels.shape == (2, 3)
    np.testing.assert_array_equal(loaded.pixels, arr.astype(np.float32) / 255)
    meta = loaded.meta
    assert (meta.format, meta.mode, meta.source_mode, meta.width, meta.height) == ("PNG", "L", "L", 3, 2)
    assert meta.frame is None
    assert meta.n_frames == 1
    assert meta.patient_id is None
    assert meta.window is None


def test_rgb_png(tmp_path: Path) -> None:
    arr = RNG.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "c.png"))
    assert loaded.meta.mode == "RGB"
    np.testing.assert_array_equal(loaded.pixels, arr / np.float32(255))


def test_rgba_drops_alpha(tmp_path: Path) -> None:
    arr = RNG.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "a.png"))
    assert loaded.pixels.shape == (4, 4, 3)
    assert loaded.meta.source_mode == "RGBA"
    np.testing.assert_array_equal(loaded.pixels, arr[..., :3] / np.float32(255))


def test_la_is_grey(tmp_path: Path) -> None:
    image = Image.new("LA", (3, 2), (200, 10))
    loaded = load_image(save(image, tmp_path / "la.png"))
    assert loaded.meta.mode == "L"
    np.testing.assert_allclose(loaded.pixels, 200 / 255)


def test_palette_with_colours_becomes_rgb(tmp_path: Path) -> None:
    image = Image.new("P", (4, 3))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((1, 1), 1)
    loaded = load_image(save(image, tmp_path / "p.png"))
    assert loaded.meta.source_mode == "P"
    assert loaded.meta.mode == "RGB"
    np.testing.assert_array_equal(loaded.pixels[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(loaded.pixels[1, 1], [0, 0, 1])


def test_palette_with_only_grey_entries_stays_grey(tmp_path: Path) -> None:
    image = Image.new("P", (4, 3))
    image.putpalette([v for i in range(256) for v in (i, i, i)])
    image.putpixel((2, 1), 51)
    loaded = load_image(save(image, tmp_path / "pg.png"))
    assert loaded.meta.mode == "L"
    assert loaded.pixels.shape == (3, 4)
    assert loaded.pixels[1, 2] == pytest.approx(51 / 255)


def test_cmyk_becomes_rgb(tmp_path: Path) -> None:
    image = Image.new("CMYK", (4, 4), (0, 0, 0, 0))
    loaded = load_image(save(image, tmp_path / "cmyk.tif"))
    assert loaded.meta.source_mode == "CMYK"
    assert loaded.pixels.shape == (4, 4, 3)
    np.testing.assert_allclose(loaded.pixels, 1.0)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_grey_divides_by_65535(tmp_path: Path, suffix: str) -> None:
    arr = np.array([[0, 32768, 65535], [1, 1000, 40000]], dtype=np.uint16)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / f"g16{suffix}"))
    assert loaded.meta.source_mode.startswith("I;16")
    assert loaded.meta.mode == "L"
    assert loaded.pixels[0, 2] == 1.0
    assert loaded.pixels[0, 0] == 0.0
    assert loaded.pixels[0, 1] == pytest.approx(32768 / 65535)
    np.testing.assert_allclose(loaded.pixels, arr / 65535, rtol=1e-6)


def test_32bit_integer_beyond_16_bits_uses_min_max(tmp_path: Path) -> None:
    arr = np.array([[100, 100000], [50100, 200100]], dtype=np.int32)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "i32.tif"))
    assert loaded.meta.source_mode == "I"
    np.testing.assert_allclose(loaded.pixels, (arr - 100) / 200000, rtol=1e-6)
    assert loaded.meta.extra["scaling"] == "min-max 100..200100"


def test_float_tiff_uses_min_max(tmp_path: Path) -> None:
    arr = np.array([[-1.5, 0.5], [2.5, np.nan]], dtype=np.float32)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "f.tif"))
    assert loaded.meta.source_mode == "F"
    np.testing.assert_allclose(loaded.pixels, [[0.0, 0.5], [1.0, 0.0]])
    assert "min-max" in loaded.meta.extra["scaling"]


def test_one_by_one(tmp_path: Path) -> None:
    loaded = load_image(save(Image.new("L", (1, 1), 77), tmp_path / "one.bmp"))
    assert loaded.pixels.shape == (1, 1)
    assert loaded.pixels[0, 0] == pytest.approx(77 / 255)
    assert loaded.meta.format == "BMP"


def test_webp_lossless(tmp_path: Path) -> None:
    arr = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "w.webp", lossless=True))
    assert loaded.meta.format == "WEBP"
    np.testing.assert_array_equal(loaded.pixels, arr / np.float32(255))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    arr = np.zeros((16, 32), dtype=np.uint8)  # 32 wide, 16 high; left half black, right half white
    arr[:, 16:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer must rotate 90 degrees clockwise
    loaded = load_image(save(Image.fromarray(arr), tmp_path / "rot.jpg", exif=exif, quality=95))
    assert loaded.pixels.shape == (32, 16)
    assert (loaded.meta.width, loaded.meta.height) == (16, 32)
    assert loaded.pixels[:12].mean() < 0.1  # the left (black) half is now on top
    assert loaded.pixels[-12:].mean() > 0.9


def test_png_named_jpg_loads_by_content(tmp_path: Path, png_bytes: Callable[[np.ndarray], bytes]) -> None:
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(png_bytes(np.full((3, 3), 9, dtype=np.uint8)))
    loaded = load_image(path)
    assert loaded.meta.format == "PNG"
    assert loaded.pixels[0, 0] == pytest.approx(9 / 255)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageReadError) as info:
        load_image(path)
    assert info.value.reason == "file is empty"
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        load_image(tmp_path / "nope.png")


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_file(tmp_path: Path, fmt: str, suffix: str) -> None:
    arr = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(arr).save(whole, format=fmt)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ImageReadError) as info:
        load_image(cut)
    assert type(info.value) is ImageReadError
    assert "file is truncated or corrupt" in info.value.reason


def test_text_named_png_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("patient list\nnot an image\n")
    with pytest.raises(UnsupportedImageError) as info:
        load_image(path)
    assert "not an image" in info.value.reason
    assert "text file" in info.value.reason
    assert "named .png" in info.value.reason


def test_huge_declared_size_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(crafted_png(100_000, 100_000))
    with pytest.raises(ImageTooLargeError):
        load_image(path)
    with pytest.raises(ImageTooLargeError):
        count_frames(path)


def test_own_limit_does_not_depend_on_pillow_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = tmp_path / "bomb.png"
    path.write_bytes(crafted_png(30_000, 30_000))  # no pixel data: decoding would fail as truncated
    with pytest.raises(ImageTooLargeError) as info:
        load_image(path, max_pixels=10_000_000)
    assert "30000x30000" in info.value.reason
    assert "10000000" in info.value.reason


def test_lower_max_pixels(tmp_path: Path) -> None:
    path = save(Image.new("L", (20, 10)), tmp_path / "small.png")
    with pytest.raises(ImageTooLargeError):
        load_image(path, max_pixels=199)
    assert load_image(path, max_pixels=200).pixels.shape == (10, 20)


def test_animated_gif_frames_are_items(tmp_path: Path) -> None:
    frames = [Image.new("L", (4, 4), v) for v in (10, 120, 240)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    loaded = load_image(path)
    assert loaded.meta.n_frames == 3
    assert loaded.meta.format == "GIF"
    assert loaded.pixels.mean() == pytest.approx(10 / 255, abs=0.01)
    assert load_image(path, frame=2).pixels.mean() == pytest.approx(240 / 255, abs=0.01)
    items = list(iter_frames(path))
    assert [item.meta.frame for item in items] == [0, 1, 2]
    assert [round(float(item.pixels.mean()) * 255) for item in items] == [10, 120, 240]
    assert count_frames(path) == 3
    with pytest.raises(ImageReadError, match="frame 3 does not exist"):
        load_image(path, frame=3)


@pytest.mark.parametrize(("name", "fmt"), [("pages.tif", "TIFF"), ("anim.png", "GIF"), ("anim.png", "PNG")])
def test_every_page_of_a_multi_page_file_is_an_item(tmp_path: Path, name: str, fmt: str) -> None:
    pages = [Image.new("L", (6, 5), v) for v in (30, 90, 150, 210)]
    path = tmp_path / name
    pages[0].save(path, format=fmt, save_all=True, append_images=pages[1:], duration=50)
    items = list(iter_frames(path))
    assert [round(float(item.pixels.mean()) * 255) for item in items] == [30, 90, 150, 210]
    assert [item.meta.frame for item in items] == [0, 1, 2, 3]
    assert count_frames(path) == 4


def test_frames_together_are_bounded_by_max_pixels(tmp_path: Path) -> None:
    pages = [Image.new("L", (10, 10), v) for v in (1, 2, 3)]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert len(list(iter_frames(path, max_pixels=300))) == 3
    with pytest.raises(ImageTooLargeError, match="first 3 of 3 frames hold 300 pixels"):
        list(iter_frames(path, max_pixels=299))


def test_a_png_text_chunk_bomb_is_named(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * 20_000_000, zip=True)
    path = save(Image.new("L", (8, 8)), tmp_path / "ztxt.png", pnginfo=info)
    with pytest.raises(ImageReadError, match=r"text chunk \(zTXt/iTXt metadata\).*decompression bomb"):
        load_image(path)


def test_a_two_byte_jpeg_start_is_a_cut_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "soi.jpg"
    path.write_bytes(b"\xff\xd8")
    with pytest.raises(ImageReadError, match=r"starts like a JPEG file but .* cut short \(only 2 bytes\)"):
        load_image(path)


def test_single_image_frame_out_of_range(tmp_path: Path) -> None:
    path = save(Image.new("L", (2, 2)), tmp_path / "x.png")
    with pytest.raises(ImageReadError, match="does not exist"):
        load_image(path, frame=1)
    assert load_image(path, frame=0).meta.frame == 0


def test_iter_frames_of_raster_yields_one(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (3, 2)), tmp_path / "x.jpeg")
    items = list(iter_frames(path))
    assert len(items) == 1
    assert items[0].pixels.shape == (2, 3, 3)


def test_window_is_ignored_for_raster(tmp_path: Path) -> None:
    path = save(Image.new("L", (2, 2), 100), tmp_path / "x.png")
    np.testing.assert_array_equal(load_image(path, window=(0, 10)).pixels, load_image(path).pixels)


@pytest.mark.parametrize(
    "head,fmt",
    [(b"II*\x00garbage", "TIFF"), (b"MM\x00*" + b"\xff" * 8, "TIFF"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 9, "PNG")],
)
def test_corrupt_header_is_named_for_its_signature(tmp_path: Path, head: bytes, fmt: str) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(head)
    with pytest.raises(UnsupportedImageError, match=f"starts like a {fmt} file but its header is corrupt"):
        load_image(path)


def test_header_cut_short_is_corrupt_not_unopenable(tmp_path: Path) -> None:
    whole = save(Image.fromarray(RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)), tmp_path / "w.jpg")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[:300])
    with pytest.raises(ImageReadError) as info:
        load_image(cut)
    assert info.value.reason.startswith("file is truncated or corrupt")
