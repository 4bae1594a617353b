"""Compile Amazon's SP-API models into sellerkit's checked-in catalog.

Reads the Swagger 2.0 model files of a copy of amzn/selling-partner-api-models (``--models DIR``,
``SELLERKIT_MODELS_DIR`` or ``../shared/sp-api-models``; see ``tools/models_source.py``) and
writes:

* ``sellerkit/catalog/data/operations.json``: one record per operation (370 on the current snapshot),
  with method, path, parameters, schemas by reference, default usage plan, grantless scope,
  restricted-data status and pagination tokens;
* ``sellerkit/catalog/data/schemas_<api>.json``: the definitions of each model, with every
  description, example and sandbox case removed (no prose from the models enters the project);
* ``sellerkit/client/_generated/resources.py``: typed resource classes (sync and async) whose
  methods are thin shims into the client's single request pipeline.

``--check`` regenerates in memory and fails when a checked-in file differs (CI runs it).

Facts the models only hold as prose (usage plans, the "token as the only parameter" pagination rule)
are parsed here; facts the models lack (restricted operations, grantless scopes) come from
``tools/catalog_overlay.py``.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from catalog_overlay import (  # noqa: E402
    API_NAME_OVERRIDES,
    GRANTLESS,
    RESTRICTED,
)
from models_source import REPOSITORY, commit_of, locate, manifest  # noqa: E402

DATA_DIR = ROOT / "sellerkit" / "catalog" / "data"
GEN_DIR = ROOT / "sellerkit" / "client" / "_generated"

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Schema keywords that carry facts we validate or generate from; everything else (description,
# example, x-docgen-*, x-amzn-api-sandbox ...) is dropped.
SCHEMA_KEYS = {
    "type", "format", "enum", "items", "properties", "required", "additionalProperties",
    "$ref", "allOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "default", "readOnly",
    "minProperties", "maxProperties", "multipleOf", "x-nullable",
}
PARAM_KEYS = {
    "name", "in", "type", "format", "required", "enum", "items", "collectionFormat", "minimum",
    "maximum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
    "default", "schema", "exclusiveMinimum", "exclusiveMaximum",
}
TOKEN_RESPONSE_CONTAINERS = ("payload", "pagination")


# --------------------------------------------------------------------------------------------
# names


def api_name(model_file: Path, info_version: str) -> tuple[str, str]:
    """Return (api, version) for a model file, e.g. ordersV0.json -> ("orders", "v0")."""
    stem = model_file.stem
    base = re.split(r"[_-]?(?:V\d+|v\d+)?[_-]?\d{4}-\d{2}-\d{2}$", stem)[0]
    m = re.match(r"^(.*?)V\d*$", base)
    if m:
        base = m.group(1)
    base = API_NAME_OVERRIDES.get(base, base)
    version = info_version if info_version.startswith("v") else info_version.replace("-", "_")
    return snake(base), version


def snake(name: str) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "_", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.strip("_").lower()
    if keyword.iskeyword(s) or s in {"self", "options"}:
        s += "_"
    return s


# --------------------------------------------------------------------------------------------
# prose-derived facts

_PLAN_ROW = re.compile(r"^\|\s*(\.?\d[\d.]*|n)\s*\|\s*(\d+|n)\s*\|", re.M)
_DEFAULT_ROW = re.compile(r"^\|\s*Default\s*\|\s*(\.?\d[\d.]*)\s*\|\s*(\d+)\s*\|", re.M | re.I)


def usage_plan(description: str) -> dict[str, Any]:
    text = description.replace("\\n", "\n")
    i = text.lower().find("usage plan")
    if i < 0:
        return {"plan": "unknown", "rate": None, "burst": None}
    seg = text[i:]
    m = _DEFAULT_ROW.search(seg) or _PLAN_ROW.search(seg)
    if not m or m.group(1) == "n" or m.group(2) == "n":
        return {"plan": "placeholder", "rate": None, "burst": None}
    return {"plan": "default", "rate": float(m.group(1)), "burst": int(m.group(2))}


def token_only(op: dict[str, Any], request_param: str) -> bool:
    for p in op.get("parameters", []):
        if p.get("name") == request_param:
            return "only parameter" in p.get("description", "")
    return False


# --------------------------------------------------------------------------------------------
# schemas


def strip_schema(s: Any) -> Any:
    if isinstance(s, list):
        return [strip_schema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out: dict[str, Any] = {}
    for k, v in s.items():
        if k == "properties":
            out[k] = {pk: strip_schema(pv) for pk, pv in v.items()}
        elif k == "$ref":
            out[k] = "#/definitions/" + v.rsplit("/", 1)[-1]
        elif k in SCHEMA_KEYS:
            out[k] = strip_schema(v)
    return out


def resolve(defs: dict[str, Any], s: Any) -> Any:
    seen = 0
    while isinstance(s, dict) and "$ref" in s and seen < 50:
        s = defs.get(s["$ref"].rsplit("/", 1)[-1], {})
        seen += 1
    return s


def properties(defs: dict[str, Any], s: Any) -> dict[str, Any]:
    s = resolve(defs, s)
    out: dict[str, Any] = {}
    if not isinstance(s, dict):
        return out
    for sub in s.get("allOf", []):
        out.update(properties(defs, sub))
    out.update(s.get("properties") or {})
    return out


def find_response_token(defs: dict[str, Any], schema: Any, prefix: str = "", depth: int = 0) -> str | None:
    for k in properties(defs, schema):
        kl = k.lower()
        if "token" in kl and ("next" in kl) and "previous" not in kl:
            return prefix + k
    if depth < 2:
        for k, v in properties(defs, schema).items():
            if k in TOKEN_RESPONSE_CONTAINERS:
                found = find_response_token(defs, v, prefix + k + ".", depth + 1)
                if found:
                    return found
    return None


# --------------------------------------------------------------------------------------------
# compile


def compile_models(models: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    files = sorted(models.glob("*/*.json"))
    if not files:
        raise SystemExit(f"no model files under {models}")
    apis: dict[str, Any] = {}
    ops: list[dict[str, Any]] = []
    schemas: dict[str, dict[str, Any]] = {}
    for f in files:
        model = json.loads(f.read_text(encoding="utf-8"))
        api, version = api_name(f, model["info"]["version"])
        api_key = f"{api}_{version}"
        if api_key in apis:
            raise SystemExit(f"two model files map to {api_key}: {apis[api_key]['file']} and {f.name}")
        defs = model.get("definitions", {})
        schemas[api_key] = {k: strip_schema(v) for k, v in sorted(defs.items())}
        top_params = model.get("parameters", {})
        api_ops: list[dict[str, Any]] = []
        seen_ids: dict[str, int] = {}
        for path, item in model["paths"].items():
            if not isinstance(item, dict):
                continue
            sandbox_only = bool(item.get("x-amzn-api-sandbox-only"))
            path_params = item.get("parameters", [])
            for method in HTTP_METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                oid = op["operationId"]
                seen_ids[oid] = seen_ids.get(oid, 0) + 1
                key_id = oid if seen_ids[oid] == 1 else f"{oid}_{seen_ids[oid]}"
                key = f"{api_key}.{key_id}"
                raw_params = list(path_params) + list(op.get("parameters", []))
                params = []
                names_seen = set()
                for p in raw_params:
                    if "$ref" in p:
                        p = top_params[p["$ref"].rsplit("/", 1)[-1]]
                    if (p["name"], p["in"]) in names_seen:
                        continue
                    names_seen.add((p["name"], p["in"]))
                    rec = {k: strip_schema(v) if k in ("schema", "items") else v
                           for k, v in p.items() if k in PARAM_KEYS}
                    rec["required"] = bool(p.get("required", p["in"] == "path"))
                    if rec.get("type") == "array" and p["in"] in ("query", "header"):
                        rec.setdefault("collectionFormat", "csv")
                    rec["py_name"] = "body" if p["in"] == "body" else snake(p["name"])
                    params.append(rec)
                py_names = [p["py_name"] for p in params]
                if len(set(py_names)) != len(py_names):
                    raise SystemExit(f"{key}: parameter names collide in snake_case: {py_names}")
                responses = {}
                for status, r in op.get("responses", {}).items():
                    if isinstance(r, dict) and "$ref" in r and not r.get("schema"):
                        r = model.get("responses", {}).get(r["$ref"].rsplit("/", 1)[-1], {})
                    responses[status] = strip_schema(r.get("schema")) if isinstance(r, dict) else None
                success = next((s for s in ("200", "201", "202", "204") if s in responses), None)
                pagination = None
                if success and responses[success]:
                    resp_tok = find_response_token(defs, op["responses"][success].get("schema"))
                    req_tok = next((p["name"] for p in params if p["in"] == "query"
                                    and "token" in p["name"].lower()
                                    and p["name"].lower() not in ("requesttoken",)), None)
                    if resp_tok and req_tok:
                        pagination = {
                            "request": req_tok,
                            "response": resp_tok,
                            "mode": "token_only" if token_only(op, req_tok) else "repeat",
                        }
                overlay_key = f"{api_key}.{oid}"
                plan = usage_plan(op.get("description", ""))
                restricted = RESTRICTED.get(overlay_key)
                rec_op = {
                    "key": key,
                    "api": api,
                    "version": version,
                    "api_key": api_key,
                    "operation_id": oid,
                    "py_name": snake(oid),
                    "method": method.upper(),
                    "path": path,
                    "params": params,
                    "responses": responses,
                    "consumes": op.get("consumes", model.get("consumes", [])),
                    "produces": op.get("produces", model.get("produces", [])),
                    "deprecated": bool(op.get("deprecated", False)),
                    "sandbox_only": sandbox_only,
                    **plan,
                    "grantless_scope": GRANTLESS.get(overlay_key),
                    "restricted": restricted is not None,
                    "restricted_data_elements": list(restricted or []),
                    "pagination": pagination,
                }
                api_ops.append(rec_op)
        py_op_names = [o["py_name"] for o in api_ops]
        for o in api_ops:
            if py_op_names.count(o["py_name"]) > 1:
                o["py_name"] = snake(o["key"].split(".", 1)[1])
        ops.extend(api_ops)
        apis[api_key] = {
            "api": api,
            "version": version,
            "file": f.name,
            "operations": len(api_ops),
            "all_deprecated": all(o["deprecated"] for o in api_ops),
        }
    for okey in list(RESTRICTED) + list(GRANTLESS):
        if not any(f"{o['api_key']}.{o['operation_id']}" == okey for o in ops):
            raise SystemExit(f"overlay names an operation the models do not have: {okey}")
    # unversioned aliases: the newest version whose operations are not all deprecated
    aliases: dict[str, str] = {}
    for api_key, meta in sorted(apis.items(), key=lambda kv: _version_sort(kv[1]["version"])):
        if not meta["all_deprecated"] or meta["api"] not in aliases:
            aliases[meta["api"]] = api_key
    for alias, api in EXTRA_ALIASES.items():
        aliases[alias] = aliases[api]
    index = {"format": 1, "apis": apis, "aliases": dict(sorted(aliases.items())), "operations": ops}
    return index, schemas


def _version_sort(v: str) -> tuple[int, str]:
    return (1, v) if v[0].isdigit() else (0, v.rjust(4, "0"))


# --------------------------------------------------------------------------------------------
# typed resources

PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


def py_type(p: dict[str, Any]) -> str:
    if p["in"] == "body":
        return "Mapping[str, Any] | Sequence[Any] | bytes | str"
    t = p.get("type", "string")
    if t == "array":
        item = p.get("items") or {}
        inner = _scalar(item)
        return f"Sequence[{inner}]"
    return _scalar(p)


def _scalar(p: dict[str, Any]) -> str:
    if p.get("enum"):
        return "Literal[" + ", ".join(repr(e) for e in p["enum"]) + "]"
    t = PY_TYPES.get(p.get("type", "string"), "Any")
    if t == "str" and (p.get("format") in ("date-time", "date")
                       or re.search(r"(after|before|date|time|since|until)$", p.get("name", ""), re.I)):
        return "str | datetime | date"
    return t


_RESERVED = {"str", "int", "float", "bool", "list", "dict", "None", "Any"}


def _model_name(name: str) -> str:
    n = re.sub(r"\W", "_", name)
    return n + "_" if n in _RESERVED or keyword.iskeyword(n) else n


def _annotation(schema: Any, defs: dict[str, Any], depth: int = 0, prefix: str = "") -> str:
    """A lenient type for a schema: enums are plain ``str`` (Amazon adds values), objects
    without a name are ``dict[str, Any]``. ``prefix`` qualifies model names (``m_orders_v0.``)
    for use outside the models module."""
    if not isinstance(schema, dict):
        return "_t.Any"
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[-1]
        return prefix + _model_name(target) if target in defs else "_t.Any"
    t = schema.get("type")
    if t == "array":
        return f"list[{_annotation(schema.get('items'), defs, depth + 1, prefix)}]"
    if t == "object" or "properties" in schema or "allOf" in schema:
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict) and not schema.get("properties"):
            return f"dict[str, {_annotation(ap, defs, depth + 1, prefix)}]"
        return "dict[str, _t.Any]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(
        t or "", "_t.Any")


def _fields(schema: dict[str, Any], defs: dict[str, Any], seen: int = 0) -> dict[str, str] | None:
    """Properties of an object schema (allOf merged), or None when it is not an object."""
    if seen > 10:
        return {}
    if "$ref" in schema:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1])
        return _fields(target, defs, seen + 1) if isinstance(target, dict) else None
    if "allOf" in schema:
        out: dict[str, str] = {}
        for sub in schema["allOf"]:
            got = _fields(sub, defs, seen + 1)
            out.update(got or {})
        out.update({k: _annotation(v, defs) for k, v in (schema.get("properties") or {}).items()})
        return out
    if schema.get("properties"):
        return {k: _annotation(v, defs) for k, v in schema["properties"].items()}
    return None


def render_models(api_key: str, defs: dict[str, Any]) -> str:
    """TypedDicts (total=False: Amazon omits fields, adds fields, adds enum values) for one
    model's definitions. Only type checkers read these; the client never imports them."""
    out = [
        f'"""Response and request shapes of {api_key}. Generated by tools/gen_catalog.py; '
        'do not edit."""',
        "# ruff: noqa",
        "from __future__ import annotations",
        "",
        "import typing as _t",
        "",
    ]
    for name, schema in defs.items():
        ident = _model_name(name)
        fields = _fields(schema, defs) if isinstance(schema, dict) else None
        if fields is not None:
            body = ", ".join(f"{k!r}: {v!r}" for k, v in fields.items())
            out.append(f"{ident} = _t.TypedDict({ident!r}, {{{body}}}, total=False)")
        else:
            out.append(f"{ident}: _t.TypeAlias = {_annotation(schema, defs)!r}")
    out.append("")
    return "\n".join(out)


