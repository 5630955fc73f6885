#!/usr/bin/python3
"""Build patch/0002: kscand-report for the kernel tree (tools/perf/scripts/python).

The kernel tree wants one self-contained script, so this program builds it
from the package: the modules the perf script imports (and theirs), in
dependency order, then the perf script's own code. It is the same code
joined into one namespace, not a second implementation; the only changes are
mechanical:

* intra-package imports (``from .x import y``, ``from . import x``) and the
  perf script's marked package-import block are dropped; ``x.y`` attribute
  references to a package module become plain names;
* standard-library imports are merged into one block at the top, one
  ``from __future__`` line included; imports nothing uses any more go;
* a global defined by two modules (or one shadowing a builtin, an import or a
  name of the perf script) is renamed in the module that defines it, with the
  module's name as a prefix (``text`` of vmstat becomes ``vmstat_text``);
  the generator refuses when a renamed name is also bound locally somewhere
  in that module, rather than guess;
* module docstrings become comments; ``__all__`` lists and ``if __name__ ==
  "__main__"`` blocks go (perf runs the script as ``__main__``);
* ``kscand_report.py`` becomes ``kscand-report.py``, the in-tree name.

Then the whole patch (the script, the record/report wrappers of bin/ and
the perf shell test) is committed in a scratch git repository with a fixed
author and date and written with ``git format-patch``, so running this again
on the same sources gives the same bytes.

Usage: tools/mk-kernel-patch.py [--out FILE] [--check] [--script FILE]
"""

from __future__ import annotations

import argparse
import ast
import builtins
import io
import os
import re
import subprocess
import sys
import tempfile
import tokenize
from typing import Dict, List, Optional, Sequence, Set, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "kscand_perf"
PERF_SCRIPT = "perf-scripts/kscand_report.py"
PATCH_NAME = "patch/0002-perf-scripts-python-add-kscand-report.patch"
BEGIN_MARK = "# kscand-perf: package import begin"
END_MARK = "# kscand-perf: package import end"
OLD_NAME, NEW_NAME = "kscand_report.py", "kscand-report.py"

AUTHOR = "kscand-perf developers <kscand-perf@users.noreply.invalid>"
DATE = "Wed, 25 Nov 2026 21:00:00 +0000"

# Files of the patch: path in the kernel tree -> (source in this project or
# None for the built script, git file mode).
TREE_SCRIPT = "tools/perf/scripts/python/kscand-report.py"
TREE_FILES = (
    (TREE_SCRIPT, None, "100644"),
    ("tools/perf/scripts/python/bin/kscand-report-record", "bin/kscand-report-record", "100644"),
    ("tools/perf/scripts/python/bin/kscand-report-report", "bin/kscand-report-report", "100644"),
    ("tools/perf/tests/shell/script_kscand_report.sh", "SHELL_TEST", "100755"),
)

# The perf shell test: description on line 2, as perf test reads it there.
SHELL_TEST = """\
#!/bin/sh
# perf script kscand-report tests
# SPDX-License-Identifier: GPL-2.0

set -e

err=0
perfdata=$(mktemp /tmp/__perf_test.perf.data.XXXXX)
result=$(mktemp /tmp/__perf_test.result.XXXXX)

cleanup() {
	rm -f "${perfdata}" "${perfdata}.old" "${result}"
	trap - EXIT TERM INT
}

trap_cleanup() {
	cleanup
	exit 1
}
trap trap_cleanup EXIT TERM INT

skip() {
	echo "perf script kscand-report test [Skipped: $1]"
	cleanup
	exit 2
}

if ! perf version --build-options | grep -q 'libpython: .*on'; then
	skip "perf is built without Python support"
fi
if ! perf list tracepoint 2>/dev/null | grep -q 'kmem:kmem_scan_mm_start'; then
	skip "no kscand tracepoints (CONFIG_KSCAND) or no permission to see them"
fi

test_record() {
	echo "kscand-report record test"
	if ! perf script record kscand-report -o "${perfdata}" -- sleep 1 2> "${result}"; then
		echo "kscand-report record test [Failed record]"
		cat "${result}"
		err=1
		return
	fi
	if ! perf evlist -i "${perfdata}" | grep -q 'kmem:kmem_scan_mm_migrate'; then
		echo "kscand-report record test [Failed missing event]"
		err=1
		return
	fi
	echo "kscand-report record test [Success]"
}

test_report() {
	echo "kscand-report report test"
	if ! perf script report kscand-report -i "${perfdata}" > "${result}" 2>&1; then
		echo "kscand-report report test [Failed report]"
		cat "${result}"
		err=1
		return
	fi
	if ! grep -q 'kmem_scan_mm_start' "${result}"; then
		echo "kscand-report report test [Failed missing events table]"
		err=1
		return
	fi
	if ! perf script report kscand-report -i "${perfdata}" -- --json 2> /dev/null | \\
		grep -q '"schema": "kscand-perf/1"'; then
		echo "kscand-report report test [Failed JSON output]"
		err=1
		return
	fi
	echo "kscand-report report test [Success]"
}

test_live() {
	echo "kscand-report live mode test"
	if ! perf script kscand-report sleep 1 > "${result}" 2>&1; then
		echo "kscand-report live mode test [Failed live mode]"
		cat "${result}"
		err=1
		return
	fi
	if ! grep -q 'kmem_scan_mm_start' "${result}"; then
		echo "kscand-report live mode test [Failed missing events table]"
		err=1
		return
	fi
	echo "kscand-report live mode test [Success]"
}

test_record
if [ $err = 0 ]; then
	test_report
fi
if [ $err = 0 ]; then
	test_live
fi

cleanup
exit $err
"""

