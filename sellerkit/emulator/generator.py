"""Schema-conformant sample responses for operations the simulation does not answer.

Given an operation's success response schema (the catalog's stripped JSON schema, with
``$ref: #/definitions/X``), build a JSON value that validates against it: required fields
always, optional ones while a node budget lasts, enums, formats (``date-time``, ``date``),
bounds, patterns of the models, arrays of one or two items. Choices come from a
``random.Random`` seeded with the emulator seed and the operation key, so the answer is the same
for the same seed.

Optional ``errors`` members and pagination tokens are left out: a success response carrying
either would make a client report errors or page forever.

A :class:`RequestContext` built from the request makes the answer about that request:

* identifiers the request supplied (ASIN, SKU, order id, marketplace id, seller id, shipment id;
  from the path, the query and the body, and the caller's seller id from the token) fill the
  response fields of the same meaning; a list of several ASINs or SKUs gives one array item per
  value, and a batch (``requests`` in the body) gives one ``responses`` item per request, each
  about its own request (its ``uri`` is routed to find the identifiers in the path);
* enum fields that the request set (``ItemCondition``, ...) carry the requested value;
* currency codes are ISO 4217 (the marketplace's currency), marketplace ids are real ones,
  ``*Date`` strings are ISO 8601 date-times, ``statusCode`` is 200 with ``reasonPhrase`` OK;
* the random choices are seeded with the seed, the operation and the request, so the same
  request gets the same answer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["RequestContext", "generate", "generate_for", "id_kind", "request_context",
           "sample_string"]

# Field names (lower case, letters only) -> the identifier they hold.
_ID_NAMES: dict[str, str] = {
    "asin": "asin", "asins": "asin", "asinlist": "asin",
    "sku": "sku", "skus": "sku", "sellersku": "sku", "sellerskus": "sku", "skulist": "sku",
    "orderid": "orderId", "orderids": "orderId", "amazonorderid": "orderId",
    "amazonorderids": "orderId",
    "marketplaceid": "marketplaceId", "marketplaceids": "marketplaceId",
    "sellerid": "sellerId", "sellerids": "sellerId", "sellingpartnerid": "sellerId",
    "shipmentid": "shipmentId", "shipmentids": "shipmentId", "amazonshipmentid": "shipmentId",
}
# Array items are aligned one per supplied value of the first of these kinds with several.
_ALIGN_KINDS = ("asin", "sku", "orderId", "shipmentId")
_MAX_ALIGNED = 20
_MAX_WALK = 5000

# Amazon's marketplaces (sellerkit.regions) and their ISO 4217 currencies.
_CURRENCY_BY_COUNTRY = {
    "CA": "CAD", "US": "USD", "MX": "MXN", "BR": "BRL", "IE": "EUR", "ES": "EUR", "UK": "GBP",
    "FR": "EUR", "BE": "EUR", "NL": "EUR", "DE": "EUR", "IT": "EUR", "SE": "SEK", "ZA": "ZAR",
    "PL": "PLN", "EG": "EGP", "TR": "TRY", "SA": "SAR", "AE": "AED", "IN": "INR", "SG": "SGD",
    "AU": "AUD", "JP": "JPY",
}
_DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"
# Plain-string fields whose values Amazon draws from a short list (first: the usual one).
_WORDS: dict[str, tuple[str, ...]] = {
    "condition": ("New", "Used"), "itemcondition": ("New", "Used"),
    "conditiontype": ("New", "Used"),
    "subcondition": ("New", "Mint", "VeryGood", "Good"),
    "itemsubcondition": ("New", "Mint", "VeryGood", "Good"),
    "fulfillmentchannel": ("Amazon", "Merchant"),
    "languagetag": ("en_US",), "locale": ("en_US",),
}
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_NONE: Any = object()


def _norm(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def id_kind(name: str) -> str | None:
    """The identifier a field of this name holds (``asin``, ``sku``, ``orderId``,
    ``marketplaceId``, ``sellerId``, ``shipmentId``), or None."""
    return _ID_NAMES.get(_norm(name))


@functools.cache
def _marketplaces() -> dict[str, str]:
    """marketplace id -> country code."""
    from sellerkit.regions import MARKETPLACES

    return {m.id: m.country_code for m in MARKETPLACES.values()}


@dataclass
class RequestContext:
    """What a generated response echoes: identifiers by kind (in request order), scalar
    request values by name (echoed into enum fields of that name), and one context per item
    of a batch request."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    scalars: dict[str, str] = field(default_factory=dict)
    batch: list[RequestContext] | None = None
    digest: str = ""

    def add(self, kind: str, value: Any) -> None:
        if isinstance(value, str) and value:
            values = self.ids.get(kind, [])
            if value not in values:
                self.ids[kind] = [*values, value]  # a new list: pinned copies share the old

    def pinned(self, kind: str, value: str) -> RequestContext:
        return replace(self, ids={**self.ids, kind: [value]}, batch=None)

    @property
    def country(self) -> str | None:
        mps = _marketplaces()
        for mp in self.ids.get("marketplaceId", ()):
            if mp in mps:
                return mps[mp]
        return None


