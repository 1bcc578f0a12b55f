#!/usr/bin/env bash
# deps.sh — install what ward needs to build, test and benchmark, from
# Debian's packages.  Idempotent: does nothing when everything is present.
# Why each package is there: see README.md, "Dependencies".
set -euo pipefail

BUILD=(gcc meson ninja-build pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
       libjson-c-dev libcmocka-dev libsodium-dev libyaml-dev libseccomp-dev libcap-dev)
TEST=(libclang-rt-14-dev python3 minisign)
BENCH=(libbpf-tools auditd fapolicyd)

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

# No service may start during the install.  fapolicyd above all: started by
# its maintainer script with its packaged rules, it would put a permission
# listener on every file of the machine.  invoke-rc.d (and so
# deb-systemd-invoke) asks /usr/sbin/policy-rc.d first, and exit status 101
# means "action forbidden"; ours stands in for the duration of the install,
# and whatever was there before (or nothing) is put back on every exit path.
# auditd's and fapolicyd's benchmarks (bench/notify, bench/auth) start and
# stop the daemons themselves.
PRC=/usr/sbin/policy-rc.d
PRC_SAVED=""
restore_policy_rc() {
	if [ -n "$PRC_SAVED" ]; then
		mv -f "$PRC_SAVED" "$PRC"
		PRC_SAVED=""
	elif [ -e "$PRC.ward-deps" ]; then
		rm -f "$PRC" "$PRC.ward-deps"
	fi
}
trap restore_policy_rc EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -e "$PRC" ]; then
	PRC_SAVED=$(mktemp "$PRC.saved.XXXXXX")
	cp -p "$PRC" "$PRC_SAVED"
else
	: >"$PRC.ward-deps"   # marker: there was none, remove ours afterwards
fi
printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs packages\nexit 101\n' >"$PRC.tmp"
chmod 0755 "$PRC.tmp"
mv -f "$PRC.tmp" "$PRC"

apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
restore_policy_rc

# Check that it worked: no fapolicyd may be running now.  One that does was
# started by this install (it was not installed before), so it is stopped,
# by its own PID.
case " ${missing[*]} " in
*" fapolicyd "*)
	for pid in $(pgrep -x fapolicyd || true); do
		echo "deps.sh: warning: the install started fapolicyd (pid $pid); stopping it" >&2
		kill "$pid" 2>/dev/null || true
	done ;;
esac
