#!/usr/bin/env bash
# Install a built bundle for the current user on Linux: the folder, the two commands, the menu entry, the icon.
#
#   installer/install-linux.sh [BUNDLE_DIR]      (default: dist/lcmem-review)
#
# Copies BUNDLE_DIR to ~/.local/opt/lcmem-review, links lcmem-review and lcmem into ~/.local/bin, installs the
# desktop entry (with Exec pointing at the installed app) and the icons into ~/.local/share. Rerun to update;
# remove those paths to uninstall.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SOURCE="$(cd "${1:-$REPO/dist/lcmem-review}" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
TARGET="$HOME/.local/opt/lcmem-review"
[[ -x "$SOURCE/lcmem-review" ]] || { echo "install: $SOURCE/lcmem-review is missing; run installer/build.sh" >&2; exit 1; }

rm -rf "$TARGET.new"
mkdir -p "$(dirname "$TARGET")" "$HOME/.local/bin" "$DATA/applications"
cp -a "$SOURCE" "$TARGET.new"
rm -rf "$TARGET"
mv "$TARGET.new" "$TARGET"
ln -sf "$TARGET/lcmem-review" "$HOME/.local/bin/lcmem-review"
ln -sf "$TARGET/lcmem" "$HOME/.local/bin/lcmem"

RESOURCES="$TARGET/_internal/resources"
for png in "$RESOURCES"/icons/lcmem-review-*.png; do
    size="${png##*-}"
    size="${size%.png}"
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$DATA/icons/hicolor/${size}x${size}/apps/lcmem-review.png"
done
mkdir -p "$DATA/icons/hicolor/scalable/apps"
cp "$RESOURCES/icons/lcmem-review.svg" "$DATA/icons/hicolor/scalable/apps/lcmem-review.svg"
sed -e "s|^Exec=.*|Exec=\"$TARGET/lcmem-review\" %f|" -e "s|^TryExec=.*|TryExec=$TARGET/lcmem-review|" \
    "$RESOURCES/linux/lcmem-review.desktop" >"$DATA/applications/lcmem-review.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "install: $TARGET; commands lcmem-review and lcmem in ~/.local/bin; menu entry LCMem Review"
