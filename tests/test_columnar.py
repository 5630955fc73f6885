"""The columnar reader (kscand_perf/read/columnar.py, numpy) against the stdlib reader,
the reference: the same text and JSON, byte for byte, on every trace of the suite.

Every case of tests/test_oracle.py (the sample, the small committed trace, the shared real
trace where it is here, simulations in file and pipe mode, the hand-made corners and
bounds; every filter, --interval, units) runs through ``kscand-perf report`` twice in this
process, with KSCAND_PERF_READER=stdlib and =columnar, as text and as --json; so do churn
traces, a simulation long enough for many blocks and rounds, and recordings that mix the
kinds the columnar reader takes in bulk with records it leaves to the stdlib code. The bulk
start path (kscand_perf/bulk_starts.py) takes batches of any size here (SMALL = 1), so
that small traces exercise it too. Where numpy is absent, the command reads with the
stdlib reader (a subprocess that hides numpy).
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
from typing import Any, Callable, List, Tuple

import pytest

from conftest import ROOT
from kscand_perf import cli, feed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_oracle import CASES, Case, Trace  # noqa: E402
from test_oracle import trace as trace  # noqa: E402,F401  (a fixture)

columnar = pytest.importorskip("kscand_perf.read.columnar")
if not columnar.available():
    pytest.skip("numpy is not installed (python3-numpy): the stdlib reader only",
                allow_module_level=True)

from kscand_perf import bulk_starts  # noqa: E402


@pytest.fixture(autouse=True)
def every_batch_in_bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_starts, "SMALL", 1)
    # the columnar path all the way (the hand-over to per-record reading: below)
    monkeypatch.setattr(columnar, "JUDGE_MIN", 1 << 62)


def run(capsysbinary: Any, monkeypatch: pytest.MonkeyPatch, kind: str, path: str,
        pipe: bool, args: List[str]) -> Tuple[int, bytes, bytes]:
    """``kscand-perf report`` in this process with ``kind``'s reader."""
    monkeypatch.setenv(feed.READER_ENV, kind)
    capsysbinary.readouterr()
    if pipe:
        old = sys.stdin
        with open(path, "rb") as f:
            sys.stdin = io.TextIOWrapper(f)
            try:
                status = cli.main(["report", "-i", "-"] + args)
            finally:
                sys.stdin = old
    else:
        status = cli.main(["report", "-i", path] + args)
    out, err = capsysbinary.readouterr()
    return status, out, err


