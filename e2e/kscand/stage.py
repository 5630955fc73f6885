#!/usr/bin/python3
"""The real-kscand stage: a kernel that really runs kscand, the real user flow in it.

    e2e/kscand/stage.py run [--reuse]      boot, record, report, install, report again
    e2e/kscand/stage.py idle [--seconds N] only record an idle guest at the default knobs
    e2e/kscand/stage.py forkscan [--fork-ms N ...]  NUMA balancing on a process that forks
    e2e/kscand/stage.py sample             re-record samples/kscand-ab-sample.* (both mode)

The kernel is ``$KSCAND_KERNEL`` or ../shared/kernels/kscand-v3-6.12/bzImage next to
the checkout (6.12 with the kscand RFC V3 series and patch/0001; 9p, virtio and
overlayfs built in, so the initramfs needs no modules). QEMU boots it with software
emulation and two NUMA nodes, node 1 a CPU-less slow tier described by ACPI HMAT,
so kscand promotes from node 1 to node 0. The guest runs e2e/kscand/job.sh:
bin/kscand-record (with --mms-to-scan and --numa-balancing) around our workload in three
modes (kscand alone, NUMA balancing's memory tiering alone, both: issue 20), the report
command it prints (text and --json), then ``make install`` onto a tmpfs overlay of /usr
and the installed ``perf script report kscand-report``. tests/test_e2e_kscand.py checks
the saved results on the host.

Runs are cached like the stock-kernel stage (e2e/harness.py): build/e2e-kscand/current
points at the last successful run, and ``--reuse`` keeps it when its inputs (the
kernel image, these files, the package, the report script, bin/, the Makefile, perf's
version and the settings below) are unchanged.

The guest's kernel under software emulation sometimes crashes in its own code patching
(an int3 Oops at a static branch). A crash while booting boots again (up to
BOOT_RETRIES); a crash during the job runs the whole job again, once, with the first
attempt's console and results kept beside (console.log.crashN, results.crashN).
stage.json lists each crash under "crashes".

Exit status: 0 done; 3 the stage cannot run here (no QEMU and no way to install it,
no kernel): the tests skip with the printed reason; 1 a real failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.dirname(HERE)
ROOT = os.path.dirname(E2E)
if E2E not in sys.path:
    sys.path.insert(0, E2E)

import harness  # noqa: E402
import initramfs  # noqa: E402
from harness import StageError, Unavailable, log  # noqa: E402

BUILD = os.environ.get("KSCAND_PERF_E2E_KSCAND_BUILD",
                       os.path.join(ROOT, "build", "e2e-kscand"))
DEFAULT_KERNEL = os.path.join(os.path.dirname(ROOT), "shared", "kernels", "kscand-v3-6.12",
                              "bzImage")
HOST_PACKAGES = ("qemu-system-x86", "busybox-static", "gcc", "libc6-dev", "make",
                 "linux-perf", "numactl")
BOOT_RETRIES = 2    # boots again when the kernel crashed before the job (crashed_before_job)
JOB_RETRIES = 1     # runs the job again, once, when the kernel crashed during it (oopsed)
JOB_RETRY_BEFORE = 600  # s: ... and only if the failed boot ended within this time
BOOT_TIMEOUT = 1200  # s: boot, three recordings, three reports, the install (a loaded host)
GUEST_CPUS = 2

# What the guest does (part of the inputs: changing one re-runs the stage).
SETTINGS: Dict[str, Any] = {
    # kscand visits this many mms per cycle: 8 x 50 cycles/s = at most 400 start
    # events a second, against 204,800 at the default 4096.
    "MMS": 8,
    "WL_MIB": 32,           # mapped and first-touched on node 1
    "WL_HOT_MIB": 8,        # written every pass (about 50 passes a second at most)
    "WL_SECONDS": 12,       # the first scan comes 2 s after exec, the second 3.5 s later
    "WL_CHURN_MS": 700,     # a short-lived /bin/true every 0.7 s
    # The modes with NUMA balancing (numab, both): the workload loops busy and never
    # forks (the churn runs apart); NUMA balancing scans it once it has had a scan
    # period (1 s) of CPU, and its hint faults then promote the hot window.
    "NB_SECONDS": 10,
}
# The modes, in the order the guest records them: (name, kernel.numa_balancing,
# kscand's scan_enabled during the workload). "kscand" keeps the stage's first file
# names (run.data, report.json, ...); the others add -NAME (run-numab.data, ...).
MODES = (("kscand", 0, 1), ("numab", 2, 0), ("both", 2, 1))


def suffix(mode: str) -> str:
    """The file name suffix of a mode's results: "" for kscand, "-numab", "-both"."""
    return "" if mode == "kscand" else "-" + mode


