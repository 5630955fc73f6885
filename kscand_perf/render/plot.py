"""--plot: the report over time as matplotlib figures (Agg, no display needed).

:func:`figures` makes the figures from the result model (no I/O, no arithmetic on
events: every plotted number is the report's); :func:`save_all` writes each as PNG and
SVG. :func:`figure_data` reads the plotted data back from a figure's artists (the tests
hold it against the report, and each PNG carries its digest, so a committed image can
be checked against a fresh run without comparing pixels).

matplotlib is optional: import this module only for --plot (kscand_perf.session
checks that matplotlib is there before the trace is read).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List, Tuple

import matplotlib  # type: ignore[import]

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # type: ignore[import]  # noqa: E402,E501
from matplotlib.figure import Figure  # type: ignore[import]  # noqa: E402

from ..report import OverTime, Report, log2_rows, mm_key  # noqa: E402
from .text import UNIT_NAME  # noqa: E402

SIZE_INCHES = (8.0, 4.5)
DPI = 100  # PNGs are 800 x 450 pixels
TOP_MMS = 5
DATA_KEY = "kscand-perf-data"  # PNG text chunk: sha256 of figure_data()

FIGURES = ("promotions", "cumulative", "scan_durations", "scan_period", "heatmap")


def _figure() -> Tuple[Figure, Any]:
    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _times(over: OverTime) -> Tuple[List[float], int]:
    origin = over.rows[0].start_ns if over.rows else 0
    return [(r.start_ns - origin) / 1e9 for r in over.rows], origin


def promotions(over: OverTime) -> Figure:
    fig, ax = _figure()
    x, origin = _times(over)
    width = over.interval_ns / 1e9
    ok = [r.per_second(r.succeeded) or 0.0 for r in over.rows]  # (None: covers no time)
    failed = [r.per_second(r.failed) or 0.0 for r in over.rows]
    ax.bar(x, ok, width=width, align="edge", label="succeeded", color="tab:green")
    ax.bar(x, failed, width=width, align="edge", bottom=ok, label="failed", color="tab:red")
    ax.set_title("Promotion attempts per second, by outcome")
    ax.set_xlabel("time since perf time %.3f s (s)" % (origin / 1e9))
    ax.set_ylabel("attempts per second (1/s)")
    ax.legend(loc="upper right")
    return fig


def cumulative(over: OverTime) -> Figure:
    fig, ax = _figure()
    x, origin = _times(over)
    ends = [xi + (r.end_ns - r.start_ns) / 1e9 for xi, r in zip(x, over.rows)]
    ax.plot([0.0] + ends, [0] + [r.cumulative_succeeded for r in over.rows],
            drawstyle="steps-post", label="promoted pages", color="tab:blue")
    ax.set_title("Cumulative promoted pages")
    ax.set_xlabel("time since perf time %.3f s (s)" % (origin / 1e9))
    ax.set_ylabel("promoted pages (count)")
    ax.legend(loc="lower right")
    return fig


def scan_durations(report: Report, unit_ns: int) -> Figure:
    fig, ax = _figure()
    u = UNIT_NAME[unit_ns]
    rows = log2_rows(report.scans.log2)
    labels = ["%d-%d" % (lo, hi) for lo, hi, _ in rows]
    ax.bar(range(len(rows)), [n for _, _, n in rows], label="completed scans",
           color="tab:purple")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.set_title("Scan duration histogram (log2 buckets)")
    ax.set_xlabel("scan duration (%s)" % u)
    ax.set_ylabel("completed scans (count)")
    ax.legend(loc="upper right")
    fig.subplots_adjust(bottom=0.25)
    return fig


# One style per line of the scan-period plot: widths fall and dashes differ, so a series
# that equals an earlier one is drawn over it and both stay visible.
PERIOD_STYLES = (("-", "o", 3.5, 7), ("--", "s", 2.5, 5), (":", "^", 2.0, 4),
                 ("-.", "v", 1.5, 3), ((0, (1, 1)), "x", 1.0, 3))


def period_steps(points: List[Tuple[int, int, int, int]], origin: int) -> Tuple[
        List[float], List[int]]:
    """(x in s since ``origin``, period in ms) of a scan-period line drawn as steps-pre:
    the period an end reports is the gap before that end, so each value spans from the
    previous end to its own; the first spans its own length back from the first end
    (from the origin at the earliest)."""
    x = [(t - origin) / 1e9 for t, _, _, _ in points]
    y = [period for _, period, _, _ in points]
    if not points:
        return x, y
    return [max(0.0, x[0] - y[0] / 1e3)] + x, [y[0]] + y


def scan_period(over: OverTime) -> Figure:
    fig, ax = _figure()
    _, origin = _times(over)
    drawn: List[Tuple[Tuple[int, ...], str]] = []
    for i, m in enumerate(over.top_mms(TOP_MMS)):
        label = "%s gen %d (%s %s)" % (mm_key(m.mm), m.generation,
                                       "-" if m.pid is None else m.pid, m.comm or "?")
        series = tuple(v for p in m.points for v in p[:2])
        same = next((name for s, name in drawn if s == series), None)
        drawn.append((series, mm_key(m.mm)))
        if same is not None:
            label += ", same as %s" % same
        x, y = period_steps(m.points, origin)
        style, marker, width, size = PERIOD_STYLES[i % len(PERIOD_STYLES)]
        ax.plot(x, y, linestyle=style, linewidth=width, marker=marker, markersize=size,
                markevery=list(range(1, len(x))), drawstyle="steps-pre", label=label)
    ax.set_title("Scan period reported at each scan end (the gap before it), top %d mms"
                 % TOP_MMS)
    ax.set_xlabel("time since perf time %.3f s (s)" % (origin / 1e9))
    ax.set_ylabel("scan period (ms)")
    if over.mms:
        ax.legend(loc="best", fontsize=7)
    return fig


def heatmap_matrix(over: OverTime) -> Tuple[List[int], List[List[int]]]:
    """(log2 slots, from the first used to the last, and counts[slot][interval])."""
    used = sorted({max(k, 1) for r in over.rows for k in r.log2})
    if not used:
        return [], []
    slots = list(range(used[0], used[-1] + 1))
    matrix = [[0] * len(over.rows) for _ in slots]
    for j, r in enumerate(over.rows):
        for k, n in r.log2.items():
            matrix[max(k, 1) - slots[0]][j] += n
    return slots, matrix


def heatmap(over: OverTime, unit_ns: int) -> Figure:
    fig, ax = _figure()
    x, origin = _times(over)
    slots, matrix = heatmap_matrix(over)
    u = UNIT_NAME[unit_ns]
    if slots:
        end = x[-1] + (over.rows[-1].end_ns - over.rows[-1].start_ns) / 1e9
        im = ax.imshow(matrix, aspect="auto", origin="lower", interpolation="nearest",
                       cmap="viridis", extent=(0.0, end, -0.5, len(slots) - 0.5))
        ax.set_yticks(range(len(slots)))
        ax.set_yticklabels(["%d-%d" % (0 if s == 1 else 1 << (s - 1), (1 << s) - 1)
                            for s in slots], fontsize=7)
        fig.colorbar(im, ax=ax, label="completed scans (count)")
    ax.set_title("Scan durations per interval (log2 buckets)")
    ax.set_xlabel("time since perf time %.3f s (s)" % (origin / 1e9))
    ax.set_ylabel("scan duration (%s)" % u)
    return fig


MECHANISM_STYLES = (("kscand", "kscand (kmigrated)", "tab:green", "-"),
                    ("numa_balancing", "NUMA balancing", "tab:blue", "-"),
                    ("damon", "DAMON", "tab:orange", "-"),
                    ("demotion", "demotion", "tab:red", "--"))


def mechanisms(over: OverTime) -> Figure:
    """Pages moved per second by each mechanism, demotions beside the promotions (both
    high at once is ping-pong); the kernel's migrate events (Promotions by mechanism)."""
    fig, ax = _figure()
    x, origin = _times(over)
    ends = [xi + (r.end_ns - r.start_ns) / 1e9 for xi, r in zip(x, over.rows)]
    for key, label, color, style in MECHANISM_STYLES:
        y = [r.per_second((r.mechanisms or {}).get(key, 0)) or 0.0 for r in over.rows]
        ax.plot([v for a, b in zip(x, ends) for v in (a, b)],
                [v for v in y for _ in (0, 1)], label=label, color=color, linestyle=style)
    ax.set_title("Pages moved per second, by mechanism")
    ax.set_xlabel("time since perf time %.3f s (s)" % (origin / 1e9))
    ax.set_ylabel("pages per second (1/s)")
    ax.legend(loc="upper right")
    return fig


