#!/usr/bin/env bash
# Register Resect with the desktop: menu entry, "Open with Resect" for .keras and .h5 files,
# icons and AppStream metadata. Run after `pip install .` (or with the bundle, see EXEC).
#
#   packaging/linux/install.sh [DATADIR]   # default: ${XDG_DATA_HOME:-~/.local/share}; /usr/local/share system-wide
#   EXEC=/opt/resect/resect packaging/linux/install.sh   # launch a PyInstaller bundle instead of resect-gui
#   packaging/linux/install.sh --uninstall [DATADIR]      # remove exactly what this script installed
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app_id=io.github.resect.Resect
uninstall=0
if [ "${1:-}" = "--uninstall" ]; then uninstall=1; shift; fi
datadir="${1:-${XDG_DATA_HOME:-$HOME/.local/share}}"

refresh_caches() {  # the desktop reads these caches; their tools are optional
  if command -v update-mime-database >/dev/null && [ -d "$datadir/mime/packages" ]; then update-mime-database "$datadir/mime"; fi
  if command -v update-desktop-database >/dev/null && [ -d "$datadir/applications" ]; then
    update-desktop-database -q "$datadir/applications"
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$datadir/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$datadir/icons/hicolor" || true
  fi
}

if [ "$uninstall" = 1 ]; then
  rm -f "$datadir/applications/$app_id.desktop" "$datadir/metainfo/$app_id.metainfo.xml" \
    "$datadir/mime/packages/$app_id.xml"
  (cd "$here/icons" && find hicolor -type f) | while read -r icon; do rm -f "$datadir/icons/$icon"; done
  refresh_caches
  echo "removed $app_id from $datadir"
  exit 0
fi

exec_cmd="${EXEC:-resect-gui}"
case "$exec_cmd" in *[[:space:]\;\"\'\\]*) echo "install.sh: EXEC must be a plain path without spaces or quotes: $exec_cmd" >&2; exit 2 ;; esac

install -d "$datadir/applications" "$datadir/metainfo" "$datadir/mime/packages"
sed -e "s|^Exec=resect-gui |Exec=$exec_cmd |" -e "s|^TryExec=resect-gui\$|TryExec=$exec_cmd|" \
  "$here/$app_id.desktop" > "$datadir/applications/$app_id.desktop"
chmod 644 "$datadir/applications/$app_id.desktop"
install -m 644 "$here/$app_id.metainfo.xml" "$datadir/metainfo/$app_id.metainfo.xml"
install -m 644 "$here/$app_id.mime.xml" "$datadir/mime/packages/$app_id.xml"
(cd "$here/icons" && find hicolor -type f) | while read -r icon; do
  install -D -m 644 "$here/icons/$icon" "$datadir/icons/$icon"
done
refresh_caches
echo "installed $app_id into $datadir (Exec=$exec_cmd)"
