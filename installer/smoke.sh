#!/usr/bin/env bash
# Smoke check of the frozen bundle (slow; not part of pytest):
#
#   installer/smoke.sh [BUNDLE_DIR]
#
# Without BUNDLE_DIR it first builds dist/lcmem-review with installer/build.sh. The frozen commands then run
# in an empty environment (no Python, no PYTHONPATH, no virtual environment on PATH):
#   lcmem --version
#   lcmem info --verify --environment   the bundled default model, and the DICOM decoders that came along
#   lcmem scan                          PNGs and JPEG / JPEG 2000 / RLE DICOMs, with byte-exact copies
#   lcmem-review --demo --screenshot    makes, scans and shows the demo project offscreen
#   lcmem-review --screen about         renders the About box (versions read from the bundled metadata)
# Their inputs are written, and their outputs checked, by installer/smoke_files.py with the build
# environment's Python ($LCMEM_SMOKE_PYTHON, else $LCMEM_BUILD_VENV/bin/python, else .build-venv/bin/python).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

if [[ $# -ge 1 ]]; then
    BUNDLE="$(cd "$1" && pwd)"
else
    installer/build.sh
    BUNDLE="${LCMEM_DIST:-$REPO/dist}/lcmem-review"
fi
PY="${LCMEM_SMOKE_PYTHON:-${LCMEM_BUILD_VENV:-$REPO/.build-venv}/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lcmem-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "smoke: bundle $BUNDLE, scratch $WORK"

for plugin in platforms/libqoffscreen.so platforms/libqxcb.so imageformats/libqjpeg.so imageformats/libqsvg.so; do
    [[ -n "$(find "$BUNDLE" -path "*/plugins/$plugin" -print -quit)" ]] || { echo "smoke: FAILED: no Qt $plugin" >&2; exit 1; }
done
grep -q "^| torch |" "$BUNDLE/_internal/licenses/THIRD_PARTY_LICENSES.md" \
    || { echo "smoke: FAILED: the third-party license list does not name torch" >&2; exit 1; }

PYTHONPATH="$REPO" "$PY" installer/smoke_files.py inputs "$WORK"
mkdir -p "$WORK/out" "$WORK/home"
frozen() {
    env -i PATH=/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8 OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen \
        LCMEM_APP_DATA="$WORK/app-data" LCMEM_CACHE_DIR="$WORK/cache" \
        LCMEM_REVIEW_SETTINGS="$WORK/settings.ini" timeout 900 "$@"
}
frozen "$BUNDLE/lcmem" --version | tee "$WORK/out/version.txt"
grep -q "^lcmem .* (Python .*torch .*FAISS .*pydicom .*diffusers " "$WORK/out/version.txt"
frozen "$BUNDLE/lcmem" info --verify --environment >"$WORK/out/info.json"
frozen "$BUNDLE/lcmem" scan --real "$WORK/real" --synthetic "$WORK/synthetic" --out "$WORK/out/matches.csv" \
    --top-k 3 --threads 1
frozen "$BUNDLE/lcmem-review" --demo --screenshot "$WORK/out/demo.png" 2>"$WORK/out/app.log" \
    || { tail -20 "$WORK/out/app.log" >&2; echo "smoke: FAILED: lcmem-review exited non-zero" >&2; exit 1; }
frozen "$BUNDLE/lcmem" project status "$WORK/app-data/demo/demo.lcmem" >"$WORK/out/demo-status.json"
frozen "$BUNDLE/lcmem-review" --screen about --screenshot "$WORK/out/about.png" 2>>"$WORK/out/app.log" \
    || { tail -20 "$WORK/out/app.log" >&2; echo "smoke: FAILED: the About box could not be shown" >&2; exit 1; }
PYTHONPATH="$REPO" "$PY" installer/smoke_files.py check "$WORK"
if [[ -n "${LCMEM_SMOKE_KEEP:-}" ]]; then
    mkdir -p "$LCMEM_SMOKE_KEEP" && cp -r "$WORK/out/." "$LCMEM_SMOKE_KEEP/"
    echo "smoke: outputs kept in $LCMEM_SMOKE_KEEP"
fi
echo "smoke: PASSED"
