"""Formatting of single values and tables: the vocabulary every renderer shares.

Pure functions from numbers to strings. Tables are laid out here, in tabulate's
"simple" format to the character (tests/test_render.py holds the two side by side), so
the report needs nothing beyond the standard library and starts without importing it.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Sequence, Tuple

Row = Sequence[Any]
BAR_WIDTH = 40


def table(headers: Sequence[str], rows: Iterable[Row]) -> str:
    """An aligned text table: numbers right-aligned, text left-aligned, a column as wide
    as its widest cell and at least its header plus two, "-" rules under the headers."""
    cells = [list(r) for r in rows]
    aligns = [_align(cells, i) for i in range(len(headers))]
    body = [[_cell(c) for c in r] for r in cells]
    widths = [max([len(h) + 2] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
    lines = [_line([str(h) for h in headers], widths, aligns),
             "  ".join("-" * w for w in widths)]
    lines += [_line(r, widths, aligns) for r in body]
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int], aligns: Sequence[str]) -> str:
    return "  ".join(c.rjust(w) if a == "right" else c.ljust(w)
                     for c, w, a in zip(cells, widths, aligns)).rstrip()


def _cell(c: Any) -> str:
    return "" if c is None else str(c)


def _align(rows: List[List[Any]], i: int) -> str:
    values = [r[i] for r in rows if i < len(r) and r[i] not in (None, "", "-")]
    if values and all(_numeric(v) for v in values):
        return "right"
    return "left"


def _numeric(v: Any) -> bool:
    if isinstance(v, (int, float)):
        return True
    s = str(v).replace(",", "").replace("%", "").replace(".", "", 1).lstrip("-<>")
    return s.isdigit()


# -- formatting of values --------------------------------------------------------

def count(n: int) -> str:
    return "{:,}".format(n)


def in_unit(ns: Optional[float], unit_ns: int) -> str:
    """A duration in the report's unit: integers for ns, three decimals otherwise."""
    if ns is None:
        return "-"
    if unit_ns == 1:
        return "{:,}".format(int(round(ns)))
    return "{:,.3f}".format(ns / unit_ns)


def size(nbytes: int) -> str:
    """Bytes in the largest binary unit that keeps the value at least 1: exact values
    as integers (``256 MiB``), others with two decimals (``3.00 MiB`` for 3 MiB + 1)."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            whole, rest = divmod(nbytes, 1 << shift)
            return "%d %s" % (whole, unit) if not rest else "%.2f %s" % (
                nbytes / (1 << shift), unit)
    return "%d B" % nbytes


def percent(part: int, whole: int) -> str:
    """A share with one decimal; a share that is neither none nor all never rounds to
    0.0% or 100.0% (1 in 65,740 is "<0.1%")."""
    if not whole:
        return "-"
    text = "%.1f%%" % (100.0 * part / whole)
    if text == "0.0%" and part > 0:
        return "<0.1%"
    if text == "100.0%" and part < whole:
        return ">99.9%"
    return text


def human_ns(ns: float) -> str:
    """A duration in free text, in the unit that suits it."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return "%.3f %s" % (ns / scale, unit)
    return "%d ns" % ns


def histogram(rows: Sequence[Tuple[int, int, int]], label: str) -> str:
    """A bcc-style histogram: ``low -> high : count |****|``, under 80 columns."""
    if not rows:
        return ""
    peak = max(c for _, _, c in rows) or 1
    width = max(len(str(high)) for _, high, _ in rows)
    width = max(width, 5)
    head = "%*s : count     distribution" % (2 * width + 4, label)
    lines = [head]
    for low, high, n in rows:
        stars = int(round(BAR_WIDTH * n / peak)) if n else 0
        if n and not stars:
            stars = 1
        lines.append("%*d -> %-*d : %-9d |%-*s|" % (width, low, width, high, n,
                                                    BAR_WIDTH, "*" * stars))
    return "\n".join(lines)


def section(title: str, body: str) -> str:
    """A titled, underlined block; nothing when ``body`` is empty."""
    if not body:
        return ""
    return "%s\n%s\n%s" % (title, "=" * len(title), body)
