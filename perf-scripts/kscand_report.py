# kscand_report.py: scan durations, scan adaptation and promotions of kscand.
#
# Usage: perf script -s kscand_report.py [-i perf.data] [-- OPTIONS]
#        python3 kscand_report.py -h      (all options; perf needs a perf.data first)
#        python3 kscand_report.py [-i perf.data] [OPTIONS]     (on its own: see below)
#        perf script kscand_report.py [-i perf.data] [OPTIONS] (perf 7.4 and later)
#
# On its own (not inside perf script -s), it reads the recording through perf's
# Python module where that offers its session API (perf 7.3 and later), else
# through kscand-perf's own perf.data reader: the same report either way.
#
# Record with: perf record -e 'kmem:kmem_scan_mm_*' -e 'kmem:kmem_mm_*' \
#     -e sched:sched_process_fork -e sched:sched_process_exec \
#     -e sched:sched_process_exit -a -m 16M --affinity=cpu -- WORKLOAD
#   (kscand-record also records the kernel's migrate:mm_migrate_pages and
#   migrate:mm_migrate_pages_start where the kernel has them: "Promotions by mechanism")
#
# Each handler turns perf's arguments into one call on the analysis core
# (kscand_perf.analysis.Analyzer) and nothing else; the start handler, the
# hottest, is the core's own (Analyzer.start_handler, put in place by
# trace_begin): it passes every start it does not do in line to this script's.
# Data a handler cannot use is counted and shown in the report, never fatal: the
# field reads and conversions are guarded, and so are the data errors the core
# raises for what it refuses (BAD_DATA); a bug of the analysis raises, so that it is
# seen instead of being counted as a bad event. `int` fields arrive
# zero-extended from perf up to 7.3 (patch/perf/0001 fixes that in perf) and
# are made signed again here; the conversion stays for the older perfs, and
# leaves a value perf already made signed as it is. Fields have defaults so
# that an event with fewer fields than expected (another version of the
# patch) reaches the handler and is counted, instead of failing perf's call.

from __future__ import print_function

import os
import sys

# kscand-perf: package import begin
_here = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(_here, "..", "kscand_perf")):
    sys.path.insert(0, os.path.join(_here, ".."))

try:
    from kscand_perf.cost import sched_switch as _sched_switch  # noqa: E402
    from kscand_perf.errors import (  # noqa: E402
        BAD_DATA, CommandError, UsageError, quiet_stdout, stdin_is_fifo)
    from kscand_perf.session import Session  # noqa: E402
except ImportError as _e:
    if "perf_trace_context" in sys.builtin_module_names:  # inside perf script -s
        _python = "the Python %d.%d that perf embeds (prefix %s)" % (
            sys.version_info[0], sys.version_info[1], sys.prefix)
    else:
        _python = "%s (Python %d.%d)" % (sys.executable, sys.version_info[0],
                                         sys.version_info[1])
    sys.stderr.write("kscand_report.py: error: %s cannot import the kscand_perf package (%s): "
                     "install kscand-perf (make install, its .deb) or run the script from a "
                     "checkout\n" % (_python, _e))
    sys.exit(1)

# perf removes __file__ once the script's body has run.
_SCRIPT_PATH = os.path.abspath(__file__)

# The state of this run, created in trace_begin: perf's calling convention
# (module-level handler functions) leaves no other place for it.
_session = None
_core = None
# Bound methods of the two hot events (bursts of 100k+ a second), looked up once.
_scan_start = None
_migrate = None

# perf script's own options that drop samples before they reach this script.
PERF_FILTERS = ("--pid", "--tid", "--comm", "-C", "--cpu")


def _help_hint():
    """How to see the options: perf opens perf.data before the script runs, so
    `-- -h` fails without one; python3 runs this file without perf."""
    return "python3 %s -h" % _SCRIPT_PATH


def _perf_filters(cmdline, script_args):
    """perf's own filtering options in perf's command line (``cmdline``, from
    /proc/self/cmdline), not counting the script's arguments at its end."""
    if script_args and cmdline[-len(script_args):] == script_args:
        cmdline = cmdline[:-len(script_args)]
    found = set()
    for arg in cmdline:
        name = arg.split("=", 1)[0]
        if name in PERF_FILTERS:
            found.add(name)
        elif arg.startswith("-C") and arg[2:3].isdigit():  # -C0,1
            found.add("-C")
    return sorted(found)


