#!/usr/bin/env python3
"""run_tests.py — run every test meson knows (unit and integration, one at a
time), count the cmocka test cases they report, run each libFuzzer harness
for a bounded time, and end with the line `N passed, N failed`.

A test executable that fails without a cmocka summary (a crash, a timeout)
counts as one failed case.  Exit status: 0 when nothing failed.
"""
import json
import os
import re
import shutil
import signal
import time
import subprocess
import sys

PASSED = re.compile(r"^\[  PASSED  \] (\d+) test")
FAILED = re.compile(r"^\[  FAILED  \] (\d+) test")


def remove_test_cgroups(pid):
    """The harness names its cgroups, its pin directory and its supervised
    clients' cgroups after the test's pid; after a killed test they are left
    behind.  Supervised clients run in sessions of their own, so the
    process-group kill missed them: their cgroups are killed here."""
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        d = os.path.join(root, "ward-test-%d" % pid)
        for sub in (os.path.join(d, "muted"), d):
            try:
                os.rmdir(sub)
            except OSError:
                pass
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup", "/sys/fs/cgroup/memory",
                 "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids"):
        base = os.path.join(root, "ward-test-%d.clients" % pid)
        if not os.path.isdir(base):
            continue
        for name in os.listdir(base):
            sub = os.path.join(base, name)
            if not os.path.isdir(sub):
                continue
            try:
                with open(os.path.join(sub, "cgroup.kill"), "w") as f:
                    f.write("1")
            except OSError:
                try:
                    with open(os.path.join(sub, "cgroup.procs")) as f:
                        for line in f:
                            os.kill(int(line), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        for name in os.listdir(base):
            for _ in range(50):
                try:
                    os.rmdir(os.path.join(base, name))
                    break
                except OSError:
                    time.sleep(0.02)
        try:
            os.rmdir(base)
        except OSError:
            pass
    # unlinking pinned links detaches them
    shutil.rmtree("/sys/fs/bpf/ward-test-%d" % pid, ignore_errors=True)


def run_meson_tests(build):
    tests = json.loads(subprocess.check_output(["meson", "introspect", "--tests", build]))
    passed = failed = 0
    for t in sorted(tests, key=lambda t: (t["suite"][0] != "ward:unit", t["name"])):
        env = dict(os.environ)
        env.update(t.get("env") or {})
        env["CMOCKA_MESSAGE_OUTPUT"] = "stdout"
        timeout = t.get("timeout") or 60
        label = "%s/%s" % (t["suite"][0].split(":")[-1], t["name"])
        # Its own process group, so that a timeout also kills the wardd an
        # integration test started (which then detaches its programs).
        p = subprocess.Popen(t["cmd"], env=env, cwd=t.get("workdir") or None,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace", start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            out += "\n(timed out after %ss)\n" % timeout
            rc = -1
            remove_test_cgroups(p.pid)
        tp = tf = 0
        for line in out.splitlines():
            m = PASSED.match(line)
            if m:
                tp += int(m.group(1))
            m = FAILED.match(line)
            if m:
                tf += int(m.group(1))
        if rc != 0 and tf == 0:
            tf = 1
        elif rc == 0 and tp == 0 and tf == 0:
            tp = 1  # a test that is not cmocka: its exit status is its result
        passed += tp
        failed += tf
        print("%-28s %3d passed, %d failed" % (label, tp, tf), flush=True)
        if tf:
            print(out)
    return passed, failed


def run_fuzzers(fuzz_build, seconds):
    passed = failed = 0
    fuzz_dir = os.path.join(fuzz_build, "fuzz")
    if not os.path.isdir(fuzz_dir):
        return 0, 0
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")
    for name in sorted(os.listdir(fuzz_dir)):
        exe = os.path.join(fuzz_dir, name)
        if not name.startswith("fuzz_") or not os.access(exe, os.X_OK) or os.path.isdir(exe):
            continue
        corpus = os.path.join(src, name[len("fuzz_"):])
        work = os.path.join(fuzz_build, "corpus-" + name)
        os.makedirs(work, exist_ok=True)
        args = [exe, "-max_total_time=%d" % seconds, "-timeout=10", "-rss_limit_mb=1024",
                "-artifact_prefix=%s/" % fuzz_build, work]
        if os.path.isdir(corpus):
            args.append(corpus)
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace", timeout=seconds + 120)
        ok = p.returncode == 0
        runs = re.findall(r"stat::number_of_executed_units: (\d+)", p.stdout)
        done = re.findall(r"Done (\d+) runs", p.stdout)
        n = done[-1] if done else (runs[-1] if runs else "?")
        print("%-28s %s (%s runs in %ds)" % ("fuzz/" + name, "passed" if ok else "FAILED", n, seconds),
              flush=True)
        if not ok:
            print(p.stdout[-4000:])
        passed += ok
        failed += not ok
    return passed, failed


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    fuzz_build = sys.argv[2] if len(sys.argv) > 2 else None
    seconds = int(os.environ.get("WARD_FUZZ_SECONDS", "30"))
    p, f = run_meson_tests(build)
    if fuzz_build:
        fp, ff = run_fuzzers(fuzz_build, seconds)
        p, f = p + fp, f + ff
    print("%d passed, %d failed" % (p, f))
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