def response_type(op: dict[str, Any], defs: dict[str, Any]) -> str:
    """The type arguments of the operation's ``ApiResponse``: body type, payload type.

    The payload is the type of the body's ``payload`` property where the response wraps its
    result (Orders v0: ``GetOrdersResponse, OrdersList``), else the body type again; this
    matches ``ApiResponse.payload`` at run time."""
    for status in ("200", "201", "202"):
        schema = op["responses"].get(status)
        if isinstance(schema, dict) and "$ref" in schema:
            target = schema["$ref"].rsplit("/", 1)[-1]
            if target in defs:
                prefix = f"m_{op['api_key']}."
                body = prefix + _model_name(target)
                props = defs[target].get("properties") if isinstance(defs[target], dict) else None
                wrapped = isinstance(props, dict) and "payload" in props
                payload = _annotation(props["payload"], defs, prefix=prefix) if wrapped else body
                return f"{body}, {payload}"
        if status in op["responses"]:
            return "_t.Any, _t.Any"
    return "None, None" if "204" in op["responses"] else "_t.Any, _t.Any"


# Extra unversioned names: the name the issue and users write (``sp.datakiosk``) for an API
# whose model name has an underscore (``data_kiosk``).
EXTRA_ALIASES: dict[str, str] = {"datakiosk": "data_kiosk"}


