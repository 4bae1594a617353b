"""Amazon's static sandbox, served from the model files (``sellerkit emulator --models DIR``).

Each response of an operation may carry ``x-amzn-api-sandbox: {static: [{request: {parameters:
{name: {value}}}, response}]}``. A request selects a case when every parameter the case lists
has the listed value; extra request parameters do not matter, a case without parameters matches
any request, and the generic name ``body`` stands for the body parameter whatever the model
calls it. When several cases match, the one that lists the most parameters wins (then the first
in model order), so ``CreatedAfter=TEST_CASE_400`` beats a catch-all success case.

Values are compared as the wire carries them: scalars by their string form (numbers by value),
arrays item by item after splitting the wire value, bodies as parsed JSON.

Amazon's cases are not always distinguishable: sellers and shipping ``getAccount`` have a 200
and a 400 case that both list no parameters. The first wins, as in Amazon's sandbox; the
emulator-only request header ``x-emulator-sandbox-status: 400`` selects the other.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sellerkit.catalog import Catalog, Operation
from sellerkit.errors import ConfigurationError

__all__ = ["NO_BODY", "SandboxCase", "StaticSandbox", "load_cases"]

log = logging.getLogger("sellerkit.emulator")

NO_BODY: Any = object()  # the request had no (parseable) body
_ANY = object()  # a case parameter without a value matches whatever the request sends
_SPLIT = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


@dataclass(frozen=True)
class SandboxCase:
    """One static case of one operation."""

    operation: str
    status: int
    params: tuple[tuple[str, Any], ...]  # (wire name or "body", expected value or _ANY)
    response: Any
    order: int

    @property
    def specificity(self) -> int:
        return sum(1 for _, v in self.params if v is not _ANY)


def _case_params(op: Operation, raw: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    out: list[tuple[str, Any]] = []
    for name, spec in raw.items():
        if name not in op.params_by_name and not (name == "body" and op.body_param):
            continue  # e.g. an empty "body" on a GET: nothing to compare
        param = op.params_by_name.get(name)
        if param is not None and param.location == "body" or name == "body":
            name = "body"
        if not isinstance(spec, dict) or not spec:
            out.append((name, _ANY))
        elif "value" in spec:
            out.append((name, _ANY if spec["value"] is None else spec["value"]))
        else:
            # a few cases give the body itself instead of {"value": body}
            out.append((name, spec))
    return tuple(out)


def load_cases(models_dir: Path, catalog: Catalog) -> dict[str, list[SandboxCase]]:
    """Every static case under ``models_dir``, by operation key."""
    by_route = {(op.method, op.path): op for op in catalog}
    cases: dict[str, list[SandboxCase]] = {}
    order = 0
    files = sorted(Path(models_dir).rglob("*.json"))
    if not files:
        raise ConfigurationError(f"no model files (*.json) under {models_dir}; point --models "
                                 "at the models directory of Amazon's selling-partner-api-models")
    for path in files:
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("skipping model file %s: %s", path, exc)
            continue
        if not isinstance(model, dict) or not isinstance(model.get("paths"), dict):
            continue
        for route, item in model["paths"].items():
            if not isinstance(item, dict):
                continue
            for method, spec in item.items():
                if not isinstance(spec, dict) or "responses" not in spec:
                    continue
                op = by_route.get((method.upper(), route))
                if op is None:
                    continue
                for status, resp in spec["responses"].items():
                    sandbox = resp.get("x-amzn-api-sandbox") if isinstance(resp, dict) else None
                    if not isinstance(sandbox, dict) or not status.isdigit():
                        continue
                    for case in sandbox.get("static") or ():
                        request = case.get("request") or {}
                        raw = request.get("parameters") or {}
                        cases.setdefault(op.key, []).append(SandboxCase(
                            op.key, int(status), _case_params(op, raw), case.get("response"),
                            order))
                        order += 1
    return cases


def _norm(value: Any, numeric: bool) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if numeric or isinstance(value, (int, float)):
        try:
            f = float(value)
        except (TypeError, ValueError):
            return str(value)
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v, numeric) for v in value)
    return str(value)


class StaticSandbox:
    """The static cases of a models directory and the matching rules above."""

    def __init__(self, cases: dict[str, list[SandboxCase]]) -> None:
        self.cases = cases

    @classmethod
    def from_dir(cls, models_dir: Path, catalog: Catalog) -> StaticSandbox:
        return cls(load_cases(models_dir, catalog))

    def __len__(self) -> int:
        return sum(len(v) for v in self.cases.values())

    def match(self, op: Operation, query: Mapping[str, Sequence[str]], path: Mapping[str, str],
              headers: Mapping[str, str], body: Any, *, prefer_status: int | None = None
              ) -> SandboxCase | None:
        """The case this request selects. ``prefer_status`` (the ``x-emulator-sandbox-status``
        header) picks among matching cases by status: a few operations have a success and an
        error case with the same (or no) parameters, which no request could tell apart."""
        found = [case for case in self.cases.get(op.key, ())
                 if all(self._matches(op, name, want, query, path, headers, body)
                        for name, want in case.params)]
        if prefer_status is not None:
            found = [c for c in found if c.status == prefer_status] or found
        best: SandboxCase | None = None
        for case in found:
            if best is None or case.specificity > best.specificity:
                best = case
        return best

    @staticmethod
    def _matches(op: Operation, name: str, want: Any, query: Mapping[str, Sequence[str]],
                 path: Mapping[str, str], headers: Mapping[str, str], body: Any) -> bool:
        if name == "body":
            if body is NO_BODY:
                return False
            return want is _ANY or body == want
        p = op.params_by_name[name]
        if p.location == "query":
            raw = list(query.get(name) or ())
        elif p.location == "path":
            raw = [path[name]] if name in path else []
        else:
            h = headers.get(name.lower())
            raw = [h] if h is not None else []
        if not raw:
            return False
        if want is _ANY:
            return True
        numeric = (p.items or {}).get("type") in ("integer", "number") if p.type == "array" \
            else p.type in ("integer", "number")
        if p.type == "array" or isinstance(want, list):
            if p.collection_format == "multi":
                got = raw
            else:
                sep = _SPLIT.get(p.collection_format or "csv", ",")
                got = [x for r in raw for x in r.split(sep)]
            wanted = want if isinstance(want, list) else [want]
            return _norm(got, numeric) == _norm(wanted, numeric)
        return _norm(raw[-1], numeric) == _norm(want, numeric)