def _perf_input(cmdline, script_args, stdin_is_fifo=False):
    """The recording perf script reads, as given on perf's command line (``-i FILE``,
    ``-iFILE``, ``--input FILE``, ``--input=FILE``); without one, perf's default:
    ``-`` when standard input is a pipe, else ``perf.data``."""
    if script_args and cmdline[-len(script_args):] == script_args:
        cmdline = cmdline[:-len(script_args)]
    found = None
    args = iter(cmdline[1:])
    for arg in args:
        if arg == "--":
            break
        if arg in ("-i", "--input"):
            found = next(args, found)
        elif arg.startswith("--input="):
            found = arg[len("--input="):]
        elif arg.startswith("-i") and not arg.startswith("--"):
            found = arg[2:]
    if found:
        return found
    return "-" if stdin_is_fifo else "perf.data"


def _cmdline():
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return None


def _perf_filter_notes(cmdline):
    if cmdline is None:
        return []
    found = _perf_filters(cmdline, sys.argv[1:])
    if not found:
        return []
    return ["perf script %s filtered the samples before the report saw them: they select "
            "the task or CPU that fired an event, and kscand's events come from the kscand "
            "and kmigrated threads, so most of them were dropped; use the report's own "
            "-- --pid/--comm, which select by the mm's owner" % "/".join(found)]


def trace_begin():
    global _session, _core, _scan_start, _migrate
    try:
        _session = Session.from_argv(sys.argv[1:], prog="kscand_report.py", live=sys.stdout)
    except UsageError as e:
        sys.stderr.write("kscand_report.py: error: %s (see: %s)\n" % (e, _help_hint()))
        sys.exit(2)
    cmdline = _cmdline()
    _session.notes.extend(_perf_filter_notes(cmdline))
    if cmdline is not None:
        _session.input = _perf_input(cmdline, sys.argv[1:], stdin_is_fifo())
    _core = _session.analyzer
    _scan_start = _core.scan_start
    _migrate = _core.migrate
    # the hottest handler: the usual start done in line by the core (see start_handler)
    globals()["kmem__kmem_scan_mm_start"] = _argcount_hint(
        _core.start_handler(_scan_start_handler))


def trace_end():
    try:
        pieces = _session.output()
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        found = _session.strict_failures()  # --strict: one line each, exit 2
        for line in found:
            sys.stderr.write("kscand_report.py: strict: %s\n" % line)
    except CommandError as e:
        sys.stderr.write("kscand_report.py: error: %s\n" % e)
        sys.exit(1)
    except OSError as e:  # the reader went away (EPIPE), a full disk (ENOSPC)
        quiet_stdout()
        sys.stderr.write("kscand_report.py: error: cannot write the report: %s\n"
                         % (e.strerror or e))
        sys.exit(1)
    except Exception as e:  # a bug of ours: one line, not perf's abort
        quiet_stdout()
        sys.stderr.write("kscand_report.py: internal error while reporting: %s: %s "
                         "(please report it with the perf.data file)\n"
                         % (type(e).__name__, e))
        sys.exit(1)
    if found:
        sys.exit(2)


def _bad(event_name, exc=None, secs=None, nsecs=None):
    if _session is not None:
        t = None
        if isinstance(secs, int) and isinstance(nsecs, int):
            t = secs * 1000000000 + nsecs  # for trace_time_ns: every event's time
        _session.bad(event_name, exc, t)


def kmem__kmem_mm_enter(event_name, context, common_cpu, common_secs, common_nsecs,
                        common_pid, common_comm, common_callchain, mm=None, *extra):
    if _core is None:  # (perf calls trace_begin first)
        return
    try:
        t = common_secs * 1000000000 + common_nsecs
    except Exception as e:  # a time perf could not give as numbers
        _bad(event_name, e, common_secs, common_nsecs)
        return
    try:
        _core.mm_enter(t, common_pid, common_comm, mm)
    except BAD_DATA as e:  # refused by the core, which changed nothing
        _bad(event_name, e, common_secs, common_nsecs)


