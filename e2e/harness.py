#!/usr/bin/python3
"""The e2e stage: a real kernel emits the kscand tracepoints, the real perf records them.

    e2e/harness.py run [--reuse]     fetch, build, boot once, record every scenario
    e2e/harness.py sample            record the bundled sample into samples/
    e2e/harness.py fetch             only fetch the kernel into the cache

(checkpatch of patch/: e2e/checkpatch.py)

Steps of ``run`` (each timed; the times land in build/e2e/current/results/stage.json):

1. Install what is missing (tools/apt-ensure): QEMU, static busybox, gcc, perf.
2. Resolve the kernel that ``linux-image-amd64`` points at, and fetch its image,
   headers, headers-common and kbuild with ``apt-get download`` + ``dpkg-deb``
   into .cache/e2e/RELEASE_VERSION/ (never installed on the host). Only the
   kernel and the modules the guest needs are kept from the image.
3. Build the test module (e2e/module/, its trace header generated from
   patch/) against the unpacked headers, the static e2e-fire player and the
   initramfs (busybox, 9p/virtio modules, e2e/guest/init).
4. Turn the scenarios (e2e/scenarios.py) into lines for the module and save
   each one's truth.
5. Boot the kernel once under QEMU (software emulation) inside ``timeout -k``:
   the guest loads the module, records each scenario with ``perf record -a -m
   16M --affinity=cpu``, copies the five events' format files, powers off.

``--reuse`` skips the boot when build/e2e/current/results/stage.json says a run with
the same inputs (sources, patch, simulator, kernel, perf) succeeded.

Exit status: 0 done; 3 the stage cannot run here (no QEMU and no way to install
it, the packages cannot be downloaded): the tests skip with the printed
reason; 1 anything else (a real failure).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import initramfs  # noqa: E402
import recording  # noqa: E402
import scenarios as scen  # noqa: E402

CACHE = os.environ.get("KSCAND_PERF_E2E_CACHE", os.path.join(ROOT, ".cache", "e2e"))
BUILD = os.environ.get("KSCAND_PERF_E2E_BUILD", os.path.join(ROOT, "build", "e2e"))
APT_ENSURE = os.path.join(ROOT, "tools", "apt-ensure")
PATCH_GLOB = "0001-"
HOST_PACKAGES = ("qemu-system-x86", "busybox-static", "gcc", "make", "libc6-dev",
                 "linux-perf", "libelf1", "libssl3")
# Folders of the image package whose modules the guest may need (9p over virtio).
MODULE_DIRS = ("kernel/fs/9p", "kernel/fs/netfs", "kernel/fs/fscache", "kernel/net/9p",
               "kernel/drivers/virtio")
EVENTS = ("kmem_mm_enter", "kmem_mm_exit", "kmem_scan_mm_start", "kmem_scan_mm_end",
          "kmem_scan_mm_migrate")
RECORD_EVENTS = ("-e", "kmem:kmem_mm_*", "-e", "kmem:kmem_scan_mm_*")
BOOT_TIMEOUT = 240       # seconds for boot + all scenarios, before timeout kills QEMU
EXIT_UNAVAILABLE = 3


class Unavailable(Exception):
    """The stage cannot run on this machine (a reason for a test to skip)."""


class StageError(Exception):
    """The stage ran and failed."""


def log(msg: str) -> None:
    sys.stderr.write("e2e: %s\n" % msg)
    sys.stderr.flush()


def run(cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess:
    """Run ``cmd``, raising StageError with its output when it fails."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    proc = subprocess.run(list(cmd), **kw)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace") if proc.stdout else ""
        raise StageError("%s failed (exit %d):\n%s" % (" ".join(cmd), proc.returncode,
                                                       out[-4000:]))
    return proc


def output(cmd: Sequence[str]) -> str:
    return run(cmd, stderr=subprocess.PIPE).stdout.decode()


