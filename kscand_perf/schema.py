"""The published JSON Schema of the report (report.schema.json, beside this file) and a
small validator of the part of JSON Schema (draft 2020-12) that file uses, so that merge
and compare check their inputs without a dependency.

Keywords understood: type, properties, required, additionalProperties (false or a
schema), propertyNames (pattern), items, minItems, maxItems, const, enum, minimum,
maximum, pattern and $ref to "#/$defs/NAME"; description, title, $schema and $defs are
annotations. A keyword outside this set in the schema is an error (tests/test_schema.py
checks the file against it, and against python3-jsonschema).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.schema.json")

Schema = Dict[str, Any]

KEYWORDS = frozenset((
    "type", "properties", "required", "additionalProperties", "propertyNames", "items",
    "minItems", "maxItems", "const", "enum", "minimum", "maximum", "pattern", "$ref",
    "description", "title", "$schema", "$defs"))

_TYPES: Dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}

_cache: Dict[str, Schema] = {}


def load(path: str = SCHEMA_PATH) -> Schema:
    """The schema in ``path`` (read once)."""
    if path not in _cache:
        with open(path, encoding="utf-8") as f:
            _cache[path] = json.load(f)
    return _cache[path]


Path = Optional[Tuple[Any, Any]]  # (parent path, member name or "[i]"): built as it goes
Check = Callable[[Any, Path], Optional[str]]


def _where(path: Path) -> str:
    names: List[str] = []
    while path is not None:
        path, name = path
        names.append(name)
    names.reverse()
    if not names:
        return "the document"
    return "".join(p if p.startswith("[") or i == 0 else "." + p for i, p in enumerate(names))


def _type_name(v: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](v):
            return name
    return type(v).__name__


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


class _Compiler:
    """Turns a schema into a check function once (refs resolved, keywords read), so that a
    report of hundreds of thousands of mm rows is checked at the cost of a few calls per
    member."""

    def __init__(self, root: Schema) -> None:
        self.root = root
        self.refs: Dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if not ref.startswith("#/$defs/"):
            raise ValueError("unsupported $ref %r" % ref)
        if ref not in self.refs:
            target: Schema = self.root["$defs"][ref[len("#/$defs/"):]]
            box: List[Check] = []
            self.refs[ref] = lambda v, path: box[0](v, path)  # (for a recursive ref)
            box.append(self.compile(target))
            self.refs[ref] = box[0]
        return self.refs[ref]

    def compile(self, schema: Schema) -> Check:
        unknown = set(schema) - KEYWORDS
        if unknown:
            raise ValueError("schema keyword(s) this validator does not know: %s"
                             % ", ".join(sorted(unknown)))
        checks: List[Check] = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            tests = [_TYPES[t] for t in types]
            wanted = " or ".join(types)

            def type_(v: Any, path: Path) -> Optional[str]:
                for t in tests:
                    if t(v):
                        return None
                return "%s: %s, expected %s" % (_where(path), _type_name(v), wanted)
            checks.append(type_)
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda v, path: None if _equal(v, const) else "%s: %s, expected %s" % (
                _where(path), json.dumps(v)[:60], json.dumps(const)))
        if "enum" in schema:
            enum = schema["enum"]
            checks.append(lambda v, path: None if any(_equal(v, e) for e in enum)
                          else "%s: %s, expected one of %s" % (
                              _where(path), json.dumps(v)[:60], json.dumps(enum)))
        checks += self._number(schema) + self._string(schema)
        if any(k in schema for k in ("properties", "required", "additionalProperties",
                                     "propertyNames")):
            checks.append(self._object(schema))
        if any(k in schema for k in ("items", "minItems", "maxItems")):
            checks.append(self._array(schema))
        if len(checks) == 1:
            return checks[0]

        def all_(v: Any, path: Path) -> Optional[str]:
            for check in checks:
                why = check(v, path)
                if why is not None:
                    return why
            return None
        return all_

    @staticmethod
    def _number(schema: Schema) -> List[Check]:
        out: List[Check] = []
        number = _TYPES["number"]
        if "minimum" in schema:
            low = schema["minimum"]
            out.append(lambda v, path: "%s: %s, below %s" % (_where(path), v, low)
                       if number(v) and v < low else None)
        if "maximum" in schema:
            high = schema["maximum"]
            out.append(lambda v, path: "%s: %s, above %s" % (_where(path), v, high)
                       if number(v) and v > high else None)
        return out

    @staticmethod
    def _string(schema: Schema) -> List[Check]:
        if "pattern" not in schema:
            return []
        text = schema["pattern"]
        pattern = re.compile(text)
        return [lambda v, path: "%s: %r does not match %s" % (_where(path), v[:60], text)
                if isinstance(v, str) and not pattern.search(v) else None]

    def _object(self, schema: Schema) -> Check:
        required = list(schema.get("required", ()))
        props = {k: self.compile(sub) for k, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = self.compile(extra) if isinstance(extra, dict) else None
        names = schema.get("propertyNames")
        names_check = self.compile(names) if names is not None else None

        def object_(v: Any, path: Path) -> Optional[str]:
            if not isinstance(v, dict):
                return None
            for key in required:
                if key not in v:
                    return "%s: member %r missing" % (_where(path), key)
            for key, value in v.items():
                if names_check is not None and names_check(key, (path, key)) is not None:
                    return "%s: member name %r not allowed" % (_where(path), key)
                check = props.get(key)
                if check is None:
                    if extra is False:
                        return "%s: unknown member %r" % (_where(path), key)
                    check = extra_check
                    if check is None:
                        continue
                why = check(value, (path, key))
                if why is not None:
                    return why
            return None
        return object_

    def _array(self, schema: Schema) -> Check:
        low, high = schema.get("minItems"), schema.get("maxItems")
        items = schema.get("items")
        item_check = self.compile(items) if items is not None else None

        def array_(v: Any, path: Path) -> Optional[str]:
            if not isinstance(v, list):
                return None
            if low is not None and len(v) < low:
                return "%s: %d items, expected at least %d" % (_where(path), len(v), low)
            if high is not None and len(v) > high:
                return "%s: %d items, expected at most %d" % (_where(path), len(v), high)
            if item_check is not None:
                for i, item in enumerate(v):
                    why = item_check(item, (path, "[%d]" % i))
                    if why is not None:
                        return why
            return None
        return array_


_compiled: Dict[str, Check] = {}  # the published schema's check, made once


def problem(doc: Any, schema: Optional[Schema] = None) -> Optional[str]:
    """Why ``doc`` is not a report of ``schema`` (default: the published one), in one line
    (where and what), or None."""
    if schema is not None:
        return _Compiler(schema).compile(schema)(doc, None)
    if "report" not in _compiled:
        root = load()
        _compiled["report"] = _Compiler(root).compile(root)
    return _compiled["report"](doc, None)


__all__ = ["KEYWORDS", "SCHEMA_PATH", "load", "problem"]