HEADER = """\
# SPDX-License-Identifier: GPL-2.0
#
# kscand-report.py: scan durations, scan adaptation and promotions of kscand
#
# Reads the kscand tracepoints (kmem:kmem_mm_enter, kmem:kmem_mm_exit,
# kmem:kmem_scan_mm_start, kmem:kmem_scan_mm_end, kmem:kmem_scan_mm_migrate)
# and, when recorded, sched:sched_process_fork/exec/exit for process names.
#
#   perf script record kscand-report -- WORKLOAD   (records system wide)
#   perf script report kscand-report [-- --json | --csv DIR | -h]
#   perf script kscand-report WORKLOAD             (live, through a pipe)
#
# Needs only the Python standard library (3.7 or later); tables are drawn
# with the tabulate module when it is installed, plain otherwise.
#
# This file is the kscand-perf package ({modules}) followed by its perf \
script, joined into one namespace: names that two modules define are prefixed with \
their module's name.
"""

COMMIT_MESSAGE = """\
perf scripts python: Add kscand-report

kscand, the proposed kernel thread that scans page tables for accessed
slow-tier pages and has kmigrated promote them, reports its work through
five kmem tracepoints: kmem_mm_enter, kmem_mm_exit, kmem_scan_mm_start,
kmem_scan_mm_end and kmem_scan_mm_migrate. Single events say little:
most kmem_scan_mm_start events are visits that found the mm not due, a
scan's duration is the distance to the matching end, and the fate of the
pages a scan found shows up later in the kmigrated thread.

kscand-report pairs the events and shows:

- event counts, completed scans against not-due visits, scan ends whose
  start came before the recording, mms that exited during their scan;
- scan durations (min, mean, percentiles, a log2 histogram) and the time
  per full pass over an address space;
- how scan_period, scan_size and the target node changed;
- promotion attempts, successes and failures per node and per reason
  (rc decoded to its KSCAND_* name), kmigrated batches, and the time from
  the start of the scan that found pages to their first promotion attempt;
- the same per process: mm lifetimes are keyed by pointer and generation
  (pointers are reused), and named after the task that exited them or the
  fork/exec that followed kmem_mm_enter;
- with --vmstat BEFORE AFTER, a comparison with the nr_kscand_* counters
  of /proc/vmstat, which shows lost or duplicated events.

Usage:

  # perf script record kscand-report -- WORKLOAD
  # perf script report kscand-report
  # perf script report kscand-report -- --json
  # perf script kscand-report WORKLOAD

The record script records system wide (kscand and kmigrated are kernel
threads) with a 16 MB buffer, and fails at once with a message naming
the missing events on kernels without them. Options of the report
(output as text, JSON or CSV, units, filters by pid, comm, mm, node and
time) are listed by 'perf script report kscand-report -- -h'.

The script needs only the Python standard library (3.7 or later); when
the tabulate module is installed, tables are drawn with it. Events of
the posted RFC versions, whose migrate event has no msuccess/mfailed,
are read too. A shell test runs record, report and the live mode, and
is skipped on kernels without the kscand tracepoints.

Signed-off-by: {author}
"""


class BuildError(Exception):
    """The sources cannot be joined without guessing: say what and where."""


# -- reading modules ------------------------------------------------------------


class Module:
    """One source file: its tree, text and what the bundle needs to know of it."""

    def __init__(self, name: str, path: str, text: str, fixed: bool = False) -> None:
        self.name = name  # "events", or "" for the perf script
        self.path = path
        self.text = text
        self.tree = ast.parse(text, path)
        self.fixed = fixed  # its names are never renamed (perf looks them up)
        self.deps: List[str] = []  # package modules it needs at run time
        # local name -> (module, name in that module) for imported package names
        self.imported: Dict[str, Tuple[str, str]] = {}
        self.module_refs: Set[str] = set()  # names bound to package modules
        self.dropped: List[ast.stmt] = []  # statements removed from the bundle
        self.std_imports: List[ast.stmt] = []  # hoisted to the top
        self.defined: Set[str] = set()  # globals it binds itself
        self.lazy: List[ast.ImportFrom] = []  # package imports inside functions
        self.lazy_deps: List[str] = []  # needed, but only once running

    def rel(self) -> str:
        return os.path.relpath(self.path, ROOT)


