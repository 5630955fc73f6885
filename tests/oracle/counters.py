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


# (counter, the trace's figure it equals: docs/report.md "Promotions by mechanism", Kernel
# counters; None: NUMA balancing's own work, which the trace does not show)
STOCK = (("numa_pte_updates", None), ("numa_hint_faults", None),
         ("numa_hint_faults_local", None), ("numa_pages_migrated", "promoted"),
         ("pgpromote_success", "promoted_tiering"), ("pgpromote_candidate", None),
         ("pgdemote_kswapd", "demoted_kswapd"), ("pgdemote_direct", "demoted_direct"),
         ("pgdemote_khugepaged", "demoted_khugepaged"), ("pgmigrate_success", "moved"),
         ("pgmigrate_fail", "failed"))


def parse_vmstat(text: str) -> Dict[str, int]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, value = line.split()
            out[name] = int(value)
    return out


def kernel_counters(an: "Analysis", opts: "Options",
                    texts: Optional[Tuple[str, str]],
                    numa_balancing: Optional[int] = None) -> Optional[Dict[str, Any]]:
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
    stock, note = stock_counters(an.rec.samples, opts, texts, numa_balancing)
    extra = {"stock_counters": stock, "stock_note": note} if stock else {}
    return {"before": opts.vmstat[0], "after": opts.vmstat[1], "counters": counters, **extra,
            "all_agree": all_agree,
            # prose; a --pid/--comm/--mm selection adds a sentence even when all agree
            "causes": Prose(None if all_agree is None or opts.pids is not None
                            or opts.comm is not None or opts.mms is not None
                            else not all_agree),
            # pages found minus migrate events of the whole trace, null when the filters
            # prevent the comparison
            "unattempted_pages": max(0, found - ok - failed) if comparable else None}


def stock_counters(samples: Any, opts: "Options", texts: Tuple[str, str],
                   numa_balancing: Optional[int]) -> Tuple[List[Dict[str, Any]], Any]:
    """(stock_counters, stock_note): every STOCK counter either snapshot has, its delta and
    the trace's figure from the migrate events of perf script text (kscand: numa_misplaced
    in kmigrated; NUMA balancing: numa_misplaced elsewhere; demotion by kswapd*, khugepaged
    or else direct reclaim). No figure under --time or without mm_migrate_pages events;
    pgpromote_success only where the knobs file saved numa_balancing (tiering: bit 2; else
    it counts nothing, 0)."""
    from .compare import Sentence
    from .mechanisms import MIGRATE, mechanism_of
    calls = [s for s in samples if s.event == MIGRATE]
    fig: Optional[Dict[str, int]] = None
    note = None
    if opts.time is not None:
        note = Sentence()
    elif not calls:
        note = Sentence()
    else:
        fig = dict.fromkeys(("promoted", "demoted_kswapd", "demoted_direct",
                             "demoted_khugepaged", "moved", "failed"), 0)
        for s in calls:
            f = s.fields()
            ok, bad = int(f.get("nr_succeeded", "0"), 0), int(f.get("nr_failed", "0"), 0)
            mech = mechanism_of(s.comm, s.field("reason") or "?")
            fig["moved"] += ok
            fig["failed"] += bad
            if mech in ("kscand", "numa_balancing"):
                fig["promoted"] += ok
            elif mech == "demotion":
                ctx = ("kswapd" if s.comm.startswith("kswapd") else
                       "khugepaged" if s.comm == "khugepaged" else "direct")
                fig["demoted_" + ctx] += ok
        if numa_balancing is not None:
            fig["promoted_tiering"] = fig["promoted"] if numa_balancing & 2 else 0
    before, after = parse_vmstat(texts[0]), parse_vmstat(texts[1])
    out = []
    for name, key in STOCK:
        if name not in before and name not in after:
            continue
        delta = after[name] - before[name] if name in before and name in after else None
        trace = None if fig is None or key is None else fig.get(key)
        out.append({"name": name, "delta": delta, "includes": Sentence(), "trace": trace,
                    "agrees": None if delta is None or trace is None else delta == trace})
    return out, note
