"""Building valid requests for any catalog operation, for the emulator tests."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote

from sellerkit.catalog import Operation, Parameter, get_catalog
from sellerkit.emulator.generator import generate, sample_string

NOTHING: Any = object()


def _filler(p: Parameter, avoid: frozenset[str] | set[str]) -> Any:
    typ = p.type
    if typ == "array":
        item = _scalar(p.items or {}, p.name, avoid)
        return [item]
    return _scalar({"type": typ, "format": p.format, "enum": p.enum, **p.constraints},
                   p.name, avoid)


def _scalar(schema: dict[str, Any], name: str, avoid: frozenset[str] | set[str]) -> Any:
    enum = schema.get("enum")
    if enum:
        return next((e for e in enum if str(e) not in avoid), enum[-1])
    typ = schema.get("type") or "string"
    if typ in ("integer", "number"):
        lo = int(schema.get("minimum", 1))
        hi = int(schema.get("maximum", lo + 10))
        return next((n for n in range(lo, hi + 1) if str(n) not in avoid), lo)
    if typ == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2026-01-02T03:04:05Z"
    if schema.get("format") == "date":
        return "2026-01-02"
    if schema.get("pattern"):
        return sample_string(schema, name)
    text = "filler" + name.replace("_", "")
    lo, hi = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text + "x" * max(0, lo - len(text))
    return text[: int(hi)] if hi is not None else text


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_request(op: Operation, params: dict[str, Any], avoid: frozenset[str] | set[str] = frozenset()
                  ) -> tuple[str, list[tuple[str, str]], dict[str, str], Any]:
    """(path, query pairs, headers, body or NOTHING) of a request with ``params`` (wire name or
    ``body`` -> value, NOTHING for "present but any value"), required ones filled in with valid
    values that avoid the strings in ``avoid``."""
    values: dict[str, Any] = {}
    body: Any = NOTHING
    for name, value in params.items():
        p = op.params_by_name.get(name)
        if name == "body" or (p is not None and p.location == "body"):
            if op.body_param is not None:
                body = value
            continue
        if p is not None and value is not NOTHING:
            values[name] = value
    for p in op.params:
        if p.location == "body":
            if body is NOTHING and p.required:
                defs = get_catalog().schemas(op.api_key)
                body = generate(p.schema or {}, defs, random.Random(op.key))
        elif p.name not in values and (p.required or p.name in params):
            values[p.name] = _filler(p, avoid)
    path = op.path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    for name, value in values.items():
        p = op.params_by_name[name]
        if p.location == "path":
            path = path.replace("{" + name + "}", quote(_wire(value), safe=""))
        elif p.location == "query":
            if isinstance(value, list):
                if p.collection_format == "multi":
                    query += [(name, _wire(v)) for v in value]
                else:
                    query.append((name, ",".join(_wire(v) for v in value)))
            else:
                query.append((name, _wire(value)))
        else:
            headers[name] = _wire(value)
    return path, query, headers, body
