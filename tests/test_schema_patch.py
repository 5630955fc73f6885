"""The tracepoint patch in patch/ and the schema in kscand_perf.events must agree.

The patch is parsed here by a small parser of its own (TP_STRUCT__entry fields,
TP_printk format and arguments, DEFINE_EVENT inheriting from its class), so a change
on either side without the other fails this test. The drift tests alter a copy of the
patch (or the schema) on purpose and check that the comparison notices.
"""

import dataclasses
import glob
import os
import re

import pytest

from kscand_testkit import formats as events

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KMEM_H = "include/trace/events/kmem.h"
GUARD = "CONFIG_KSCAND"


def find_patch():
    """The tracepoint patch: the patch/0001-*.patch that touches kmem.h."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "patch", "0001-*.patch"))):
        with open(path, encoding="utf-8") as f:
            if "diff --git a/%s " % KMEM_H in f.read():
                found.append(path)
    assert len(found) == 1, "expected one patch/0001-*.patch touching %s, found %r" % (
        KMEM_H, found)
    return found[0]


# -- a small parser of trace event definitions ---------------------------------------

def added_lines(patch_text, path=KMEM_H):
    """The text of the lines the patch adds to ``path`` (without the '+')."""
    out = []
    in_file = False
    for line in patch_text.splitlines():
        if line.startswith("diff --git "):
            in_file = line.split()[2] == "a/" + path
        elif in_file and line.startswith("+") and not line.startswith("+++"):
            out.append(line[1:])
    return "\n".join(out) + "\n"


_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|//[^\n]*', re.S)


def strip_comments(text):
    """Blank out C comments, keeping string literals and line numbers."""
    def repl(m):
        s = m.group(0)
        return s if s.startswith('"') else re.sub(r"[^\n]", " ", s)
    return _TOKENS.sub(repl, text)


def balanced(text, start):
    """The text between the '(' at ``start`` and its matching ')', and the end index."""
    assert text[start] == "("
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _TOKENS.match(text, i).end()
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
        i += 1
    raise ValueError("unbalanced parentheses at offset %d" % start)


def split_args(text):
    """Split macro arguments at top-level commas."""
    args, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            end = _TOKENS.match(text, i).end()
            cur.append(text[i:end])
            i = end
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


def macro_call(arg, name):
    """The inner text of ``name(...)`` if ``arg`` is that call, else None."""
    m = re.match(r"\s*%s\s*\(" % re.escape(name), arg)
    if not m:
        return None
    inner, end = balanced(arg, m.end() - 1)
    assert not arg[end:].strip(), "junk after %s(...): %r" % (name, arg[end:])
    return inner


def norm_type(ctype):
    """'struct  mm_struct*' -> 'struct mm_struct *'."""
    ctype = " ".join(ctype.split())
    return re.sub(r"\s*\*", " *", ctype)


_ENTRY = re.compile(r"(__\w+)\s*\(([^()]*)\)")


def parse_entry(inner):
    fields = []
    for m in _ENTRY.finditer(inner):
        kind, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if kind == "__field" and len(args) == 2:
            fields.append((args[1], norm_type(args[0])))
        elif kind == "__array" and len(args) == 3:
            fields.append((args[1], "%s[%s]" % (norm_type(args[0]), args[2])))
        elif kind == "__string" and len(args) == 2:
            fields.append((args[0], "__data_loc char[]"))
        else:
            raise ValueError("unsupported TP_STRUCT__entry item %s" % m.group(0))
    rest = _ENTRY.sub("", inner)
    if rest.strip():
        raise ValueError("unparsed text in TP_STRUCT__entry: %r" % rest.strip())
    return fields


def parse_printk(inner):
    args = split_args(inner)
    fmt_parts = re.findall(r'"((?:\\.|[^"\\])*)"', args[0])
    if not fmt_parts or re.sub(r'"(?:\\.|[^"\\])*"', "", args[0]).strip():
        raise ValueError("TP_printk format is not a string literal: %r" % args[0])
    names = []
    for a in args[1:]:
        a = " ".join(a.split())
        m = re.fullmatch(r"__entry\s*->\s*(\w+)", a)
        m2 = re.fullmatch(r"__get_str\(\s*(\w+)\s*\)", a)
        names.append(m.group(1) if m else m2.group(1) if m2 else a)
    return "".join(fmt_parts), names


def parse_body(args):
    """fields, print fmt, print args from a class or TRACE_EVENT body."""
    body = {"fields": None, "printk": None}
    for a in args:
        entry = macro_call(a, "TP_STRUCT__entry")
        if entry is not None:
            body["fields"] = parse_entry(entry)
        printk = macro_call(a, "TP_printk")
        if printk is not None:
            body["printk"] = parse_printk(printk)
    if body["fields"] is None or body["printk"] is None:
        raise ValueError("definition without TP_STRUCT__entry or TP_printk")
    fmt, pargs = body["printk"]
    return {"fields": body["fields"], "print_fmt": fmt, "print_args": pargs}


_MACRO = re.compile(r"\b(DECLARE_EVENT_CLASS|DEFINE_EVENT|TRACE_EVENT)\s*\(")


def parse_events(text):
    """Events defined in ``text``, in order: name -> {fields, print_fmt, print_args,
    line, guards}; ``guards`` are the preprocessor conditions around the definition."""
    text = strip_comments(text)
    guards_at = guards_by_line(text)
    classes, evs = {}, {}
    for m in _MACRO.finditer(text):
        inner, _ = balanced(text, m.end() - 1)
        args = split_args(inner)
        line = text.count("\n", 0, m.start())
        kind, name = m.group(1), args[0] if m.group(1) != "DEFINE_EVENT" else args[1]
        if kind == "DEFINE_EVENT":
            if args[0] not in classes:
                raise ValueError("DEFINE_EVENT(%s) of unknown class %s" % (name, args[0]))
            body = dict(classes[args[0]])
        else:
            body = parse_body(args[1:])
        body["line"] = line
        body["guards"] = guards_at[line]
        if kind == "DECLARE_EVENT_CLASS":
            classes[name] = body
        else:
            evs[name] = body
    return evs


def guards_by_line(text):
    """For each line, the stack of #if conditions it is under ('!X' in an #else)."""
    stack, out = [], []
    for line in text.split("\n"):
        d = line.strip()
        out.append(tuple(stack))
        if re.match(r"#\s*ifdef\b", d):
            stack.append(d.split(None, 1)[1].strip() if len(d.split()) > 1 else "")
        elif re.match(r"#\s*ifndef\b", d):
            stack.append("!" + d.split(None, 1)[1].strip())
        elif re.match(r"#\s*if\b", d):
            stack.append(d[d.index("if") + 2:].strip())
        elif re.match(r"#\s*el(se|if)\b", d) and stack:
            stack[-1] = "!" + stack[-1]
        elif re.match(r"#\s*endif\b", d):
            if not stack:
                raise ValueError("#endif without #if")
            stack.pop()
    return out


