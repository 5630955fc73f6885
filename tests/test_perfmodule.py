"""The perf-module front end (kscand_perf/perfmodule.py) fed made-up samples, as perf 7.3's
session API hands them over: fields as attributes, int fields zero-extended,
``str(evsel)`` as ``evsel(system:event)``. The real module runs in tests/test_perf_versions.py
(perf 7.3 chroot)."""

from __future__ import annotations

import json
from typing import Any, Callable, List, Optional

from kscand_perf import perfmodule
from kscand_perf.options import Options
from kscand_perf.session import Session

MM = 0xFFFF888100001000


class Evsel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return "evsel(%s)" % self.name


class Sample:
    def __init__(self, name: str, t: int, pid: int, **fields: Any) -> None:
        self.evsel = Evsel(name)
        self.sample_time = t
        self.sample_pid = pid
        for k, v in fields.items():
            setattr(self, k, v)


class Thread:
    def __init__(self, comm: str) -> None:
        self._comm = comm

    def comm(self) -> str:
        return self._comm


class FakePerf:
    """What the module offers: data(path), session(data, sample=...) with find_thread."""

    def __init__(self, samples: List[Sample], comms: Any) -> None:
        self.samples = samples
        self.comms = comms

    def data(self, path: str) -> str:
        return path

    def session(self, data: str, sample: Optional[Callable[[Any], None]] = None) -> Any:
        outer = self

        class S:
            def find_thread(self, pid: int) -> Thread:
                if pid not in outer.comms:
                    raise ValueError("no such thread")
                return Thread(outer.comms[pid])

            def process_events(self) -> None:
                assert sample is not None
                for s in outer.samples:
                    sample(s)
        return S()


def test_samples_reach_the_analysis_as_the_perf_script_hands_them() -> None:
    u32 = 1 << 32
    samples = [
        Sample("kmem:kmem_mm_enter", 100, 10, mm=MM),
        Sample("kmem:kmem_scan_mm_start", 1000, 40, mm=MM),
        Sample("kmem:kmem_scan_mm_end", 3000, 40, mm=MM, start=0, total=2, scan_period=2000,
               scan_size=1 << 30, target_node=0),
        Sample("kmem:kmem_scan_mm_migrate", 4000, 41, mm=MM, rc=u32 - 11, target_node=0,
               msuccess=0, mfailed=1),
        Sample("kmem:kmem_scan_mm_migrate", 4100, 41, mm=MM, rc=11, target_node=0,
               msuccess=0, mfailed=2),
        Sample("kmem:kmem_scan_mm_migrate", 4200, 41, mm=MM, rc="bad", target_node=0,
               msuccess=0, mfailed=3),
        Sample("kmem:kmem_mm_exit", 5000, 10, mm=MM),
        Sample("irq:irq_handler_entry", 5100, 0),
    ]
    session = Session(Options(json=True))
    perfmodule.feed(session, "x.data", FakePerf(samples, {10: "app", 40: "kscand"}))
    report = json.loads(session.finish())
    assert report["events"] == {"kmem_mm_enter": 1, "kmem_mm_exit": 1,
                                "kmem_scan_mm_start": 1, "kmem_scan_mm_end": 1,
                                "kmem_scan_mm_migrate": 2}
    assert report["scans"]["completed"] == 1
    assert report["scans"]["duration_ns"]["total"] == 2000
    # -11 (EAGAIN) and +11 (LRU isolation) stay apart: the sign was restored
    assert {rc: v["count"] for rc, v in report["migrations"]["by_rc"].items()} == {
        "-11": 1, "11": 1}
    assert report["bad_events"] == {"kmem:kmem_scan_mm_migrate": 1}
    assert report["unhandled_events"] == {"irq:irq_handler_entry": 1}
    mm = report["mms"][0]
    assert (mm["pid"], mm["comm"]) == (10, "app")


def test_readable_only_file_mode(tmp_path: Any) -> None:
    f = tmp_path / "file.data"
    f.write_bytes(b"PERFILE2" + (104).to_bytes(8, "little") + bytes(88))
    p = tmp_path / "pipe.data"
    p.write_bytes(b"PERFILE2" + (16).to_bytes(8, "little"))
    assert perfmodule.readable(str(f)) is True
    assert perfmodule.readable(str(p)) is False
    assert perfmodule.readable("-") is False
    assert perfmodule.readable(str(tmp_path / "none")) is False


def test_no_session_api_without_perf(monkeypatch: Any) -> None:
    import sys
    monkeypatch.setitem(sys.modules, "perf", None)  # import perf fails
    assert perfmodule.session_api() is None
