# kscand_report.py: scan durations, scan adaptation and promotions of kscand.
#
# Usage: perf script -s kscand_report.py [-i perf.data] [-- OPTIONS]
#        perf script -s kscand_report.py -- -h      (all options)
#
# Record with: perf record -e 'kmem:kmem_scan_mm_*' -e 'kmem:kmem_mm_*' \
#     -e sched:sched_process_fork -e sched:sched_process_exec \
#     -e sched:sched_process_exit -a -m 16M --affinity=cpu -- WORKLOAD
#
# Each handler turns perf's arguments into one call on the analysis core
# (kscand_perf.analysis.Analyzer) and nothing else. A handler must never
# raise (perf would abort and the report would be lost): data it cannot use
# is counted and shown in the report. `int` fields arrive zero-extended from
# perf 6.1 and are made signed again here. Fields have defaults so that an
# event with fewer fields than expected (another version of the patch)
# reaches the handler and is counted, instead of failing perf's call.

from __future__ import print_function

import os
import sys

# kscand-perf: package import begin (tools/mk-kernel-patch.py replaces this block)
_here = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(_here, "..", "kscand_perf")):
    sys.path.insert(0, os.path.join(_here, ".."))

from kscand_perf.errors import CommandError, UsageError  # noqa: E402
from kscand_perf.session import Session  # noqa: E402
# kscand-perf: package import end

# The state of this run, created in trace_begin: perf's calling convention
# (module-level handler functions) leaves no other place for it.
_session = None
_core = None
# Bound methods of the two hot events (bursts of 100k+ a second), looked up once.
_scan_start = None
_migrate = None


def trace_begin():
    global _session, _core, _scan_start, _migrate
    try:
        _session = Session.from_argv(sys.argv[1:], prog="kscand_report.py")
    except UsageError as e:
        sys.stderr.write("kscand_report.py: error: %s (see -- -h)\n" % e)
        sys.exit(2)
    _core = _session.analyzer
    _scan_start = _core.scan_start
    _migrate = _core.migrate


def trace_end():
    try:
        out = _session.finish()
    except CommandError as e:
        sys.stderr.write("kscand_report.py: error: %s\n" % e)
        sys.exit(1)
    except Exception as e:  # a bug of ours: one line, not perf's abort
        sys.stderr.write("kscand_report.py: internal error while reporting: %s: %s "
                         "(please report it with the perf.data file)\n"
                         % (type(e).__name__, e))
        sys.exit(1)
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except OSError as e:  # the reader went away (EPIPE), a full disk (ENOSPC)
        _quiet_stdout()
        sys.stderr.write("kscand_report.py: error: cannot write the report: %s\n"
                         % (e.strerror or e))
        sys.exit(1)


def _quiet_stdout():
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _bad(event_name):
    if _session is not None:
        _session.analyzer.bad(event_name)


def kmem__kmem_mm_enter(event_name, context, common_cpu, common_secs, common_nsecs,
                        common_pid, common_comm, common_callchain, mm=None, *extra):
    try:
        _core.mm_enter(common_secs * 1000000000 + common_nsecs, common_pid, common_comm, mm)
    except Exception:
        _bad(event_name)


def kmem__kmem_mm_exit(event_name, context, common_cpu, common_secs, common_nsecs,
                       common_pid, common_comm, common_callchain, mm=None, *extra):
    try:
        _core.mm_exit(common_secs * 1000000000 + common_nsecs, common_pid, common_comm, mm)
    except Exception:
        _bad(event_name)


def kmem__kmem_scan_mm_start(event_name, context, common_cpu, common_secs, common_nsecs,
                             common_pid, common_comm, common_callchain, mm=None, *extra):
    try:
        _scan_start(common_secs, common_nsecs, common_pid, mm)
    except Exception:
        _bad(event_name)


def kmem__kmem_scan_mm_end(event_name, context, common_cpu, common_secs, common_nsecs,
                           common_pid, common_comm, common_callchain, mm=None, start=None,
                           total=None, scan_period=None, scan_size=None, target_node=None,
                           *extra):
    try:
        if target_node > 0x7fffffff:
            target_node -= 0x100000000
        _core.scan_end(common_secs * 1000000000 + common_nsecs, common_pid, mm, start, total,
                       scan_period, scan_size, target_node)
    except Exception:
        _bad(event_name)


def kmem__kmem_scan_mm_migrate(event_name, context, common_cpu, common_secs, common_nsecs,
                               common_pid, common_comm, common_callchain, mm=None, rc=None,
                               target_node=None, msuccess=None, mfailed=None, *extra):
    # RFC V1/V2 events have no msuccess/mfailed: they arrive as None.
    try:
        if rc > 0x7fffffff:
            rc -= 0x100000000
        if target_node > 0x7fffffff:
            target_node -= 0x100000000
        _migrate(common_secs, common_nsecs, common_pid, mm, rc, target_node, msuccess, mfailed)
    except Exception:
        _bad(event_name)


def sched__sched_process_fork(event_name, context, common_cpu, common_secs, common_nsecs,
                              common_pid, common_comm, common_callchain, parent_comm=None,
                              parent_pid=None, child_comm=None, child_pid=None, *extra):
    try:
        _core.sched_fork(common_secs * 1000000000 + common_nsecs, common_pid, child_pid,
                         child_comm)
    except Exception:
        _bad(event_name)


def sched__sched_process_exec(event_name, context, common_cpu, common_secs, common_nsecs,
                              common_pid, common_comm, common_callchain, filename=None, pid=None,
                              old_pid=None, *extra):
    try:
        _core.sched_exec(common_secs * 1000000000 + common_nsecs, common_pid, filename, pid)
    except Exception:
        _bad(event_name)


def sched__sched_process_exit(event_name, context, common_cpu, common_secs, common_nsecs,
                              common_pid, common_comm, common_callchain, *fields):
    try:
        _core.other("sched:sched_process_exit")
    except Exception:
        _bad(event_name)


def trace_unhandled(event_name, context, event_fields_dict, *perf_sample_dict):
    try:
        _session.count_unhandled(event_name)
    except Exception:
        pass
