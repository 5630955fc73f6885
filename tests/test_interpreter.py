"""bin/ commands and the perf script under whichever python3 comes first on PATH.

The foreign interpreter is a virtual environment made from /usr/bin/python3 without
its packages (no tabulate, no matplotlib), first on PATH, as a pyenv or an activated
venv is on many developers' machines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

import pytest

from conftest import ROOT, require
from kscand_perf import interpreter

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SYSTEM = "/usr/bin/python3"


def _system_has(*modules: str) -> bool:
    return os.access(SYSTEM, os.X_OK) and interpreter.other_has(SYSTEM, modules)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: Any) -> str:
    """A venv without tabulate and matplotlib; its bin/ folder."""
    require(os.access(SYSTEM, os.X_OK), "no /usr/bin/python3 (not a Debian system)")
    top = str(tmp_path_factory.mktemp("foreign") / "venv")
    proc = subprocess.run([SYSTEM, "-m", "venv", "--without-pip", top],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    require(proc.returncode == 0, "cannot make a venv (apt-get install python3-venv): %s"
            % proc.stdout.decode(errors="replace").strip())
    python = os.path.join(top, "bin", "python3")
    for module in ("tabulate", "matplotlib"):
        assert not interpreter.other_has(python, [module]), module
    return os.path.join(top, "bin")


def run(argv: List[str], venv_bin: str, cwd: str,
        env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", interpreter.ENV_SWITCHED,
                         interpreter.ENV_SYSTEM)}
    full["PATH"] = venv_bin + os.pathsep + full.get("PATH", "")
    full.update(env or {})
    return subprocess.run(argv, cwd=cwd, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=600)


def checkout_report(*options: str) -> bytes:
    proc = subprocess.run([SYSTEM, os.path.join(ROOT, "bin", "kscand-perf"), "report",
                           "-i", SAMPLE] + list(options), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def test_report_is_the_same_under_a_foreign_python3(venv: str, tmp_path: Any) -> None:
    """Only the standard library there: all the report needs, nothing to switch for."""
    proc = run([os.path.join(ROOT, "bin", "kscand-perf"), "report", "-i", SAMPLE], venv,
               str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == checkout_report()
    assert proc.stderr == b""


@pytest.mark.parametrize("command", [["bin/kscand-perf", "report"], ["bin/kscand-report"],
                                     ["perf-scripts/kscand_report.py"]])
def test_plot_switches_to_the_python_that_has_matplotlib(venv: str, tmp_path: Any,
                                                         command: List[str]) -> None:
    require(_system_has("matplotlib"),
            "/usr/bin/python3 lacks matplotlib (apt-get install python3-matplotlib)")
    argv = ([os.path.join(venv, "python3")] if command[0].endswith(".py") else []) + \
        [os.path.join(ROOT, command[0])] + command[1:]
    out = tmp_path / "plots"
    proc = run(argv + ["-i", SAMPLE, "--plot", str(out)], venv, str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    assert "wrote 10 plot files to" in proc.stdout.decode()
    assert sorted(os.listdir(str(out)))[:2] == ["cumulative.png", "cumulative.svg"]


def test_without_a_python_that_has_it_one_line_names_interpreter_module_and_fix(
        venv: str, tmp_path: Any) -> None:
    python = os.path.join(venv, "python3")
    proc = run([os.path.join(ROOT, "bin", "kscand-perf"), "report", "-i", SAMPLE,
                "--plot", str(tmp_path / "p")], venv, str(tmp_path),
               env={interpreter.ENV_SYSTEM: python})
    assert proc.returncode == 2
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0] == ("kscand-perf report: error: --plot needs matplotlib, which %s "
                        "(Python %d.%d) cannot import: %s -m pip install matplotlib"
                        % (python, sys.version_info[0], sys.version_info[1], python))
    assert not os.path.exists(str(tmp_path / "p"))


def test_a_python3_that_cannot_import_the_package_hands_over(venv: str,
                                                             tmp_path: Any) -> None:
    """A python3 on PATH that cannot import the package (too old, or broken: here one
    that ignores PYTHONPATH) hands an installed command to /usr/bin/python3; with
    nothing to hand over to, one line names the interpreter and the reason."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\nexec %s -E \"$@\"\n"
                                  % os.path.join(venv, "python3"))
    (fake / "python3").chmod(0o755)
    copy = tmp_path / "kscand-perf"   # installed: no checkout next to it
    with open(os.path.join(ROOT, "bin", "kscand-perf")) as f:
        copy.write_text(f.read())
    copy.chmod(0o755)
    env = {"PYTHONPATH": ROOT}
    proc = run([str(copy), "merge", "-h"], str(fake), str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("usage: kscand-perf merge")

    env[interpreter.ENV_SYSTEM] = str(fake / "python3")
    proc = run([str(copy), "merge", "-h"], str(fake), str(tmp_path), env=env)
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines == ["kscand-perf: error: cannot import the kscand_perf package with %s "
                     "(No module named 'kscand_perf'); run it from the kscand-perf checkout "
                     "or install the package" % os.path.join(venv, "python3")], lines


def test_needed_modules() -> None:
    assert interpreter.needed_modules(["report", "-i", "x"]) == []
    assert interpreter.needed_modules(["report", "--plot", "d"]) == ["matplotlib"]
    assert interpreter.needed_modules(["report", "--plot=d"]) == ["matplotlib"]
    assert interpreter.needed_modules(["--via", "perf-module"]) == ["perf"]
    assert interpreter.needed_modules(["record", "--", "w", "--plot", "d"]) == []


def test_the_fix_fits_the_interpreter(monkeypatch: Any) -> None:
    monkeypatch.setattr(interpreter, "under_perf", lambda: True)
    assert interpreter.fix("matplotlib") == "apt-get install python3-matplotlib"
    assert "the Python %d.%d that perf embeds" % sys.version_info[:2] in interpreter.describe()
    monkeypatch.setattr(interpreter, "under_perf", lambda: False)
    monkeypatch.setattr(sys, "prefix", "/home/u/.local/pipx/venvs/kscand-perf")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert interpreter.fix("matplotlib") == "pipx inject kscand-perf matplotlib"
    monkeypatch.setattr(sys, "prefix", "/usr")
    monkeypatch.setattr(sys, "executable", "/opt/py/bin/python3")
    assert interpreter.fix("matplotlib") == (
        "/opt/py/bin/python3 -m pip install matplotlib, or apt-get install "
        "python3-matplotlib and run it with /usr/bin/python3")
