"""Recordings that each perf makes itself, read by our reader with that perf's own counts.

The host's perf (6.1), perf 6.12 and perf 7.3 (tools/perf-chroot) record a tracepoint
the host kernel has (sched:sched_switch) and a software event (cpu-clock) for a moment,
in file mode and as a pipe stream, without and with -z (zstd: perf 6.1 and 6.12 write
COMPRESSED records, type 81; perf 7.x COMPRESSED2, type 83). Our reader must find, per event, as
many samples as that perf's own ``perf script`` shows, with no problem and no warning:
every sample in is a sample accounted for. Needs root and tracefs (recording), the
chroot (perf 7.3) and a zstd module (-z); each skips with the reason when missing.
"""

from __future__ import annotations

import collections
import io
import json
import os
import shutil
import struct
import subprocess
from typing import Callable, Counter, Dict, List, Set, Tuple

import pytest

from conftest import ROOT, require, tracefs_root
from kscand_perf.read import PerfReader, zstd_available

PERF_CHROOT = os.path.join(ROOT, "tools", "perf-chroot")
EVENTS = ["-e", "sched:sched_switch", "-e", "cpu-clock"]
TIMEOUT = 300
PERFS = ["6.1", "6.12", "7.3"]


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PERF_EXEC_PATH", None)
    env["LC_ALL"] = "C.UTF-8"
    return env


def _perf_argv(version: str, folder: str) -> List[str]:
    """The argv prefix that runs perf ``version`` (the host's, or a chroot's)."""
    if version == "6.1":
        perf = shutil.which(os.environ.get("PERF", "perf"))
        require(perf is not None, "perf is not installed (apt-get install linux-perf)")
        assert perf is not None
        return [perf]
    require(os.geteuid() == 0, "the perf %s chroot needs root" % version)
    proc = subprocess.run([PERF_CHROOT, version], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=1800)
    require(proc.returncode != 3, "no perf %s chroot here: %s"
            % (version, proc.stderr.decode(errors="replace").strip()))
    assert proc.returncode == 0, proc.stderr
    return [PERF_CHROOT, "run", version, "--bind", folder, "--"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory
               ) -> Callable[[str, bool, bool], Tuple[str, List[str]]]:
    """(version, pipe, compressed) -> (path of the recording, argv prefix of that perf)."""
    folder = str(tmp_path_factory.mktemp("perf-records"))
    made: Dict[Tuple[str, bool, bool], Tuple[str, List[str]]] = {}

    def get(version: str, pipe: bool, compressed: bool) -> Tuple[str, List[str]]:
        key = (version, pipe, compressed)
        if key not in made:
            require(os.geteuid() == 0, "recording needs root")
            tracefs_root()
            perf = _perf_argv(version, folder)
            path = os.path.join(folder, "%s-%s%s.data" % (
                version, "pipe" if pipe else "file", "-z" if compressed else ""))
            args = perf + ["record", "-q", "-a"] + EVENTS + (["-z"] if compressed else [])
            args += ["-o", "-" if pipe else path, "--", "sleep", "0.3"]
            with open(path if pipe else os.devnull, "wb") as out:
                proc = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, env=_env(),
                                      cwd=folder, timeout=TIMEOUT)
            assert proc.returncode == 0, proc.stderr.decode(errors="replace")
            made[key] = (path, perf)
        return made[key]
    return get


