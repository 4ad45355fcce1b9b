"""PNG, JPEG, TIFF, BMP, WebP, GIF (and whatever else Pillow recognises by content) to float32 pixels in [0, 1].

The format is found from the content, not the name. EXIF orientation is applied. Every frame of a multi-page
TIFF or an animated GIF, PNG or WebP is an item of its own (:func:`iter_raster_frames`), as in a multi-frame
DICOM. The pixel count declared in
the header is checked against ``max_pixels`` before anything is decoded; Pillow's own global limit
(``Image.MAX_IMAGE_PIXELS``) is not relied upon, and its error is translated when it fires first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lcmem.errors import ImageReadError, ImageTooLargeError, UnsupportedImageError
from lcmem.io.reasons import describe_exception, describe_os_error
from lcmem.io.types import DEFAULT_MAX_PIXELS, ImageMeta, LoadedImage

logger = logging.getLogger(__name__)

GREY_MODES = frozenset({"1", "L", "LA"})
UINT16_MAX = 65535.0
TEXT_SNIFF_BYTES = 512
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
)
"""Leading bytes of the formats Pillow reads (WebP is ``RIFF....WEBP``), to tell a corrupt header from no image."""


def load_raster(path: str | Path, frame: int | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode one image file with Pillow.

    Args:
        path: the file.
        frame: which frame of an animated or multi-page file (``None``: the first, with ``meta.frame``
            ``None``).
        max_pixels: refuse images whose header declares more pixels than this.

    Returns:
        Pixels as float32 in [0, 1], ``(H, W)`` for grey images (mode ``"L"``) and ``(H, W, 3)`` otherwise.

    Raises:
        UnsupportedImageError: the content is not an image Pillow recognises, or of a mode it cannot convert.
        ImageTooLargeError: the header declares more than ``max_pixels`` pixels.
        ImageReadError: the file is missing, unreadable, truncated or corrupt, or ``frame`` does not exist.
    """
    with _open(path, max_pixels) as im, _translate_decode_errors(path):
        n_frames = int(getattr(im, "n_frames", 1))
        index = 0 if frame is None else frame
        if not 0 <= index < n_frames:
            raise ImageReadError(path, f"frame {index} does not exist: the file has {n_frames} frame(s)")
        return _decode_frame(path, im, index, frame, n_frames)


