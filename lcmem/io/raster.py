"""PNG, JPEG, TIFF, BMP, WebP, GIF (and whatever else Pillow recognises by content) to float32 pixels in [0, 1].

The format is found from the content, not the name. EXIF orientation is applied. Every frame of a multi-page
TIFF or an animated GIF, PNG or WebP is an item of its own (:func:`iter_raster_frames`), as in a multi-frame
DICOM. The pixel count declared in the header is checked against ``max_pixels`` before anything is decoded;
files are opened without Pillow's own process-wide limit (``Image.MAX_IMAGE_PIXELS``, which is left untouched
for other code), so ``max_pixels`` alone decides, in both directions, and per call. A caller that needs only
``target`` pixels on a side (the model) gets a large image decoded at reduced size (:mod:`lcmem.io.reduce`),
under the process-wide decode budget (:mod:`lcmem.io.budget`).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from lcmem.errors import ImageReadError, ImageTooLargeError, UnsupportedImageError
from lcmem.io.budget import DECODE_BUDGET
from lcmem.io.reasons import describe_exception, describe_os_error
from lcmem.io.reduce import reduction_factor
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
ONE_BYTE_MODES = frozenset({"1", "L", "P"})
FLOAT_BYTES_PER_PIXEL = 32
"""What converting one pixel to float32 RGB costs at most (uint8 RGB, float32 copies, the model's tensor)."""
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF Orientation value -> the transposition that shows the image upright."""
REDUCIBLE = {"1": "L", "P": "RGBA", "PA": "RGBA", "I;16": "I", "I;16L": "I", "I;16B": "I", "I;16N": "I"}
"""Modes ``Image.reduce`` cannot average (or must not: palette indices), and what to convert them to first."""


def load_raster(
    path: str | Path, frame: int | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS, target: int | None = None
) -> LoadedImage:
    """Decode one image file with Pillow.

    Args:
        path: the file.
        frame: which frame of an animated or multi-page file (``None``: the first, with ``meta.frame``
            ``None``).
        max_pixels: refuse images whose header declares more pixels than this.
        target: the side the caller resizes to (the model's input size): a large image is then decoded at
            reduced size (``meta.extra["reduced"]`` says by how much); ``None``: full size.

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
        return _decode_frame(path, im, index, frame, n_frames, target)


def iter_raster_frames(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, target: int | None = None
) -> Iterator[LoadedImage]:
    """Yield every frame (page) of an image file, one decoded at a time, as multi-frame DICOM files do.

    A multi-page TIFF, an animated GIF, PNG or WebP gives one item per frame (``meta.frame`` its index);
    any other file its one image (``meta.frame`` ``None``). ``max_pixels`` bounds all frames together;
    ``target`` is as for :func:`load_raster`.

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
                loaded = _decode_frame(path, im, index, index if n_frames > 1 else None, n_frames, target)
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


def _decode_frame(
    path: str | Path, im: Image.Image, index: int, frame: int | None, n_frames: int, target: int | None
) -> LoadedImage:
    """Decode frame ``index`` of an open image (reduced for ``target``) into a :class:`LoadedImage` whose
    ``meta.frame`` is ``frame``."""
    source_mode = im.mode
    fmt = im.format or "unknown"
    if im.tell() != index:
        im.seek(index)
    with DECODE_BUDGET.reserve(decode_cost(im, target)):
        decoded, reduced = _load_reduced(im, target)
        try:
            pixels, mode, extra = image_to_unit(_oriented(decoded, _orientation(im)))
        except ValueError as exc:
            raise UnsupportedImageError(path, str(exc)) from exc
    extra.update(reduced)
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
        im = open_unlimited(path)
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(path, _not_an_image_reason(path)) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, f"image is too large to decode safely ({exc})") from exc
    except OSError as exc:
        if exc.errno is None:  # Pillow's own "OSError" for bad content, not one from the operating system
            raise ImageReadError(path, _corrupt_reason(exc)) from exc
        raise ImageReadError(path, f"cannot open file: {describe_os_error(exc)}") from exc
    except Exception as exc:
        raise ImageReadError(path, _open_failure_reason(path, exc)) from exc
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


def _open_failure_reason(path: str | Path, exc: BaseException) -> str:
    """Why Pillow could not open a file it recognised: a file shorter than any header is cut short."""
    head = _head(path)
    cut = _signature_reason(head) if len(head) < TEXT_SNIFF_BYTES else None
    return cut or _corrupt_reason(exc)


def _head(path: str | Path) -> bytes:
    """The first :data:`TEXT_SNIFF_BYTES` of a file (empty when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(TEXT_SNIFF_BYTES)
    except OSError:
        return b""


def _signature_reason(head: bytes) -> str | None:
    """ "Starts like a PNG/JPEG/… file but…" when ``head`` starts with an image signature, else ``None``."""
    signature = next((fmt for magic, fmt in SIGNATURES if head.startswith(magic)), None)
    if signature is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        signature = "WebP"
    if signature is None:
        return None
    size = f" (only {len(head)} bytes)" if len(head) < TEXT_SNIFF_BYTES else ""
    return f"starts like a {signature} file but its header is corrupt or cut short{size}; re-export or re-copy it"


def _not_an_image_reason(path: str | Path) -> str:
    """Say what the file is not, and what it looks like when that is easy to tell."""
    suffix = Path(path).suffix.lower().lstrip(".")
    named = f"named .{suffix} but " if suffix else ""
    head = _head(path)
    signature = _signature_reason(head)
    if signature is not None:
        return signature
    looks = ""
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            looks = " (it looks like a text file)"
        except UnicodeDecodeError:
            looks = ""
    return f"{named}not an image: no PNG, JPEG, TIFF, BMP, WebP, GIF or DICOM signature found{looks}"


def open_unlimited(path: str | Path) -> ImageFile.ImageFile:
    """``Image.open`` without Pillow's process-wide pixel limit, for this call only (thread-safe).

    Tries each registered format as ``Image.open`` does but skips its ``MAX_IMAGE_PIXELS`` check, which the
    caller's ``max_pixels`` replaces; the global stays as it is for other code.

    Raises:
        UnidentifiedImageError: no format recognises the content.
        OSError: the file cannot be read, or a format's reader fails on it.
    """
    with open(path, "rb") as f:
        prefix = f.read(16)
    Image.init()
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept is not None and accept(prefix) is not True:
            continue
        try:
            return factory(str(path), str(path))
        except (SyntaxError, IndexError, TypeError, struct.error) as exc:
            logger.debug("%s is not %s: %s", path, fmt, exc)
    raise UnidentifiedImageError(f"cannot identify image file {str(path)!r}")


def decode_cost(im: Image.Image, target: int | None) -> int:
    """Estimate the bytes decoding ``im`` holds at its peak: Pillow's buffer, then float32 of what is kept."""
    width, height = im.size
    stored = width * height * (1 if im.mode in ONE_BYTE_MODES else 4)
    factor = reduction_factor(width, height, target)
    return stored + (width // factor) * (height // factor) * FLOAT_BYTES_PER_PIXEL


def _load_reduced(im: ImageFile.ImageFile, target: int | None) -> tuple[Image.Image, dict[str, str]]:
    """Decode ``im``, at reduced size when ``target`` allows (JPEG: DCT scaling; others: ``Image.reduce``)."""
    width, height = im.size
    factor = reduction_factor(width, height, target)
    if factor == 1:
        im.load()
        return im, {}
    im.draft(None, (width // factor, height // factor))
    im.load()
    decoded: Image.Image = im
    rest = reduction_factor(*decoded.size, target)
    if rest > 1:
        if decoded.mode in REDUCIBLE:
            decoded = decoded.convert(REDUCIBLE[decoded.mode])
        decoded = decoded.reduce(rest)
    note = f"decoded at {decoded.width}x{decoded.height} from {width}x{height} for the model's input size {target}"
    return decoded, {"reduced": note}


def _orientation(im: Image.Image) -> Image.Transpose | None:
    """The transposition the EXIF Orientation tag asks for; an unreadable EXIF block asks for none."""
    try:
        value = im.getexif().get(ExifTags.Base.Orientation)
    except Exception as exc:
        logger.debug("ignoring unreadable EXIF orientation: %s", exc)
        return None
    return ORIENTATIONS.get(value) if isinstance(value, int) else None


def _oriented(im: Image.Image, method: Image.Transpose | None) -> Image.Image:
    """Rotate/flip ``im`` as the file's EXIF Orientation says (``method``), without copying when upright."""
    return im if method is None else im.transpose(method)


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
