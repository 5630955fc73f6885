"""The real-kscand stage's reading of a guest console that ended in a crash: which crash
it boots again for (before the job: always, within BOOT_RETRIES), which it runs the job
again for (during the job: once), and the line it reports. No QEMU needed."""
from __future__ import annotations

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_stage():
    spec = importlib.util.spec_from_file_location(
        "kscand_stage", os.path.join(ROOT, "e2e", "kscand", "stage.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BOOT = "[    0.000000] Linux version 6.12.0-kscand\n"
OOPS = ("[   82.512000] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[   82.512100] RIP: 0010:__schedule+0x1a5/0x1040\n")
STEP = "E2E-STEP record kscand at 12.3 s\n"


def write(tmp_path, text):
    path = tmp_path / "console.log"
    path.write_text(text)
    return str(path)


def test_a_crash_while_booting_is_before_the_job(tmp_path):
    stage = load_stage()
    console = write(tmp_path, BOOT + OOPS)
    assert stage.oopsed(console)
    assert stage.crashed_before_job(console)
    assert stage.crash_line(console).startswith("[   82.512000] Oops: int3")


def test_a_crash_after_a_step_is_during_the_job(tmp_path):
    stage = load_stage()
    console = write(tmp_path, BOOT + STEP + OOPS)
    assert stage.oopsed(console)
    assert not stage.crashed_before_job(console)


def test_a_failed_job_without_a_crash_is_not_retried(tmp_path):
    stage = load_stage()
    console = write(tmp_path, BOOT + STEP + "E2E-EXIT 1\n")
    assert not stage.oopsed(console)
    assert not stage.crashed_before_job(console)
    assert stage.crash_line(console) == ""


def test_a_bug_and_a_panic_count_as_crashes(tmp_path):
    stage = load_stage()
    for line in ("BUG: kernel NULL pointer dereference, address: 0\n",
                 "Kernel panic - not syncing: Fatal exception\n"):
        assert stage.oopsed(write(tmp_path, BOOT + STEP + line))


def test_a_missing_console_is_no_crash(tmp_path):
    stage = load_stage()
    missing = str(tmp_path / "none.log")
    assert not stage.oopsed(missing)
    assert not stage.crashed_before_job(missing)
