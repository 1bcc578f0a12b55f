#!/usr/bin/env bash
# test.sh — the whole test suite: installs what is missing, builds, runs the
# unit tests, the integration tests on the real kernel (root), and each
# libFuzzer harness for WARD_FUZZ_SECONDS (default 30).  Last line:
# `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test.sh: run as root (integration tests load BPF programs)" >&2; exit 1; }
scripts/deps.sh
scripts/build.sh
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
if [ ! -f "$FUZZ_DIR/build.ninja" ]; then
	CC=clang meson setup "$FUZZ_DIR" -Dfuzz=true -Dtests=false --buildtype=debug >/dev/null
fi
ninja -C "$FUZZ_DIR" >/dev/null
exec python3 scripts/run_tests.py "${BUILD_DIR:-build}" "$FUZZ_DIR"
