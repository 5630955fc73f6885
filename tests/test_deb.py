"""The Debian package (debian/): built from a clean checkout, lintian-clean, installed into
a Debian 12 chroot as a user installs it, then purged without a trace.

``dpkg-buildpackage -us -uc -b`` on a copy of the checkout's files (what git tracks and
would track) gives kscand-perf_VERSION_all.deb; lintian reports no error and no warning;
the package depends on python3 alone and only recommends matplotlib. In a bookworm chroot
(tools/deb-chroot: perf 6.1, man-db; cached in .cache/deb-chroots/) ``apt-get install``
of the .deb pulls nothing more, ``kscand-perf report -i`` and perf's ``perf script
report kscand-report`` give the checkout's report on the sample, ``perf script -l`` lists
kscand-report, ``man -w`` finds the pages, the completion loads; ``apt-get purge`` and
``autoremove`` then leave nothing behind but apt's and dpkg's own records.

Needs the build tools (make deps installs them) and, for the chroot, root; skips with the
reason otherwise, fails instead under KSCAND_PERF_REQUIRE_E2E=1 (CI).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from typing import Any, Dict, List, Optional

import pytest

from conftest import ROOT, require

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
DEB_CHROOT = os.path.join(ROOT, "tools", "deb-chroot")
BUILD_PACKAGES = ["dpkg-dev", "debhelper", "dh-python", "pybuild-plugin-pyproject",
                  "python3-all", "python3-setuptools", "python3-wheel", "lintian"]
PERF_EXEC_PATH = "/usr/lib/perf-core"
# What an install and purge may leave in the chroot: apt's and dpkg's records, caches, logs.
RECORDS = ("/var/lib/dpkg/", "/var/lib/apt/", "/var/cache/", "/var/log/", "/tmp/", "/root/",
           "/etc/ld.so.cache", "/run/", "/var/lib/python/")


def version() -> str:
    with open(os.path.join(ROOT, "kscand_perf", "__init__.py")) as f:
        return next(ln.split('"')[1] for ln in f if ln.startswith("__version__"))


def run(argv: List[str], cwd: str, env: Optional[Dict[str, str]] = None,
        timeout: int = 1200) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.pop("PERF_EXEC_PATH", None)
    full.update(env or {})
    return subprocess.run(argv, cwd=cwd, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def clean_checkout(dest: str) -> None:
    """The files of a fresh clone (tracked, and new files git would track) in ``dest``."""
    proc = run(["git", "-C", ROOT, "ls-files", "-z", "-co", "--exclude-standard"], ROOT)
    require(proc.returncode == 0, "not a git checkout: %s" % proc.stderr.decode().strip())
    for rel in proc.stdout.decode().split("\0"):
        src = os.path.join(ROOT, rel)
        if not rel or rel == ".cache" or not os.path.lexists(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel), follow_symlinks=False)


class Built:
    def __init__(self, top: str) -> None:
        self.top = top
        self.src = os.path.join(top, "kscand-perf")
        self.deb = os.path.join(top, "kscand-perf_%s_all.deb" % version())
        self.changes = [os.path.join(top, n) for n in os.listdir(top) if n.endswith(".changes")]

    def field(self, name: str) -> str:
        proc = run(["dpkg-deb", "-f", self.deb, name], self.top)
        assert proc.returncode == 0, proc.stderr.decode()
        return proc.stdout.decode().strip()

    def contents(self) -> Dict[str, str]:
        """Path -> ls-style type letter and mode of every entry of the .deb."""
        proc = run(["dpkg-deb", "-c", self.deb], self.top)
        assert proc.returncode == 0, proc.stderr.decode()
        out = {}
        for line in proc.stdout.decode().splitlines():
            parts = line.split()
            path = parts[5][1:].rstrip("/") or "/"
            out[path] = parts[0]
        return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: Any) -> Built:
    missing = [p for p in BUILD_PACKAGES
               if run(["dpkg-query", "-W", "-f=${Status}", p], ROOT).stdout.decode()
               != "install ok installed"]
    require(not missing, "the Debian build tools are missing: %s (make deps installs them)"
            % " ".join(missing))
    top = str(tmp_path_factory.mktemp("deb"))
    src = os.path.join(top, "kscand-perf")
    clean_checkout(src)
    proc = run(["nice", "-n", "19", "dpkg-buildpackage", "-us", "-uc", "-b"], src)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode()[-4000:]
    return Built(top)


def test_builds_the_versioned_all_deb(built: Built) -> None:
    names = sorted(n for n in os.listdir(built.top) if n.endswith(".deb"))
    assert names == ["kscand-perf_%s_all.deb" % version()]
    with open(os.path.join(ROOT, "debian", "changelog")) as f:
        assert f.readline().startswith("kscand-perf (%s) " % version())
    assert built.field("Version") == version() and built.field("Architecture") == "all"


def test_depends_on_python3_alone_and_only_recommends_matplotlib(built: Built) -> None:
    depends = [d.strip() for d in built.field("Depends").split(",")]
    assert [d for d in depends if not d.startswith("python3:any")] == [], depends
    assert built.field("Recommends") == "python3-matplotlib"


def test_contents(built: Built) -> None:
    files = built.contents()
    site = "/usr/lib/python3/dist-packages/kscand_perf"
    for path in ["/usr/bin/kscand-perf", "/usr/bin/kscand-record", site + "/cli.py",
                 site + "/render/text.py",
                 PERF_EXEC_PATH + "/scripts/python/kscand-report.py",
                 PERF_EXEC_PATH + "/scripts/python/bin/kscand-report-record",
                 PERF_EXEC_PATH + "/scripts/python/bin/kscand-report-report",
                 "/usr/share/bash-completion/completions/kscand-perf",
                 "/usr/share/bash-completion/completions/kscand-record",
                 "/usr/share/doc/kscand-perf/copyright"]:
        assert path in files, path
    pages = sorted(p for p in files if p.startswith("/usr/share/man/man1/"))
    assert pages == ["/usr/share/man/man1/%s.1.gz" % n for n in (
        "kscand-perf-compare", "kscand-perf-merge", "kscand-perf-record",
        "kscand-perf-report", "kscand-perf", "kscand-record")], pages
    assert files["/usr/bin/kscand-perf"].startswith("-rwxr-xr-x")
    assert not [p for p in files if "kscand_testkit" in p or "/tests/" in p]
    # the perf script is the checkout's, byte for byte; the commands run Debian's python3
    proc = run(["dpkg-deb", "--fsys-tarfile", built.deb], built.top)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        member = tar.extractfile("." + PERF_EXEC_PATH + "/scripts/python/kscand-report.py")
        assert member is not None
        with open(SCRIPT, "rb") as f:
            assert member.read() == f.read()
        for command in ("kscand-perf", "kscand-record"):
            member = tar.extractfile("./usr/bin/" + command)
            assert member is not None and member.readline() == b"#!/usr/bin/python3\n"


def test_lintian_reports_no_error_and_no_warning(built: Built) -> None:
    require(bool(built.changes), "dpkg-buildpackage wrote no .changes file")
    proc = run(["lintian", "--fail-on", "error,warning", "--display-level", ">=warning"]
               + built.changes, built.top, timeout=1200)
    tags = [ln for ln in proc.stdout.decode().splitlines() if re.match(r"^[EW]: ", ln)]
    assert (proc.returncode, tags) == (0, []), proc.stdout.decode() + proc.stderr.decode()


def test_every_lintian_override_is_justified() -> None:
    for name in os.listdir(os.path.join(ROOT, "debian")):
        if not name.endswith("lintian-overrides"):
            continue
        with open(os.path.join(ROOT, "debian", name)) as f:
            lines = f.read().splitlines()
        said = False  # a comment opens each block of overrides
        for line in lines:
            if not line.strip():
                said = False
            elif line.startswith("#"):
                said = True
            else:
                assert said, "%s: no comment says why: %s" % (name, line)


# -- installed into Debian 12 ---------------------------------------------------------

IN_CHROOT = r"""
set -eu
out=$1
deb=$2
cd "$out"
apt-get -s install "$deb" > simulate.txt
apt-get -s install --no-install-recommends "$deb" > simulate-bare.txt
apt-get install -y -q --no-install-recommends "$deb" > install.log 2>&1
dpkg -L kscand-perf > files.txt
kscand-perf report -i "$out/sample.data" > report.txt
kscand-record --help > record-help.txt
perf script -l > list.txt
perf script report kscand-report -i "$out/sample.data" > perf-report.txt
man -w kscand-perf kscand-perf-report kscand-record > man.txt
bash -c '. /usr/share/bash-completion/completions/kscand-record; complete -p kscand-record' \
    > completion.txt
