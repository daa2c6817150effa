#!/usr/bin/env bash
# Creates .venv and installs Vigil with its test tools, on a fresh Debian machine that has
# only python3 and pip. As root it first installs the system libraries Qt needs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# Shared libraries the Qt wheels load (offscreen and xcb platforms, QtMultimedia), the
# D-Bus daemon the Bluetooth end-to-end tests start privately, and the PulseAudio server and
# tools (pactl, parec) the alarm-sound tests start privately and record (tests/pulse.py), and the
# Mosquitto broker (with openssl for its certificates) the central-station tests start on loopback.
SYSTEM_PACKAGES="libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
 libglib2.0-0 libpulse0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0 libxcb-xkb1 dbus-daemon
 poppler-utils fonts-dejavu-core pulseaudio pulseaudio-utils mosquitto mosquitto-clients openssl"

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $SYSTEM_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: not root; these system packages may be missing: ${missing[*]}" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    # Debian's python3 ships venv without ensurepip unless python3-venv is installed.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get install -y -qq python3-venv >/dev/null && "$PYTHON" -m venv .venv
    else
      "$PYTHON" -m pip install --user -q virtualenv && "$PYTHON" -m virtualenv -q .venv
    fi
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/python -c "import PySide6, pyqtgraph, serial, bleak, numpy, platformdirs, pytest, hypothesis"
touch .venv/.installed