# Two nodes: node 0 has both CPUs, node 1 is memory only, 4x the latency and a fifth of
# the bandwidth (ACPI HMAT), so the kernel puts it in a lower memory tier.
NUMA_ARGS = [
    "-m", "2G", "-machine", "pc,hmat=on",
    "-object", "memory-backend-ram,id=m0,size=1G",
    "-object", "memory-backend-ram,id=m1,size=1G",
    "-numa", "node,nodeid=0,memdev=m0,cpus=0-1,initiator=0",
    "-numa", "node,nodeid=1,memdev=m1,initiator=0",
    "-numa", "hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,"
             "latency=10",
    "-numa", "hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,"
             "bandwidth=10G",
    "-numa", "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,"
             "latency=40",
    "-numa", "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,"
             "bandwidth=2G",
]
APPEND = "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4 transparent_hugepage=never"

# Files whose change makes a new recording necessary (relative to ROOT; folders walked).
INPUTS = ("e2e/kscand", "e2e/guest/init", "e2e/initramfs.py", "kscand_perf", "perf-scripts",
          "bin", "Makefile")


def kernel_image() -> str:
    """The bzImage to boot: $KSCAND_KERNEL, else the shared one. Unavailable when absent."""
    given = os.environ.get("KSCAND_KERNEL")
    path = os.path.abspath(given) if given else DEFAULT_KERNEL
    if not os.path.isfile(path):
        raise Unavailable("no kscand kernel at %s (%s)" % (
            path, "KSCAND_KERNEL names it" if given else
            "the shared kernel is only on project machines; set KSCAND_KERNEL=path/to/bzImage"))
    return path


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_files() -> List[str]:
    paths = []
    for rel in INPUTS:
        path = os.path.join(ROOT, rel)
        if os.path.isfile(path):
            paths.append(path)
            continue
        for dirpath, _dirs, files in os.walk(path):
            if "__pycache__" in dirpath:
                continue
            paths += [os.path.join(dirpath, f) for f in files
                      if not f.endswith((".pyc", ".md"))]
    return paths


def inputs_hash(kernel: str, kernel_sha: str) -> str:
    h = hashlib.sha256()
    h.update(harness._hash_files(input_files()).encode())
    h.update(json.dumps([kernel_sha, harness.perf_version(), SETTINGS,
                         NUMA_ARGS, APPEND]).encode())
    return h.hexdigest()


def build_workload(out: str) -> None:
    harness.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
                 os.path.join(HERE, "workload.c")])


def build_initramfs(out: str) -> None:
    """busybox and e2e/guest/init; no modules (9p, virtio and overlayfs are built in)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if initramfs.is_static(busybox) is not True:
        raise StageError("%s is not a static busybox (install busybox-static)" % busybox)
    initramfs.build(out, os.path.join(E2E, "guest", "init"), busybox, None)


def write_job(run_dir: str) -> None:
    shutil.copyfile(os.path.join(HERE, "job.sh"), os.path.join(run_dir, "job.sh"))
    env = ["# Generated by e2e/kscand/stage.py: the settings of job.sh",
           "P=%s" % "/host" + ROOT]
    env += ["%s=%s" % (k, v) for k, v in sorted(SETTINGS.items())]
    with open(os.path.join(run_dir, "job.env"), "w") as f:
        f.write("\n".join(env) + "\n")


def _tails(results: str) -> str:
    """The ends of the guest's logs, for a failure message."""
    out = []
    names = []
    for mode, _nb, _scan in MODES:
        names += ["record%s.out" % suffix(mode), "record%s.err" % suffix(mode),
                  "workload%s.txt" % suffix(mode)]
    for name in names + ["report.err", "report-json.err", "install.log", "installed.err"]:
        path = os.path.join(results, name)
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                text = f.read()[-1500:]
            out.append("--- %s\n%s" % (name, text))
    return "\n".join(out)