def kmem__kmem_mm_exit(event_name, context, common_cpu, common_secs, common_nsecs,
                       common_pid, common_comm, common_callchain, mm=None, *extra):
    if _core is None:
        return
    try:
        t = common_secs * 1000000000 + common_nsecs
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)
        return
    try:
        _core.mm_exit(t, common_pid, common_comm, mm)
    except BAD_DATA as e:
        _bad(event_name, e, common_secs, common_nsecs)


def kmem__kmem_scan_mm_start(event_name, context, common_cpu, common_secs, common_nsecs,
                             common_pid, common_comm, common_callchain, mm=None, *extra):
    # the hot path: perf's fields go to the core as they are (it checks them)
    if _scan_start is None:
        return
    try:
        _scan_start(common_secs, common_nsecs, common_pid, mm)
    except BAD_DATA as e:
        _bad(event_name, e, common_secs, common_nsecs)


_scan_start_handler = kmem__kmem_scan_mm_start  # (trace_begin puts the core's in its place)


def kmem__kmem_scan_mm_end(event_name, context, common_cpu, common_secs, common_nsecs,
                           common_pid, common_comm, common_callchain, mm=None, start=None,
                           total=None, scan_period=None, scan_size=None, target_node=None,
                           *extra):
    if _core is None:
        return
    try:
        t = common_secs * 1000000000 + common_nsecs
        # signed32: perf up to 7.3 zero-extends `int` fields (patch/perf/0001 fixes it);
        # kept for the older perfs, a no-op on a value perf already made signed
        if target_node > 0x7fffffff:
            target_node -= 0x100000000
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)
        return
    try:
        _core.scan_end(t, common_pid, mm, start, total, scan_period, scan_size, target_node)
    except BAD_DATA as e:
        _bad(event_name, e, common_secs, common_nsecs)


def kmem__kmem_scan_mm_migrate(event_name, context, common_cpu, common_secs, common_nsecs,
                               common_pid, common_comm, common_callchain, mm=None, rc=None,
                               target_node=None, msuccess=None, mfailed=None, *extra):
    # RFC V1/V2 events have no msuccess/mfailed: they arrive as None.
    if _migrate is None:
        return
    try:
        # signed32, as in kmem__kmem_scan_mm_end (perf up to 7.3 zero-extends them)
        if rc > 0x7fffffff:
            rc -= 0x100000000
        if target_node > 0x7fffffff:
            target_node -= 0x100000000
        if msuccess is not None:
            if msuccess > 0x7fffffff:
                msuccess -= 0x100000000
            if mfailed > 0x7fffffff:
                mfailed -= 0x100000000
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)
        return
    try:
        _migrate(common_secs, common_nsecs, common_pid, mm, rc, target_node, msuccess, mfailed)
    except BAD_DATA as e:
        _bad(event_name, e, common_secs, common_nsecs)


def sched__sched_process_fork(event_name, context, common_cpu, common_secs, common_nsecs,
                              common_pid, common_comm, common_callchain, parent_comm=None,
                              parent_pid=None, child_comm=None, child_pid=None, *extra):
    try:
        _core.sched_fork(common_secs * 1000000000 + common_nsecs, common_pid, child_pid,
                         child_comm)
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)


def sched__sched_process_exec(event_name, context, common_cpu, common_secs, common_nsecs,
                              common_pid, common_comm, common_callchain, filename=None, pid=None,
                              old_pid=None, *extra):
    try:
        _core.sched_exec(common_secs * 1000000000 + common_nsecs, common_pid, filename, pid)
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)


def sched__sched_process_exit(event_name, context, common_cpu, common_secs, common_nsecs,
                              common_pid, common_comm, common_callchain, *fields):
    try:
        _core.sched_exit(common_secs * 1000000000 + common_nsecs, common_pid)
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)


# The kernel's migrate events have no handler of their own on purpose: perf hands a
# handler the fields by position, in the order of the recording's format, which differs
# between kernels (6.1 has no large_folio_split); trace_unhandled gets them by NAME.
_MIGRATE_PAGES = ("succeeded", "failed", "thp_succeeded", "thp_failed", "thp_split",
                  "large_folio_split", "mode", "reason")


def _sample_pid(sample):
    try:
        return sample["sample"]["pid"]
    except Exception:  # perf handed no sample dict: the task's pid stands for it
        return None


