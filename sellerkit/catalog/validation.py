"""Parameter checks against the catalog, shared by the client (before sending) and the emulator
(on receipt). Every problem is collected; callers raise one error that lists them all.

Two entry points:

* :func:`check_params` takes Python values keyed by wire name (what the client holds);
* :func:`parse_wire` turns the strings of a received request into typed values first (what the
  emulator holds), reporting values that do not parse.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sellerkit.catalog import Operation, Parameter

__all__ = ["Problem", "check_params", "parse_wire", "format_problems"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: the wire name of the parameter and what is wrong."""

    param: str
    message: str

    def __str__(self) -> str:
        return f"{self.param}: {self.message}"


def format_problems(problems: Sequence[Problem]) -> str:
    return "; ".join(str(p) for p in problems)


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "a boolean", "array": "a list"}


def did_you_mean(name: str, op: Operation) -> str:
    """``" (did you mean 'CreatedAfter'?)"`` for a misspelled parameter name (wire or Python
    name, any case), or ``""``."""
    import difflib

    candidates: dict[str, str] = {}
    for p in op.params:
        candidates.setdefault(p.name.lower(), p.name)
        candidates.setdefault(p.py_name.lower(), p.name)
    low = name.lower().replace("-", "_")
    exact = candidates.get(low) or candidates.get(low.replace("_", ""))
    if exact is not None and exact != name:
        return f" (did you mean {exact!r}?)"
    close = difflib.get_close_matches(low, list(candidates), n=1, cutoff=0.75)
    if close and candidates[close[0]] != name:
        return f" (did you mean {candidates[close[0]]!r}?)"
    return ""


def check_params(op: Operation, values: Mapping[str, Any], *, body_present: bool | None = None
                 ) -> list[Problem]:
    """Check values (keyed by wire name, ``None`` meaning absent) against the operation."""
    problems: list[Problem] = []
    known = op.params_by_name
    for name in values:
        if name not in known:
            problems.append(Problem(name, f"is not a parameter of {op.key}"
                                    f"{did_you_mean(name, op)}"
                                    f" (known: {', '.join(known) or 'none'})"))
    for p in op.params:
        value = values.get(p.name)
        if p.location == "body":
            present = body_present if body_present is not None else value is not None
            if p.required and not present:
                problems.append(Problem(p.name, "the request body is required"))
            continue
        if value is None:
            if p.required:
                problems.append(Problem(p.name, "is required"))
            continue
        found = _check_value(p.name, value, p.type, p.format, p.enum, p.constraints, p.items)
        if not found and p.location == "path" and _text(value) == "":
            # An empty segment changes the path (``/orders/v0/orders/``): another operation, or
            # an opaque 403 from Amazon instead of this message.
            found = [Problem(p.name, "must not be empty: it is part of the path")]
        if not found and p.type == "array" and p.collection_format != "multi":
            found = _check_separators(p, value)
        problems.extend(found)
    return problems


_SEPARATOR = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _check_separators(p: Parameter, values: Sequence[Any]) -> list[Problem]:
    """Items of a joined list (``A,B``) must not hold the separator: the server would split
    them into two items."""
    sep = _SEPARATOR.get(p.collection_format or "csv", ",")
    for i, v in enumerate(values):
        if isinstance(v, str) and sep in v:
            shown = {",": "a comma", " ": "a space", "\t": "a tab", "|": "a '|'"}[sep]
            return [Problem(f"{p.name}[{i}]", f"{_short(v)} contains {shown}, which separates "
                                              "the items of this list; pass each item separately")]
    return []


