"""Which Python runs a command, and what to say when it lacks a module.

The commands of a checkout (bin/) start under whatever ``python3`` comes first on PATH:
often a pyenv or a virtual environment without Debian's packages. The report itself
needs only the standard library, but some options need a module: ``--plot``
matplotlib, ``--via perf-module`` perf's own. :func:`switch_if_needed` runs the command again under
Debian's ``/usr/bin/python3`` when the interpreter on PATH lacks such a module and that
one has it; otherwise the command goes on and, where the module is missing,
:func:`missing` says in one line which interpreter lacks which module and how to fix
it. Installed commands (pip, pipx, the .deb, ``make install``) have their interpreter
in their first line and never switch.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

SYSTEM_PYTHON = "/usr/bin/python3"
# Another interpreter to switch to (tests point it at one that lacks the module).
ENV_SYSTEM = "KSCAND_PERF_SYSTEM_PYTHON"
# Set in the environment of the interpreter switched to: never switch twice.
ENV_SWITCHED = "KSCAND_PERF_SWITCHED_FROM"

# module -> (Debian package, PyPI name, pip extra of kscand-perf or "")
PACKAGES: Dict[str, Tuple[str, str, str]] = {
    "matplotlib": ("python3-matplotlib", "matplotlib", "plot"),
    "perf": ("linux-perf (7.3 or later)", "", ""),
    "zstandard": ("python3-zstandard", "zstandard", ""),
}


def needed_modules(argv: Sequence[str]) -> List[str]:
    """The modules the options in ``argv`` need beyond the standard library (the
    arguments after ``--`` are a workload's, not ours)."""
    args = list(argv[:argv.index("--")] if "--" in argv else argv)
    out = []
    if any(a == "--plot" or a.startswith("--plot=") for a in args):
        out.append("matplotlib")
    for i, a in enumerate(args):
        if a == "--via=perf-module" or (a == "--via" and args[i + 1:i + 2] == ["perf-module"]):
            out.append("perf")
    return out


def has(module: str) -> bool:
    """Whether this interpreter can import ``module`` (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def other_has(python: str, modules: Sequence[str]) -> bool:
    """Whether the interpreter ``python`` can import every one of ``modules``."""
    import subprocess   # (here: start-up time; only a missing module gets here)
    probe = ("import importlib.util, sys\n"
             "sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)")
    try:
        proc = subprocess.run([python, "-c", probe] + list(modules), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def is_system(python: str) -> bool:
    """Whether this interpreter is ``python`` itself (not a virtual environment made from
    it, whose python3 is a link to the same file but has other packages)."""
    return sys.prefix == sys.base_prefix and _same_file(sys.executable, python)


def switch_if_needed(argv: Sequence[str], script: str,
                     environ: Optional[Dict[str, str]] = None) -> None:
    """Run ``script argv`` again under /usr/bin/python3 (it does not return) when this
    interpreter lacks a module the options need and that one has them all; else return
    and let the command say what is missing."""
    env = dict(os.environ if environ is None else environ)
    missing = [m for m in needed_modules(argv) if not has(m)]
    if not missing or env.get(ENV_SWITCHED):
        return
    system = env.get(ENV_SYSTEM) or SYSTEM_PYTHON
    if is_system(system) or not os.access(system, os.X_OK):
        return
    if not other_has(system, missing):
        return
    env[ENV_SWITCHED] = sys.executable or "?"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(system, [system, script] + list(argv), env)


def under_perf() -> bool:
    """Whether this is the Python perf embeds (perf script -s)."""
    return "perf_trace_context" in sys.modules or has("perf_trace_context")


def describe() -> str:
    """This interpreter, as a user can find it: its path, or perf's embedded Python
    (whose sys.executable is merely the first python3 on PATH)."""
    version = "%d.%d" % sys.version_info[:2]
    if under_perf():
        return "the Python %s that perf embeds (prefix %s)" % (version, sys.prefix)
    return "%s (Python %s)" % (sys.executable or "this Python", version)


def fix(module: str) -> str:
    """How to give this interpreter ``module``."""
    deb, pypi, extra = PACKAGES.get(module, ("python3-" + module, module, ""))
    apt = "apt-get install %s" % deb
    if not pypi:
        return apt
    if under_perf() or is_system(SYSTEM_PYTHON):
        return apt
    if "/pipx/venvs/" in sys.prefix + "/":
        venv = os.path.basename(sys.prefix.rstrip("/"))
        return "pipx inject %s %s" % (venv, pypi)
    pip = "%s -m pip install %s" % (sys.executable, pypi)
    if extra and sys.prefix != sys.base_prefix and has("kscand_perf") and not _checkout():
        pip = "%s -m pip install 'kscand-perf[%s]'" % (sys.executable, extra)
    if sys.prefix != sys.base_prefix:
        return pip
    return "%s, or %s and run it with %s" % (pip, apt, SYSTEM_PYTHON)


def _checkout() -> bool:
    """Whether kscand_perf is imported from a checkout (not an installed copy)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.isfile(os.path.join(here, "perf-scripts", "kscand_report.py"))


def missing(what: str, module: str, name: Optional[str] = None) -> str:
    """The one-line message: ``what`` needs ``module`` (called ``name``), which this
    interpreter lacks, and the fix."""
    return "%s needs %s, which %s cannot import: %s" % (
        what, name or module, describe(), fix(module))
