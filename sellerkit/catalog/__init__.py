"""The catalog: facts about every SP-API operation, compiled from Amazon's models.

``tools/gen_catalog.py`` writes ``data/operations.json`` (one record per operation) and
``data/schemas_<api_key>.json`` (the stripped definitions of each model). This module loads them
lazily and wraps them in small immutable objects; nothing is read at import time.

    >>> from sellerkit.catalog import get_catalog
    >>> op = get_catalog().operation("orders_v0.getOrders")
    >>> op.method, op.path, op.rate, op.burst
    ('GET', '/orders/v0/orders', 0.0167, 20)
"""

from __future__ import annotations

import difflib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

from sellerkit.errors import UnknownOperationError

__all__ = [
    "Catalog",
    "Operation",
    "Pagination",
    "Parameter",
    "UnknownOperationError",
    "get_catalog",
]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One request parameter of an operation, as the model declares it."""

    name: str
    location: str  # "path" | "query" | "header" | "body"
    required: bool
    py_name: str
    type: str | None = None
    format: str | None = None
    enum: tuple[Any, ...] | None = None
    collection_format: str | None = None
    items: dict[str, Any] | None = None
    schema: dict[str, Any] | None = None
    constraints: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Parameter:
        known = {"name", "in", "required", "py_name", "type", "format", "enum",
                 "collectionFormat", "items", "schema"}
        return cls(
            name=rec["name"],
            location=rec["in"],
            required=rec["required"],
            py_name=rec["py_name"],
            type=rec.get("type"),
            format=rec.get("format"),
            enum=tuple(rec["enum"]) if rec.get("enum") else None,
            collection_format=rec.get("collectionFormat"),
            items=rec.get("items"),
            schema=rec.get("schema"),
            constraints={k: v for k, v in rec.items() if k not in known},
        )


@dataclass(frozen=True, slots=True)
class Pagination:
    """How an operation pages: the request parameter that takes the token, the dotted path of the
    token in the response, and whether the token is sent alone (``token_only``) or together with
    the original filters (``repeat``)."""

    request: str
    response: str
    mode: str

    def token_from(self, payload: Any) -> str | None:
        node = payload
        for part in self.response.split("."):
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node if isinstance(node, str) and node else None


@dataclass(frozen=True)
class Operation:
    """One SP-API operation. ``key`` is ``<api>_<version>.<operationId>``."""

    key: str
    api: str
    version: str
    api_key: str
    operation_id: str
    py_name: str
    method: str
    path: str
    params: tuple[Parameter, ...]
    responses: dict[str, Any]
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    deprecated: bool
    sandbox_only: bool
    plan: str  # "default" | "placeholder" | "unknown"
    rate: float | None
    burst: int | None
    grantless_scope: str | None
    restricted: bool
    restricted_data_elements: tuple[str, ...]
    pagination: Pagination | None

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Operation:
        pag = rec.get("pagination")
        return cls(
            key=rec["key"],
            api=rec["api"],
            version=rec["version"],
            api_key=rec["api_key"],
            operation_id=rec["operation_id"],
            py_name=rec["py_name"],
            method=rec["method"],
            path=rec["path"],
            params=tuple(Parameter.from_record(p) for p in rec["params"]),
            responses=rec["responses"],
            consumes=tuple(rec.get("consumes") or ()),
            produces=tuple(rec.get("produces") or ()),
            deprecated=rec["deprecated"],
            sandbox_only=rec["sandbox_only"],
            plan=rec["plan"],
            rate=rec["rate"],
            burst=rec["burst"],
            grantless_scope=rec["grantless_scope"],
            restricted=rec["restricted"],
            restricted_data_elements=tuple(rec["restricted_data_elements"]),
            pagination=Pagination(**pag) if pag else None,
        )

    def __repr__(self) -> str:
        return f"<Operation {self.key}: {self.method} {self.path}>"

    @cached_property
    def params_by_name(self) -> dict[str, Parameter]:
        return {p.name: p for p in self.params}

    @cached_property
    def params_by_py_name(self) -> dict[str, Parameter]:
        return {p.py_name: p for p in self.params}

    @cached_property
    def body_param(self) -> Parameter | None:
        return next((p for p in self.params if p.location == "body"), None)

    @cached_property
    def path_regex(self) -> re.Pattern[str]:
        """Matches a concrete, percent-decoded path; path parameters never span a ``/`` except
        for a greedy trailing one."""
        out = "^"
        for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", self.path):
            out += re.escape(literal)
            if name:
                out += f"(?P<{_group(name)}>[^/]+)"
        return re.compile(out + "$")

    @property
    def rate_limit(self) -> tuple[float, int] | None:
        """The default usage plan, or None when the models give no numbers."""
        if self.rate is None or self.burst is None:
            return None
        return self.rate, self.burst

    @property
    def success_status(self) -> str | None:
        return next((s for s in ("200", "201", "202", "204") if s in self.responses), None)

    def summary(self) -> dict[str, Any]:
        """The fields ``sellerkit operations --json`` prints."""
        return {
            "key": self.key,
            "api": self.api,
            "version": self.version,
            "operation_id": self.operation_id,
            "method": self.method,
            "path": self.path,
            "rate": self.rate,
            "burst": self.burst,
            "plan": self.plan,
            "grantless_scope": self.grantless_scope,
            "restricted": self.restricted,
            "restricted_data_elements": list(self.restricted_data_elements),
            "deprecated": self.deprecated,
            "pagination": (
                {"request": self.pagination.request, "response": self.pagination.response,
                 "mode": self.pagination.mode} if self.pagination else None
            ),
        }


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


class Catalog:
    """All operations, by key, by API version and by (method, path)."""

    def __init__(self, index: dict[str, Any]) -> None:
        self._index = index
        self.operations: dict[str, Operation] = {
            rec["key"]: Operation.from_record(rec) for rec in index["operations"]
        }
        self.apis: dict[str, dict[str, Any]] = index["apis"]
        self.aliases: dict[str, str] = index["aliases"]
        self._schemas: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def operation(self, key: str) -> Operation:
        """Look an operation up by key; an alias (``orders.getOrder``) resolves to its version."""
        if not isinstance(key, str):
            raise UnknownOperationError(
                f"an operation key is a string such as 'orders_v0.getOrders', got "
                f"{type(key).__name__} {key!r:.40}")
        op = self.operations.get(key)
        if op is not None:
            return op
        api, _, oid = key.partition(".")
        if api in self.aliases:
            op = self.operations.get(f"{self.aliases[api]}.{oid}")
            if op is not None:
                return op
        close = difflib.get_close_matches(key, list(self.operations), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else (
            "; keys look like 'orders_v0.getOrders' (see `sellerkit operations`)")
        raise UnknownOperationError(f"unknown operation {key!r}{hint}")

    def api_operations(self, api_key: str) -> list[Operation]:
        return [op for op in self.operations.values() if op.api_key == api_key]

    def schemas(self, api_key: str) -> dict[str, Any]:
        """The stripped definitions of one model, loaded on first use."""
        with self._lock:
            defs = self._schemas.get(api_key)
            if defs is None:
                if api_key not in self.apis:
                    raise UnknownOperationError(f"unknown API {api_key!r}")
                text = _data_file(f"schemas_{api_key}.json")
                defs = json.loads(text)
                self._schemas[api_key] = defs
            return defs

    @cached_property
    def _routes(self) -> dict[tuple[str, str], list[Operation]]:
        # Every model path starts with two literal segments (/orders/v0, /fba/inventory, ...);
        # bucketing on them keeps a lookup to a handful of regex matches.
        routes: dict[tuple[str, str], list[Operation]] = {}
        for op in self.operations.values():
            routes.setdefault((op.method, _prefix(op.path)), []).append(op)
        for ops in routes.values():
            # literal paths before templated ones, longer literals first
            ops.sort(key=lambda o: (o.path.count("{"), -len(o.path)))
        return routes

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """Find the operation serving a concrete (percent-decoded) path."""
        for op in self._routes.get((method.upper(), _prefix(path)), ()):
            m = op.path_regex.match(path)
            if m:
                names = {_group(p.name): p.name for p in op.params if p.location == "path"}
                return op, {names.get(k, k): v for k, v in m.groupdict().items()}
        return None

    def paths_for(self, path: str) -> list[str]:
        """Methods that serve a path (for 405 vs 404 decisions)."""
        prefix = _prefix(path)
        return sorted({m for (m, pre), ops in self._routes.items()
                       if pre == prefix and any(o.path_regex.match(path) for o in ops)})


def _prefix(path: str) -> str:
    return "/".join(path.split("/", 3)[:3])


def _data_file(name: str) -> str:
    return resources.files("sellerkit.catalog").joinpath("data", name).read_text(encoding="utf-8")


_catalog: Catalog | None = None
_catalog_lock = threading.Lock()


def get_catalog() -> Catalog:
    """The process-wide catalog, loaded on first call."""
    global _catalog
    if _catalog is None:
        with _catalog_lock:
            if _catalog is None:
                _catalog = Catalog(json.loads(_data_file("operations.json")))
    return _catalog
