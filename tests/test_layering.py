"""Imports point one way: the library never imports Qt, and the I/O tier never imports torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import lcmem


def all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(lcmem.__path__, prefix="lcmem."))


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return set(result.stdout.split())


def test_no_lcmem_module_imports_qt() -> None:
    modules = all_modules()
    assert "lcmem.scan.pipeline" in modules
    loaded = imported_after("; ".join(f"import {m}" for m in modules))
    assert not {m for m in loaded if m.split(".")[0] in {"PySide6", "shiboken6", "PyQt5", "PyQt6", "app"}}


def test_io_tier_and_package_root_stay_light() -> None:
    loaded = imported_after("import lcmem, lcmem.io, lcmem.errors, lcmem.progress")
    assert "torch" not in loaded
    assert "faiss" not in loaded


def test_the_app_starts_without_torch_faiss_diffusers_or_pydicom() -> None:
    loaded = imported_after("import app.main, app.main_window, app.scan_dialog, app.demo_flow")
    assert "app.main_window" in loaded
    assert not {"torch", "faiss", "diffusers", "pydicom"} & loaded


def test_lcmem_io_loads_pydicom_only_when_a_reader_is_used() -> None:
    assert "pydicom" not in imported_after("from lcmem.io import FileProblem, LoadedImage, sha256_file")
    assert "pydicom" in imported_after("from lcmem.io import load_image")