# Hand-written workflow mixins that a generated resource inherits (botocore-style customizations):
# ``sp.reports.fetch(...)`` is ReportsMixin.fetch on the reports resource. Each module defines
# ``<Name>`` (sync) and ``Async<Name>``, and keeps its import light (heavy imports inside methods).
WORKFLOW_MIXINS: dict[str, tuple[str, str]] = {
    "reports_2021_06_30": ("sellerkit.workflows.reports", "ReportsMixin"),
    "feeds_2021_06_30": ("sellerkit.workflows.feeds", "FeedsMixin"),
    "notifications_v1": ("sellerkit.workflows.notifications", "NotificationsMixin"),
    "data_kiosk_2023_11_15": ("sellerkit.workflows.datakiosk", "DataKioskMixin"),
}


def render_resources(index: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> str:
    out = [
        '"""Typed resource classes, one per API version. Generated by tools/gen_catalog.py; do not edit.',
        "",
        "Every method is a shim into the client's single pipeline (``_invoke``).",
        '"""',
        "# ruff: noqa",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping, Sequence",
        "from datetime import date, datetime",
        "from typing import TYPE_CHECKING, Any, Literal",
        "",
        "from sellerkit.client.options import CallOptions",
        "from sellerkit.client.resource import AsyncResource, SyncResource",
    ]
    for api_key, (module, mixin) in WORKFLOW_MIXINS.items():
        if api_key in index["apis"]:
            out.append(f"from {module} import Async{mixin}, {mixin}")
    out += [
        "",
        "if TYPE_CHECKING:",
        "    import typing as _t",
        "",
        "    from sellerkit.client.response import ApiResponse",
    ]
    for api_key in index["apis"]:
        out.append(f"    from sellerkit.client._generated.models import {api_key} as m_{api_key}")
    out.append("")
    by_api: dict[str, list[dict[str, Any]]] = {}
    for op in index["operations"]:
        by_api.setdefault(op["api_key"], []).append(op)
    for api_key, ops in by_api.items():
        cls = "".join(part.capitalize() for part in api_key.split("_"))
        for flavour, base, prefix, ret in (
            ("", "SyncResource", "", "ApiResponse"),
            ("Async", "AsyncResource", "async ", "ApiResponse"),
        ):
            defs = schemas[api_key]
            out.append("")
            mixin = WORKFLOW_MIXINS.get(api_key)
            bases = f"{flavour}{mixin[1]}, {base}" if mixin else base
            out.append(f"class {flavour}{cls}({bases}):")
            out.append(f'    api_key = "{api_key}"')
            for op in ops:
                req = [p for p in op["params"] if p["required"]]
                opt = [p for p in op["params"] if not p["required"]]
                sig = ["self", "*"]
                for p in req:
                    sig.append(f"{p['py_name']}: {py_type(p)}")
                for p in opt:
                    sig.append(f"{p['py_name']}: {py_type(p)} | None = None")
                sig.append("options: CallOptions | None = None")
                out.append("")
                out.append(f"    {prefix}def {op['py_name']}(")
                for s in sig:
                    out.append(f"        {s},")
                out.append(f"    ) -> {ret}[{response_type(op, defs)}]:")
                flags = []
                if op["deprecated"]:
                    flags.append("deprecated")
                if op["restricted"]:
                    flags.append("restricted (RDT)")
                if op["grantless_scope"]:
                    flags.append(f"grantless ({op['grantless_scope']})")
                rate = f"{op['rate']:g}/s burst {op['burst']}" if op["rate"] is not None else "unknown"
                doc = f"{op['method']} {op['path']} ({op['key']}; rate {rate}"
                doc += "; " + ", ".join(flags) if flags else ""
                out.append(f'        """{doc})."""')
                mapping = ", ".join(f"{p['name']!r}: {p['py_name']}" for p in op["params"])
                aw = "await " if prefix else ""
                out.append(f"        return {aw}self._invoke({op['key']!r}, {{{mapping}}}, options)")
    out.append("")
    out.append("SYNC_RESOURCES: dict[str, type[SyncResource]] = {")
    for api_key in by_api:
        cls = "".join(part.capitalize() for part in api_key.split("_"))
        out.append(f"    {api_key!r}: {cls},")
    out.append("}")
    out.append("ASYNC_RESOURCES: dict[str, type[AsyncResource]] = {")
    for api_key in by_api:
        cls = "".join(part.capitalize() for part in api_key.split("_"))
        out.append(f"    {api_key!r}: Async{cls},")
    out.append("}")
    out.append("")
    return "\n".join(out)


def render_client_stub(index: dict[str, Any]) -> str:
    """Attribute declarations so IDEs and mypy see ``sp.orders_v0`` and the aliases."""
    lines = [
        '"""Resource attributes of the clients. Generated by tools/gen_catalog.py; do not edit."""',
        "# ruff: noqa",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING",
        "",
        "if TYPE_CHECKING:",
        "    from sellerkit.client._generated import resources as r",
        "",
        "",
        "class SyncResourceAttributes:",
    ]
    for api_key in index["apis"]:
        cls = "".join(part.capitalize() for part in api_key.split("_"))
        lines.append(f"    {api_key}: r.{cls}")
    for alias, target in index["aliases"].items():
        cls = "".join(part.capitalize() for part in target.split("_"))
        lines.append(f"    {alias}: r.{cls}")
    lines += ["", "", "class AsyncResourceAttributes:"]
    for api_key in index["apis"]:
        cls = "".join(part.capitalize() for part in api_key.split("_"))
        lines.append(f"    {api_key}: r.Async{cls}")
    for alias, target in index["aliases"].items():
        cls = "".join(part.capitalize() for part in target.split("_"))
        lines.append(f"    {alias}: r.Async{cls}")
    lines.append("")
    return "\n".join(lines)


def source_record(root: Path, commit: str | None) -> dict[str, Any]:
    """Which copy of the models the catalog comes from: the upstream commit and the SHA-256 of
    every file read (tools/fetch_models.py verifies a download against it)."""
    commit = commit or commit_of(root)
    if not commit:
        raise SystemExit(f"cannot tell which commit of {REPOSITORY} {root} is: it has no SOURCE.txt "
                         "naming one; pass --source-commit SHA")
    return {"repository": REPOSITORY, "commit": commit, "files": manifest(root)}


def outputs(root: Path, commit: str | None = None) -> dict[Path, str]:
    index, schemas = compile_models(root / "models")
    files: dict[Path, str] = {
        DATA_DIR / "operations.json": json.dumps(index, indent=1, sort_keys=False) + "\n",
        DATA_DIR / "source.json": json.dumps(source_record(root, commit), indent=1) + "\n",
        GEN_DIR / "__init__.py": '"""Generated code; see tools/gen_catalog.py."""\n',
        GEN_DIR / "resources.py": render_resources(index, schemas),
        GEN_DIR / "models" / "__init__.py": '"""Generated TypedDicts, one module per API version."""\n',
        GEN_DIR / "attributes.py": render_client_stub(index),
    }
    for api_key, defs in schemas.items():
        files[GEN_DIR / "models" / f"{api_key}.py"] = render_models(api_key, defs)
        files[DATA_DIR / f"schemas_{api_key}.json"] = json.dumps(defs, separators=(",", ":"),
                                                                sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, metavar="DIR",
                    help="a copy of amzn/selling-partner-api-models (default: $SELLERKIT_MODELS_DIR, "
                         "then ../shared/sp-api-models)")
    ap.add_argument("--source-commit", metavar="SHA", help="the upstream commit of --models, when "
                    "the copy has no SOURCE.txt naming it")
    ap.add_argument("--check", action="store_true", help="fail if checked-in output is stale")
    args = ap.parse_args(argv)
    where = locate(args.models)
    if where.root is None:
        raise SystemExit(where.reason)
    files = outputs(where.root, args.source_commit)
    stale = []
    for path, text in files.items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(path.suffix + ".tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
    extra = [p for p in [*DATA_DIR.glob("schemas_*.json"), *(GEN_DIR / "models").glob("*.py")]
             if p not in files]
    if args.check:
        if stale or extra:
            for p in stale + extra:
                print(f"stale: {p.relative_to(ROOT)}", file=sys.stderr)
            print("the catalog is out of date: run python tools/gen_catalog.py", file=sys.stderr)
            return 1
        print(f"catalog up to date ({len(files)} files)")
        return 0
    for p in extra:
        p.unlink()
    n = len(json.loads(files[DATA_DIR / "operations.json"])["operations"])
    print(f"wrote {len(stale)} of {len(files)} files; {n} operations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