CRASH_MARKS = ("Oops", "BUG:", "Kernel panic")   # a console line of a kernel crash


def _console(console: str) -> str:
    try:
        with open(console, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def crash_line(console: str) -> str:
    """The console's first line that says the kernel crashed (an Oops, a BUG or a
    panic), for the log and stage.json; "" when it did not."""
    return _crash_line(_console(console))


def _crash_line(text: str) -> str:
    for line in text.splitlines():
        if any(mark in line for mark in CRASH_MARKS):
            return line.strip()[:200]
    return ""


def oopsed(console: str) -> bool:
    """The guest's kernel crashed at any point."""
    return crash_line(console) != ""


def crashed_before_job(console: str) -> bool:
    """The guest's kernel died before its job started (an Oops while booting): under
    software emulation with two vCPU threads an early-boot int3 Oops (code patching,
    e.g. in sched_clock_cpu) was seen in 2 of 3 boots on a heavily loaded host. Nothing
    of the job ran, so booting again is safe."""
    text = _console(console)
    return _crash_line(text) != "" and "E2E-STEP" not in text


def host_reports(results: str) -> None:
    """The report, with --json, on the recordings of the modes with NUMA balancing, run on
    the host (the guest's own perf and checkout, at native speed: under emulation each
    report of a mode costs the guest about 40 s). The command kscand-record printed, with
    the copied files' paths."""
    script = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
    perf = shutil.which(os.environ.get("PERF", "perf")) or "perf"
    for mode, _nb, _scan in MODES[1:]:
        data = os.path.join(results, "run%s.data" % suffix(mode))
        proc = harness.run([perf, "script", "-s", script, "-i", data, "--", "--vmstat",
                            data + ".vmstat-before.txt", data + ".vmstat-after.txt",
                            "--json"], stderr=subprocess.PIPE)
        with open(os.path.join(results, "report%s.json" % suffix(mode)), "wb") as f:
            f.write(proc.stdout)


def stage(reuse: bool = False, accel: str = "tcg", build: str = BUILD) -> Dict[str, Any]:
    """Run the stage (or reuse a fresh result); return its record (stage.json)."""
    timer = harness.Timer()
    kernel = kernel_image()
    with timer.step("host packages"):
        harness.ensure_host_packages(HOST_PACKAGES)
    with timer.step("inputs hash"):
        kernel_sha = _sha256(kernel)
        digest = inputs_hash(kernel, kernel_sha)
    with harness.locked(os.path.join(build, ".lock"), timer):
        old = harness.read_stage(build)
        if reuse and old and old.get("ok") and old.get("inputs") == digest and os.path.exists(
                os.path.join(old["results"], "run.data")):
            log("reusing the fresh result in %s" % old["results"])
            old["reused"] = True
            old["reuse_seconds"] = timer.total()
            return old
        run_dir = harness._new_run_dir(build)
        results = os.path.join(run_dir, "results")
        with timer.step("build workload"):
            build_workload(os.path.join(run_dir, "kscand-workload"))
        cpio = os.path.join(run_dir, "initramfs.cpio")
        with timer.step("build initramfs"):
            build_initramfs(cpio)
        write_job(run_dir)
        console = os.path.join(run_dir, "console.log")
        boot_retries = 0
        crashes: List[Dict[str, Any]] = []
        with timer.step("boot, record, report, install"):
            while True:
                started = timer.total()
                try:
                    harness.run_guest(kernel, cpio, run_dir, console, timeout=BOOT_TIMEOUT,
                                      accel=accel, cpus=GUEST_CPUS, memory_args=NUMA_ARGS,
                                      append=APPEND)
                    break
                except StageError as e:
                    before = crashed_before_job(console)
                    # A kernel text patch under QEMU's TCG (a static key flipped by
                    # numa_balancing) was once seen to Oops after the recordings: the
                    # kernel's fault, not the tool's, so the whole job runs again.
                    during = (not before and oopsed(console) and
                              sum(c["during_job"] for c in crashes) < JOB_RETRIES and
                              timer.total() - started < JOB_RETRY_BEFORE)
                    if (before and boot_retries < BOOT_RETRIES) or during:
                        boot_retries += 1
                        kept = "%s.crash%d" % (console, boot_retries)
                        crashes.append({"during_job": during, "console": kept,
                                        "line": crash_line(console)})
                        os.rename(console, kept)
                        if during and os.path.isdir(results):
                            os.rename(results, "%s.crash%d" % (results, boot_retries))
                        log("the guest kernel crashed %s (%s): %s" % (
                            "during its job" if during else "while booting, before its job",
                            crashes[-1]["line"] or "no Oops line",
                            "running the job again" if during else
                            "booting again (%d of %d)" % (boot_retries, BOOT_RETRIES)))
                        continue
                    raise StageError("%s\n%s" % (e, _tails(results))) from None
        os.unlink(cpio)
        with timer.step("reports of the other modes (host)"):
            host_reports(results)
        record = {
            "ok": True, "inputs": digest, "kernel": kernel, "kernel_sha256": kernel_sha,
            "settings": SETTINGS, "accel": accel, "steps": timer.steps,
            "total_seconds": round(timer.total() - timer.steps.get("wait for another run", 0),
                                   2),
            "results": results, "console": console, "boot_retries": boot_retries,
            "crashes": crashes,
        }
        harness.scen.dump_json(os.path.join(results, "stage.json"), record)
        harness._publish(build, run_dir)
        log("stage done in %.1f s" % record["total_seconds"])
        return record


def idle(seconds: float, accel: str = "tcg") -> Dict[str, Any]:
    """Record an idle guest at the kernel's default knobs for ``seconds`` (job-idle.sh);
    the figures: samples per event and the recording's size. Not cached, not tested:
    it measures what a kernel costs a user who records without --light."""
    kernel = kernel_image()
    harness.ensure_host_packages(HOST_PACKAGES)
    run_dir = os.path.join(BUILD, "idle-%s" % _sha256(kernel)[:12])
    shutil.rmtree(run_dir, ignore_errors=True)
    results = os.path.join(run_dir, "results")
    os.makedirs(results)
    cpio = os.path.join(run_dir, "initramfs.cpio")
    build_initramfs(cpio)
    shutil.copyfile(os.path.join(HERE, "job-idle.sh"), os.path.join(run_dir, "job.sh"))
    with open(os.path.join(run_dir, "job.env"), "w") as f:
        f.write("P=/host%s\nIDLE_SECONDS=%g\n" % (ROOT, seconds))
    harness.run_guest(kernel, cpio, run_dir, os.path.join(run_dir, "console.log"),
                      timeout=BOOT_TIMEOUT, accel=accel, cpus=GUEST_CPUS,
                      memory_args=NUMA_ARGS, append=APPEND)
    out: Dict[str, Any] = {"kernel": kernel, "seconds": seconds, "results": results}
    for name in ("record.out", "size", "counts", "knobs"):
        with open(os.path.join(results, name)) as f:
            out[name] = f.read().strip().splitlines()
    return out


def forkscan(fork_ms: Sequence[int], seconds: float, accel: str = "tcg",
             record: bool = False) -> Dict[str, Any]:
    """Boot once, kscand paused and kernel.numa_balancing=2, and run the forking
    reproducer (e2e/kscand/forkscan.c, job-forkscan.sh) for ``seconds`` at each fork
    interval; its counter deltas and page census per interval. Not cached, not tested:
    figures for the kernel patch of patch/ (issue 24)."""
    kernel = kernel_image()
    harness.ensure_host_packages(HOST_PACKAGES)
    run_dir = os.path.join(BUILD, "forkscan-%s" % _sha256(kernel)[:12])
    shutil.rmtree(run_dir, ignore_errors=True)
    results = os.path.join(run_dir, "results")
    os.makedirs(results)
    harness.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                 os.path.join(run_dir, "kscand-forkscan"), os.path.join(HERE, "forkscan.c")])
    cpio = os.path.join(run_dir, "initramfs.cpio")
    build_initramfs(cpio)
    shutil.copyfile(os.path.join(HERE, "job-forkscan.sh"), os.path.join(run_dir, "job.sh"))
    with open(os.path.join(run_dir, "job.env"), "w") as f:
        f.write("FORK_MS_LIST='%s'\nFS_MIB=%d\nFS_HOT_MIB=%d\nFS_SECONDS=%g\nFS_RECORD=%s\n"
                "P=/host%s\n" % (" ".join(str(ms) for ms in fork_ms), SETTINGS["WL_MIB"],
                                 SETTINGS["WL_HOT_MIB"], seconds, "1" if record else "",
                                 ROOT))
    harness.run_guest(kernel, cpio, run_dir, os.path.join(run_dir, "console.log"),
                      timeout=BOOT_TIMEOUT, accel=accel, cpus=GUEST_CPUS,
                      memory_args=NUMA_ARGS, append=APPEND)
    out: Dict[str, Any] = {"kernel": kernel, "seconds": seconds, "results": results}
    for ms in fork_ms:
        run: Dict[str, str] = {}
        with open(os.path.join(results, "forkscan-%d.txt" % ms)) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition(" ")
                run[key] = value
        data = os.path.join(results, "forkscan-%d.data" % ms)
        if record and os.path.isfile(data):
            # promotions by mechanism in the recording (the oracle's count): NUMA
            # balancing's are the numa_misplaced calls in the forking process's context
            m = sample_truth(data)["mechanisms"]
            run["mechanisms"] = None if m is None else {
                "by_mechanism": {k: v for k, v in m["by_mechanism"].items() if v["calls"]},
                "numa_balancing_by_process": m["numa_balancing_by_process"]}
        out["fork_ms=%d" % ms] = run
    return out


