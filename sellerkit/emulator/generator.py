"""Schema-conformant sample responses for operations the simulation does not answer.

Given an operation's success response schema (the catalog's stripped JSON schema, with
``$ref: #/definitions/X``), build a JSON value that validates against it: required fields
always, optional ones while a node budget lasts, enums, formats (``date-time``, ``date``),
bounds, patterns of the models, arrays of one or two items. Choices come from a
``random.Random`` seeded with the emulator seed and the operation key, so the answer is the same
for the same seed.

Optional ``errors`` members and pagination tokens are left out: a success response carrying
either would make a client report errors or page forever.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["generate", "generate_for", "sample_string"]

_TOKEN_NAME = re.compile(r"(?i)^(next|previous|prev)_?(page)?_?token$|^nexttoken$|^pagetoken$")
_BUDGET = 1500  # nodes per response before only required members are filled in
_MAX_DEPTH = 40

# The patterns that occur in the models, with a value that matches each.
_PATTERN_SAMPLES: dict[str, str] = {
    "^[A-Z]{2}$": "US",
    "^([A-Z]{2})$": "US",
    "^[a-zA-Z0-9-]*$": "emulator-1",
    "^[a-z]{2}_[A-Z]{2}$": "en_US",
    "^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])$": "2026-01-15",
    "^[a-zA-Z0-9-._ ]*$": "emulator item",
    "^[1-9](\\.[1-9])?$": "2.1",
    "^(UN|ID|NA)[0-9]{4}$": "UN1234",
    "^arn:aws:sqs:\\S+:\\S+:\\S+": "arn:aws:sqs:us-east-1:000000000000:emulator",
    "^[A-Z0-9]*$": "B0EMULATOR",
    "^[A-Za-z0-9\\\\+/]{22}={2}$": "AAAAAAAAAAAAAAAAAAAAAA==",
    "^([a-zA-Z0-9_\\-\\.]+)@([a-zA-Z0-9_\\-\\.]+)\\.([a-zA-Z]{2,5})$": "buyer@example.com",
    "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$": "2026-01-15T10:00:00Z",
    "^https?://.+": "https://example.com/emulator",
    "^(0?[1-9]|1[012])$": "7",
    "^[0-9]{4}$": "2026",
    "^[a-zA-Z0-9]+$": "emulator1",
}
_FALLBACK_STRINGS = ("emulator", "US", "ABC123", "en_US", "1", "2026-01-15", "x",
                     "0f8fad5b-d9cb-469f-a165-70867728950e")
_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


class _Gen:
    def __init__(self, defs: dict[str, Any], rng: random.Random) -> None:
        self.defs = defs
        self.rng = rng
        self.nodes = 0

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 50:
            name = schema["$ref"].rsplit("/", 1)[-1]
            target = self.defs.get(name, {})
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if rest else target
            seen += 1
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            props: dict[str, Any] = dict(merged.get("properties") or {})
            required: list[str] = list(merged.get("required") or [])
            for part in schema["allOf"]:
                part = self.resolve(part)
                props.update(part.get("properties") or {})
                required += [r for r in part.get("required") or [] if r not in required]
                for k, v in part.items():
                    if k not in ("properties", "required"):
                        merged.setdefault(k, v)
            if props:
                merged["properties"] = props
            if required:
                merged["required"] = required
            schema = merged
        return schema

    def value(self, schema: dict[str, Any], depth: int = 0, name: str = "") -> Any:
        self.nodes += 1
        schema = self.resolve(schema)
        enum = schema.get("enum")
        if enum:
            return self.rng.choice(enum)
        typ = schema.get("type")
        if isinstance(typ, list):
            typ = next((t for t in typ if t != "null"), "string")
        if typ is None:
            if "properties" in schema or "additionalProperties" in schema:
                typ = "object"
            elif "items" in schema:
                typ = "array"
            else:
                return {}
        if typ == "object":
            return self.obj(schema, depth)
        if typ == "array":
            return self.array(schema, depth, name)
        if typ == "string":
            return self.string(schema, name)
        if typ == "integer":
            return self.integer(schema)
        if typ == "number":
            return self.number(schema)
        if typ == "boolean":
            return self.rng.random() < 0.5
        return None

    def obj(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required") or ())
        props: dict[str, Any] = schema.get("properties") or {}
        for pname, pschema in props.items():
            if pname not in required:
                if depth >= _MAX_DEPTH or self.nodes > _BUDGET:
                    continue
                if pname == "errors" or _TOKEN_NAME.match(pname):
                    continue
            elif depth >= _MAX_DEPTH * 2:
                continue  # a cycle through required members; give up rather than recurse
            out[pname] = self.value(pschema, depth + 1, pname)
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict) and self.nodes <= _BUDGET:
            out["key1"] = self.value(extra, depth + 1, "key1")
        return out

    def array(self, schema: dict[str, Any], depth: int, name: str) -> list[Any]:
        lo = max(1, int(schema.get("minItems", 0)))
        hi = max(lo, 2)
        if "maxItems" in schema:
            hi = min(hi, int(schema["maxItems"]))
            lo = min(lo, hi)
        if self.nodes > _BUDGET or depth >= _MAX_DEPTH:
            hi = lo
        n = self.rng.randint(lo, hi) if hi > lo else lo
        items = schema.get("items") or {}
        out: list[Any] = []
        for _ in range(n):
            v = self.value(items, depth + 1, name)
            if schema.get("uniqueItems") and v in out:
                continue
            out.append(v)
        return out

    def string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt in ("date-time", "dateTime"):
            t = _BASE_TIME + timedelta(seconds=self.rng.randrange(0, 180 * 86400))
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            t = _BASE_TIME + timedelta(days=self.rng.randrange(0, 180))
            return t.strftime("%Y-%m-%d")
        if fmt == "uri":
            return "https://example.com/emulator"
        if fmt == "byte":
            return "ZW11bGF0b3I="
        lo = int(schema.get("minLength", 0))
        hi = schema.get("maxLength")
        pattern = schema.get("pattern")
        if pattern:
            sample = _PATTERN_SAMPLES.get(pattern)
            candidates = ([sample] if sample else []) + list(_FALLBACK_STRINGS)
            try:
                rx = re.compile(pattern)
            except re.error:
                rx = None
            for c in candidates:
                if (rx is None or rx.search(c)) and len(c) >= lo and (hi is None or len(c) <= hi):
                    return c
        base = (name or "value") + "-" + str(self.rng.randrange(1000, 9999))
        if len(base) < lo:
            base = base + "x" * (lo - len(base))
        if hi is not None and len(base) > int(hi):
            base = base[: int(hi)]
        return base

    def integer(self, schema: dict[str, Any]) -> int:
        lo = schema.get("minimum", 0)
        hi = schema.get("maximum", max(lo, 0) + 100)
        lo, hi = int(lo), int(hi)
        if schema.get("exclusiveMinimum"):
            lo += 1
        if schema.get("exclusiveMaximum"):
            hi -= 1
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            return -(-lo // step) * step  # the smallest multiple within bounds
        return self.rng.randint(lo, max(lo, hi))

    def number(self, schema: dict[str, Any]) -> float:
        lo = float(schema.get("minimum", 0))
        hi = float(schema.get("maximum", lo + 100))
        step = schema.get("multipleOf")
        if step:
            k = int(-(-lo // step)) + self.rng.randint(0, max(0, int((hi - lo) // step) - 1))
            return k * step
        v = round(self.rng.uniform(lo, hi), 2)
        if schema.get("exclusiveMinimum") and v <= lo:
            v = lo + (hi - lo) / 2
        if schema.get("exclusiveMaximum") and v >= hi:
            v = lo + (hi - lo) / 2
        return min(max(v, lo), hi)


def sample_string(schema: dict[str, Any], name: str = "", seed: int = 0) -> str:
    """A string that satisfies ``schema`` (format, pattern, lengths)."""
    return _Gen({}, random.Random(seed)).string(schema, name)


def generate(schema: dict[str, Any], definitions: dict[str, Any], rng: random.Random) -> Any:
    """A value that validates against ``schema`` (whose ``$ref`` point into ``definitions``)."""
    return _Gen(definitions, rng).value(schema)


def generate_for(op: Any, definitions: dict[str, Any], seed: int) -> tuple[int, Any]:
    """(status, body) of a generated success response of a catalog operation; 204 -> None."""
    status_text = op.success_status or min(
        (s for s in op.responses if s.startswith("2")), default="200")
    status = int(status_text)
    schema = op.responses.get(status_text)
    if status == 204 or not schema:
        return status, None
    rng = random.Random(f"sellerkit-emulator:{seed}:{op.key}")
    return status, generate(schema, definitions, rng)
