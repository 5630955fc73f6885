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
    for line, m in zip(lines, top):
        assert line["y"] == [p[1] for p in m.points]
        assert line["label"].startswith("0x%x" % m.mm)


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