def _is_type_checking_block(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and not node.orelse
            and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")


def _is_main_block(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":``"""
    t = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(t, ast.Compare)
            and isinstance(t.left, ast.Name) and t.left.id == "__name__"
            and len(t.comparators) == 1 and isinstance(t.comparators[0], ast.Constant)
            and t.comparators[0].value == "__main__")


def _package_target(node: ast.ImportFrom) -> Optional[str]:
    """The package-relative module of an import ("" for the package), else None."""
    if node.level == 1:
        return node.module or ""
    if node.level == 0 and node.module and (node.module == PACKAGE
                                            or node.module.startswith(PACKAGE + ".")):
        return node.module[len(PACKAGE) + 1:]
    if node.level > 1:
        raise BuildError("line %d: relative import beyond the package" % node.lineno)
    return None


def _scan_imports(mod: Module, stmts: Sequence[ast.stmt], top: bool) -> None:
    """Sort the import statements of ``stmts`` into package, hoisted and kept ones."""
    for node in stmts:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                    raise BuildError("%s:%d: use 'from .x import y', not 'import %s'"
                                     % (mod.rel(), node.lineno, a.name))
            if top:
                mod.std_imports.append(node)
        elif isinstance(node, ast.ImportFrom):
            target = _package_target(node)
            if target is None:
                if top:
                    mod.std_imports.append(node)
                continue
            if not top:
                raise BuildError("%s:%d: package import inside a block the bundle cannot drop"
                                 % (mod.rel(), node.lineno))
            mod.dropped.append(node)
            for a in node.names:
                if a.name == "*":
                    raise BuildError("%s:%d: star import" % (mod.rel(), node.lineno))
                local = a.asname or a.name
                if target == "":
                    mod.module_refs.add(local)
                    if a.asname and a.asname != a.name:
                        raise BuildError("%s:%d: module alias" % (mod.rel(), node.lineno))
                    mod.deps.append(a.name)
                else:
                    mod.imported[local] = (target, a.name)
                    mod.deps.append(target)


def read_module(name: str, path: str, fixed: bool = False) -> Module:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    mod = Module(name, path, text, fixed)
    for node in mod.tree.body:
        if _is_type_checking_block(node):
            # typing-only imports: nothing runs them, the bundle drops the block
            if not all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in node.body):
                raise BuildError("%s:%d: a TYPE_CHECKING block that does more than import"
                                 % (mod.rel(), node.lineno))
            mod.dropped.append(node)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _scan_imports(mod, [node], top=True)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _assigns_all(node):
            mod.dropped.append(node)
        elif _is_main_block(node) and not fixed:
            # perf runs the bundle as __main__: a module's own entry point would run
            mod.dropped.append(node)
    # imports inside a function (to break an import cycle): dropped, and the names
    # they bind in that function resolved to the bundle's names
    lazy_ok = set()
    for fn in ast.walk(mod.tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in fn.body:
                if isinstance(stmt, ast.ImportFrom) and _package_target(stmt) is not None:
                    lazy_ok.add(id(stmt))
            if fn.body and all(id(stmt) in lazy_ok for stmt in fn.body):
                raise BuildError("%s:%d: a function that only imports" % (mod.rel(), fn.lineno))
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom) and node not in mod.dropped and \
                _package_target(node) is not None and not _in(node, mod.dropped):
            if id(node) not in lazy_ok:
                raise BuildError("%s:%d: package import in a block the bundle cannot drop"
                                 % (mod.rel(), node.lineno))
            target = _package_target(node)
            if not target or any(a.name == "*" for a in node.names):
                raise BuildError("%s:%d: only 'from .x import y' inside a function"
                                 % (mod.rel(), node.lineno))
            mod.lazy.append(node)
            mod.lazy_deps.append(target)
    mod.defined = _module_bindings(mod)
    return mod


def _in(node: ast.AST, stmts: Sequence[ast.stmt]) -> bool:
    return any(node is n for s in stmts for n in ast.walk(s))


def _assigns_all(node: ast.stmt) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _names_stored(node: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, (ast.Store, ast.Del))}


def _module_bindings(mod: Module) -> Set[str]:
    """Globals the module binds itself (not its hoisted or package imports)."""
    out: Set[str] = set()

    def visit(stmts: Sequence[ast.stmt]) -> None:
        for node in stmts:
            if node in mod.dropped or node in mod.std_imports:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(node.name)
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Global):
                        out.update(sub.names)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    out.update(_names_stored(t))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                out.update(_names_stored(node.target))
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        out.update(_names_stored(item.optional_vars))
                visit(node.body)
            elif isinstance(node, (ast.If, ast.While)):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    if h.name:
                        out.add(h.name)
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)
            else:
                out.update(n.target.id for n in ast.walk(node)
                           if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name))

    visit(mod.tree.body)
    return out


