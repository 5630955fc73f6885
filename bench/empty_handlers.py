# The baseline of the benchmark: the same handlers as kscand_report.py with empty
# bodies, so the ratio measures what our analysis costs above perf's own dispatch.


def trace_begin():
    pass


def trace_end():
    pass


def kmem__kmem_mm_enter(event_name, context, common_cpu, common_secs, common_nsecs,
                        common_pid, common_comm, common_callchain, mm=None, *extra):
    pass


def kmem__kmem_mm_exit(event_name, context, common_cpu, common_secs, common_nsecs,
                       common_pid, common_comm, common_callchain, mm=None, *extra):
    pass


def kmem__kmem_scan_mm_start(event_name, context, common_cpu, common_secs, common_nsecs,
                             common_pid, common_comm, common_callchain, mm=None, *extra):
    pass


def kmem__kmem_scan_mm_end(event_name, context, common_cpu, common_secs, common_nsecs,
                           common_pid, common_comm, common_callchain, mm=None, start=None,
                           total=None, scan_period=None, scan_size=None, target_node=None,
                           *extra):
    pass


def kmem__kmem_scan_mm_migrate(event_name, context, common_cpu, common_secs, common_nsecs,
                               common_pid, common_comm, common_callchain, mm=None, rc=None,
                               target_node=None, msuccess=None, mfailed=None, *extra):
    pass


def trace_unhandled(event_name, context, event_fields_dict, *perf_sample_dict):
    pass
