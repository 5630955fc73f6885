"""--vmstat: the kernel's nr_kscand_* counters against the trace (docs/kernel-counters.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    from .core import Analysis, Options

COMPARED = (("nr_kscand_mm_scans", "scan ends"),
            ("nr_kscand_migrated", "migrate events, rc == 0"),
            ("nr_kscand_migrate_failed", "migrate events, rc != 0"),
            ("nr_kscand_migadded", "pages found by scans (queued)"))
DELTA_ONLY = ("nr_kscand_vma_scans", "nr_kscand_slowtier", "nr_kscand_toptier",
              "nr_kscand_idlepage", "nr_kscand_hotpage", "nr_kscand_coldpage")


def parse_vmstat(text: str) -> Dict[str, int]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, value = line.split()
            out[name] = int(value)
    return out


def kernel_counters(an: "Analysis", opts: "Options",
                    texts: Optional[Tuple[str, str]]) -> Optional[Dict[str, Any]]:
    if opts.vmstat is None or texts is None:
        return None
    before, after = parse_vmstat(texts[0]), parse_vmstat(texts[1])
    # the whole trace's figures (every lifetime); --time/--node: nothing compared
    lives = list(an.lives.values())
    comparable = opts.time is None and opts.node is None
    ends = sum(len(life.ends) for life in lives)
    ok = sum(1 for life in lives for m in life.migrates if m.values["rc"] == 0)
    failed = sum(len(life.migrates) for life in lives) - ok
    found = sum(life.pages_found() for life in lives)
    trace = dict(zip([n for n, _ in COMPARED], (ends, ok, failed, found)))
    counters: List[Dict[str, Any]] = []
    for name, meaning in list(COMPARED) + [(n, None) for n in DELTA_ONLY]:
        missing = name not in before or name not in after
        delta = None if missing else after[name] - before[name]
        t = trace.get(name) if comparable else None
        counters.append({
            "name": name, "before": before.get(name) if not missing else None,
            "after": after.get(name) if not missing else None, "delta": delta,
            "trace": t, "trace_meaning": meaning,
            "agrees": None if (t is None or missing) else delta == t,
            "missing": missing})
    verdicts = [c["agrees"] for c in counters if c["agrees"] is not None]
    all_agree = all(verdicts) if verdicts else None
    from .compare import Prose
    return {"before": opts.vmstat[0], "after": opts.vmstat[1], "counters": counters,
            "all_agree": all_agree,
            # prose; a --pid/--comm/--mm selection adds a sentence even when all agree
            "causes": Prose(None if all_agree is None or opts.pids is not None
                            or opts.comm is not None or opts.mms is not None
                            else not all_agree),
            # pages found minus migrate events of the whole trace, null when the filters
            # prevent the comparison
            "unattempted_pages": max(0, found - ok - failed) if comparable else None}
