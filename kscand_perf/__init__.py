"""kscand-perf: analyse the kscand tracepoints (kmem_mm_*, kmem_scan_mm_*) from perf traces."""

__version__ = "0.1.0"