@contextlib.contextmanager
def locked(path: str, timer: Optional["Timer"] = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (runs sharing a folder wait for each other)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if timer is None:
            fcntl.flock(f, fcntl.LOCK_EX)
        else:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log("waiting for another run of the stage")
                with timer.step("wait for another run"):
                    fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Timer:
    """Named wall-clock steps."""

    def __init__(self) -> None:
        self.steps: Dict[str, float] = {}
        self.t0 = time.monotonic()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(time.monotonic() - t, 2)
            log("%s: %.1f s" % (name, self.steps[name]))

    def total(self) -> float:
        return round(time.monotonic() - self.t0, 2)


# ------------------------------------------------------------------ host packages

def ensure_host_packages(packages: Sequence[str] = HOST_PACKAGES) -> None:
    if not shutil.which("dpkg"):
        raise Unavailable("dpkg not found: the stage needs Debian's packages")
    missing = [p for p in packages
               if subprocess.run(["dpkg", "-s", p], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL).returncode != 0]
    if not missing:
        return
    if not shutil.which("apt-get"):
        raise Unavailable("missing %s and no apt-get to install them" % " ".join(missing))
    proc = subprocess.run([APT_ENSURE] + missing, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise Unavailable("cannot install %s: %s" % (
            " ".join(missing), proc.stdout.decode(errors="replace").strip()[-800:]))


# ------------------------------------------------------------------------ kernel

def _apt_field(text: str, field: str) -> str:
    m = re.search(r"^%s: *(.*)$" % re.escape(field), text, re.M)
    return m.group(1).strip() if m else ""


_updated = False


def _apt_update() -> None:
    global _updated
    if _updated:
        return
    _updated = True
    log("apt-get update (the package lists do not know the kernel)")
    proc = subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise Unavailable("apt-get update failed: %s"
                          % proc.stdout.decode(errors="replace")[-800:])


def _apt_show(*pkgs: str) -> Dict[str, str]:
    """The candidate's record of each package that apt knows, by package name."""
    proc = subprocess.run(["apt-cache", "show", "--no-all-versions"] + list(pkgs),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    records = {}
    for text in proc.stdout.decode().split("\n\n"):
        name = _apt_field(text, "Package")
        if name:
            records[name] = text
    return records


def resolve_kernel() -> Dict[str, str]:
    """The packages and version of the kernel ``linux-image-amd64`` points at now."""
    if not shutil.which("apt-cache"):
        raise Unavailable("apt-cache not found: not a Debian system")
    for attempt in (0, 1):
        meta = _apt_show("linux-image-amd64").get("linux-image-amd64", "")
        m = re.search(r"\blinux-image-(\d[^ ,]*-amd64)\b", _apt_field(meta, "Depends"))
        if m:
            release = m.group(1)
            image = "linux-image-%s" % release
            headers = "linux-headers-%s" % release
            info = _apt_show(image, headers)
            version = _apt_field(info.get(image, ""), "Version")
            deps = _apt_field(info.get(headers, ""), "Depends")
            common = re.search(r"\b(linux-headers-[^ ,]*-common)\b", deps)
            kbuild = re.search(r"\b(linux-kbuild-[0-9.]+)\b", deps)
            if version and common and kbuild:
                return {"release": release, "version": version, "image": image,
                        "headers": headers, "common": common.group(1),
                        "kbuild": kbuild.group(1), "key": "%s_%s" % (release, version)}
        if attempt == 0:
            _apt_update()
    raise Unavailable("cannot resolve linux-image-amd64 and its headers with apt-cache")


def kernel_dir(kernel: Dict[str, str]) -> str:
    return os.path.join(CACHE, kernel["key"])


def fetch_kernel(kernel: Dict[str, str]) -> Dict[str, Any]:
    """Download and unpack the kernel into the cache once; return its manifest."""
    kdir = kernel_dir(kernel)
    manifest_path = os.path.join(kdir, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            return json.load(f)
    with locked(os.path.join(CACHE, ".lock")):
        if os.path.exists(manifest_path):
            with open(manifest_path) as f:
                return json.load(f)
        tmp = kdir + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        debs = os.path.join(tmp, "debs")
        os.makedirs(debs)
        pkgs = ["%s=%s" % (kernel[k], kernel["version"])
                for k in ("image", "headers", "common", "kbuild")]
        log("downloading %s" % " ".join(pkgs))
        proc = None
        for attempt in (0, 1):
            proc = subprocess.run(["apt-get", "download", "-q"] + pkgs, cwd=debs,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode == 0:
                break
            if attempt == 0:
                _apt_update()
        assert proc is not None
        if proc.returncode != 0:
            raise Unavailable("apt-get download failed: %s"
                              % proc.stdout.decode(errors="replace")[-800:])
        sizes = {name: os.path.getsize(os.path.join(debs, name))
                 for name in sorted(os.listdir(debs))}
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        for name in sizes:
            path = os.path.join(debs, name)
            if name.startswith(kernel["image"] + "_"):
                # Only the kernel, its config and the modules the guest loads.
                wanted = ["./boot/vmlinuz-%s" % kernel["release"],
                          "./boot/config-%s" % kernel["release"]]
                wanted += ["./lib/modules/%s/%s" % (kernel["release"], d) for d in MODULE_DIRS]
                p1 = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", path],
                                      stdout=subprocess.PIPE)
                run(["tar", "-x", "-C", root] + wanted, stdin=p1.stdout)
                p1.stdout.close()
                if p1.wait() != 0:
                    raise StageError("dpkg-deb --fsys-tarfile %s failed" % name)
            else:
                run(["dpkg-deb", "-x", path, root])
        # The headers' Makefile includes the -common tree by absolute path.
        hdr = os.path.join(root, "usr", "src", kernel["headers"])
        with open(os.path.join(hdr, "Makefile"), "w") as f:
            f.write("include %s/Makefile\n" % os.path.join(
                kdir, "root", "usr", "src", kernel["common"]))
        shutil.rmtree(debs)
        manifest = {"kernel": kernel, "downloaded": sizes,
                    "download_bytes": sum(sizes.values()), "fetched_at": time.time()}
        manifest["cached_bytes"] = _du(tmp)
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        shutil.rmtree(kdir, ignore_errors=True)
        os.rename(tmp, kdir)
        log("cached %s: %.1f MB downloaded, %.1f MB kept" % (
            kernel["key"], manifest["download_bytes"] / 1e6, manifest["cached_bytes"] / 1e6))
        return manifest


def _du(path: str) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def headers_dir(kernel: Dict[str, str]) -> str:
    return os.path.join(kernel_dir(kernel), "root", "usr", "src", kernel["headers"])


def vmlinuz(kernel: Dict[str, str]) -> str:
    return os.path.join(kernel_dir(kernel), "root", "boot", "vmlinuz-%s" % kernel["release"])


def modules_dir(kernel: Dict[str, str]) -> str:
    return os.path.join(kernel_dir(kernel), "root", "lib", "modules", kernel["release"])


# ------------------------------------------------------------------------- build

def patch_file() -> str:
    pdir = os.path.join(ROOT, "patch")
    names = sorted(n for n in os.listdir(pdir) if n.startswith(PATCH_GLOB) and
                   n.endswith(".patch"))
    if not names:
        raise StageError("no patch/%s*.patch" % PATCH_GLOB)
    return os.path.join(pdir, names[0])


def _write_if_changed(path: str, data: bytes) -> None:
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except OSError:
        pass
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def build_module(kernel: Dict[str, str], mdir: str, out_ko: str) -> None:
    """Build kscand_e2e.ko in ``mdir`` against the cached headers; copy it to ``out_ko``."""
    import gen_trace_header
    os.makedirs(mdir, exist_ok=True)
    for name in ("kscand_e2e.c", "Kbuild"):
        with open(os.path.join(HERE, "module", name), "rb") as f:
            _write_if_changed(os.path.join(mdir, name), f.read())
    with open(patch_file(), encoding="utf-8") as f:
        block = gen_trace_header.extract_block(f.read())
    text = gen_trace_header.header_text(block, "kscand_e2e_trace")
    _write_if_changed(os.path.join(mdir, "kscand_e2e_trace.h"), text.encode())
    proc = run(["make", "-C", headers_dir(kernel), "M=" + mdir, "modules"])
    warnings = [ln for ln in proc.stdout.decode(errors="replace").splitlines()
                if "warning:" in ln]
    if warnings:
        raise StageError("the module builds with warnings:\n" + "\n".join(warnings))
    shutil.copyfile(os.path.join(mdir, "kscand_e2e.ko"), out_ko)


def build_fire(out: str) -> None:
    run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
         os.path.join(HERE, "guest", "e2e-fire.c")])


def build_initramfs(kernel: Dict[str, str], out: str) -> List[str]:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if initramfs.is_static(busybox) is not True:
        raise StageError("%s is not a static busybox (install busybox-static)" % busybox)
    return initramfs.build(out, os.path.join(HERE, "guest", "init"), busybox,
                           modules_dir(kernel))


# --------------------------------------------------------------------- scenarios

def write_scenarios(run_dir: str, results: str, which: Sequence[scen.Scenario]) -> None:
    """Write NAME.lines (for the guest) and NAME.scenario.json / NAME.truth.json."""
    os.makedirs(os.path.join(run_dir, "scenarios"), exist_ok=True)
    for sc in which:
        sc, _sim, events, truth = sc.resolve()
        lines = scen.to_lines(events, sc.time_scale,
                              "kscand-perf e2e scenario %s\n%s"
                              % (sc.name, json.dumps(sc.to_json(), sort_keys=True)))
        with open(os.path.join(run_dir, "scenarios", sc.name + ".lines"), "w") as f:
            f.write("\n".join(lines) + "\n")
        data = sc.to_json()
        data["events"] = len(events)
        data["coverage"] = scen.coverage(events, truth)
        scen.dump_json(os.path.join(results, sc.name + ".scenario.json"), data)
        scen.dump_json(os.path.join(results, sc.name + ".truth-simulated.json"), truth)


def job_script(names: Sequence[str]) -> str:
    events = " ".join(RECORD_EVENTS[i] + " '" + RECORD_EVENTS[i + 1] + "'"
                      for i in range(0, len(RECORD_EVENTS), 2))
    lines = [
        "# Generated by e2e/harness.py: the job the guest runs (busybox sh).",
        "R=/out/results",
        "mkdir -p $R/formats",
        "export PAGER=cat",
        "uname -r > $R/guest-uname",
        "perf version > $R/guest-perf-version 2>&1",
        "insmod /out/kscand_e2e.ko || exit 10",
        "# Room for any scenario pid (e2e-fire creates tasks with the scenario's pids).",
        "echo 4194304 > /proc/sys/kernel/pid_max",
        "for e in %s; do" % " ".join(EVENTS),
        "\tcat /sys/kernel/tracing/events/kmem/$e/format > $R/formats/$e || exit 11",
        "done",
        "status=0",
    ]
    for name in names:
        lines += [
            "echo \"E2E-SCENARIO %s\"" % name,
            "cat /proc/kscand_e2e > $R/%s.threads-before" % name,
            "perf record -q -a -m 16M --affinity=cpu -B -N %s -o /tmp/%s.data "
            "-- /out/e2e-fire /out/scenarios/%s.lines > $R/%s.record.log 2>&1"
            % (events, name, name, name),
            "rc=$?",
            "echo $rc > $R/%s.rc" % name,
            "[ $rc -eq 0 ] || status=12",
            "cat /proc/kscand_e2e > $R/%s.threads" % name,
            "cp /tmp/%s.data $R/%s.data || status=13" % (name, name),
            "rm -f /tmp/%s.data" % name,
        ]
    lines += ["exit $status"]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------- boot

def boot(kernel: Dict[str, str], cpio: str, run_dir: str, console: str,
         timeout: int = BOOT_TIMEOUT, accel: str = "tcg") -> float:
    """Boot the guest once; return the seconds it took. The job's exit must be 0."""
    return run_guest(vmlinuz(kernel), cpio, run_dir, console, timeout=timeout, accel=accel,
                     cpus=scen.GUEST_CPUS, memory_args=["-m", "1024"],
                     append="console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4")


def run_guest(image: str, cpio: str, run_dir: str, console: str, timeout: int,
              accel: str, cpus: int, memory_args: Sequence[str], append: str) -> float:
    """Boot ``image`` with ``cpio`` under QEMU inside ``timeout -k``, the host's root on
    tag hostroot (read-only) and ``run_dir`` on tag out; the console goes to
    ``console``. Returns the seconds it took; raises StageError unless the guest's
    last ``E2E-EXIT`` line says 0 (Unavailable without QEMU)."""
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise Unavailable("qemu-system-x86_64 is not installed")
    accel_args = (["-accel", "tcg,thread=multi", "-cpu", "max"] if accel == "tcg"
                  else ["-accel", "kvm", "-cpu", "host"])
    cmd = ["timeout", "-k", "5", str(timeout), qemu] + accel_args + [
        "-smp", str(cpus)] + list(memory_args) + [
        "-display", "none", "-nodefaults", "-no-reboot",
        "-serial", "file:" + console,
        "-kernel", image, "-initrd", cpio,
        "-append", append,
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                   "multidevs=remap",
        "-virtfs", "local,path=%s,mount_tag=out,security_model=none,multidevs=remap" % run_dir,
    ]
    t = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
    took = time.monotonic() - t
    try:
        with open(console, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    m = re.findall(r"^E2E-EXIT (\d+)", text, re.M)
    if proc.returncode == 124 or proc.returncode == 137:
        raise StageError("the guest did not power off within %d s; console:\n%s"
                         % (timeout, text[-3000:]))
    if proc.returncode != 0:
        raise StageError("qemu failed (exit %d): %s\nconsole:\n%s" % (
            proc.returncode, proc.stdout.decode(errors="replace")[-2000:], text[-3000:]))
    if not m:
        raise StageError("the guest stopped without finishing its job; console:\n%s"
                         % text[-3000:])
    if m[-1] != "0":
        raise StageError("the guest job failed with status %s; console:\n%s"
                         % (m[-1], text[-3000:]))
    return took


# ------------------------------------------------------------------------ stage

def perf_version() -> str:
    perf = shutil.which("perf")
    return output([perf, "version"]).strip() if perf else "none"


def _hash_files(paths: Sequence[str]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(os.path.relpath(p, ROOT).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def inputs_hash(kernel: Dict[str, str], names: Sequence[str]) -> str:
    paths = []
    for dirpath, _dirs, files in os.walk(HERE):
        if "__pycache__" in dirpath or dirpath.startswith(os.path.join(HERE, "kscand")):
            continue
        paths += [os.path.join(dirpath, f) for f in files
                  if not f.endswith((".pyc", ".md"))]
    paths.append(patch_file())
    paths += [os.path.join(ROOT, "kscand_testkit", f)
              for f in ("synth.py", "stream.py", "formats.py")]
    paths.append(os.path.join(ROOT, "kscand_perf", "events.py"))
    h = hashlib.sha256()
    h.update(_hash_files(paths).encode())
    h.update(json.dumps([kernel["key"], perf_version(), list(names)]).encode())
    return h.hexdigest()


# Each run gets a folder of its own, build/runs/N; build/current points at the
# last successful one, so a test session reading results is never disturbed by
# another session's run (other engineers' `make test` share the checkout).
KEEP_RUNS = 2


def current_dir(build: str = BUILD) -> str:
    return os.path.join(build, "current")


def results_dir(build: str = BUILD) -> str:
    return os.path.join(current_dir(build), "results")


def read_stage(build: str = BUILD) -> Optional[Dict[str, Any]]:
    """The record of the last successful run in ``build`` (paths resolved), or None."""
    try:
        run_dir = os.path.realpath(current_dir(build))
        with open(os.path.join(run_dir, "results", "stage.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _new_run_dir(build: str) -> str:
    runs = os.path.join(build, "runs")
    os.makedirs(runs, exist_ok=True)
    numbers = [int(n) for n in os.listdir(runs) if n.isdigit()]
    keep = os.path.basename(os.path.realpath(current_dir(build)))
    for n in sorted(numbers)[:-KEEP_RUNS]:
        if str(n) != keep:
            shutil.rmtree(os.path.join(runs, str(n)), ignore_errors=True)
    path = os.path.join(runs, str(max(numbers, default=0) + 1))
    os.makedirs(os.path.join(path, "results"))
    return path


def _publish(build: str, run_dir: str) -> None:
    link = current_dir(build)
    tmp = link + ".new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.relpath(run_dir, build), tmp)
    os.replace(tmp, link)


def stage(which: Sequence[scen.Scenario], reuse: bool = False, accel: str = "tcg",
          build: str = BUILD) -> Dict[str, Any]:
    """Run the whole stage for ``which`` in ``build``; return its record (stage.json)."""
    timer = Timer()
    names = [sc.name for sc in which]
    with timer.step("host packages"):
        ensure_host_packages()
    with timer.step("resolve kernel"):
        kernel = resolve_kernel()
    digest = inputs_hash(kernel, names)
    with locked(os.path.join(build, ".lock"), timer):
        old = read_stage(build)
        if reuse and old and old.get("ok") and old.get("inputs") == digest and all(
                os.path.exists(os.path.join(old["results"], n + ".data")) for n in names):
            log("reusing the fresh result in %s" % old["results"])
            old["reused"] = True
            return old
        cold = not os.path.exists(os.path.join(kernel_dir(kernel), "manifest.json"))
        with timer.step("fetch kernel"):
            manifest = fetch_kernel(kernel)
        run_dir = _new_run_dir(build)
        results = os.path.join(run_dir, "results")
        with timer.step("build module"):
            build_module(kernel, os.path.join(build, "module"),
                         os.path.join(run_dir, "kscand_e2e.ko"))
        with timer.step("build e2e-fire"):
            build_fire(os.path.join(run_dir, "e2e-fire"))
        cpio = os.path.join(build, "initramfs.cpio")
        with timer.step("build initramfs"):
            modules = build_initramfs(kernel, cpio)
        with timer.step("scenarios"):
            write_scenarios(run_dir, results, which)
        with open(os.path.join(run_dir, "job.sh"), "w") as f:
            f.write(job_script(names))
        console = os.path.join(run_dir, "console.log")
        with timer.step("boot and record"):
            boot(kernel, cpio, run_dir, console, accel=accel)
        with timer.step("truth with recorded times"):
            recorded_truths(results, names)
        record = {
            "ok": True, "inputs": digest, "kernel": kernel, "scenarios": names,
            "cold": cold, "accel": accel, "modules": modules,
            "download_bytes": manifest.get("download_bytes"),
            "cached_bytes": manifest.get("cached_bytes"),
            "steps": timer.steps,
            "total_seconds": round(timer.total() - timer.steps.get("wait for another run", 0), 2),
            "results": results, "console": console,
        }
        record["guest_threads"] = {n: read_threads(os.path.join(results, n + ".threads"))
                                   for n in names}
        scen.dump_json(os.path.join(results, "stage.json"), record)
        _publish(build, run_dir)
        log("stage done in %.1f s (%s)" % (record["total_seconds"],
                                           "cold" if cold else "warm"))
        return record


def recorded_truths(results: str, names: Sequence[str]) -> None:
    """Save each scenario's truth recomputed with its recording's timestamps (NAME.truth.json).

    A recording that does not have one event per fired line gets none; the tests
    say what differs.
    """
    for name in names:
        with open(os.path.join(results, name + ".scenario.json")) as f:
            sc = scen.Scenario.from_json(json.load(f))
        times = recorded_times(os.path.join(results, name + ".data"))
        sim = sc.simulation()
        n = sum(1 for _ in sim)
        if len(times) != n:
            log("%s: %d events recorded, %d fired: no truth with recorded times"
                % (name, len(times), n))
            continue
        scen.dump_json(os.path.join(results, name + ".truth.json"), sim.truth_with_times(times))


def read_threads(path: str) -> Dict[str, Any]:
    """Parse /proc/kscand_e2e: {"kscand": {"pid", "cpu"}, ..., "fired": N}."""
    out: Dict[str, Any] = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "fired":
                out["fired"] = int(parts[1])
            elif len(parts) == 3:
                out[parts[0]] = {"pid": int(parts[1]), "cpu": int(parts[2])}
    return out


# ------------------------------------------------------------------------ sample

def record_sample(accel: str = "tcg") -> Dict[str, Any]:
    """Record the bundled sample and copy it with its scenario and truth to samples/."""
    build = os.path.join(BUILD, "sample")
    record = stage([scen.SAMPLE], reuse=False, accel=accel, build=build)
    results = record["results"]
    name = scen.SAMPLE.name
    with open(os.path.join(results, name + ".scenario.json")) as f:
        data = json.load(f)
    sc = scen.Scenario.from_json(data)
    out = os.path.join(ROOT, "samples")
    os.makedirs(out, exist_ok=True)
    times = recorded_times(os.path.join(results, name + ".data"))
    sim = sc.simulation()
    events = list(sim)
    if len(times) != len(events):
        raise StageError("the sample recording has %d events, the scenario %d"
                         % (len(times), len(events)))
    truth = sim.truth_with_times(times)
    shutil.copyfile(os.path.join(results, name + ".data"), os.path.join(out, name + ".data"))
    # What was fired, so the sample can be checked without the simulator of the day.
    with open(os.path.join(results, "..", "scenarios", name + ".lines"), "rb") as f:
        lines = f.read()
    with open(os.path.join(out, name + ".lines.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(lines)
    data["kernel"] = record["kernel"]["key"]
    with open(os.path.join(results, "guest-perf-version")) as f:
        data["perf"] = f.read().strip()
    data["recorded_with"] = ("perf record -a -m 16M --affinity=cpu -B -N "
                             + " ".join(RECORD_EVENTS) + " -- e2e-fire %s.lines" % sc.name)
    scen.dump_json(os.path.join(out, sc.name + ".scenario.json"), data)
    scen.dump_json(os.path.join(out, sc.name + ".truth.json"), truth)
    log("sample written to %s (%d bytes of perf.data)" % (
        out, os.path.getsize(os.path.join(out, sc.name + ".data"))))
    return record


def recorded_times(data: str) -> List[int]:
    """Timestamps (ns) of the events in a recording, in order."""
    return [r.time_ns for r in recording.read(shutil.which("perf") or "perf", data)]


# -------------------------------------------------------------------------- main

def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="e2e/harness.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="record every scenario in one boot")
    r.add_argument("--reuse", action="store_true",
                   help="keep a successful result of the same inputs instead of booting")
    r.add_argument("--accel", choices=("tcg", "kvm"), default="tcg",
                   help="QEMU accelerator (default tcg: this machine's KVM cannot boot "
                        "a stock kernel at a usable speed)")
    s = sub.add_parser("sample", help="re-record samples/")
    s.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    sub.add_parser("fetch", help="only fetch the kernel into the cache")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "run":
            record = stage(scen.SCENARIOS, reuse=args.reuse, accel=args.accel)
            print(json.dumps({k: record[k] for k in ("steps", "total_seconds", "cold",
                                                     "results")}, indent=1))
        elif args.cmd == "sample":
            record_sample(accel=args.accel)
        elif args.cmd == "fetch":
            kernel = resolve_kernel()
            manifest = fetch_kernel(kernel)
            print(json.dumps(manifest, indent=1))
    except Unavailable as e:
        log("unavailable: %s" % e)
        return EXIT_UNAVAILABLE
    except StageError as e:
        log("FAILED: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
