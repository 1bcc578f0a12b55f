#!/usr/bin/env bash
# deps.sh — install what ward needs to build, test and benchmark, from
# Debian's packages.  Idempotent: does nothing when everything is present.
# Why each package is there: see README.md, "Dependencies".
set -euo pipefail

BUILD=(gcc meson ninja-build pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
       libjson-c-dev libcmocka-dev)
TEST=(libclang-rt-14-dev python3)
BENCH=(libbpf-tools auditd)

want=("${BUILD[@]}" "${TEST[@]}")
[ "${1:-}" = "--bench" ] && want+=("${BENCH[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# auditd's maintainer script starts the daemon where it can; ward's benchmark
# starts and stops it itself, so a failed start there is not an error.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
