"""Which fields of a stored response are PII: the classification in ``data/pii_fields.json``.

The classification is data, generated from Amazon's models (``tools/gen_pii_fields.py``) for
every response shape the sync stores: v0 ``Order``, ``OrderItem``, ``getOrderBuyerInfo`` and
``getOrderAddress`` payloads, and the 2026-01-01 order with its buyer, recipient, items and
packages. For each JSON path it says whether the field is PII, its category (name, email, phone,
company, address, city, region, postal_code, tax, gift_message, extra) and the vault record and
encrypted column it goes to.

:func:`split` takes one response object and returns its :class:`Split`: the object minus PII
(kept clear, queryable, in the ``public`` JSON), the PII per record and column (to be encrypted),
and clear columns filled from inside PII objects (an address's country code). Two rules keep
new fields safe:

* an unknown field inside a PII-bearing object (``BuyerInfo``, ``ShippingAddress``, ``buyer``,
  ``recipient``, ...) is PII: it goes, encrypted, into the record's ``extra_pii_ct``;
* an unknown field anywhere else whose name looks like PII (``...Name``, ``...Email``,
  ``...Address``, ...) is treated the same way.

Nothing is dropped: everything a response held is either in ``public`` or in a PII column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sellerkit.errors import VaultError

__all__ = ["CATEGORIES", "JSON_COLUMNS", "Classification", "Split", "classification", "split"]

CATEGORIES = ("name", "email", "phone", "company", "address", "city", "region", "postal_code",
              "tax", "gift_message", "extra")
# Columns holding several values as a JSON object (key -> value); the others hold one string.
JSON_COLUMNS = frozenset({"lines_ct", "region_ct", "tax_info_ct", "extra_pii_ct"})


_PII, _CLEAR, _NEST = "pii", "clear", "nest"


@dataclass(frozen=True)
class _Plan:
    """For one key set at one node: the unknown keys that are PII (key, whether it goes even
    when null, record, extra key) and the classified children present (an action each)."""

    inside: str | None
    record: str
    prefix: str
    extras: tuple[tuple[str, bool, str, str], ...]
    acts: tuple[tuple[Any, ...], ...]


class _Node:
    __slots__ = ("children", "clear_column", "column", "hot", "interesting", "items", "key",
                 "pii", "pii_object", "plans", "record", "to", "whole")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.items: _Node | None = None
        self.pii: str | None = None
        self.to: str | None = None
        self.column: str | None = None
        self.key: str | None = None
        self.whole = False
        self.pii_object: str | None = None
        self.record: str | None = None
        self.clear_column: str | None = None
        self.interesting = False  # any PII, PII object, record or clear column below
        self.hot: list[tuple[str, _Node]] = []  # the interesting children
        self.plans: dict[tuple[str, ...], _Plan] = {}  # key set -> what to do with it

    def mark(self) -> bool:
        kids = [c.mark() for c in self.children.values()]
        if self.items is not None:
            kids.append(self.items.mark())
        self.interesting = bool(self.pii or self.pii_object or self.record or self.clear_column
                                or any(kids))
        self.hot = [(k, c) for k, c in self.children.items() if c.interesting]
        return self.interesting


@dataclass
class Split:
    """One response object, separated: ``public`` (no PII), ``pii[record][column]`` (a string,
    or a dict for the JSON columns), ``clear[record][column]``, and for a 2026-01-01 order its
    items, each a Split of its own (record ``item``)."""

    public: dict[str, Any]
    pii: dict[str, dict[str, Any]] = field(default_factory=dict)
    clear: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: list[Split] = field(default_factory=list)

    def put(self, record: str, column: str, key: str | None, value: Any) -> None:
        if value is None:
            return
        cols = self.pii.setdefault(record, {})
        if column in JSON_COLUMNS:
            cols.setdefault(column, {})[key or ""] = value
        else:
            cols[column] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)

    def __repr__(self) -> str:  # never the PII
        cols = {r: sorted(c) for r, c in self.pii.items()}
        return f"Split(public={sorted(self.public)}, pii={cols}, items={len(self.items)})"


class Classification:
    """The compiled classification of every shape (see :func:`classification`)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.records: dict[str, Any] = data["records"]
        self.unknown_pii = re.compile(data["unknown_pii_names"])
        self.shapes: dict[str, _Node] = {}
        self.shape_record: dict[str, str] = {}
        for name, shape in data["shapes"].items():
            root = _Node()
            for path, entry in shape["fields"].items():
                node = root
                for seg in path.split(".") if path else []:
                    array = seg.endswith("[]")
                    seg = seg.removesuffix("[]")
                    node = node.children.setdefault(seg, _Node())
                    if array:
                        if node.items is None:
                            node.items = _Node()
                        node = node.items
                if "pii" in entry:
                    node.pii, node.to, node.column = entry["pii"], entry["to"], entry["column"]
                    node.key, node.whole = entry.get("key"), bool(entry.get("whole"))
                if "pii_object" in entry:
                    node.pii_object = entry["pii_object"]
                if "record" in entry:
                    node.record = entry["record"]
                if entry.get("clear") and "column" in entry:
                    node.clear_column, node.to = entry["column"], entry["to"]
            root.mark()
            self.shapes[name] = root
            self.shape_record[name] = shape["record"]

    def paths(self, shape: str) -> dict[str, Any]:
        """The classified paths of ``shape`` (``pii_fields.json``)."""
        fields: dict[str, Any] = self.data["shapes"][shape]["fields"]
        return fields

    def split(self, shape: str, obj: Mapping[str, Any]) -> Split:
        root = self.shapes.get(shape)
        if root is None:
            raise VaultError(f"no PII classification for response shape {shape!r}: known are "
                             f"{', '.join(sorted(self.shapes))}")
        if not isinstance(obj, Mapping):
            raise VaultError(f"a {shape} response must be a JSON object, not "
                             f"{type(obj).__name__}")
        record = self.shape_record[shape]
        out = Split({})
        out.public = self._walk(obj, root, root.pii_object, record, out, "")
        return out

    def _plan(self, node: _Node, shape: tuple[str, ...], inside: str | None, record: str,
              prefix: str) -> _Plan:
        """What to do with an object of this key set at ``node``: computed once per key set
        (responses come in a few), so the walk touches only the keys that need it."""
        extras: list[tuple[str, bool, str, str]] = []
        for k in shape:
            if k in node.children:
                continue
            if inside is not None:  # an unknown field in a PII object: PII
                extras.append((k, True, inside, prefix + k))
            elif self.unknown_pii.search(k):  # an unknown field named like PII
                extras.append((k, False, record, prefix + k))
        present = set(shape)
        acts: list[tuple[Any, ...]] = []
        for k, child in node.hot:
            if k not in present:
                continue
            if child.pii is not None:
                col = child.column or "extra_pii_ct"
                acts.append((k, _PII, child.to or record, col,
                             child.key if child.key is not None else prefix + k,
                             col in JSON_COLUMNS))
            elif child.clear_column is not None:
                acts.append((k, _CLEAR, child.to or record, child.clear_column))
            else:
                acts.append((k, _NEST, child, child.pii_object or inside, prefix + k + ".", inside))
        return _Plan(inside, record, prefix, tuple(extras), tuple(acts))

    def _walk(self, obj: Mapping[str, Any], node: _Node, inside: str | None, record: str,
              out: Split, prefix: str) -> dict[str, Any]:
        # Copy the object (C speed), then touch only what needs it: the unknown keys and the
        # children with something classified below them, as planned for this key set.
        public = dict(obj)
        shape = tuple(obj)
        plan = node.plans.get(shape)
        if plan is None or plan.inside != inside or plan.record != record \
                or plan.prefix != prefix:
            plan = self._plan(node, shape, inside, record, prefix)
            if len(node.plans) < 64:  # responses come in a few key sets; remember them
                node.plans[shape] = plan
        pii = out.pii
        for k, always, rec, key in plan.extras:
            if always:
                v = public.pop(k)
            elif obj[k] is not None:
                v = public.pop(k)
            else:
                continue
            if v is not None:
                cols = pii.get(rec)
                if cols is None:
                    cols = pii[rec] = {}
                cols.setdefault("extra_pii_ct", {})[key] = v
        for act in plan.acts:
            k = act[0]
            v = obj[k]
            kind = act[1]
            if kind is _PII:
                del public[k]
                if v is None:
                    continue
                cols = pii.get(act[2])
                if cols is None:
                    cols = pii[act[2]] = {}
                if act[5]:
                    cols.setdefault(act[3], {})[act[4]] = v
                else:
                    cols[act[3]] = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
                continue
            if v is None:
                continue
            if kind is _CLEAR:
                out.clear.setdefault(act[2], {})[act[3]] = v
                continue
            child, inner_obj, path = act[2], act[3], act[4]
            if isinstance(v, dict):
                public[k] = self._walk(v, child, inner_obj, record, out, path)
            elif isinstance(v, list) and child.items is not None:
                items = child.items
                if items.record is not None:  # each element is a record of its own (items)
                    kept = []
                    for elem in v:
                        if isinstance(elem, dict):
                            sub = Split({})
                            sub.public = self._walk(elem, items, items.pii_object,
                                                    items.record, sub, "")
                            out.items.append(sub)
                        else:
                            kept.append(elem)
                    if kept:
                        public[k] = kept
                    else:
                        del public[k]
                    continue
                inner = items.pii_object or act[5]
                ipath = prefix + k + "[]."
                public[k] = [self._walk(e, items, inner, record, out, ipath)
                             if isinstance(e, dict) else e for e in v]
        return public


@cache
def classification() -> Classification:
    """The classification shipped with sellerkit (``sellerkit/vault/data/pii_fields.json``)."""
    text = resources.files("sellerkit.vault").joinpath("data/pii_fields.json").read_text("utf-8")
    return Classification(json.loads(text))


def split(shape: str, obj: Mapping[str, Any]) -> Split:
    """Separate one response object of ``shape`` (``v0.order``, ``v0.order_item``,
    ``v0.buyer_info``, ``v0.order_address``, ``v0.order_item_buyer_info``,
    ``2026-01-01.order``) into its clear part and its PII."""
    return classification().split(shape, obj)