# -- the comparison -------------------------------------------------------------------

def compare(patch_text, schema=events.KSCAND_EVENTS):
    """Differences between the patch's events and ``schema``, as readable lines."""
    try:
        parsed = parse_events(added_lines(patch_text))
    except ValueError as exc:
        return ["cannot parse the patch: %s" % exc]
    problems = []
    want = [ev.name for ev in schema]
    if list(parsed) != want:
        problems.append("events: patch defines %s, schema has %s" % (list(parsed), want))
    for ev in schema:
        got = parsed.get(ev.name)
        if got is None:
            continue
        fields = [(f.name, f.ctype) for f in ev.fields]
        if got["fields"] != fields:
            problems.append("%s fields: patch %s, schema %s" % (ev.name, got["fields"], fields))
        if got["print_fmt"] != ev.print_fmt:
            problems.append("%s print fmt: patch %r, schema %r"
                            % (ev.name, got["print_fmt"], ev.print_fmt))
        if got["print_args"] != list(ev.print_args):
            problems.append("%s print args: patch %s, schema %s"
                            % (ev.name, got["print_args"], list(ev.print_args)))
        if GUARD not in got["guards"]:
            problems.append("%s is not inside #ifdef %s (guards: %s)"
                            % (ev.name, GUARD, list(got["guards"]) or "none"))
    return problems


@pytest.fixture(scope="module")
def patch_text():
    with open(find_patch(), encoding="utf-8") as f:
        return f.read()


def test_patch_matches_schema(patch_text):
    assert compare(patch_text) == []


def test_parser_sees_the_five_events(patch_text):
    parsed = parse_events(added_lines(patch_text))
    assert list(parsed) == ["kmem_mm_enter", "kmem_mm_exit", "kmem_scan_mm_start",
                            "kmem_scan_mm_end", "kmem_scan_mm_migrate"]
    assert parsed["kmem_scan_mm_end"]["fields"][1] == ("start", "unsigned long")
    assert parsed["kmem_scan_mm_migrate"]["print_args"] == [
        "mm", "rc", "target_node", "msuccess", "mfailed"]
    for ev in parsed.values():
        assert ev["guards"] == (GUARD,)


def test_guard_block_is_ifdef_config_kscand(patch_text):
    lines = added_lines(patch_text).splitlines()
    assert "#ifdef CONFIG_KSCAND" in [line.strip() for line in lines]
    assert any(line.startswith("#endif") and GUARD in line for line in lines)