apt-get purge -y -q kscand-perf > purge.log 2>&1
apt-get autoremove --purge -y -q >> purge.log 2>&1
dpkg-query -W -f='${Status}\n' kscand-perf > after.txt 2>&1 || true
while read -r path; do
    if [ -e "$path" ] && [ ! -d "$path" ]; then echo "$path"; fi
done < files.txt > left.txt
"""


@pytest.fixture(scope="module")
def chroot() -> str:
    require(os.geteuid() == 0, "installing into a chroot needs root")
    proc = run([DEB_CHROOT, "path"], ROOT, timeout=1800)
    require(proc.returncode != 3, "no Debian 12 chroot here: %s" % proc.stderr.decode().strip())
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().strip()


def test_installed_in_debian_12_then_purged(built: Built, chroot: str, perf: str,
                                            tmp_path: Any) -> None:
    out = str(tmp_path)
    shutil.copy(SAMPLE, os.path.join(out, "sample.data"))
    deb = shutil.copy(built.deb, out)
    changes = os.path.join(out, "changes.txt")
    proc = run([DEB_CHROOT, "run", "--bind", out, "--changes", changes, "--", "sh", "-c",
                IN_CHROOT, "sh", out, deb], out, timeout=1800)

    def text(name: str) -> str:
        with open(os.path.join(out, name)) as f:
            return f.read()
    assert proc.returncode == 0, proc.stderr.decode() + "".join(
        "\n== %s\n%s" % (n, text(n)[-2000:]) for n in ("install.log", "purge.log")
        if os.path.exists(os.path.join(out, n)))
    # apt pulled nothing but the package; with recommends it would pull matplotlib
    assert re.findall(r"^Inst (\S+)", text("simulate-bare.txt"), re.M) == ["kscand-perf"]
    assert re.search(r"^Inst python3-matplotlib ", text("simulate.txt"), re.M)
    assert not re.search(r"^Inst python3-matplotlib ", text("install.log"), re.M)
    # the checkout's report, through the package's command and through perf's script
    checkout = run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report", "-i",
                    os.path.join(out, "sample.data")], out)
    assert checkout.returncode == 0, checkout.stderr.decode()
    assert text("report.txt") == checkout.stdout.decode()
    direct = run([perf, "script", "-s", SCRIPT, "-i", os.path.join(out, "sample.data")], out)
    assert direct.returncode == 0, direct.stderr.decode()
    assert text("perf-report.txt") == direct.stdout.decode()
    assert text("record-help.txt").startswith("usage: kscand-record")
    listed = [ln.strip() for ln in text("list.txt").splitlines()
              if ln.strip().startswith("kscand-report ")]
    assert listed == ["kscand-report [-- --json | --csv DIR | -h] kscand scan durations, "
                      "scan adaptation and page promotions"], text("list.txt")
    assert text("man.txt").split() == ["/usr/share/man/man1/kscand-perf.1.gz",
                                       "/usr/share/man/man1/kscand-perf-report.1.gz",
                                       # (kscand-record's page is a link to this one)
                                       "/usr/share/man/man1/kscand-perf-record.1.gz"]
    assert "complete -F _kscand_record kscand-record" in text("completion.txt")
    # purged: not installed, none of its files, nothing else of it anywhere
    assert text("after.txt") == "dpkg-query: no packages found matching kscand-perf\n"
    assert text("left.txt") == ""
    assert left_behind(changes, chroot, out) == []


def left_behind(changes: str, chroot: str, out: str) -> List[str]:
    """Entries the install and purge created, changed or removed in the chroot beyond
    apt's and dpkg's records (folders of the chroot that merely were written in do not
    count; the bind mount point of ``out`` neither)."""
    left = []
    with open(changes) as f:
        for line in f:
            kind, path = line.rstrip("\n").split(" ", 1)
            if path.startswith(RECORDS) or path + "/" in RECORDS:
                continue
            if (out + "/").startswith(path + "/") or path.startswith(out + "/"):
                continue
            if kind == "d" and os.path.isdir(chroot + path):
                continue
            left.append(line.strip())
    return left