def _migrate_event(event_name, d, sample):
    """A migrate:mm_migrate_pages(_start) event (fields by name; absent ones None);
    ``sample``: perf's sample dict (its pid is the process, common_pid the thread)."""
    t = None
    try:
        t = d["common_s"] * 1000000000 + d["common_ns"]
        if event_name == "migrate__mm_migrate_pages":
            process = _sample_pid(sample)
            _session.mechanisms.migrate_pages(t, d["common_pid"], d["common_comm"],
                                              *[d.get(f) for f in _MIGRATE_PAGES],
                                              process=process)
        else:
            _session.mechanisms.migrate_pages_start(t, d["common_pid"], d["common_comm"],
                                                    d.get("mode"), d.get("reason"))
    except (BAD_DATA + (KeyError,)) as e:
        if _session is not None:
            _session.bad(event_name, e, t)


def define_symbolic_field(event_name, field_name):
    pass  # (perf calls it before the field's values)


def define_symbolic_value(event_name, field_name, field_value, field_str):
    # perf hands the print fmt's __print_symbolic tables when it first sees an event
    try:
        _session.mechanisms.define_symbol(event_name, field_name, int(field_value),
                                          str(field_str))
    except Exception:
        pass


def sched__sched_switch(event_name, context, common_cpu, common_secs, common_nsecs,
                        common_pid, common_comm, common_callchain, prev_comm=None,
                        prev_pid=None, prev_prio=None, prev_state=None, next_comm=None,
                        next_pid=None, *extra):
    # perf 6.1 passes the seven fields in format order (next_prio last, in extra)
    try:
        _sched_switch(_core, common_secs * 1000000000 + common_nsecs, prev_comm, prev_pid,
                      next_comm, next_pid)
    except Exception as e:
        _bad(event_name, e, common_secs, common_nsecs)


def trace_unhandled(event_name, context, event_fields_dict, perf_sample_dict=None):
    # (a fourth argument: perf hands its sample dict, with the process's pid)
    if event_name in ("migrate__mm_migrate_pages", "migrate__mm_migrate_pages_start"):
        _migrate_event(event_name, event_fields_dict, perf_sample_dict)
        return
    try:
        _session.count_unhandled(event_name)
        _core.unhandled_event(event_fields_dict["common_s"] * 1000000000
                              + event_fields_dict["common_ns"])
    except Exception:
        pass


def process_event(param_dict):
    # perf calls this for samples of non-tracepoint events (cpu-clock, cycles...),
    # which never reach trace_unhandled: counted, so none is dropped silently.
    try:
        sample = param_dict.get("sample") or {}
        _core.non_tracepoint_sample(str(param_dict.get("ev_name", "?")), sample.get("time"))
    except Exception:
        pass


def _argcount_hint(handler):
    """perf 6.1 asks each handler how many arguments it takes at every event, first under
    Python 2's name ``func_code`` and only then ``__code__``: an AttributeError raised and
    cleared per event, about a third of perf 6.1's own time per event. The code object under
    that name too makes perf's first lookup succeed (the same count; perf 6.12 and later ask
    ``__code__`` only). Returns ``handler``."""
    try:
        handler.func_code = handler.__code__
    except AttributeError:  # not a Python function: perf finds no count either way
        pass
    return handler


def _hint_handlers(names):
    for name, value in list(names.items()):
        if callable(value) and ("__" in name.strip("_") or name == "trace_unhandled"):
            _argcount_hint(value)


_hint_handlers(globals())


def _standalone():
    """Run as a program (python3 kscand_report.py, or perf 7.4's perf script NAME.py)."""
    from kscand_perf.cli import run_command
    from kscand_perf.interpreter import switch_if_needed
    # --plot under a python3 without matplotlib: /usr/bin/python3 where it has it
    switch_if_needed(sys.argv[1:], _SCRIPT_PATH)
    return run_command("report", ["--via", "auto"] + sys.argv[1:], prog="kscand_report.py")


def _under_perf():
    try:
        import perf_trace_context  # noqa: F401  (exists only inside perf script -s)
    except ImportError:
        return False
    return True


if __name__ == "__main__" and not _under_perf():
    sys.exit(_standalone())
