"""Gather the licenses that ship with the frozen app: the project's own and every bundled package's.

Used by ``lcmem-review.spec`` at build time: it writes ``licenses/LICENSE`` (Apache-2.0),
``licenses/THIRD_PARTY_LICENSES.md`` (package, version, declared license) and ``licenses/<package>/`` with the
license files that each installed distribution of the build environment carries in its metadata.
"""

from __future__ import annotations

import re
import shutil
from importlib import metadata
from pathlib import Path

BUILD_ONLY = {"pyinstaller", "pyinstaller-hooks-contrib", "altgraph", "pip", "setuptools", "wheel", "lcmem"}
LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|notice|authors)", re.IGNORECASE)


def _declared_license(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80:
        return text
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(classifiers) or "see the license files"


def _license_files(dist: metadata.Distribution) -> list[Path]:
    files = []
    for file in dist.files or ():
        in_metadata = ".dist-info" in file.parts[0] or ".egg-info" in file.parts[0]
        if in_metadata and (LICENSE_FILE.match(file.name) or "licenses" in file.parts):
            located = Path(str(dist.locate_file(file)))
            if located.is_file():
                files.append(located)
    return files


def write_licenses(out: Path, project_license: Path) -> Path:
    """Write the licenses folder ``out`` (replacing it); return it."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copyfile(project_license, out / "LICENSE")
    rows = []
    seen = set()
    for dist in sorted(metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = dist.metadata["Name"]
        key = re.sub(r"[-_.]+", "-", (name or "").lower())
        if not name or key in BUILD_ONLY or key in seen:
            continue
        seen.add(key)
        files = _license_files(dist)
        for file in files:
            target = out / key / file.name
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(file, target)
        where = f"`{key}/`" if files else "no license file in its metadata"
        rows.append(f"| {name} | {dist.version} | {_declared_license(dist)} | {where} |")
    (out / "THIRD_PARTY_LICENSES.md").write_text(
        "# Third-party licenses\n\nLCMem Review is licensed under Apache-2.0 (`LICENSE`). It bundles these "
        "packages, each under its own license; their license files are in the folder named in the last column.\n\n"
        "| package | version | license | files |\n|---|---|---|---|\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return out
