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
from typing import Any, Callable, Dict, List, Optional

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


def _where(path: List[str]) -> str:
    if not path:
        return "the document"
    return "".join(p if p.startswith("[") or i == 0 else "." + p for i, p in enumerate(path))


def _type_name(v: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](v):
            return name
    return type(v).__name__


class _Validator:
    def __init__(self, root: Schema) -> None:
        self.root = root

    def resolve(self, ref: str) -> Schema:
        if not ref.startswith("#/$defs/"):
            raise ValueError("unsupported $ref %r" % ref)
        target: Schema = self.root["$defs"][ref[len("#/$defs/"):]]
        return target

    def error(self, schema: Schema, v: Any, path: List[str]) -> Optional[str]:
        """The first way ``v`` breaks ``schema`` (a line naming where), or None."""
        unknown = set(schema) - KEYWORDS
        if unknown:
            raise ValueError("schema keyword(s) this validator does not know: %s"
                             % ", ".join(sorted(unknown)))
        if "$ref" in schema:
            why = self.error(self.resolve(schema["$ref"]), v, path)
            if why is not None:
                return why
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_TYPES[t](v) for t in types):
                return "%s: %s, expected %s" % (_where(path), _type_name(v), " or ".join(types))
        if "const" in schema and not _equal(v, schema["const"]):
            return "%s: %s, expected %s" % (_where(path), json.dumps(v)[:60],
                                            json.dumps(schema["const"]))
        if "enum" in schema and not any(_equal(v, e) for e in schema["enum"]):
            return "%s: %s, expected one of %s" % (_where(path), json.dumps(v)[:60],
                                                   json.dumps(schema["enum"]))
        if _TYPES["number"](v):
            if "minimum" in schema and v < schema["minimum"]:
                return "%s: %s, below %s" % (_where(path), v, schema["minimum"])
            if "maximum" in schema and v > schema["maximum"]:
                return "%s: %s, above %s" % (_where(path), v, schema["maximum"])
        if isinstance(v, str) and "pattern" in schema and not re.search(schema["pattern"], v):
            return "%s: %r does not match %s" % (_where(path), v[:60], schema["pattern"])
        if isinstance(v, dict):
            return self._object(schema, v, path)
        if isinstance(v, list):
            return self._array(schema, v, path)
        return None

    def _object(self, schema: Schema, v: Dict[str, Any], path: List[str]) -> Optional[str]:
        for key in schema.get("required", ()):
            if key not in v:
                return "%s: member %r missing" % (_where(path), key)
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, value in v.items():
            if names is not None:
                why = self.error(names, key, path + [key])
                if why is not None:
                    return "%s: member name %r not allowed" % (_where(path), key)
            if key in props:
                sub = props[key]
            elif extra is False:
                return "%s: unknown member %r" % (_where(path), key)
            elif isinstance(extra, dict):
                sub = extra
            else:
                continue
            why = self.error(sub, value, path + [key])
            if why is not None:
                return why
        return None

    def _array(self, schema: Schema, v: List[Any], path: List[str]) -> Optional[str]:
        if "minItems" in schema and len(v) < schema["minItems"]:
            return "%s: %d items, expected at least %d" % (_where(path), len(v),
                                                           schema["minItems"])
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            return "%s: %d items, expected at most %d" % (_where(path), len(v),
                                                          schema["maxItems"])
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(v):
                why = self.error(items, item, path + ["[%d]" % i])
                if why is not None:
                    return why
        return None


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def problem(doc: Any, schema: Optional[Schema] = None) -> Optional[str]:
    """Why ``doc`` is not a report of the schema (one line: where and what), or None."""
    root = load() if schema is None else schema
    return _Validator(root).error(root, doc, [])


__all__ = ["KEYWORDS", "SCHEMA_PATH", "load", "problem"]