# The A/B sample: the "both" mode, small enough to bundle (under 1 MiB).
SAMPLE_SETTINGS: Dict[str, Any] = {"MMS": 4, "WL_MIB": 8, "WL_HOT_MIB": 2, "WL_SECONDS": 8,
                                   "WL_CHURN_MS": 700}
SAMPLE = os.path.join(ROOT, "samples", "kscand-ab-sample")


def sample(accel: str = "tcg") -> Dict[str, Any]:
    """Record samples/kscand-ab-sample.data in the "both" mode (job-sample.sh), with its
    counter snapshots, knobs and the workload's census, then its truth: the independent
    counts of tests/oracle/ from `perf script --ns` text of it (mechanisms, kmigrated's
    on-CPU time) and the counters' deltas."""
    kernel = kernel_image()
    harness.ensure_host_packages(HOST_PACKAGES)
    run_dir = os.path.join(BUILD, "sample")
    shutil.rmtree(run_dir, ignore_errors=True)
    results = os.path.join(run_dir, "results")
    os.makedirs(results)
    build_workload(os.path.join(run_dir, "kscand-workload"))
    cpio = os.path.join(run_dir, "initramfs.cpio")
    build_initramfs(cpio)
    shutil.copyfile(os.path.join(HERE, "job-sample.sh"), os.path.join(run_dir, "job.sh"))
    with open(os.path.join(run_dir, "job.env"), "w") as f:
        f.write("P=/host%s\n" % ROOT + "".join(
            "%s=%s\n" % kv for kv in sorted(SAMPLE_SETTINGS.items())))
    harness.run_guest(kernel, cpio, run_dir, os.path.join(run_dir, "console.log"),
                      timeout=BOOT_TIMEOUT, accel=accel, cpus=GUEST_CPUS,
                      memory_args=NUMA_ARGS, append=APPEND)
    with open(os.path.join(results, "record.rc")) as f:
        if f.read().strip() != "0":
            raise StageError("kscand-record failed in the guest: %s" % _tails(results))
    for ext in ("", ".vmstat-before.txt", ".vmstat-after.txt", ".kscand.txt"):
        shutil.copyfile(os.path.join(results, "kscand-ab-sample.data" + ext),
                        SAMPLE + ".data" + ext)
    shutil.copyfile(os.path.join(results, "workload.txt"), SAMPLE + ".workload.txt")
    truth = sample_truth(SAMPLE + ".data")
    truth["settings"] = SAMPLE_SETTINGS
    with open(os.path.join(results, "guest-uname")) as f:
        truth["kernel_release"] = f.read().strip()
    truth["perf_version"] = harness.perf_version()
    with open(SAMPLE + ".truth.json", "w") as f:
        json.dump(truth, f, indent=1, sort_keys=True)
        f.write("\n")
    return {"sample": SAMPLE + ".data", "bytes": os.path.getsize(SAMPLE + ".data"),
            "truth": truth}


