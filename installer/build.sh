#!/usr/bin/env bash
# Build the one-folder bundle dist/lcmem-review/ (executables lcmem-review and lcmem) with PyInstaller.
#
#   installer/build.sh
#
# Environment:
#   LCMEM_BUILD_VENV     an existing virtual environment to build in, used as it is: it must hold the project's
#                        dependencies and PyInstaller (e.g. a developer's .venv plus `pip install pyinstaller`).
#                        Unset: the script creates (once) and updates .build-venv/ in the repository root with
#                        CPU-only torch, the project and PyInstaller.
#   LCMEM_TORCH_INSTALL  what pip installs first into .build-venv (default: torch==2.13.0). On a machine whose
#                        pip would fetch the multi-GB CUDA build, give the CPU build, e.g.
#                        "torch==2.13.0 --index-url <the CPU wheel index of pytorch.org>".
#   LCMEM_DIST           where the bundle folder goes (default: dist/ in the repository root).
#   PYTHON               the interpreter that creates .build-venv (default: python3, 3.10 or later).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
start=$(date +%s)

if [[ -n "${LCMEM_BUILD_VENV:-}" ]]; then
    VENV="$LCMEM_BUILD_VENV"
    echo "build: using the environment $VENV as it is"
else
    VENV="$REPO/.build-venv"
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "build: creating $VENV"
        "${PYTHON:-python3}" -m venv "$VENV"
        # shellcheck disable=SC2086  # LCMEM_TORCH_INSTALL may hold options
        "$VENV/bin/pip" install --quiet ${LCMEM_TORCH_INSTALL:-torch==2.13.0}
    fi
    echo "build: installing the project and PyInstaller into $VENV"
    "$VENV/bin/pip" install --quiet "$REPO" "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9"
fi
PY="$VENV/bin/python"
"$PY" -m PyInstaller --version >/dev/null || { echo "build: PyInstaller is not installed in $VENV" >&2; exit 1; }

DIST="${LCMEM_DIST:-$REPO/dist}"
WORK="$REPO/build/pyinstaller"
echo "build: running PyInstaller (several minutes)"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" \
    installer/lcmem-review.spec

BUNDLE="$DIST/lcmem-review"
for exe in lcmem-review lcmem; do
    [[ -x "$BUNDLE/$exe" || -x "$BUNDLE/$exe.exe" ]] || { echo "build: $BUNDLE/$exe is missing" >&2; exit 1; }
done
echo "build: bundle $BUNDLE"
echo "build: size $(du -sh "$BUNDLE" | cut -f1) ($(find "$BUNDLE" -type f | wc -l) files)"
echo "build: took $(( $(date +%s) - start )) s"