def _perf_counts(perf: List[str], path: str, pipe: bool) -> Counter[str]:
    """Samples per event as that perf's ``perf script`` shows them."""
    with open(path, "rb") as src:
        proc = subprocess.run(perf + ["script", "-F", "event", "-i", "-" if pipe else path],
                              stdin=src if pipe else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                              timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    lines = proc.stdout.decode().split("\n")
    return collections.Counter(ln.strip().rstrip(":") for ln in lines if ln.strip())


def _our_counts(path: str) -> Tuple[Counter[str], PerfReader]:
    counts: Counter[str] = collections.Counter()

    def count(name: str) -> None:
        counts[name] += 1
    with open(path, "rb") as src:
        reader = PerfReader(src, {}, unhandled=count)
        reader.read()
    return counts, reader


def _top_level_types(path: str) -> Set[int]:
    """The record types at the top level of a recording (not inside compressed ones)."""
    with open(path, "rb") as f:
        data = f.read()
    if struct.unpack_from("<Q", data, 8)[0] == 16:
        pos, end = 16, len(data)
    else:
        pos, size = struct.unpack_from("<QQ", data, 40)
        end = pos + size
    found = set()
    while pos + 8 <= end:
        typ, size = struct.unpack_from("<I2xH", data, pos)
        found.add(typ)
        pos += size + (struct.unpack_from("<I", data, pos + 8)[0] if typ == 66 else 0)
    return found


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "zstd"])
@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize("version", PERFS)
def test_our_counts_are_that_perfs_counts(
        recordings: Callable[[str, bool, bool], Tuple[str, List[str]]],
        version: str, pipe: bool, compressed: bool) -> None:
    if compressed:
        require(zstd_available(), "no zstd module for this python3 (python3-zstandard)")
    path, perf = recordings(version, pipe, compressed)
    theirs = _perf_counts(perf, path, pipe)
    ours, reader = _our_counts(path)
    assert reader.problem is None and reader.warnings == [], (reader.problem,
                                                              reader.warnings)
    assert theirs["sched:sched_switch"] > 0 and theirs["cpu-clock"] > 0, theirs
    assert ours == theirs
    # events in = events accounted: every sample went to a handler or was counted
    assert reader.stats.samples == sum(ours.values()) and reader.stats.unknown_ids == 0
    types = _top_level_types(path)
    if compressed:
        assert reader.stats.compressed > 0
        assert types & {81, 83}, types
        assert (83 if version == "7.3" else 81) in types, (version, types)
    else:
        assert reader.stats.compressed == 0 and not types & {81, 83}


@pytest.mark.parametrize("version", PERFS)
def test_a_compressed_pipe_through_the_command(
        recordings: Callable[[str, bool, bool], Tuple[str, List[str]]],
        version: str) -> None:
    """kscand-perf report -i - on a compressed pipe stream: read to the end, no warning,
    every sample counted (as events the report does not analyse)."""
    require(zstd_available(), "no zstd module for this python3 (python3-zstandard)")
    path, perf = recordings(version, True, True)
    theirs = _perf_counts(perf, path, True)
    with open(path, "rb") as src:
        proc = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bin", "kscand-perf"),
                               "report", "--json", "-i", "-"], stdin=src,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    err = proc.stderr.decode(errors="replace")
    assert "warning" not in err and "Traceback" not in err, err
    if not proc.stdout:   # a recording without kscand events may be refused in one line
        assert proc.returncode == 1 and err.count("\n") == 1, err
        return
    assert proc.returncode == 0, err
    acc = json.loads(proc.stdout)["accounting"]
    assert acc["events_in"] == sum(theirs.values()), (acc, theirs)
    assert acc["events_in"] == sum(v for k, v in acc.items() if k != "events_in"), acc


def test_no_zstd_module_is_one_clear_line(tmp_path: "os.PathLike[str]") -> None:
    """Without a zstd module a compressed recording is one error line naming the module
    and the interpreter, exit 1, never a silent report of 0 events."""
    from kscand_testkit.perfdata import PerfDataWriter
    buf = io.BytesIO()
    w = PerfDataWriter(buf, pipe=True)
    w.close()
    data = buf.getvalue() + struct.pack("<IHHQ", 83, 0, 24, 3) + b"abc" + bytes(5)
    path = os.path.join(str(tmp_path), "z.data")
    with open(path, "wb") as f:
        f.write(data)
    # a Python that finds no zstd module: both modules made unimportable
    code = ("import sys; sys.modules['zstandard'] = None; "
            "sys.modules['compression.zstd'] = None; sys.path.insert(0, %r); "
            "from kscand_perf.cli import main; sys.exit(main(['report', '-i', %r]))"
            % (ROOT, path))
    proc = subprocess.run(["/usr/bin/python3", "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=TIMEOUT)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and proc.stdout == b"", (proc.stdout, err)
    assert err.count("\n") == 1 and "python3-zstandard" in err and "/usr/bin/python3" in err
    assert "without -z" in err
