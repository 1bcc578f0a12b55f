#!/usr/bin/env bash
# build.sh — configure (once) and build ward in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD_DIR" >/dev/null