def sample_truth(data: str) -> Dict[str, Any]:
    """The A/B sample's truth: tests/oracle/'s counts on `perf script --ns` text (the
    oracle reads text only and imports nothing of the product) and the counter deltas."""
    tests = os.path.join(ROOT, "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from oracle import SCRIPT_FIELDS, parse_script
    from oracle.mechanisms import mechanisms, on_cpu
    perf = shutil.which(os.environ.get("PERF", "perf")) or "perf"
    text = harness.run([perf, "script", "--ns", "-F", SCRIPT_FIELDS, "-i", data],
                       stderr=subprocess.PIPE).stdout.decode("utf-8", "replace")
    samples = parse_script(text)
    snaps = []
    for which in ("before", "after"):
        values = {}
        with open("%s.vmstat-%s.txt" % (data, which)) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    name, value = line.split()
                    values[name] = int(value)
        snaps.append(values)
    return {"samples": len(samples), "mechanisms": mechanisms(samples),
            "kmigrated": on_cpu(samples), "kscand": on_cpu(samples, "kscand"),
            "counter_deltas": {n: snaps[1][n] - snaps[0].get(n, 0) for n in snaps[1]}}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="e2e/kscand/stage.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="boot the kscand kernel once and run the user flow")
    r.add_argument("--reuse", action="store_true",
                   help="keep a successful result of the same inputs instead of booting")
    r.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    i = sub.add_parser("idle", help="only record an idle guest at the default knobs "
                                    "(figures for a kernel patch)")
    i.add_argument("--seconds", type=float, default=5.0)
    i.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    fs = sub.add_parser("forkscan", help="NUMA balancing alone on a process that forks "
                                         "every N ms (figures for the kernel patch)")
    fs.add_argument("--fork-ms", type=int, action="append",
                    help="fork interval in ms, 0 for none (repeatable; default 700 and 5000)")
    fs.add_argument("--seconds", type=float, default=20.0)
    fs.add_argument("--record", action="store_true",
                    help="run each under bin/kscand-record and count the promotions by "
                         "mechanism in the recording (tests/oracle)")
    fs.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    sm = sub.add_parser("sample", help="re-record samples/kscand-ab-sample.* (the both "
                                       "mode, small) and its truth")
    sm.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "sample":
            out = sample(args.accel)
            print(json.dumps({k: out[k] for k in ("sample", "bytes")}, indent=1))
            return 0
        if args.cmd == "forkscan":
            print(json.dumps(forkscan(args.fork_ms or [700, 5000], args.seconds, args.accel,
                                      args.record), indent=1))
            return 0
        if args.cmd == "idle":
            print(json.dumps(idle(args.seconds, args.accel), indent=1))
            return 0
        record = stage(reuse=args.reuse, accel=args.accel)
        print(json.dumps({k: record.get(k) for k in ("steps", "total_seconds", "reused",
                                                     "kernel", "results")}, indent=1))
    except Unavailable as e:
        log("unavailable: %s" % e)
        return harness.EXIT_UNAVAILABLE
    except StageError as e:
        log("FAILED: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