def iter_raster_frames(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[LoadedImage]:
    """Yield every frame (page) of an image file, one decoded at a time, as multi-frame DICOM files do.

    A multi-page TIFF, an animated GIF, PNG or WebP gives one item per frame (``meta.frame`` its index);
    any other file its one image (``meta.frame`` ``None``). ``max_pixels`` bounds all frames together.

    Raises:
        ImageReadError: as :func:`load_raster`; possibly after some frames were yielded.
    """
    with _open(path, max_pixels) as im:
        with _translate_decode_errors(path):
            n_frames = int(getattr(im, "n_frames", 1))
        total = 0
        for index in range(n_frames):
            with _translate_decode_errors(path):
                if index:
                    im.seek(index)
                total += im.size[0] * im.size[1]
                _check_frame_total(path, total, index + 1, n_frames, max_pixels)
                loaded = _decode_frame(path, im, index, index if n_frames > 1 else None, n_frames)
            yield loaded


def count_raster_frames(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """Return how many items :func:`iter_raster_frames` yields, reading only headers.

    Raises:
        UnsupportedImageError: the content is not an image Pillow recognises.
        ImageTooLargeError: the header declares more than ``max_pixels`` pixels.
        ImageReadError: the file is missing, unreadable or its header is corrupt.
    """
    with _open(path, max_pixels) as im, _translate_decode_errors(path):
        return int(getattr(im, "n_frames", 1))


def _check_frame_total(path: str | Path, total: int, seen: int, n_frames: int, max_pixels: int) -> None:
    """Refuse a file whose frames so far hold more than ``max_pixels`` pixels together."""
    if total > max_pixels:
        raise ImageTooLargeError(
            path,
            f"its first {seen} of {n_frames} frames hold {total} pixels, more than the limit of {max_pixels} "
            "(a possible decompression bomb); raise max_pixels if the file is trusted",
        )


def _decode_frame(path: str | Path, im: Image.Image, index: int, frame: int | None, n_frames: int) -> LoadedImage:
    """Decode frame ``index`` of an open image into a :class:`LoadedImage` (``meta.frame`` is ``frame``)."""
    source_mode = im.mode
    fmt = im.format or "unknown"
    if im.tell() != index:
        im.seek(index)
    im.load()
    try:
        pixels, mode, extra = image_to_unit(_apply_orientation(im))
    except ValueError as exc:
        raise UnsupportedImageError(path, str(exc)) from exc
    meta = ImageMeta(
        path=str(path),
        format=fmt,
        width=pixels.shape[1],
        height=pixels.shape[0],
        mode=mode,
        source_mode=source_mode,
        frame=frame,
        n_frames=n_frames,
        extra=extra,
    )
    return LoadedImage(pixels=pixels, meta=meta)


def is_unrecognised(exc: ImageReadError) -> bool:
    """Return whether an error from this module means "Pillow does not recognise this content"."""
    return isinstance(exc, UnsupportedImageError) and isinstance(exc.__cause__, UnidentifiedImageError)


@contextmanager
def _open(path: str | Path, max_pixels: int) -> Iterator[Image.Image]:
    """Open lazily (header only) and refuse too many pixels before any decoding."""
    try:
        im = Image.open(path)
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(path, _not_an_image_reason(path)) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, f"image is too large to decode safely ({exc})") from exc
    except OSError as exc:
        if exc.errno is None:  # Pillow's own "OSError" for bad content, not one from the operating system
            raise ImageReadError(path, _corrupt_reason(exc)) from exc
        raise ImageReadError(path, f"cannot open file: {describe_os_error(exc)}") from exc
    except Exception as exc:
        raise ImageReadError(path, _corrupt_reason(exc)) from exc
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise ImageTooLargeError(
                path,
                f"image declares {width}x{height} = {width * height} pixels, more than the limit of "
                f"{max_pixels} (a possible decompression bomb); raise max_pixels if the file is trusted",
            )
        yield im


@contextmanager
def _translate_decode_errors(path: str | Path) -> Iterator[None]:
    """Turn whatever Pillow raises while decoding into an :class:`ImageReadError` subclass."""
    try:
        yield
    except (ImageReadError, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, f"image is too large to decode safely ({exc})") from exc
    except MemoryError as exc:
        raise ImageReadError(path, "not enough memory to decode the image") from exc
    except BaseException as exc:
        raise ImageReadError(path, _corrupt_reason(exc)) from exc


TEXT_BOMB_MARKERS = ("MAX_TEXT_CHUNK", "MAX_TEXT_MEMORY")
"""Pillow's limits on decompressed PNG text chunks, named in the error it raises when one is exceeded."""


def _corrupt_reason(exc: BaseException) -> str:
    if any(marker in str(exc) for marker in TEXT_BOMB_MARKERS):
        return _text_bomb_reason(exc)
    return f"file is truncated or corrupt ({describe_exception(exc)}); re-export or re-copy it"


def _text_bomb_reason(exc: BaseException) -> str:
    """A PNG whose compressed text (zTXt/iTXt) chunks would decompress past Pillow's limit."""
    return (
        "PNG text chunk (zTXt/iTXt metadata) decompresses to more than Pillow's limit: a decompression bomb "
        f"in the file's metadata, refused before any pixel was read ({describe_exception(exc)})"
    )


def _not_an_image_reason(path: str | Path) -> str:
    """Say what the file is not, and what it looks like when that is easy to tell."""
    suffix = Path(path).suffix.lower().lstrip(".")
    named = f"named .{suffix} but " if suffix else ""
    try:
        with open(path, "rb") as f:
            head = f.read(TEXT_SNIFF_BYTES)
    except OSError:
        head = b""
    signature = next((fmt for magic, fmt in SIGNATURES if head.startswith(magic)), None)
    if signature is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        signature = "WebP"
    if signature is not None:
        size = f" (only {len(head)} bytes)" if len(head) < TEXT_SNIFF_BYTES else ""
        return f"starts like a {signature} file but its header is corrupt or cut short{size}; re-export or re-copy it"
    looks = ""
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            looks = " (it looks like a text file)"
        except UnicodeDecodeError:
            looks = ""
    return f"{named}not an image: no PNG, JPEG, TIFF, BMP, WebP, GIF or DICOM signature found{looks}"


def _apply_orientation(im: Image.Image) -> Image.Image:
    """Rotate/flip as the EXIF Orientation tag says; an unreadable EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception as exc:
        logger.debug("ignoring unreadable EXIF orientation: %s", exc)
        return im


def image_to_unit(im: Image.Image) -> tuple[np.ndarray, str, dict[str, str]]:
    """Convert a decoded Pillow image to float32 in [0, 1].

    Grey modes (``1``, ``L``, ``LA``, and ``P`` whose used palette entries are all grey) give ``(H, W)``;
    16-bit (``I;16*``) and 32-bit integer (``I``) pixels within [0, 65535] are divided by 65535, others
    (and ``F``) are scaled by the data's own min/max, which is recorded in the returned ``extra``. Every
    other mode is converted to RGB (alpha dropped) and gives ``(H, W, 3)``.

    Args:
        im: a loaded image.

    Returns:
        ``(pixels, mode, extra)`` with ``mode`` ``"L"`` or ``"RGB"``.

    Raises:
        ValueError: Pillow cannot convert the mode to RGB.
    """
    mode = im.mode
    if mode in GREY_MODES:
        arr = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        return arr, "L", {}
    if mode in ("I", "F") or mode.startswith("I;"):
        return _scale_wide(np.asarray(im))
    if mode in ("P", "PA"):
        rgb = np.asarray(im.convert("RGB"))
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            return rgb[..., 0].astype(np.float32) / 255.0, "L", {"palette": "grey"}
        return rgb.astype(np.float32) / 255.0, "RGB", {}
    try:
        rgb = np.asarray(im.convert("RGB"))
    except ValueError as exc:
        raise ValueError(f"pixel mode {mode!r} cannot be converted to RGB") from exc
    return rgb.astype(np.float32) / 255.0, "RGB", {}


def _scale_wide(arr: np.ndarray) -> tuple[np.ndarray, str, dict[str, str]]:
    """Scale 16/32-bit integer or float grey pixels: by 65535 when they fit 16 bits, else by their min/max."""
    data = arr.astype(np.float64)
    finite = np.isfinite(data)
    if arr.dtype.kind in "iu" and data.size and data.min() >= 0 and data.max() <= UINT16_MAX:
        return (data / UINT16_MAX).astype(np.float32), "L", {}
    lo = float(data[finite].min()) if finite.any() else 0.0
    hi = float(data[finite].max()) if finite.any() else 0.0
    span = hi - lo
    scaled = (data - lo) / span if span > 0 else np.zeros_like(data)
    scaled = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return scaled.astype(np.float32), "L", {"scaling": f"min-max {lo:g}..{hi:g}"}
