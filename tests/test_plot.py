"""--plot: what each figure shows is the report's figures (read back from the figure
objects), the files are valid images of the stated size, the README's image is current,
and without matplotlib the report says so in one line (exit 2)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Any, Dict

import pytest

from conftest import ROOT, require
from kscand_perf import feed as reader_feed
from kscand_perf.options import parse
from kscand_perf.report import Report, log2_rows
from kscand_perf.session import Session

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
README_IMAGE = os.path.join(ROOT, "docs", "img", "sample-promotions.png")
README_PLOT_ARGS = ["--interval", "0.2"]  # what `make readme-plot` runs (see Makefile)


def have_matplotlib() -> None:
    require(importlib.util.find_spec("matplotlib") is not None,
            "matplotlib is not installed (apt-get install python3-matplotlib)")


def sample_report(argv: Any = README_PLOT_ARGS) -> Report:
    session = Session(parse(list(argv)))
    with open(SAMPLE, "rb") as f:
        reader_feed.feed(session, f)
    return session.report()


@pytest.fixture(scope="module")
def plotted() -> Dict[str, Any]:
    have_matplotlib()
    from kscand_perf.render import plot
    report = sample_report()
    figs = plot.figures(report, 1000)
    return {"report": report, "figs": figs,
            "data": {n: plot.figure_data(f)["axes"][0] for n, f in figs.items()}}


def close(a: Any, b: Any) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-6 * max(1.0, abs(y)) for x, y in zip(a, b))


def test_promotions_per_second_by_outcome(plotted: Dict[str, Any]) -> None:
    rows = plotted["report"].over_time.rows
    ok, failed = plotted["data"]["promotions"]["bars"]
    assert ok["label"] == "succeeded" and failed["label"] == "failed"
    assert close(ok["height"], [r.per_second(r.succeeded) for r in rows])
    assert close(failed["height"], [r.per_second(r.failed) for r in rows])
    assert close(failed["bottom"], ok["height"])  # stacked
    assert sum(r.attempted for r in rows) == plotted["report"].migrations.attempted > 0


def test_cumulative_promoted_pages(plotted: Dict[str, Any]) -> None:
    rows = plotted["report"].over_time.rows
    (line,) = plotted["data"]["cumulative"]["lines"]
    assert line["y"] == [0] + [r.cumulative_succeeded for r in rows]
    assert line["y"][-1] == plotted["report"].migrations.succeeded


def test_scan_duration_histogram(plotted: Dict[str, Any]) -> None:
    (bars,) = plotted["data"]["scan_durations"]["bars"]
    assert bars["height"] == [n for _, _, n in log2_rows(plotted["report"].scans.log2)]


def test_scan_period_of_the_top_mms(plotted: Dict[str, Any]) -> None:
    over = plotted["report"].over_time
    lines = plotted["data"]["scan_period"]["lines"]
    top = over.top_mms(5)
    assert len(lines) == len(top) > 0
    origin = over.rows[0].start_ns
    for line, m in zip(lines, top):
        # each period spans the gap before its end (from the previous end), the first
        # its own length back from the first end
        assert line["y"] == [m.points[0][1]] + [p[1] for p in m.points]
        x = [(p[0] - origin) / 1e9 for p in m.points]
        assert close(line["x"], [max(0.0, x[0] - m.points[0][1] / 1e3)] + x)
        assert line["label"].startswith("0x%x" % m.mm)
    for ln in plotted["figs"]["scan_period"].axes[0].lines:
        assert ln.get_drawstyle() == "steps-pre"


class _Mm:
    def __init__(self, mm: int, points: Any) -> None:
        self.mm, self.generation, self.pid, self.comm, self.points = mm, 0, 7, "x", points


class _Over:
    def __init__(self, mms: Any) -> None:
        self.rows: Any = []
        self.mms = mms

    def top_mms(self, n: int) -> Any:
        return self.mms[:n]


def test_scan_period_draws_each_period_over_the_gap_before_its_end() -> None:
    """Ends at 2 s (period 2,000 ms) and 5 s (3,000 ms): 2,000 is drawn from 0 to 2 s and
    3,000 from 2 to 5 s, never 3,000 after 5 s (steps-post drew each over the next gap)."""
    have_matplotlib()
    from matplotlib.cbook import STEP_LOOKUP_MAP
    from kscand_perf.render import plot
    fig = plot.scan_period(_Over([_Mm(0x10, [(2 * 10**9, 2000, 0, 0),
                                             (5 * 10**9, 3000, 0, 0)])]))
    (ln,) = fig.axes[0].lines
    xs, ys = STEP_LOOKUP_MAP[ln.get_drawstyle()](ln.get_xdata(), ln.get_ydata())
    segments = [(x0, x1, y0) for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])
                if y0 == y1 and x1 > x0]
    assert segments == [(0.0, 2.0, 2000), (2.0, 5.0, 3000)]


def test_identical_scan_period_series_are_both_visible() -> None:
    have_matplotlib()
    from kscand_perf.render import plot
    points = [(1 * 10**9, 1000, 0, 0), (2 * 10**9, 1000, 0, 0), (4 * 10**9, 2000, 0, 0)]
    fig = plot.scan_period(_Over([_Mm(0x10, points), _Mm(0x20, list(points))]))
    first, second = fig.axes[0].lines
    assert list(first.get_xdata()) == list(second.get_xdata())
    assert list(first.get_ydata()) == list(second.get_ydata())
    # drawn over each other, they differ in width, dashes and markers, and the legend
    # says which one the second repeats
    assert first.get_linewidth() > second.get_linewidth()
    assert first.get_linestyle() != second.get_linestyle()
    assert first.get_marker() != second.get_marker()
    assert second.get_label().endswith("same as 0x10")
    assert "same as" not in first.get_label()


def test_heatmap_of_duration_buckets(plotted: Dict[str, Any]) -> None:
    from kscand_perf.render.plot import heatmap_matrix
    over = plotted["report"].over_time
    (image,) = plotted["data"]["heatmap"]["images"]
    slots, matrix = heatmap_matrix(over)
    assert image == matrix
    assert sum(map(sum, matrix)) == plotted["report"].scans.completed
    for j, r in enumerate(over.rows):
        assert sum(row[j] for row in matrix) == r.scans


def test_titles_labels_units_legends(plotted: Dict[str, Any]) -> None:
    for name, d in plotted["data"].items():
        assert d["title"], name
        assert "(" in d["xlabel"] and "(" in d["ylabel"], name
    for name in ("promotions", "cumulative", "scan_durations", "scan_period"):
        assert plotted["figs"][name].axes[0].get_legend() is not None, name


def test_png_and_svg_files(plotted: Dict[str, Any], tmp_path: Any) -> None:
    from kscand_perf.render import plot
    paths = plot.save_all(plotted["figs"], str(tmp_path))
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        n + ext for n in plot.FIGURES for ext in (".png", ".svg"))
    for name, fig in plotted["figs"].items():
        width, height, texts = plot.png_info(str(tmp_path / (name + ".png")))
        assert (width, height) == (800, 450)
        assert texts[plot.DATA_KEY] == plot.digest(fig)
        with open(str(tmp_path / (name + ".svg")), encoding="utf-8") as f:
            assert f.read(200).startswith("<?xml")


def test_the_readme_image_is_current(plotted: Dict[str, Any]) -> None:
    """docs/img/sample-promotions.png (make readme-plot) shows what a fresh report on the
    sample plots: the digest of the plotted data it carries equals a fresh one."""
    from kscand_perf.render import plot
    width, height, texts = plot.png_info(README_IMAGE)
    assert (width, height) == (800, 450)
    assert texts.get(plot.DATA_KEY) == plot.digest(plotted["figs"]["promotions"]), \
        "docs/img/sample-promotions.png is out of date: run make readme-plot"


def test_plot_option_writes_files_from_every_front_end(perf: str, tmp_path: Any) -> None:
    have_matplotlib()
    script = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
    outs = []
    for name, cmd in (("perf", [perf, "script", "-s", script, "-i", SAMPLE, "--"]),
                      ("ours", [sys.executable, os.path.join(ROOT, "bin", "kscand-perf"),
                                "report", "-i", SAMPLE])):
        folder = str(tmp_path / name)
        proc = subprocess.run(cmd + ["--plot", folder], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
        assert len(os.listdir(folder)) == 10
        outs.append(proc.stdout.decode().replace(folder, "DIR"))
    assert outs[0] == outs[1]
    assert "wrote 10 plot files to DIR" in outs[0]


def test_without_matplotlib_one_line_and_exit_2(tmp_path: Any) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None; sys.path.insert(0, %r); "
            "from kscand_perf.cli import main; sys.exit(main(sys.argv[1:]))" % ROOT)
    proc = subprocess.run([sys.executable, "-c", code, "report", "-i", SAMPLE, "--plot",
                           str(tmp_path / "p")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "matplotlib" in err, err
    assert proc.stdout == b"" and not os.path.exists(str(tmp_path / "p"))