def _check_value(name: str, value: Any, typ: str | None, fmt: str | None,
                 enum: Sequence[Any] | None, cons: Mapping[str, Any],
                 items: Mapping[str, Any] | None) -> list[Problem]:
    typ = typ or "string"
    if typ == "array":
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            return [Problem(name, f"must be a list, got {type(value).__name__}")]
        out: list[Problem] = []
        if "minItems" in cons and len(value) < cons["minItems"]:
            out.append(Problem(name, f"needs at least {cons['minItems']} item(s), got {len(value)}"))
        if "maxItems" in cons and len(value) > cons["maxItems"]:
            out.append(Problem(name, f"takes at most {cons['maxItems']} items, got {len(value)}"))
        it = items or {}
        item_cons = {k: v for k, v in it.items() if k not in ("type", "format", "enum")}
        for i, v in enumerate(value):
            out.extend(_check_value(f"{name}[{i}]", v, it.get("type"), it.get("format"),
                                    it.get("enum"), item_cons, None))
        return out
    if not _is_type(value, typ, fmt):
        got = type(value).__name__
        return [Problem(name, f"must be {_TYPE_NAMES.get(typ, typ)}, got {got} {_short(value)}")]
    if enum and value not in enum:
        shown = ", ".join(map(str, enum[:12])) + (", ..." if len(enum) > 12 else "")
        return [Problem(name, f"{_short(value)} is not one of: {shown}")]
    out = []
    if isinstance(value, str):
        if not _is_text(value):
            return [Problem(name, f"{_short(value)} is not valid Unicode text (it holds a lone "
                                  "surrogate, e.g. from bytes decoded with surrogateescape)")]
        if "minLength" in cons and len(value) < cons["minLength"]:
            out.append(Problem(name, f"must be at least {cons['minLength']} characters"))
        if "maxLength" in cons and len(value) > cons["maxLength"]:
            out.append(Problem(name, f"must be at most {cons['maxLength']} characters"))
        pattern = _pattern(cons.get("pattern"))
        if pattern is not None and not pattern.search(value):
            out.append(Problem(name, f"{_short(value)} does not match {cons['pattern']}"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return [Problem(name, f"must be a finite number, got {value!r}")]
        if "minimum" in cons and value < cons["minimum"]:
            out.append(Problem(name, f"must be >= {cons['minimum']}, got {value}"))
        if "maximum" in cons and value > cons["maximum"]:
            out.append(Problem(name, f"must be <= {cons['maximum']}, got {value}"))
    return out


def _is_text(value: str) -> bool:
    """Whether ``value`` can be sent as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_type(value: Any, typ: str, fmt: str | None) -> bool:
    if typ == "string":
        # datetimes are accepted for any string: the client writes them as ISO 8601 UTC,
        # and many date parameters (CreatedAfter...) carry no format in the models.
        return isinstance(value, (str, datetime, date))
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "boolean":
        return isinstance(value, bool)
    return True


@lru_cache(maxsize=512)
def _pattern(p: str | None) -> re.Pattern[str] | None:
    if not p:
        return None
    try:
        return re.compile(p)
    except re.error:  # a pattern written for another regex dialect: do not guess
        return None


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."


# ----------------------------------------------------------------------------------------------
# received requests (emulator)


def parse_wire(op: Operation, query: Mapping[str, Sequence[str]], path: Mapping[str, str],
               headers: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Turn the strings of a received request into typed values keyed by wire name.

    ``query`` maps each name to all its values (repeated keys for ``multi``). Unknown query
    parameters are kept (as strings) so :func:`check_params` reports them.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for p in op.params:
        raw: Sequence[str] | None
        if p.location == "query":
            raw = query.get(p.name)
        elif p.location == "path":
            raw = [path[p.name]] if p.name in path else None
        elif p.location == "header":
            h = _header(headers, p.name)
            raw = [h] if h is not None else None
        else:
            continue
        if raw is None or len(raw) == 0:
            continue
        try:
            values[p.name] = _parse(p, raw)
        except ValueError as exc:
            problems.append(Problem(p.name, str(exc)))
    for name, raw in query.items():
        if name not in op.params_by_name:
            values[name] = raw[-1] if raw else ""
    return values, problems


def _header(headers: Mapping[str, str], name: str) -> str | None:
    v = headers.get(name)
    if v is None:
        v = headers.get(name.lower())
    return v


def _parse(p: Parameter, raw: Sequence[str]) -> Any:
    if p.type == "array":
        if p.collection_format == "multi":
            parts = list(raw)
        else:
            sep = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}.get(
                p.collection_format or "csv", ",")
            parts = [x for r in raw for x in r.split(sep)]
        it = p.items or {}
        return [_scalar(x, it.get("type")) for x in parts]
    return _scalar(raw[-1], p.type)


def _scalar(text: str, typ: str | None) -> Any:
    if typ == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be an integer, got {_short(text)}") from None
    if typ == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"must be a number, got {_short(text)}") from None
    if typ == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"must be true or false, got {_short(text)}")
    return text
