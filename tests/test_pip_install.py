"""pyproject.toml: the package installed with pip into a virtual environment gives the
same report as the checkout, from anywhere.

Two ways: offline with Debian's setuptools and wheel (``--no-build-isolation
--no-index``), and the way a user outside Debian installs it (``python3 -m venv v &&
v/bin/pip install .``: setuptools from the package registry; the package itself depends on
nothing but the standard library; skipped with the reason where it cannot be reached, required under
KSCAND_PERF_REQUIRE_E2E=1 as in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from typing import Any, Dict, List, Optional

import pytest

from conftest import ROOT, require

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SYSTEM = "/usr/bin/python3"
INDEX = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"
# What pip is given: the product's files, not the cache, builds or byte code of the checkout.
IGNORE = shutil.ignore_patterns(".git", ".cache", "build", "*.egg-info", "__pycache__",
                                ".pytest_cache", "demo-plots", ".pybuild", "perf.data*")


def run(argv: List[str], cwd: str, env: Optional[Dict[str, str]] = None,
        timeout: int = 600) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    full.update(env or {})
    return subprocess.run(argv, cwd=cwd, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def source_copy(tmp: Any) -> str:
    """The checkout's files in ``tmp``/src (pip builds in the source folder: build/ and
    the egg-info must not land in the checkout)."""
    src = os.path.join(str(tmp), "src")
    shutil.copytree(ROOT, src, ignore=IGNORE)
    return src


def checkout(*args: str) -> bytes:
    proc = run([SYSTEM, os.path.join(ROOT, "bin", "kscand-perf")] + list(args), ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def check_installed(venv: str, work: str) -> None:
    """The venv's commands on the sample, run from a folder without the checkout."""
    sample = os.path.join(work, "sample.data")
    shutil.copy(SAMPLE, sample)
    kscand_perf = os.path.join(venv, "bin", "kscand-perf")
    for args in (["report", "-i", sample], ["report", "-i", sample, "--json"],
                 ["report", "-i", sample, "--interval", "0.5"]):
        proc = run([kscand_perf] + args, work)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout == checkout(*args), args
    proc = run([kscand_perf, "-h"], work)
    assert proc.returncode == 0 and "synth" not in proc.stdout.decode()
    proc = run([os.path.join(venv, "bin", "kscand-record"), "-h"], work)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("usage: kscand-record")
    # the package only: no test machinery, the version of the checkout
    proc = run([os.path.join(venv, "bin", "python3"), "-c",
                "import importlib.util as u, kscand_perf as k; "
                "print(k.__version__, u.find_spec('kscand_testkit') is None, k.__file__)"],
               work)
    version, no_testkit, where = proc.stdout.decode().split()
    assert (version, no_testkit) == (_version(), "True")
    assert where.startswith(venv), where


def _version() -> str:
    with open(os.path.join(ROOT, "kscand_perf", "__init__.py")) as f:
        return next(ln.split('"')[1] for ln in f if ln.startswith("__version__"))


def _venv(tmp: Any, *options: str) -> str:
    venv = os.path.join(str(tmp), "v")
    proc = run([SYSTEM, "-m", "venv"] + list(options) + [venv], str(tmp))
    require(proc.returncode == 0, "cannot make a venv with pip (apt-get install python3-venv): "
            + proc.stderr.decode(errors="replace").strip())
    return venv


def test_offline_install_with_debians_setuptools(tmp_path: Any) -> None:
    proc = run([SYSTEM, "-c", "import setuptools, wheel"], str(tmp_path))
    require(proc.returncode == 0, "needs python3-setuptools and python3-wheel "
            "(apt-get install them)")
    src = source_copy(tmp_path)
    venv = _venv(tmp_path, "--system-site-packages")
    proc = run([os.path.join(venv, "bin", "pip"), "install", "-q", "--no-build-isolation",
                "--no-index", src], str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    work = str(tmp_path / "work")
    os.makedirs(work)
    check_installed(venv, work)


def _registry_reachable() -> Optional[str]:
    """None when pip's package registry answers, else why not."""
    try:
        with urllib.request.urlopen(INDEX + "setuptools/", timeout=20) as r:
            r.read(1)
        return None
    except Exception as e:  # any failure means: cannot be reached from here
        return "%s: %s" % (type(e).__name__, e)


@pytest.mark.parametrize("extra", ["", "[plot]"])
def test_pip_install_into_a_venv(tmp_path: Any, extra: str) -> None:
    why = _registry_reachable()
    require(why is None, "the package registry (%s) cannot be reached: %s" % (INDEX, why))
    if extra:
        plot = run([SYSTEM, "-c", "import matplotlib"], str(tmp_path))
        require(plot.returncode == 0, "the checkout's side of the comparison needs "
                "matplotlib (apt-get install python3-matplotlib)")
    src = source_copy(tmp_path)
    venv = _venv(tmp_path)
    proc = run([os.path.join(venv, "bin", "pip"), "install", "-q", src + extra],
               str(tmp_path), timeout=1200)
    assert proc.returncode == 0, proc.stderr.decode()
    python = os.path.join(venv, "bin", "python3")
    proc = run([os.path.join(venv, "bin", "pip"), "list", "--format=freeze"], str(tmp_path))
    installed = sorted(line.split("==")[0].lower() for line in proc.stdout.decode().split())
    if not extra:  # the package needs nothing but the standard library
        assert [p for p in installed if p not in ("pip", "setuptools")] == ["kscand-perf"], \
            installed
    work = str(tmp_path / "work")
    os.makedirs(work)
    check_installed(venv, work)
    proc = run([python, "-c", "import matplotlib"], str(tmp_path))
    assert (proc.returncode == 0) == bool(extra)
    if extra:
        proc = run([os.path.join(venv, "bin", "kscand-perf"), "report", "-i", SAMPLE,
                    "--plot", "plots"], work)
        assert proc.returncode == 0, proc.stderr.decode()
        assert len(os.listdir(os.path.join(work, "plots"))) == 10
    else:  # without the extra, --plot says how to get it into this venv
        proc = run([os.path.join(venv, "bin", "kscand-perf"), "report", "-i", SAMPLE,
                    "--plot", "plots"], work)
        assert proc.returncode == 2
        assert proc.stderr.decode() == (
            "kscand-perf report: error: --plot needs matplotlib, which %s (Python %s) cannot "
            "import: %s -m pip install 'kscand-perf[plot]'\n"
            % (python, _python_version(python), python))


def _python_version(python: str) -> str:
    proc = run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], ROOT)
    return proc.stdout.decode().strip()