def _walk_body(ctx: RequestContext, value: Any, budget: list[int], depth: int = 0) -> None:
    budget[0] -= 1
    if budget[0] < 0 or depth > 30:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            kind = id_kind(str(k))
            if kind is not None:
                for item in (v if isinstance(v, list) else [v]):
                    ctx.add(kind, item)
            elif isinstance(v, str) and len(v) <= 200:
                ctx.scalars.setdefault(str(k), v)
            _walk_body(ctx, v, budget, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _walk_body(ctx, v, budget, depth + 1)


def _add_params(ctx: RequestContext, op: Any, params: dict[str, Any]) -> None:
    for name, value in params.items():
        p = op.params_by_name.get(name) if op is not None else None
        values = value if isinstance(value, list) else [value]
        if p is not None and p.type == "array":
            values = [x for v in values for x in str(v).split(",")]
        kind = id_kind(name)
        for v in values:
            if kind is not None:
                ctx.add(kind, str(v))
            elif isinstance(v, str):
                ctx.scalars.setdefault(name, v)


def request_context(op: Any, path_params: dict[str, str], query: dict[str, list[str]],
                    body: Any, seller_id: str = "", catalog: Any = None,
                    raw_body: bytes = b"") -> RequestContext:
    """The context of one request: ``query`` as parsed (name -> values), ``body`` parsed
    JSON (or None), ``raw_body`` as sent. ``catalog`` routes the ``uri`` of batch request
    items."""
    ctx = RequestContext()
    _add_params(ctx, op, dict(path_params))
    _add_params(ctx, op, {k: v for k, v in query.items()})
    if body is not None:
        _walk_body(ctx, body, [_MAX_WALK])
    if seller_id:
        ctx.add("sellerId", seller_id)
    requests = body.get("requests") if isinstance(body, dict) else None
    if isinstance(requests, list) and requests:
        items: list[RequestContext] = []
        for item in requests[:_MAX_ALIGNED * 5]:
            sub = RequestContext()
            if isinstance(item, dict):
                uri = item.get("uri")
                if isinstance(uri, str) and catalog is not None:
                    parts = urlsplit(uri)
                    method = str(item.get("method") or "GET").upper()
                    found = catalog.match(method, parts.path)
                    if found is not None:
                        _add_params(sub, found[0], {k: unquote(v) for k, v in found[1].items()})
                        q: dict[str, list[str]] = {}
                        for k, v in parse_qsl(parts.query):
                            q.setdefault(k, []).append(v)
                        _add_params(sub, found[0], q)
                _walk_body(sub, {k: v for k, v in item.items() if k != "uri"}, [_MAX_WALK])
            for kind, values in ctx.ids.items():  # the caller's seller and shared ids
                if kind not in sub.ids and (kind == "sellerId" or len(values) == 1):
                    sub.ids[kind] = list(values)
            items.append(sub)
        ctx.batch = items
    head = [op.key if op is not None else "", sorted(path_params.items()),
            sorted((k, v) for k, vs in query.items() for v in vs), seller_id]
    try:
        canon = json.dumps([*head, body], sort_keys=True, default=str).encode()
    except (RecursionError, ValueError):  # a body nested too deeply to re-encode
        canon = json.dumps(head).encode() + raw_body
    ctx.digest = hashlib.sha256(canon).hexdigest()[:32]
    return ctx


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


def _fits(schema: dict[str, Any], value: Any) -> bool:
    """Whether a string (or list of strings) satisfies a resolved string/array schema."""
    if isinstance(value, list):
        items = schema.get("items") or {}
        return schema.get("type") == "array" and all(_fits(items, v) for v in value)
    typ = schema.get("type")
    if typ not in (None, "string") or not isinstance(value, str):
        return False
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        return False
    if len(value) < int(schema.get("minLength", 0)):
        return False
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        return False
    pattern = schema.get("pattern")
    if pattern:
        try:
            if not re.search(pattern, value):
                return False
        except re.error:
            return False
    return True


class _Gen:
    def __init__(self, defs: dict[str, Any], rng: random.Random,
                 ctx: RequestContext | None = None) -> None:
        self.defs = defs
        self.rng = rng
        self.nodes = 0
        self.ctx = ctx or RequestContext()
        self._turn: dict[str, int] = {}

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
        if name:
            special = self.special(schema, name)
            if special is not _NONE:
                return special
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

    # values that mean something: identifiers of the request, code lists, times ------------

    def _pick(self, kind: str, values: list[str]) -> str:
        i = self._turn.get(kind, 0)
        self._turn[kind] = i + 1
        return values[i % len(values)]

    def special(self, schema: dict[str, Any], name: str) -> Any:
        typ = schema.get("type")
        kind = id_kind(name)
        ctx = self.ctx
        if kind is not None:
            supplied = ctx.ids.get(kind) or []
            if typ == "array":
                items = self.resolve(schema.get("items") or {})
                chosen = [v for v in supplied if _fits(items, v)]
                if "maxItems" in schema:
                    chosen = chosen[: int(schema["maxItems"])]
                if chosen and len(chosen) >= int(schema.get("minItems", 0)):
                    return chosen
                return _NONE
            if typ not in (None, "string") or schema.get("enum"):
                return _NONE
            fitting = [v for v in supplied if _fits(schema, v)]
            if fitting:
                return self._pick(kind, fitting)
            made = self.made_up(kind)
            if made is None or not _fits(schema, made):
                return _NONE
            if not supplied:
                ctx.add(kind, made)  # later fields of the same meaning agree with this one
            return made
        enum = schema.get("enum")
        if enum:
            asked = ctx.scalars.get(name)
            return asked if asked in enum else _NONE
        norm = _norm(name)
        if typ == "string" and not schema.get("format"):
            if norm.endswith("currencycode") or norm.endswith("currency"):
                code = _CURRENCY_BY_COUNTRY.get(ctx.country or "US", "USD")
                return code if _fits(schema, code) else _NONE
            if norm == "countrycode":
                country = ctx.country or "US"
                country = "GB" if country == "UK" else country
                return country if _fits(schema, country) else _NONE
            words = _WORDS.get(norm)
            if words is not None and not schema.get("pattern"):
                asked = ctx.scalars.get(name)
                if asked is not None and _fits(schema, asked):
                    return asked
                pick = words[0] if self.rng.random() < 0.7 else self.rng.choice(words)
                return pick if _fits(schema, pick) else _NONE
            if norm == "country" and not schema.get("pattern"):
                country = ctx.country or "US"
                country = "GB" if country == "UK" else country
                return country if _fits(schema, country) else _NONE
            if norm == "reasonphrase":
                return "OK"
            if norm == "status" and not schema.get("pattern"):
                return "Success"
            if (name.endswith("Date") or name.endswith("DateTime")) and not schema.get("pattern"):
                t = _BASE_TIME + timedelta(seconds=self.rng.randrange(0, 180 * 86400))
                return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        if typ == "integer" and norm == "statuscode":
            lo, hi = schema.get("minimum", 200), schema.get("maximum", 200)
            return 200 if lo <= 200 <= hi else _NONE
        return _NONE

    def made_up(self, kind: str) -> str | None:
        """An identifier the request did not supply, in the shape Amazon's have."""
        rng = self.rng
        if kind == "marketplaceId":
            return _DEFAULT_MARKETPLACE
        if kind == "asin":
            return "B0" + "".join(rng.choice(_ALNUM) for _ in range(8))
        if kind == "orderId":
            return (f"{rng.randrange(100, 1000)}-{rng.randrange(10**6, 10**7):07d}-"
                    f"{rng.randrange(10**6, 10**7):07d}")
        if kind == "sellerId":
            return "A" + "".join(rng.choice(_ALNUM) for _ in range(13))
        return None

    def aligned(self, items: dict[str, Any]) -> tuple[str, list[str]] | None:
        """(kind, values) when array items should be one per supplied identifier."""
        props = items.get("properties") or {}
        kinds = {id_kind(p) for p in props}
        for kind in _ALIGN_KINDS:
            values = self.ctx.ids.get(kind) or []
            if kind in kinds and len(values) > 1:
                return kind, values[:_MAX_ALIGNED]
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
        resolved = self.resolve(items)
        contexts: list[RequestContext] | None = None
        if name == "responses" and self.ctx.batch:
            contexts = self.ctx.batch[:_MAX_ALIGNED * 5]
        elif resolved.get("type", "object") == "object" and self.nodes <= _BUDGET:
            align = self.aligned(resolved)
            if align is not None:
                contexts = [self.ctx.pinned(align[0], v) for v in align[1]]
        if contexts is not None:
            if "maxItems" in schema:
                contexts = contexts[: int(schema["maxItems"])]
            if len(contexts) >= lo:
                outer = self.ctx
                out = []
                try:
                    for sub in contexts:
                        self.ctx = sub
                        out.append(self.value(items, depth + 1, name))
                finally:
                    self.ctx = outer
                return out
        out = []
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


def generate(schema: dict[str, Any], definitions: dict[str, Any], rng: random.Random,
             context: RequestContext | None = None) -> Any:
    """A value that validates against ``schema`` (whose ``$ref`` point into ``definitions``),
    about the request of ``context`` when one is given."""
    return _Gen(definitions, rng, context).value(schema)


def generate_for(op: Any, definitions: dict[str, Any], seed: int,
                 context: RequestContext | None = None) -> tuple[int, Any]:
    """(status, body) of a generated success response of a catalog operation; 204 -> None.
    The same seed, operation and request (``context``) give the same body."""
    status_text = op.success_status or min(
        (s for s in op.responses if s.startswith("2")), default="200")
    status = int(status_text)
    schema = op.responses.get(status_text)
    if status == 204 or not schema:
        return status, None
    digest = context.digest if context is not None else ""
    rng = random.Random(f"sellerkit-emulator:{seed}:{op.key}:{digest}")
    return status, generate(schema, definitions, rng, context)