def load_modules(root: str) -> List[Module]:
    """The perf script and the package modules it needs, in dependency order."""
    script = read_module("", os.path.join(root, PERF_SCRIPT), fixed=True)
    lines = script.text.splitlines()
    try:
        begin = next(i for i, l in enumerate(lines) if l.startswith(BEGIN_MARK))
        end = next(i for i, l in enumerate(lines) if l.startswith(END_MARK))
    except StopIteration:
        raise BuildError("%s: no '%s' ... '%s' lines around its package import"
                         % (PERF_SCRIPT, BEGIN_MARK, END_MARK)) from None
    marked = [n for n in script.tree.body if begin < n.lineno - 1 < end]
    if not marked or any(n.end_lineno - 1 >= end for n in marked):
        raise BuildError("%s: the marked block is empty or overlaps its end mark" % PERF_SCRIPT)
    script.dropped.extend(n for n in marked if n not in script.dropped)
    script.std_imports = [n for n in script.std_imports if n not in marked]
    script.marked = (begin + 1, end + 1)  # type: ignore[attr-defined]
    script.defined = _module_bindings(script)

    pkg = os.path.join(root, PACKAGE)
    mods: Dict[str, Module] = {}
    order: List[str] = []
    visiting: List[str] = []

    def need(name: str) -> None:
        if name in mods:
            return
        if name in visiting:
            raise BuildError("import cycle: %s" % " -> ".join(visiting + [name]))
        path = os.path.join(pkg, name.replace(".", "/") + ".py")
        if not os.path.isfile(path):
            raise BuildError("%s: no module %s.%s" % (path, PACKAGE, name))
        visiting.append(name)
        mod = read_module(name, path)
        for dep in mod.deps:
            need(dep)
        visiting.pop()
        mods[name] = mod
        order.append(name)

    for dep in script.deps:
        need(dep)
    pending = True
    while pending:  # modules only imported inside functions: any order will do
        pending = False
        for name in list(order):
            for dep in mods[name].lazy_deps:
                if dep not in mods:
                    need(dep)
                    pending = True
    # a dependency order that does not depend on the order of import lines:
    # of the modules whose dependencies are placed, the first by name
    placed: List[str] = []
    while len(placed) < len(order):
        ready = sorted(n for n in order if n not in placed
                       and all(d in placed for d in mods[n].deps))
        placed.append(ready[0])
    return [mods[n] for n in placed] + [script]


# -- naming -------------------------------------------------------------------


def _import_bindings(stmts: Sequence[ast.stmt]) -> Dict[str, str]:
    """Names bound by hoisted imports -> what they import ("os", "typing.Dict")."""
    out: Dict[str, str] = {}
    for node in stmts:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    out[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for a in node.names:
                out[a.asname or a.name] = "%s.%s" % (node.module, a.name)
    return out


def plan_names(mods: List[Module]) -> Dict[Tuple[str, str], str]:
    """(module, global) -> its name in the bundle."""
    imports: Dict[str, str] = {}
    for mod in mods:
        for local, what in _import_bindings(mod.std_imports).items():
            if imports.get(local, what) != what:
                raise BuildError("%s: '%s' is imported as %s here and as %s elsewhere"
                                 % (mod.rel(), local, what, imports[local]))
            imports[local] = what
    owners: Dict[str, List[str]] = {}
    for mod in mods:
        for name in mod.defined:
            owners.setdefault(name, []).append(mod.name)
    fixed = next(m for m in mods if m.fixed).defined
    plan: Dict[Tuple[str, str], str] = {}
    for mod in mods:
        for name in mod.defined:
            clash = (len(owners[name]) > 1 or name in imports or hasattr(builtins, name))
            if clash and not mod.fixed:
                new = ("_%s%s" % (mod.name, name) if name.startswith("_")
                       else "%s_%s" % (mod.name, name))
                if new in fixed or new in imports or any(new in m.defined for m in mods):
                    raise BuildError("%s: renaming %s to %s would clash again"
                                     % (mod.rel(), name, new))
                plan[(mod.name, name)] = new
            else:
                plan[(mod.name, name)] = name
        if mod.fixed and any(len(owners[n]) > 1 and n in imports for n in mod.defined):
            raise BuildError("%s: a name of the perf script is also imported" % mod.rel())
    return plan


def _resolve(mods: Dict[str, Module], plan: Dict[Tuple[str, str], str], module: str,
             name: str, where: str) -> str:
    """The bundle name of ``name`` as module ``module`` sees it at top level."""
    mod = mods[module]
    if (module, name) in plan:
        return plan[(module, name)]
    if name in mod.imported:
        target, original = mod.imported[name]
        return _resolve(mods, plan, target, original, where)
    raise BuildError("%s: %s.%s does not exist" % (where, module, name))


# -- rewriting ----------------------------------------------------------------


def _scope_locals(node: ast.AST) -> Tuple[Set[str], Set[str]]:
    """Names a function, lambda, class or comprehension binds in its own scope, and
    the names it declares global."""
    bound: Set[str] = set()
    declared: Set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + \
                [x for x in (a.vararg, a.kwarg) if x is not None]:
            bound.add(arg.arg)
        body: List[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
    elif isinstance(node, ast.ClassDef):
        body = list(node.body)
    else:  # comprehension: its targets; the rest is looked up outside
        for gen in node.generators:  # type: ignore[attr-defined]
            bound |= _names_stored(gen.target)
        return bound, declared

    def walk(n: ast.AST) -> None:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
            for d in n.decorator_list:
                walk(d)
            return
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                          ast.GeneratorExp)):
            # a walrus inside a comprehension binds in this scope
            bound.update(w.target.id for w in ast.walk(n) if isinstance(w, ast.NamedExpr)
                         and isinstance(w.target, ast.Name))
            return
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            bound.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            declared.update(n.names)
        elif type(n).__name__.startswith("Match"):
            raise BuildError("line %d: match statements are not supported"
                             % getattr(n, "lineno", 0))
        for child in ast.iter_child_nodes(n):
            walk(child)

    for stmt in body:
        walk(stmt)
    return bound - declared, declared


