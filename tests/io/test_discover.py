"""Tests for lcmem.io.discover and the DICM sniff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lcmem.io import IMAGE_EXTENSIONS, Discovery, discover_images, is_dicom_file

DICOM_HEAD = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00"


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    touch(root / "a.png")
    touch(root / "B.JPG")
    touch(root / "sub" / "c.Tiff")
    touch(root / "sub" / "deeper" / "d.dcm")
    touch(root / "sub" / "deeper" / "IM000001", DICOM_HEAD)
    touch(root / "sub" / "1.2.840.113619.2.55.3.12", DICOM_HEAD)
    touch(root / "sub" / "README", b"just text, no preamble")
    touch(root / "labels.csv")
    touch(root / "meta.json")
    touch(root / "notes.txt")
    touch(root / ".hidden.png")
    touch(root / ".cache" / "e.png")
    return root


def test_finds_images_recursively_and_skips_the_rest(tree: Path) -> None:
    found = discover_images([tree])
    names = sorted(p.relative_to(tree).as_posix() for p in found.files)
    assert names == [
        "B.JPG",
        "a.png",
        "sub/1.2.840.113619.2.55.3.12",
        "sub/c.Tiff",
        "sub/deeper/IM000001",
        "sub/deeper/d.dcm",
    ]
    assert found.problems == ()


def test_files_are_absolute_and_sorted(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree.parent)
    found = discover_images(["root"])
    assert all(p.is_absolute() for p in found.files)
    assert list(found.files) == sorted(found.files)
    assert isinstance(found, Discovery)


def test_root_that_is_a_file_is_taken_as_is(tree: Path) -> None:
    found = discover_images([tree / "notes.txt", tree / "a.png"])
    assert [p.name for p in found.files] == ["a.png", "notes.txt"]


def test_missing_root_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    found = discover_images([tmp_path / "nope"])
    assert found.files == ()
    assert len(found.problems) == 1
    problem = found.problems[0]
    assert problem.kind == "FolderError"
    assert "not found" in problem.reason
    assert problem.path == str(tmp_path / "nope")


def test_same_file_reached_twice_is_listed_once(tree: Path, tmp_path: Path) -> None:
    os.symlink(tree / "a.png", tree / "sub" / "alias.png")
    found = discover_images([tree, tree / "a.png"])
    reals = [os.path.realpath(p) for p in found.files]
    assert len(reals) == len(set(reals))
    assert tree / "a.png" in found.files


def test_symlinked_folder_is_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside / "x.webp")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "link")
    found = discover_images([root])
    assert found.files == (root / "link" / "x.webp",)


def test_symlink_loop_is_recorded_and_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "inner" / "a.bmp")
    os.symlink(root, root / "inner" / "back")
    found = discover_images([root])
    assert found.files == (root / "inner" / "a.bmp",)
    assert [p.kind for p in found.problems] == ["SymlinkLoop"]
    assert found.problems[0].path == str(root / "inner" / "back")


def test_broken_symlink_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "ok.png")
    os.symlink(tmp_path / "gone.png", root / "dangling.png")
    os.symlink(tmp_path / "gone.csv", root / "dangling.csv")
    found = discover_images([root])
    assert found.files == (root / "ok.png",)
    assert len(found.problems) == 1
    assert found.problems[0].path == str(root / "dangling.png")
    assert "broken symbolic link" in found.problems[0].reason


def test_unreadable_folder_is_recorded(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tree / "sub" / "deeper"
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover_images([tree])
    assert tree / "a.png" in found.files
    assert not any(blocked in p.parents for p in found.files)
    assert len(found.problems) == 1
    assert found.problems[0].kind == "FolderError"
    assert found.problems[0].reason == "cannot open folder: permission denied"
    assert found.problems[0].path == str(blocked)


def test_image_extensions_cover_the_documented_list() -> None:
    expected = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".dcm", ".dicom", ".dic", ".ima"}
    assert set(IMAGE_EXTENSIONS) == expected


def test_is_dicom_file(tmp_path: Path) -> None:
    assert is_dicom_file(touch(tmp_path / "yes", DICOM_HEAD))
    assert not is_dicom_file(touch(tmp_path / "short", b"DICM"))
    assert not is_dicom_file(touch(tmp_path / "other", b"\x00" * 128 + b"DICX"))
    assert not is_dicom_file(tmp_path / "missing")
    assert not is_dicom_file(tmp_path)


def test_names_that_are_not_utf8_are_problems(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "ok.png")
    touch(Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.png")))
    touch(Path(os.fsdecode(os.fsencode(root) + b"/d\xff/inner.png")))
    touch(Path(os.fsdecode(os.fsencode(root) + b"/notes\xe9.txt")))
    found = discover_images([root])
    assert found.files == (root / "ok.png",)
    assert {(p.path, p.kind) for p in found.problems} == {
        (f"{root}/caf\\xe9.png", "ImageReadError"),
        (f"{root}/d\\xff", "FolderError"),
    }
    assert all("not valid UTF-8" in p.reason and p.path.encode("utf-8") for p in found.problems)


def test_special_files_named_like_images_are_problems_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "ok.png")
    os.mkfifo(root / "pipe.png")  # opening it would block until a writer comes
    os.mkfifo(root / "pipe.log")
    inside, direct = discover_images([root]), discover_images([root / "pipe.png"])
    assert inside.files == (root / "ok.png",) and direct.files == ()
    for found in (inside, direct):
        assert [(p.path, p.reason) for p in found.problems] == [
            (str(root / "pipe.png"), "not a regular file (a named pipe, socket or device); not read")
        ]
