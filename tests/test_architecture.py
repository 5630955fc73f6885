"""The shape of the code: data flows one way and the product stands apart from its tests.

events -> analysis -> report -> render -> front ends. These tests read the sources
(no imports), so a cycle or a stray dependency fails here with the modules named.
"""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Set

from conftest import ROOT

PACKAGE = "kscand_perf"
TESTKIT = "kscand_testkit"


def modules(package: str) -> Dict[str, str]:
    """Dotted module name -> path, for every .py file of ``package``."""
    out = {}
    base = os.path.join(ROOT, package)
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            out[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return out


def imports_of(module: str, path: str) -> Set[str]:
    """Every module ``module`` imports, at the top or inside functions, resolved to
    dotted names (``from . import x`` gives ``pkg.x`` when that is a module)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    is_package = path.endswith("__init__.py")
    here = module.split(".") if is_package else module.split(".")[:-1]
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update("%s.%s" % (target, alias.name) for alias in node.names)
    return found


def graph(package: str) -> Dict[str, Set[str]]:
    mods = modules(package)
    return {m: {i for i in imports_of(m, p) if i in mods and i != m} for m, p in mods.items()}


def cycles(g: Dict[str, Set[str]]) -> List[List[str]]:
    """Every cycle found by a depth-first walk (each reported once, from where it closes)."""
    found: List[List[str]] = []
    state: Dict[str, int] = {}
    stack: List[str] = []

    def walk(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g[m]):
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                walk(n)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            walk(m)
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_import_graph_of_the_product_is_acyclic() -> None:
    g = graph(PACKAGE)
    assert "kscand_perf.report" in g and "kscand_perf.render.text" in g
    assert cycles(g) == []


def test_data_flows_one_way() -> None:
    g = graph(PACKAGE)
    layers = [
        {"kscand_perf.events", "kscand_perf.histogram", "kscand_perf.errors"},
        {"kscand_perf.analysis", "kscand_perf.vmstat", "kscand_perf.timeline"},
        {"kscand_perf.report"},
        {"kscand_perf.render", "kscand_perf.render.format", "kscand_perf.render.text",
         "kscand_perf.render.machine", "kscand_perf.render.plot"},
    ]
    for i, layer in enumerate(layers):
        later = set().union(*layers[i + 1:]) if i + 1 < len(layers) else set()
        front_ends = {"kscand_perf.options", "kscand_perf.session", "kscand_perf.cli",
                      "kscand_perf.record", "kscand_perf.cmd_report"}
        for m in layer:
            reach = g[m] & (later | front_ends)
            assert not reach, "%s imports %s, which come after it" % (m, sorted(reach))
    # the counter comparison is pure: nothing from the report or its renderers, no I/O
    assert g["kscand_perf.vmstat"] == set()


def test_the_product_never_imports_the_test_machinery() -> None:
    for m, path in modules(PACKAGE).items():
        bad = {i for i in imports_of(m, path) if i.split(".")[0] == TESTKIT}
        assert not bad, "%s imports %s" % (m, sorted(bad))


def test_no_function_takes_untyped_options() -> None:
    """Options travel as kscand_perf.options.Options (or what they configure), never Any."""
    for m, path in modules(PACKAGE).items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for arg in node.args.args + node.args.kwonlyargs:
                    ann = ast.unparse(arg.annotation) if arg.annotation else ""
                    assert not (arg.arg in ("options", "opts") and ann in ("", "Any")), \
                        "%s.%s takes %s: %r" % (m, node.name, arg.arg, ann)


def test_the_reader_stands_alone() -> None:
    """kscand_perf.read knows perf.data and nothing of kscand: it imports no other module
    of the product (perfreader, its old name, only re-exports it) but the interpreter
    module, a leaf that names this Python and the fix when a module (zstd) is missing."""
    g = graph(PACKAGE)
    readers = {m for m in g if m == "kscand_perf.read" or m.startswith("kscand_perf.read.")}
    assert "kscand_perf.read.records" in readers
    assert not g["kscand_perf.interpreter"]
    for m in readers:
        outside = {i for i in g[m] if i not in readers and i != "kscand_perf.interpreter"}
        assert not outside, "%s imports %s" % (m, sorted(outside))
    assert g["kscand_perf.perfreader"] <= readers


def test_no_module_over_800_lines() -> None:
    """Every module of the product stays readable: 800 lines at most."""
    for m, path in modules(PACKAGE).items():
        with open(path, encoding="utf-8") as f:
            lines = sum(1 for _ in f)
        assert lines <= 800, "%s has %d lines" % (m, lines)