def _swap_lines(text, a, b):
    lines = text.split("\n")
    ia = next(i for i, line in enumerate(lines) if re.search(a, line))
    ib = next(i for i, line in enumerate(lines) if re.search(b, line))
    lines[ia], lines[ib] = lines[ib], lines[ia]
    return "\n".join(lines)


def _move_endif_up(text):
    lines = text.split("\n")
    endif = next(i for i, line in enumerate(lines) if line.startswith("+#endif"))
    line = lines.pop(endif)
    at = next(i for i, s in enumerate(lines) if s.startswith("+TRACE_EVENT(kmem_scan_mm_migrate"))
    lines.insert(at, line)
    return "\n".join(lines)


DRIFTS = {
    "field renamed": (lambda t: re.sub(r"(__field\(int,\s*)mfailed\)", r"\1mfail)", t),
                      "kmem_scan_mm_migrate fields"),
    "field type changed": (lambda t: re.sub(r"__field\(unsigned long,(\s*)total\)",
                                            r"__field(long,\1total)", t),
                           "kmem_scan_mm_end fields"),
    "fields reordered": (lambda t: _swap_lines(t, r"__field\(unsigned long,\s*start\)",
                                               r"__field\(unsigned long,\s*total\)"),
                         "kmem_scan_mm_end fields"),
    "print fmt changed": (lambda t: t.replace("node=%d msuccess", "node=%u msuccess"),
                          "kmem_scan_mm_migrate print fmt"),
    "print args swapped": (lambda t: t.replace("__entry->msuccess, __entry->mfailed",
                                               "__entry->mfailed, __entry->msuccess"),
                           "kmem_scan_mm_migrate print args"),
    "class printk changed": (lambda t: t.replace('TP_printk("mm=%p"', 'TP_printk("mm = %p"'),
                             "kmem_mm_enter print fmt"),
    "event renamed": (lambda t: t.replace("DEFINE_EVENT(kmem_mm_class, kmem_mm_exit,",
                                          "DEFINE_EVENT(kmem_mm_class, kmem_mm_exited,"),
                      "events:"),
    "event outside the guard": (_move_endif_up, "kmem_scan_mm_migrate is not inside"),
    "guard renamed": (lambda t: t.replace("#ifdef CONFIG_KSCAND", "#ifdef CONFIG_KSCAN"),
                      "is not inside #ifdef CONFIG_KSCAND"),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drifted_patch_copy_is_caught(patch_text, tmp_path, drift):
    alter, expect = DRIFTS[drift]
    altered = alter(patch_text)
    assert altered != patch_text, "the alteration %r no longer applies" % drift
    copy = tmp_path / os.path.basename(find_patch())
    copy.write_text(altered, encoding="utf-8")
    problems = compare(copy.read_text(encoding="utf-8"))
    assert any(expect in p for p in problems), problems


@pytest.mark.parametrize("change", ["print_fmt", "field", "migrate_v2", "order"])
def test_drifted_schema_is_caught(patch_text, change):
    schema = list(events.KSCAND_EVENTS)
    if change == "print_fmt":
        schema[0] = dataclasses.replace(schema[0], print_fmt="mm = %p")
    elif change == "field":
        end = schema[3]
        f = end.fields[-1]
        schema[3] = dataclasses.replace(
            end, fields=end.fields[:-1] + (dataclasses.replace(f, ctype="unsigned int"),))
    elif change == "migrate_v2":
        schema[4] = events.MIGRATE_V2
    else:
        schema[0], schema[1] = schema[1], schema[0]
    assert compare(patch_text, tuple(schema)) != []


def test_parser_reads_other_spellings():
    text = "\n".join("+" + line for line in [
        "#ifdef CONFIG_KSCAND",
        "TRACE_EVENT(x_ev,",
        "\tTP_PROTO(int a), TP_ARGS(a),",
        "\tTP_STRUCT__entry(",
        "\t\t__field( struct mm_struct*, mm )  /* a, comment ) */",
        "\t\t__array(char, comm, 16)",
        "\t\t__string(filename, name)",
        "\t),",
        "\tTP_fast_assign(__entry->mm = mm;),",
        '\tTP_printk("mm=%p " "comm=%s, f=%s", __entry->mm, __entry->comm,',
        "\t\t  __get_str(filename))",
        ");",
        "#endif",
    ])
    text = "diff --git a/%s b/%s\n%s\n" % (KMEM_H, KMEM_H, text)
    ev = parse_events(added_lines(text))["x_ev"]
    assert ev["fields"] == [("mm", "struct mm_struct *"), ("comm", "char[16]"),
                            ("filename", "__data_loc char[]")]
    assert ev["print_fmt"] == "mm=%p comm=%s, f=%s"
    assert ev["print_args"] == ["mm", "comm", "filename"]
    assert ev["guards"] == ("CONFIG_KSCAND",)