def figures(report: Report, unit_ns: int = 1000) -> Dict[str, Figure]:
    """name -> figure, for a report built with --interval or --plot (and "mechanisms"
    when the recording has the kernel's migrate events)."""
    over = report.over_time
    assert over is not None, "figures need the report over time (--interval or --plot)"
    out = {
        "promotions": promotions(over),
        "cumulative": cumulative(over),
        "scan_durations": scan_durations(report, unit_ns),
        "scan_period": scan_period(over),
        "heatmap": heatmap(over, unit_ns),
    }
    if report.mechanisms is not None:
        out["mechanisms"] = mechanisms(over)
    return out


def _plain(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return _plain(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float):
        return round(v, 6)
    return v


def figure_data(fig: Figure) -> Dict[str, Any]:
    """What a figure shows, read back from its artists: per axes its title, labels,
    lines (label, x, y), bar series (label, x, heights, bottoms) and images (array)."""
    out = []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        lines = [{"label": ln.get_label(), "x": _plain(ln.get_xdata()),
                  "y": _plain(ln.get_ydata())} for ln in ax.lines]
        bars = [{"label": c.get_label(), "x": _plain([p.get_x() for p in c.patches]),
                 "height": _plain([p.get_height() for p in c.patches]),
                 "bottom": _plain([p.get_y() for p in c.patches])} for c in ax.containers]
        images = [_plain(im.get_array()) for im in ax.images]
        out.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                    "ylabel": ax.get_ylabel(), "lines": lines, "bars": bars,
                    "images": images,
                    "yticklabels": [t.get_text() for t in ax.get_yticklabels()]
                    if ax.images else []})
    return {"axes": out}


def digest(fig: Figure) -> str:
    text = json.dumps(figure_data(fig), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def save(fig: Figure, path_base: str) -> List[str]:
    """PNG (with the digest of its data in a text chunk) and SVG, without dates."""
    png, svg = path_base + ".png", path_base + ".svg"
    fig.savefig(png, format="png", metadata={DATA_KEY: digest(fig), "Software": None})
    with matplotlib.rc_context({"svg.hashsalt": "kscand-perf"}):
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


def save_all(figs: Dict[str, Figure], folder: str) -> List[str]:
    paths: List[str] = []
    for name, fig in figs.items():
        paths += save(fig, os.path.join(folder, name))
    return paths


def png_info(path: str) -> Tuple[int, int, Dict[str, str]]:
    """(width, height, text chunks) of a PNG file; ValueError if it is none."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("%s is not a PNG file" % path)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    texts: Dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            texts[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IEND":
            break
        pos += 12 + length
    return width, height, texts


__all__ = ["FIGURES", "figures", "figure_data", "digest", "save", "save_all", "png_info",
           "heatmap_matrix"]
