#!/usr/bin/env bash
# run.sh — ward doing its main job on the embedded default configuration:
# installs what is missing, builds, starts wardd in the background (it keeps
# running after this script ends; stop it with `kill $(cat /run/ward/wardd.pid)`)
# and shows the live event stream of every type.  Ctrl-C ends the stream only.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run.sh: run as root (wardd loads BPF programs)" >&2; exit 1; }
scripts/deps.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
RT=${WARD_RUNTIME_DIR:-/run/ward}
export WARD_RUNTIME_DIR=$RT
mkdir -p "$RT"

if ! "$BUILD_DIR/cli/ward" status >/dev/null 2>&1; then
	setsid "$BUILD_DIR/daemon/wardd" --runtime-dir "$RT" >>"$RT/wardd.log" 2>&1 < /dev/null &
	echo $! > "$RT/wardd.pid"
	for _ in $(seq 100); do
		"$BUILD_DIR/cli/ward" status >/dev/null 2>&1 && break
		kill -0 "$(cat "$RT/wardd.pid")" 2>/dev/null || { cat "$RT/wardd.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "wardd started (pid $(cat "$RT/wardd.pid"), log $RT/wardd.log)" >&2
fi
echo "streaming events (Ctrl-C to stop the stream; wardd keeps running)" >&2
exec "$BUILD_DIR/cli/ward" events