def both(capsysbinary: Any, monkeypatch: pytest.MonkeyPatch, path: str, pipe: bool,
         args: List[str]) -> None:
    for extra in ([], ["--json"]):
        ref = run(capsysbinary, monkeypatch, "stdlib", path, pipe, args + extra)
        got = run(capsysbinary, monkeypatch, "columnar", path, pipe, args + extra)
        assert ref[1], ref
        assert got == ref, (path, args + extra)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_output_as_the_stdlib_reader(case: Case,
                                          trace: Callable[[str], Trace],  # noqa: F811
                                          capsysbinary: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    t = trace(case.trace)
    both(capsysbinary, monkeypatch, t.path, t.pipe, case.opts.args())


@functools.lru_cache(maxsize=None)
def _written(folder: str, name: str) -> str:
    from kscand_testkit.churn import churn
    from kscand_testkit.perfdata import write_trace
    from kscand_testkit.synth import SynthConfig, simulate
    import itertools
    path = os.path.join(folder, name + ".data")
    pipe = name.endswith("-pipe")
    if name.startswith("churn"):
        write_trace(path, churn(3000, busy=3), pipe=pipe)
    else:   # the benchmark's kind of trace: 410 mms, mostly starts, many rounds
        config = SynthConfig(mms=410, seconds=864000.0, seed=11, fork_rate=0.0)
        write_trace(path, itertools.islice(simulate(config), 150000), pipe=pipe)
    return path


@pytest.mark.parametrize("name", ["churn", "churn-pipe", "long", "long-pipe"])
@pytest.mark.parametrize("args", [[], ["--interval", "1"], ["--node", "0"]],
                         ids=["plain", "interval", "node0"])
def test_same_output_on_churn_and_long_traces(name: str, args: List[str],
                                              tmp_path_factory: pytest.TempPathFactory,
                                              capsysbinary: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = str(tmp_path_factory.getbasetemp())
    both(capsysbinary, monkeypatch, _written(folder, name), name.endswith("-pipe"), args)


def test_batches_of_every_size(tmp_path_factory: pytest.TempPathFactory, capsysbinary: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk path with its own threshold and with batches held across many rounds."""
    path = _written(str(tmp_path_factory.getbasetemp()), "long")
    ref = run(capsysbinary, monkeypatch, "stdlib", path, False, ["--json"])
    for small, hold in ((32, 1 << 16), (1, 1), (1, 997)):
        monkeypatch.setattr(bulk_starts, "SMALL", small)
        monkeypatch.setattr(bulk_starts, "HOLD", hold)
        assert run(capsysbinary, monkeypatch, "columnar", path, False, ["--json"]) == ref


def test_the_columnar_reader_is_the_default_for_large_inputs(tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.delenv(feed.READER_ENV, raising=False)
    big = tmp_path / "big"
    big.write_bytes(bytes(feed.COLUMNAR_MIN_BYTES))
    small = tmp_path / "small"
    small.write_bytes(bytes(100))
    with open(big, "rb") as f:
        assert feed.reader_kind(f) == "columnar"
    with open(small, "rb") as f:
        assert feed.reader_kind(f) == "stdlib"
    monkeypatch.setenv(feed.READER_ENV, "stdlib")
    with open(big, "rb") as f:
        assert feed.reader_kind(f) == "stdlib"


HIDE_NUMPY = """
import sys
sys.modules["numpy"] = None     # import numpy raises ImportError
sys.path.insert(0, %r)
from kscand_perf import cli
status = cli.main(["report", "-i", "-", "--json"])
assert "numpy" not in [m for m, v in sys.modules.items() if v is not None], "numpy imported"
sys.exit(status)
"""


def test_without_numpy_the_stdlib_reader_reads(capsysbinary: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe stream (which takes the columnar reader where numpy is) where numpy cannot be
    imported: the stdlib reader's report, exit 0, no numpy."""
    path = os.path.join(ROOT, "samples", "kscand-sample.data")
    ref = run(capsysbinary, monkeypatch, "stdlib", path, True, ["--json"])
    env = dict(os.environ)
    env.pop(feed.READER_ENV, None)
    with open(path, "rb") as f:
        proc = subprocess.run([sys.executable, "-c", HIDE_NUMPY % ROOT], stdin=f,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == ref[1]


LAZY = r"""
import sys
sys.path.insert(0, %r)
from kscand_perf.read import columnar
assert columnar.available()
np = columnar.np
deferred = sorted(columnar.DEFERRED)
loaded = [m for m in ("numpy.random.mtrand", "numpy.ma.core", "numpy.polynomial.polynomial",
                      "numpy.fft._pocketfft") if m in sys.modules]
assert not loaded, loaded
assert all(m in sys.modules for m in deferred), deferred
# each works when it is used, and is loaded then
assert np.ma.masked_array([1, 2, 3], [0, 1, 0]).sum() == 4
assert np.random.default_rng(7).integers(10, size=3).shape == (3,)
assert np.polynomial.Polynomial([1, 2])(2) == 5.0
assert np.fft.fft(np.ones(4))[0] == 4
assert "numpy.ma.core" in sys.modules and "numpy.random.mtrand" in sys.modules
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig = plt.figure()
plt.plot(np.ma.masked_array([1.0, 2.0, 3.0], [0, 1, 0]))
fig.savefig(sys.argv[1])
print("ok")
"""


def test_numpy_subpackages_the_reader_does_not_use_load_when_used(tmp_path: Any) -> None:
    """columnar.available() imports numpy without running the subpackages numpy's own
    __init__ imports and the reader never uses (DEFERRED: a tenth of the report's time on
    a 1M-event recording); each loads, and works, when it is first used (matplotlib's
    plots use numpy.ma). A fresh interpreter: this one has numpy already."""
    pytest.importorskip("matplotlib")
    png = str(tmp_path / "plot.png")
    proc = subprocess.run([sys.executable, "-c", LAZY % ROOT, png], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"ok\n"
    assert os.path.getsize(png) > 1000


def test_the_bulk_path_is_taken(tmp_path_factory: pytest.TempPathFactory, capsysbinary: Any,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """(Not vacuous: the long trace's starts go through BulkStarts in bulk, and its
    chains through the columnar decoding.)"""
    applied: List[int] = []
    chained: List[int] = []
    apply, chain = bulk_starts.BulkStarts._apply, columnar.ColumnarReader._chain

    def count_apply(self: Any, batch: Any, call: Any) -> None:
        applied.append(len(batch))
        apply(self, batch, call)

    def count_chain(self: Any, buf: bytes, offs: Any, *rest: Any) -> None:
        chained.append(len(offs))
        chain(self, buf, offs, *rest)

    monkeypatch.setattr(bulk_starts.BulkStarts, "_apply", count_apply)
    monkeypatch.setattr(columnar.ColumnarReader, "_chain", count_chain)
    path = _written(str(tmp_path_factory.getbasetemp()), "long-pipe")
    run(capsysbinary, monkeypatch, "columnar", path, True, [])
    assert sum(applied) >= 150000 and sum(chained) > 140000, (sum(applied), sum(chained))


@pytest.mark.parametrize("name", ["churn", "long-pipe"])
def test_chains_of_any_length_through_arrays_or_one_by_one(
        name: str, tmp_path_factory: pytest.TempPathFactory, capsysbinary: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A chain of sample records shorter than MIN_CHAIN is decoded one record at a time
    (churn: COMM records between the samples); every chain through the arrays and none
    give the same report."""
    from kscand_perf.read import columnar
    path = _written(str(tmp_path_factory.getbasetemp()), name)
    pipe = name.endswith("-pipe")
    ref = run(capsysbinary, monkeypatch, "stdlib", path, pipe, ["--json"])
    for min_chain in (1, 10 ** 9):
        monkeypatch.setattr(columnar, "MIN_CHAIN", min_chain)
        assert run(capsysbinary, monkeypatch, "columnar", path, pipe, ["--json"]) == ref


def _switch_after(monkeypatch: pytest.MonkeyPatch, blocks: int) -> List[int]:
    """Have the columnar reader hand over to per-record reading after ``blocks`` blocks
    of input, whatever their chains; returns a list that gets the block of the switch."""
    switched: List[int] = []
    seen = [0]

    def judge(self: Any) -> None:
        seen[0] += 1
        self._chained = self._single = 0
        if seen[0] == blocks:
            self._q = self._q.to_ordered(self._bulk_fn)
            self.per_record = True
            switched.append(blocks)
    monkeypatch.setattr(columnar.ColumnarReader, "_judge", judge)
    return switched


@pytest.mark.parametrize("name", ["churn", "churn-pipe", "long", "long-pipe"])
def test_the_hand_over_to_per_record_reading_at_any_block(
        name: str, tmp_path_factory: pytest.TempPathFactory, capsysbinary: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The queue handed from the columnar reader to the stdlib loop mid-input (its
    pending events, this round's, the bulk starts held back) gives the same report,
    wherever in the input (blocks of 8 KB: inside rounds, between them)."""
    from kscand_perf.read import records
    path = _written(str(tmp_path_factory.getbasetemp()), name)
    pipe = name.endswith("-pipe")
    monkeypatch.setattr(records, "BLOCK", 8192)
    ref = run(capsysbinary, monkeypatch, "stdlib", path, pipe, ["--json"])
    for blocks in (1, 2, 3, 7, 50):
        for hold in (1, bulk_starts.HOLD):
            monkeypatch.setattr(bulk_starts, "HOLD", hold)
            switched = _switch_after(monkeypatch, blocks)
            got = run(capsysbinary, monkeypatch, "columnar", path, pipe, ["--json"])
            assert switched == [blocks], "the input has fewer blocks than %d" % blocks
            assert got == ref, "switched after block %d, HOLD %d" % (blocks, hold)


@pytest.mark.parametrize("name,hands_over", [("churn", True), ("churn-pipe", True),
                                             ("long", False), ("long-pipe", False)])
def test_short_chains_hand_over_and_long_ones_do_not(
        name: str, hands_over: bool, tmp_path_factory: pytest.TempPathFactory,
        capsysbinary: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real share: process churn (COMM records between every few samples) is
    read one record at a time after its first judgement; the benchmark's kind of trace
    (long chains of starts) stays columnar. Pipes too, whose reads hold less than a
    block: the samples are counted across them until JUDGE_MIN."""
    from kscand_perf.read import records
    path = _written(str(tmp_path_factory.getbasetemp()), name)
    monkeypatch.setattr(records, "BLOCK", 256 << 10)
    monkeypatch.setattr(columnar, "JUDGE_MIN", 1024)
    judged: List[bool] = []
    judge = columnar.ColumnarReader._judge

    def spy(self: Any) -> None:
        judge(self)
        judged.append(self.per_record)
    monkeypatch.setattr(columnar.ColumnarReader, "_judge", spy)
    run(capsysbinary, monkeypatch, "columnar", path, name.endswith("-pipe"), ["--json"])
    # churn: hands over (and judges no more after); long: at none of several blocks
    if hands_over:
        assert judged[-1] is True and judged.count(True) == 1
    else:
        assert len(judged) >= 2 and not any(judged)
