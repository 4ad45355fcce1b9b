"""Recursive walk of folders for image files: symlink-loop guard, unreadable folders recorded, DICM sniffing.

Nothing here raises for trouble with one entry: a folder that cannot be listed, a broken link or a link that
loops back becomes a :class:`~lcmem.io.types.FileProblem` and the walk goes on.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lcmem.io.formats import has_image_extension, read_dicom_magic
from lcmem.io.reasons import describe_os_error
from lcmem.io.types import FileProblem

logger = logging.getLogger(__name__)

FOLDER_ERROR = "FolderError"
SYMLINK_LOOP = "SymlinkLoop"
FILE_ERROR = "ImageReadError"
SPECIAL_FILE_REASON = "not a regular file (a named pipe, socket or device); not read"


@dataclass(frozen=True)
class Discovery:
    """The result of a walk.

    ``files`` are absolute, sorted, and listed once each even when reached by several paths (symlinks);
    ``problems`` are the entries that could not be read, in the order met.
    """

    files: tuple[Path, ...]
    problems: tuple[FileProblem, ...]


@dataclass
class _Walk:
    """Mutable state of one walk: files keyed by their real path, problems, folders already listed."""

    files: dict[str, Path] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)
    listed: set[tuple[int, int]] = field(default_factory=set)

    def add_file(self, path: Path) -> None:
        real = os.path.realpath(path)
        known = self.files.get(real)
        if known is None or str(path) < str(known):
            self.files[real] = path

    def add_problem(self, path: Path | str, reason: str, kind: str) -> None:
        logger.debug("skipping %s: %s", path, reason)
        self.problems.append(FileProblem(path=str(path), reason=reason, kind=kind))


def discover_images(roots: Iterable[str | Path]) -> Discovery:
    """Find the image files under some folders (recursively) or named directly.

    A file is a candidate when its extension is one of :data:`~lcmem.io.formats.IMAGE_EXTENSIONS` (any case)
    or when it has no extension and carries the DICOM preamble. Other files and hidden entries (names
    starting with ``"."``) are skipped silently. Symbolic links to folders are followed, except one that
    leads back to a folder on the current path (recorded as a ``"SymlinkLoop"`` problem). A root that is a
    file is taken as it is, whatever its extension. A file or folder whose name is not valid UTF-8, and a
    named pipe, socket or device named like an image, are recorded as problems and never opened.

    Args:
        roots: folders and/or files.

    Returns:
        The files found and the problems met; a missing root is a problem, not an exception.
    """
    walk = _Walk()
    for root in roots:
        path = Path(os.path.abspath(root))
        try:
            st = path.stat()
        except OSError as exc:
            kind = FILE_ERROR if path.is_symlink() else FOLDER_ERROR
            walk.add_problem(path, f"cannot open: {describe_os_error(exc)}", kind)
            continue
        if not _has_utf8_name(walk, path, stat.S_ISDIR(st.st_mode)):
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk_folder(walk, path, ((st.st_dev, st.st_ino),))
        elif stat.S_ISREG(st.st_mode):
            walk.add_file(path)
        else:
            walk.add_problem(path, SPECIAL_FILE_REASON, FILE_ERROR)
    return Discovery(files=tuple(sorted(walk.files.values())), problems=tuple(walk.problems))


def _walk_folder(walk: _Walk, root: Path, root_ancestors: tuple[tuple[int, int], ...]) -> None:
    """Walk ``root`` depth first with an explicit stack; ``ancestors`` are the folders on the current path."""
    stack: list[tuple[Path, tuple[tuple[int, int], ...]]] = [(root, root_ancestors)]
    while stack:
        folder, ancestors = stack.pop()
        if ancestors[-1] in walk.listed:
            continue
        walk.listed.add(ancestors[-1])
        subfolders: list[tuple[Path, tuple[tuple[int, int], ...]]] = []
        for entry in _list_folder(walk, folder):
            if entry.name.startswith("."):
                continue
            subfolder = _visit_entry(walk, entry, ancestors)
            if subfolder is not None:
                subfolders.append(subfolder)
        stack.extend(reversed(subfolders))


def _list_folder(walk: _Walk, folder: Path) -> list[os.DirEntry[str]]:
    """Return the entries of a folder sorted by name; a folder that cannot be listed becomes a problem."""
    entries: list[os.DirEntry[str]] = []
    try:
        with os.scandir(folder) as it:
            entries.extend(it)
    except OSError as exc:
        walk.add_problem(folder, f"cannot open folder: {describe_os_error(exc)}", FOLDER_ERROR)
    return sorted(entries, key=lambda e: e.name)


def _visit_entry(
    walk: _Walk, entry: os.DirEntry[str], ancestors: tuple[tuple[int, int], ...]
) -> tuple[Path, tuple[tuple[int, int], ...]] | None:
    """Record a file entry, or return a folder entry to walk next (with its ancestors)."""
    path = Path(entry.path)
    try:
        is_dir = entry.is_dir()
        if is_dir:
            st = entry.stat()
        elif entry.is_symlink() and not os.path.exists(path):
            if _may_be_image(path):
                target = os.readlink(path)
                walk.add_problem(path, f"broken symbolic link: its target '{target}' does not exist", FILE_ERROR)
            return None
    except OSError as exc:
        walk.add_problem(path, f"cannot read entry: {describe_os_error(exc)}", FILE_ERROR)
        return None
    if not (is_dir or _may_be_image(path)) or not _has_utf8_name(walk, path, is_dir):
        return None
    if is_dir:
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            walk.add_problem(path, "symbolic link loops back to a parent folder; not followed", SYMLINK_LOOP)
            return None
        return path, (*ancestors, key)
    if not entry.is_file():
        if has_image_extension(path):
            walk.add_problem(path, SPECIAL_FILE_REASON, FILE_ERROR)
        return None
    if has_image_extension(path):
        walk.add_file(path)
    elif _may_be_dicom(path):
        _sniff_dicom(walk, path)
    return None


def _has_utf8_name(walk: _Walk, path: Path, is_dir: bool) -> bool:
    """Return whether a path is valid UTF-8; record a problem (with the bytes escaped) when it is not.

    On POSIX a name may be any bytes; Python shows the invalid ones as lone surrogates, which the project
    database and UTF-8 CSV files cannot hold, and a path that cannot be stored cannot be reviewed.
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        printable = os.fsencode(path).decode("utf-8", "backslashreplace")
        what = "folder" if is_dir else "file"
        reason = f"the {what} name is not valid UTF-8 (shown with \\x escapes); rename it to scan it"
        walk.add_problem(printable, reason, FOLDER_ERROR if is_dir else FILE_ERROR)
        return False
    return True


def _may_be_dicom(path: Path) -> bool:
    """Return whether a name without an image extension may still be DICOM.

    DICOM files are often named without an extension (``IM000001``) or by their SOP Instance UID, whose last
    component looks like a numeric extension (``1.2.840.113619.2.55.3.12``).
    """
    return not path.suffix or path.suffix[1:].isdigit()


def _may_be_image(path: Path) -> bool:
    """Return whether a name could be an image: an image extension, or a name DICOM files use."""
    return has_image_extension(path) or _may_be_dicom(path)


def _sniff_dicom(walk: _Walk, path: Path) -> None:
    """Add a file that has no image extension when it carries the DICOM preamble."""
    try:
        if read_dicom_magic(path):
            walk.add_file(path)
    except OSError as exc:
        walk.add_problem(path, f"cannot read file to check for DICOM: {describe_os_error(exc)}", FILE_ERROR)
