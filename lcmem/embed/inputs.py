"""What an embedding job reads: a folder (walked like a scan's folders) or a text file listing paths."""

from __future__ import annotations

from pathlib import Path

from lcmem.errors import EmbeddingsError
from lcmem.io import Discovery, discover_images


def read_path_list(list_file: str | Path) -> list[Path]:
    """The paths in a text file, one a line; blank lines and ``#`` comments are skipped.

    A relative path is taken relative to the list file's folder.

    Raises:
        EmbeddingsError: the list cannot be read.
    """
    source = Path(list_file)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EmbeddingsError(f"{source}: cannot read the list of images ({exc}); give a UTF-8 text file") from exc
    entries = (line.strip() for line in lines)
    return [source.parent / entry for entry in entries if entry and not entry.startswith("#")]


def gather_inputs(source: str | Path) -> Discovery:
    """The image files of a folder (recursively, as a scan finds them) or of a list file, sorted.

    Each listed path may itself be a file (taken as it is) or a folder (walked). A missing entry is a problem.

    Raises:
        EmbeddingsError: ``source`` is neither a folder nor a readable file.
    """
    path = Path(source)
    if path.is_dir():
        return discover_images([path])
    if path.is_file():
        return discover_images(read_path_list(path))
    raise EmbeddingsError(f"{path}: no such folder or list file; give a folder of images or a text file of paths")