class _Scopes(ast.NodeVisitor):
    """Finds every use of a module's globals that gets another name in the bundle.

    ``renames`` maps a global of the module to its bundle name. Names are
    resolved as Python does: a name bound in an enclosing function (or in the
    class body it is directly in) is not the global. ``mod.attr`` references
    to package modules become the attribute's bundle name.
    """

    def __init__(self, mod: Module, renames: Dict[str, str],
                 attr_names: Dict[Tuple[str, str], str]) -> None:
        self.mod = mod
        self.renames = renames
        self.attr_names = attr_names
        self.edits: List[Tuple[int, int, int, int, str]] = []
        self.stack: List[Tuple[str, Set[str], Set[str]]] = []  # (kind, locals, globals)
        self.in_fstring = 0
        self.aliases: List[Dict[str, str]] = []  # per scope: lazily imported -> bundle name
        self.lazy: Dict[int, Dict[str, str]] = {}  # id(import statement) -> its names

    def _alias(self, name: str) -> Optional[str]:
        """The bundle name of ``name`` when a lazy import of the nearest scope binding it
        bound it."""
        for i, ((kind, bound, _), aliases) in enumerate(zip(reversed(self.stack),
                                                            reversed(self.aliases))):
            if kind == "class" and i > 0:
                continue
            if name in aliases:
                return aliases[name]
            if name in bound:
                return None
        return None

    def _fail(self, node: ast.AST, what: str) -> None:
        raise BuildError("%s:%d: %s" % (self.mod.rel(), getattr(node, "lineno", 0), what))

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self.in_fstring += 1
        self.generic_visit(node)
        self.in_fstring -= 1

    def _edit(self, node: ast.AST, text: str) -> None:
        if self.in_fstring:
            self._fail(node, "'%s' would be renamed inside an f-string; use %% formatting"
                       % text)
        if self.stack and not self._is_global(text, False) and self._alias(text) != text:
            self._fail(node, "'%s' is a local name here: the bundle cannot rename to it"
                       % text)
        self.edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                           text))

    def _is_global(self, name: str, store: bool) -> bool:
        if not self.stack:
            return True
        kind, bound, declared = self.stack[-1]
        if name in declared:
            if self.renames.get(name, name) != name:
                self._fail(self.mod.tree, "'%s' is renamed in the bundle but declared global"
                           % name)
            return True
        if store:
            return False  # a function local or a class attribute
        for i, (kind, bound, declared) in enumerate(reversed(self.stack)):
            if kind == "class" and i > 0:
                continue  # class scopes are not seen from nested functions
            if name in bound:
                return False
            if name in declared:
                return True
        return True

    def visit_Name(self, node: ast.Name) -> None:
        store = isinstance(node.ctx, (ast.Store, ast.Del))
        if not self._is_global(node.id, store):
            alias = self._alias(node.id)
            if alias is not None:
                if store:
                    self._fail(node, "'%s' is imported in this function and assigned too"
                               % node.id)
                if alias != node.id:
                    self._edit(node, alias)
            return
        if node.id in self.mod.module_refs:
            self._fail(node, "package module '%s' used other than as '%s.NAME'"
                       % (node.id, node.id))
        new = self.renames.get(node.id)
        if new is not None and new != node.id:
            self._edit(node, new)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self.mod.module_refs \
                and self._is_global(node.value.id, False):
            key = (node.value.id, node.attr)
            if key not in self.attr_names:
                self._fail(node, "%s.%s does not exist" % key)
            self._edit(node, self.attr_names[key])
            return
        self.generic_visit(node)

    def _enter(self, kind: str, node: ast.AST, body: Sequence[ast.AST]) -> None:
        bound, declared = _scope_locals(node)
        aliases: Dict[str, str] = {}
        for stmt in body:
            aliases.update(self.lazy.get(id(stmt), {}))
        self.stack.append((kind, bound, declared))
        self.aliases.append(aliases)
        for n in body:
            if id(n) not in self.lazy:
                self.visit(n)
        self.aliases.pop()
        self.stack.pop()

    def _args_outside(self, args: ast.arguments) -> None:
        for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(d)
        for a in args.posonlyargs + args.args + args.kwonlyargs + \
                [x for x in (args.vararg, args.kwarg) if x is not None]:
            if a.annotation is not None:
                self.visit(a.annotation)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        self._args_outside(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self._def_name(node)
        self._enter("function", node, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._args_outside(node.args)
        self._enter("function", node, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for d in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(d)
        self._def_name(node)
        self._enter("class", node, node.body)

    def _comprehension(self, node: ast.AST) -> None:
        parts: List[ast.AST] = []
        for gen in node.generators:  # type: ignore[attr-defined]
            parts += [gen.target, gen.iter] + list(gen.ifs)
        for name in ("elt", "key", "value"):
            if hasattr(node, name):
                parts.append(getattr(node, name))
        self._enter("function", node, parts)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def _def_name(self, node: ast.AST) -> None:
        """Rename the name after 'def'/'class' when it is a renamed global."""
        name = node.name  # type: ignore[attr-defined]
        if not self._is_global(name, True) and self.stack:
            return
        new = self.renames.get(name, name)
        if new == name:
            return
        line = self.mod.text.splitlines(True)[node.lineno - 1]
        keyword = "class" if isinstance(node, ast.ClassDef) else "def"
        m = re.compile(r"(?:async\s+)?%s\s+(%s)\b" % (keyword, re.escape(name))).search(line)
        if m is None:
            self._fail(node, "cannot find the name of '%s %s'" % (keyword, name))
        start = len(line[:m.start(1)].encode("utf-8"))
        self.edits.append((node.lineno, start, node.lineno, start + len(name.encode()), new))


def _continuations(text: str) -> Dict[int, List[int]]:
    """Physical line -> the later physical lines of its logical line."""
    out: Dict[int, List[int]] = {}
    first = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if first is None and tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT,
                                              tokenize.DEDENT, tokenize.ENDMARKER):
            first = tok.start[0]
        if tok.type == tokenize.NEWLINE and first is not None:
            for line in range(first, tok.end[0] + 1):
                out[line] = list(range(line + 1, tok.end[0] + 1))
            first = None
    return out


def _realign(text: str, edits: Sequence[Tuple[int, int, int, int, str]]) -> List[
        Tuple[int, int, int, int, str]]:
    """Extra edits that keep continuation lines aligned with the brackets they were
    aligned with, when a rename on an earlier line of the statement moved them."""
    lines = text.splitlines(True)
    cont = _continuations(text)
    shift: Dict[int, int] = {}
    for a, b, c, d, new in edits:
        if a != c:
            continue
        raw = lines[a - 1].encode("utf-8")
        col = len(raw[:b].decode("utf-8"))
        delta = len(new) - len(raw[b:d].decode("utf-8"))
        for q in cont.get(a, []):
            indent = len(lines[q - 1]) - len(lines[q - 1].lstrip(" "))
            if indent > col and lines[q - 1].strip():
                shift[q] = shift.get(q, 0) + delta
    out = []
    for q, delta in shift.items():
        indent = len(lines[q - 1]) - len(lines[q - 1].lstrip(" "))
        if delta > 0:
            out.append((q, 0, q, 0, " " * delta))
        elif delta < 0:
            out.append((q, 0, q, min(-delta, indent), ""))
    return out


def _apply_edits(text: str, edits: Sequence[Tuple[int, int, int, int, str]]) -> str:
    edits = list(edits) + _realign(text, edits)
    lines = [l.encode("utf-8") for l in text.splitlines(True)]
    offsets = [0]
    for l in lines:
        offsets.append(offsets[-1] + len(l))
    data = b"".join(lines)
    spans = sorted(((offsets[a - 1] + b, offsets[c - 1] + d, t) for a, b, c, d, t in edits),
                   reverse=True)
    last = None
    for start, end, new in spans:
        if last is not None and end > last:
            raise BuildError("overlapping rewrites at byte %d" % start)
        data = data[:start] + new.encode("utf-8") + data[end:]
        last = start
    return data.decode("utf-8")


def _line_ranges(mod: Module, stmts: Sequence[ast.stmt]) -> List[Tuple[int, int]]:
    """The lines of statements to drop; each must have its lines to itself."""
    lines = mod.text.splitlines(True)
    starts: Dict[int, int] = {}
    for n in ast.walk(mod.tree):
        if isinstance(n, ast.stmt):
            starts[n.lineno] = starts.get(n.lineno, 0) + 1
    out = []
    for node in stmts:
        first, last = node.lineno, node.end_lineno or node.lineno
        before = lines[first - 1].encode("utf-8")[:node.col_offset]
        after = lines[last - 1].encode("utf-8")[node.end_col_offset:].decode("utf-8")
        inner = {id(n) for n in ast.walk(node)}
        others = [n for n in ast.walk(mod.tree) if isinstance(n, ast.stmt)
                  and id(n) not in inner and first <= n.lineno <= last]
        if before.strip() or (after.strip() and not after.strip().startswith("#")) or others:
            raise BuildError("%s:%d: cannot drop a statement that shares its lines"
                             % (mod.rel(), first))
        out.append((first, last))
    return out


def _docstring_to_comment(text: str, tree: ast.Module) -> str:
    if not (tree.body and isinstance(tree.body[0], ast.Expr)
            and isinstance(tree.body[0].value, ast.Constant)
            and isinstance(tree.body[0].value.value, str)):
        return text
    node = tree.body[0]
    doc = ast.get_docstring(tree, clean=True) or ""
    comment = "".join(("# " + l).rstrip() + "\n" for l in doc.splitlines())
    lines = text.splitlines(True)
    lines[node.lineno - 1:node.end_lineno] = [comment]
    return "".join(lines)


def _squeeze(text: str) -> str:
    """At most two blank lines in a row, none at either end."""
    text = re.sub(r"\n{4,}", "\n\n\n", text.strip("\n") + "\n")
    return text


def _merge_imports(mods: Sequence[Module], used: Set[str]) -> str:
    futures: Set[str] = set()
    plain: Dict[str, Optional[str]] = {}
    froms: Dict[str, Dict[str, Optional[str]]] = {}
    for mod in mods:
        for node in mod.std_imports:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                futures.update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    plain[a.name] = a.asname
            else:
                assert isinstance(node, ast.ImportFrom) and node.module
                for a in node.names:
                    froms.setdefault(node.module, {})[a.name] = a.asname
    out = []
    if futures:
        out.append("from __future__ import %s\n\n" % ", ".join(sorted(futures)))
    for name in sorted(plain):
        asname = plain[name]
        if (asname or name.split(".")[0]) in used:
            out.append("import %s%s\n" % (name, " as " + asname if asname else ""))
    for module in sorted(froms):
        names = ["%s%s" % (n, " as " + a if a else "")
                 for n, a in sorted(froms[module].items()) if (a or n) in used]
        if not names:
            continue
        line = "from %s import %s" % (module, ", ".join(names))
        if len(line) <= 100:
            out.append(line + "\n")
            continue
        # wrap inside parentheses, continuation lines aligned
        head = "from %s import (" % module
        cur, lines = head, []
        for i, n in enumerate(names):
            piece = n + (", " if i < len(names) - 1 else ")")
            if len(cur) + len(piece.rstrip()) > 100:
                lines.append(cur.rstrip())
                cur = " " * len(head)
            cur += piece
        lines.append(cur)
        out.append("\n".join(lines) + "\n")
    return "".join(out)


def _used_names(text: str) -> Set[str]:
    tree = ast.parse(text)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            used.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", n.value))
    return used


def build_script(root: str = ROOT) -> str:
    """The in-tree kscand-report.py."""
    mods = load_modules(root)
    by_name = {m.name: m for m in mods}
    plan = plan_names(mods)
    sections = []
    for mod in mods:
        renames: Dict[str, str] = {}
        for name in mod.defined:
            renames[name] = plan[(mod.name, name)]
        where = mod.rel()
        for local, (target, original) in mod.imported.items():
            renames[local] = _resolve(by_name, plan, target, original, where)
        attr_names: Dict[Tuple[str, str], str] = {}
        for ref in mod.module_refs:
            target = by_name[ref]
            for name in target.defined | set(target.imported):
                attr_names[(ref, name)] = _resolve(by_name, plan, ref, name, where)
        scopes = _Scopes(mod, renames, attr_names)
        for node in mod.lazy:
            scopes.lazy[id(node)] = {
                a.asname or a.name: _resolve(by_name, plan, _package_target(node) or "",
                                             a.name, "%s:%d" % (where, node.lineno))
                for a in node.names}
        for node in mod.tree.body:
            if node in mod.dropped or node in mod.std_imports:
                continue
            scopes.visit(node)
        drop = _line_ranges(mod, mod.dropped + mod.std_imports + mod.lazy)
        text = _apply_edits(mod.text, scopes.edits)  # renames never add or remove lines
        lines = text.splitlines(True)
        for first, last in drop:
            for i in range(first - 1, last):
                lines[i] = "\n"
        text = "".join(lines)
        if mod.fixed:
            begin, end = mod.marked  # type: ignore[attr-defined]
            lines = text.splitlines(True)
            for i in range(begin - 1, end):
                lines[i] = "\n"
            # its leading comment becomes the bundle's header; keep the rest
            text = "".join(lines)
            title = PERF_SCRIPT
        else:
            text = _docstring_to_comment(text, ast.parse(text))
            title = "%s/%s.py" % (PACKAGE, mod.name.replace(".", "/"))
        rule = "# " + "-" * 76 + "\n"
        text = _squeeze(text).replace(OLD_NAME, NEW_NAME)
        sections.append(rule + "# " + title + "\n" + rule + "\n" + text)
    body = "\n\n".join(sections)
    used = _used_names(body)
    imports = _merge_imports(mods, used)
    header = HEADER.format(modules=", ".join(m.name for m in mods if not m.fixed))
    header = _wrap_header(header)
    out = header + "\n" + imports + "\n\n" + body
    out = "\n".join(l.rstrip() for l in out.split("\n"))
    compile(out, TREE_SCRIPT, "exec")
    return out


def _wrap_header(header: str) -> str:
    out = []
    for line in header.splitlines():
        if len(line) <= 78 or not line.startswith("# "):
            out.append(line)
            continue
        words, cur = line[2:].split(" "), "#"
        for w in words:
            if len(cur) + 1 + len(w) > 78:
                out.append(cur)
                cur = "#"
            cur += " " + w
        out.append(cur)
    return "\n".join(out) + "\n"


# -- the patch ----------------------------------------------------------------


def _git(repo: str, *args: str, env: Optional[Dict[str, str]] = None) -> bytes:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": repo, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C", "TZ": "UTC",
    }
    base.update(env or {})
    return subprocess.run(["git", "-C", repo] + list(args), env=base, check=True,
                          stdout=subprocess.PIPE).stdout


def build_patch(root: str = ROOT) -> bytes:
    script = build_script(root)
    name, email = re.match(r"(.*) <(.*)>", AUTHOR).groups()  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory(prefix="kscand-patch-") as repo:
        _git(repo, "init", "-q", "-b", "master")
        for path, source, mode in TREE_FILES:
            dest = os.path.join(repo, path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if source is None:
                data = script.encode("utf-8")
            elif source == "SHELL_TEST":
                data = SHELL_TEST.encode("utf-8")
            else:
                with open(os.path.join(root, source), "rb") as f:
                    data = f.read()
            with open(dest, "wb") as f:
                f.write(data)
            os.chmod(dest, 0o755 if mode == "100755" else 0o644)
            _git(repo, "add", "--chmod=%s" % ("+x" if mode == "100755" else "-x"), path)
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": DATE,
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
               "GIT_COMMITTER_DATE": DATE}
        msg = COMMIT_MESSAGE.format(author=AUTHOR)
        _git(repo, "-c", "core.abbrev=12", "commit", "-q", "--cleanup=verbatim", "-m", msg,
             env=env)
        return _git(repo, "-c", "core.abbrev=12", "-c", "diff.noprefix=false",
                    "format-patch", "--root", "-1", "--stdout", "--no-signature",
                    "--stat=80", "--no-renames", "HEAD", env=env)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default=ROOT, help="project checkout (default: this one)")
    p.add_argument("--out", help="where to write the patch (default: %s)" % PATCH_NAME)
    p.add_argument("--check", action="store_true",
                   help="only compare with the committed patch; exit 1 when it differs")
    p.add_argument("--script", metavar="FILE",
                   help="write only the built kscand-report.py to FILE ('-' for stdout)")
    args = p.parse_args(argv)
    try:
        if args.script:
            text = build_script(args.root)
            if args.script == "-":
                sys.stdout.write(text)
            else:
                with open(args.script, "w", encoding="utf-8") as f:
                    f.write(text)
            return 0
        patch = build_patch(args.root)
    except BuildError as e:
        sys.stderr.write("mk-kernel-patch: %s\n" % e)
        return 1
    out = args.out or os.path.join(args.root, PATCH_NAME)
    if args.check:
        try:
            with open(out, "rb") as f:
                old = f.read()
        except OSError:
            old = None
        if old != patch:
            sys.stderr.write("mk-kernel-patch: %s is out of date with the package; "
                             "run 'make kernel-patch' and commit it\n" % os.path.relpath(out))
            return 1
        return 0
    with open(out, "wb") as f:
        f.write(patch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
