#!/usr/bin/env bash
# Install the Debian libraries Qt needs (offscreen and on a display), and the desktop-file,
# AppStream and MIME tools tests/test_packaging.py validates packaging/linux with, only when missing.
set -euo pipefail
need=""
for pkg in libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 \
           libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core \
           desktop-file-utils appstream shared-mime-info; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system libraries:$need" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need) >/dev/null
else
  echo "warning: missing system libraries:$need (install them with apt-get)" >&2
fi
