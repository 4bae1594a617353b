"""Data Kiosk 2023-11-15: GraphQL queries, their lifecycle and their JSON Lines documents.

A query moves IN_QUEUE -> IN_PROGRESS (after a third of ``report_seconds``) -> DONE, FATAL or
CANCELLED (after ``report_seconds``), like a report. When it finishes, the query text is parsed
(a small parser of GraphQL selection sets) and checked against the dataset's schema
(``sellerkit/workflows/data/datakiosk_schema.json``, built by tools/gen_datakiosk_schema.py from
Amazon's ``schemas/data-kiosk``):

* a query that does not parse, names an unknown dataset or an unknown field, or selects no
  fields of an object ends FATAL with an error document (``errorDocumentId``) whose JSON says
  what (``{"errorMessage": ...}``);
* otherwise it ends DONE with a data document (``dataDocumentId``): one JSON object per line per
  element of the selected root list, holding exactly the selected fields with plausible values
  by field name and type. Date-aggregated queries (``startDate``/``endDate`` with ``DAY``,
  ``WEEK`` or ``MONTH``) give one record per period; the others one record per listing of the
  seller. A query with no records ends DONE without a document.
* a document holds at most ``PAGE_RECORDS`` records; the rest is paged: the query's
  ``pagination.nextToken`` goes into a new createQuery with the same ``query`` (as at Amazon).

Forcing outcomes (tests, demos): a GraphQL comment line in the query, which Amazon ignores like
any comment: ``# emulatorOutcome: FATAL | FATAL_NO_DOCUMENT | CANCELLED | NO_DATA`` and
``# emulatorPageSize: N`` (records per document, 1-1000).
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sellerkit.emulator.simulation import SimResponse
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation.state import as_list, invalid, not_found, time_param

if TYPE_CHECKING:
    from sellerkit.emulator.simulation import SimRequest
    from sellerkit.emulator.simulation.state import State

PAGE_RECORDS = 100
MAX_QUERY = 8000
STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
_OUTCOME = re.compile(r"^\s*#\s*emulatorOutcome\s*:\s*(\w+)", re.M)
_PAGE = re.compile(r"^\s*#\s*emulatorPageSize\s*:\s*(\d+)", re.M)
_CURRENCY = {"ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN",
             "A1F83G8C2ARO7P": "GBP", "A1VC38T7YXB528": "JPY", "A39IBJ37TRP1C6": "AUD"}


@functools.cache
def schema() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("sellerkit.workflows").joinpath("data/datakiosk_schema.json")
    return dict(json.loads(text.read_text(encoding="utf-8"))["datasets"])


# parsing -------------------------------------------------------------------------------


class QueryError(Exception):
    """The query cannot run; the message goes into the error document."""


_TOKEN = re.compile(r'\s+|,|#[^\n]*|"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?'
                    r"|[{}()\[\]:!$=@.]")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise QueryError(f"Syntax error: unexpected character {text[pos]!r} at offset {pos}.")
        tok = m.group(0)
        pos = m.end()
        if tok.strip() and tok != "," and not tok.startswith("#"):
            out.append(tok)
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise QueryError("Syntax error: the query ends early (a '}' or ')' is missing).")
        if want is not None and tok != want:
            raise QueryError(f"Syntax error: expected {want!r}, found {tok!r}.")
        self.i += 1
        return tok

    def document(self) -> list[dict[str, Any]]:
        if self.peek() == "query":
            self.take()
            if self.peek() not in ("{", None):
                self.take()  # operation name
        sel = self.selection_set()
        if self.peek() is not None:
            raise QueryError(f"Syntax error: unexpected {self.peek()!r} after the query.")
        return sel

    def selection_set(self) -> list[dict[str, Any]]:
        self.take("{")
        fields = []
        while self.peek() != "}":
            name = self.take()
            if not re.match(r"[A-Za-z_]", name):
                raise QueryError(f"Syntax error: expected a field name, found {name!r}.")
            alias = None
            if self.peek() == ":":
                self.take()
                alias, name = name, self.take()
            args = self.arguments() if self.peek() == "(" else {}
            sub = self.selection_set() if self.peek() == "{" else None
            fields.append({"name": name, "alias": alias, "args": args, "fields": sub})
        self.take("}")
        if not fields:
            raise QueryError("Syntax error: an empty selection set '{}'.")
        return fields

    def arguments(self) -> dict[str, Any]:
        self.take("(")
        args = {}
        while self.peek() != ")":
            name = self.take()
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def value(self) -> Any:
        tok = self.take()
        if tok == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
            self.take("]")
            return items
        if tok == "{":
            obj = {}
            while self.peek() != "}":
                key = self.take()
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if tok.startswith('"'):
            return json.loads(tok)
        return tok


def plan(text: str) -> tuple[str, dict[str, Any]]:
    """(dataset, the root list field) of a query, checked against the schema."""
    fields = _Parser(text).document()
    if len(fields) != 1:
        raise QueryError("A query selects exactly one dataset (e.g. "
                         "analytics_salesAndTraffic_2024_04_24).")
    ds_field = fields[0]
    datasets = schema()
    ds = datasets.get(ds_field["name"])
    if ds is None:
        raise QueryError(f"Field '{ds_field['name']}' in type 'Query' is undefined; the "
                         f"datasets are {', '.join(sorted(datasets))}.")
    if not ds_field["fields"]:
        raise QueryError(f"Field '{ds_field['name']}' of type '{ds['root']}' must have a "
                         "selection of subfields.")
    if len(ds_field["fields"]) != 1:
        raise QueryError("The emulator runs one root field per query; send one query per "
                         "root field.")
    root = ds_field["fields"][0]
    _check(ds, ds["root"], [root], ds_field["name"])
    return ds_field["name"], root


def _check(ds: dict[str, Any], type_name: str, fields: list[dict[str, Any]], path: str) -> None:
    known = ds["types"].get(type_name, {})
    for f in fields:
        spec = known.get(f["name"])
        where = f"{path}/{f['name']}"
        if spec is None:
            raise QueryError(f"Field '{f['name']}' in type '{type_name}' is undefined @ "
                             f"'{where}'.")
        sub_type = spec[0]
        if sub_type in ds["types"]:
            if not f["fields"]:
                raise QueryError(f"Field '{f['name']}' of type '{sub_type}' must have a "
                                 f"selection of subfields @ '{where}'.")
            _check(ds, sub_type, f["fields"], where)
        elif f["fields"]:
            raise QueryError(f"Field '{f['name']}' of type '{sub_type}' has no subfields @ "
                             f"'{where}'.")


# documents ------------------------------------------------------------------------------


def _day(v: Any) -> date | None:
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        return None


def _periods(args: dict[str, Any]) -> list[tuple[date, date]] | None:
    start, end = _day(args.get("startDate")), _day(args.get("endDate"))
    gran = args.get("aggregateBy") or args.get("dateAggregation")
    if isinstance(gran, dict):
        gran = gran.get("date")
    if start is None or end is None:
        return None
    if end < start:
        raise QueryError("endDate must be on or after startDate.")
    if gran not in ("DAY", "WEEK", "MONTH"):
        return [(start, end)]
    out: list[tuple[date, date]] = []
    cur = start
    while cur <= end and len(out) < 5000:
        if gran == "DAY":
            nxt = cur
        elif gran == "WEEK":
            nxt = cur + timedelta(days=6 - (cur.weekday() + 1) % 7)
        else:
            nxt = (cur.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        out.append((cur, min(nxt, end)))
        cur = nxt + timedelta(days=1)
    return out


def _value(ds: dict[str, Any], name: str, type_name: str, ctx: dict[str, Any], rng: Any) -> Any:
    low = name.lower()
    if type_name in ds["enums"]:
        return rng.choice(ds["enums"][type_name])
    if type_name == "Date":
        return ctx["end" if low.startswith("end") else "start"].isoformat()
    if type_name in ("Long", "Int"):
        return rng.randint(0, 400)
    if type_name == "Float":
        if "rate" in low or "percent" in low or "share" in low:
            return round(rng.random(), 4)
        return round(rng.uniform(1, 500), 2)
    if type_name == "Boolean":
        return rng.random() < 0.5
    if "currency" in low:
        return _CURRENCY.get(ctx["mp"], "USD")
    if "marketplace" in low:
        return ctx["mp"]
    if "asin" in low:
        return ctx["asin"]
    if low in ("sku", "msku") or low.endswith("sku"):
        return ctx["sku"]
    if "fnsku" in low:
        return ctx["fnsku"]
    if "date" in low or "time" in low:
        return ctx["start"].isoformat()
    return f"{name}-{rng.randint(1, 999)}"


def _object(ds: dict[str, Any], type_name: str, fields: list[dict[str, Any]],
            ctx: dict[str, Any], rng: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    types = ds["types"][type_name]
    for f in fields:
        sub_type, is_list = types[f["name"]]
        key = f["alias"] or f["name"]
        if sub_type in ds["types"]:
            n = rng.randint(1, 2) if is_list else 1
            items = [_object(ds, sub_type, f["fields"], ctx, rng) for _ in range(n)]
            out[key] = items if is_list else items[0]
        else:
            v = _value(ds, f["name"], sub_type, ctx, rng)
            out[key] = [v] if is_list else v
    return out


def records(state: State, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record the query selects (all pages)."""
    dataset, root = plan(q["query"])
    ds = schema()[dataset]
    row_type = ds["types"][ds["root"]][root["name"]][0]
    args = root["args"]
    mps = as_list(args.get("marketplaceIds")) or [f.get("marketplaceId") for f in
                                                  as_list(args.get("filters"))
                                                  if isinstance(f, dict)]
    mp = str(mps[0]) if mps and mps[0] else "ATVPDKIKX0DER"
    listings = list(state.d["listings"].get(q["seller"], {}).values())
    rng = state.rng(f"dataKioskRecords:{q['id']}")
    periods = _periods(args)
    today = datetime.fromtimestamp(q["created"], UTC).date()
    out = []
    if periods is not None and row_type.endswith("ByDate"):
        for start, end in periods:
            out.append(_object(ds, row_type, root["fields"], _ctx(mp, start, end, listings, rng),
                               rng))
    else:
        start, end = (periods[0][0], periods[-1][1]) if periods else (today, today)
        for listing in listings:
            ctx = _ctx(mp, start, end, [listing], rng)
            out.append(_object(ds, row_type, root["fields"], ctx, rng))
    return out


def _ctx(mp: str, start: date, end: date, listings: list[dict[str, Any]], rng: Any
         ) -> dict[str, Any]:
    lst = rng.choice(listings) if listings else {}
    return {"mp": mp, "start": start, "end": end, "asin": lst.get("asin", "B000000000"),
            "sku": lst.get("sku", "SKU-1"), "fnsku": lst.get("fnsku") or "X000000000"}


def _document(state: State, q: dict[str, Any], text: str) -> str:
    doc_id = "amzn1.tortuga.4.na." + gen.uuid_from(state.rng("dataKioskDocument"))
    state.add_document(doc_id, seller_id=q["seller"], content=text,
                       content_type="application/x-ndjson; charset=UTF-8", gzip_it=False)
    state.d["documents"][doc_id]["dataKiosk"] = True
    return doc_id


def finish(state: State, q: dict[str, Any]) -> None:
    """Run the query once its processing time has passed."""
    text = q["query"]
    m = _OUTCOME.search(text)
    forced = m.group(1).upper() if m else ""
    q["ended"] = q["done"]
    if forced == "CANCELLED":
        q["status"] = "CANCELLED"
        return
    if forced == "FATAL_NO_DOCUMENT":
        q["status"] = "FATAL"
        return
    try:
        if forced == "FATAL":
            raise QueryError("The query failed: emulatorOutcome FATAL was requested.")
        rows = [] if forced == "NO_DATA" else records(state, q)
    except QueryError as exc:
        q["status"] = "FATAL"
        q["errorDocId"] = _document(state, q, json.dumps({"errorMessage": str(exc)}) + "\n")
        return
    q["status"] = "DONE"
    pm = _PAGE.search(text)
    size = max(1, min(1000, int(pm.group(1)))) if pm else PAGE_RECORDS
    page = rows[q["offset"]:q["offset"] + size]
    if page:
        q["dataDocId"] = _document(state, q, "".join(
            json.dumps(r, separators=(",", ":")) + "\n" for r in page))
    if q["offset"] + size < len(rows):
        q["nextToken"] = state.sign({"op": "dataKiosk", "s": q["seller"],
                                     "h": state.filter_hash({"q": text}),
                                     "o": q["offset"] + size})


def advance(state: State, now: float) -> None:
    """Finish the queries whose processing time has passed (called by ``State.advance``)."""
    for q in state.d.setdefault("queries", {}).values():
        if q["status"] in ("IN_QUEUE", "IN_PROGRESS") and now >= q["done"]:
            finish(state, q)
            _notify_finished(state, q)


def _notify_finished(state: State, q: dict[str, Any]) -> None:
    """DATA_KIOSK_QUERY_PROCESSING_FINISHED to the seller's subscribers, shaped as the
    notification's schema has it (camelCase; the document ids and next token when there are)."""
    from sellerkit.emulator.simulation import notifications

    payload: dict[str, Any] = {"accountId": notifications.account_id(q["seller"]),
                               "queryId": q["id"], "query": q["query"],
                               "processingStatus": q["status"]}
    if q.get("dataDocId"):
        payload["dataDocumentId"] = q["dataDocId"]
    if q.get("errorDocId"):
        payload["errorDocumentId"] = q["errorDocId"]
    if q.get("nextToken"):
        payload["pagination"] = {"nextToken": q["nextToken"]}
    notifications.notify(state, q["seller"], "DATA_KIOSK_QUERY_PROCESSING_FINISHED", payload,
                         q.get("ended", q["done"]))


# API ------------------------------------------------------------------------------------


def _status(state: State, q: dict[str, Any]) -> str:
    if q["status"] == "IN_QUEUE" and state.now() >= q["started"]:
        return "IN_PROGRESS"
    return str(q["status"])


def _view(state: State, q: dict[str, Any]) -> dict[str, Any]:
    status = _status(state, q)
    out: dict[str, Any] = {"queryId": q["id"], "query": q["query"],
                           "createdTime": gen.iso_offset(q["created"]),
                           "processingStatus": status}
    if status != "IN_QUEUE" and not q.get("cancelledInQueue"):
        out["processingStartTime"] = gen.iso_offset(q["started"])
    if status in ("DONE", "CANCELLED", "FATAL"):
        out["processingEndTime"] = gen.iso_offset(q.get("ended", q["done"]))
    if q.get("dataDocId"):
        out["dataDocumentId"] = q["dataDocId"]
    if q.get("errorDocId"):
        out["errorDocumentId"] = q["errorDocId"]
    if q.get("nextToken"):
        out["pagination"] = {"nextToken": q["nextToken"]}
    return out


def create_query(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    body = req.body if isinstance(req.body, dict) else {}
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise invalid("query is required.")
    if len(re.sub(r"\s+", " ", text).strip()) > MAX_QUERY:
        raise invalid(f"The query must be at most {MAX_QUERY} characters after unnecessary "
                      "whitespace is removed.")
    offset = 0
    token = body.get("paginationToken")
    if token is not None:
        f = state.unsign(str(token), "paginationToken")
        if f.get("op") != "dataKiosk" or f.get("s") != req.seller_id:
            raise invalid("Invalid paginationToken.")
        if f.get("h") != state.filter_hash({"q": text}):
            raise invalid("The query must be the query of the Query object the "
                          "paginationToken came from.")
        offset = int(f.get("o") or 0)
    now = state.now()
    qid = state.next_number("dataKioskQuery", 60_000_000_000)
    state.d.setdefault("queries", {})[qid] = {
        "id": qid, "seller": seller["id"], "query": text, "created": now, "offset": offset,
        "status": "IN_QUEUE", "started": now + state.report_seconds / 3,
        "done": now + state.report_seconds,
    }
    return SimResponse(202, {"queryId": qid})


def _own(state: State, req: SimRequest) -> dict[str, Any]:
    state.seller(req)
    qid = str(req.params.get("queryId", ""))
    q = state.d.setdefault("queries", {}).get(qid)
    if q is None or q["seller"] != req.seller_id:
        raise not_found(f"Query {qid} was not found.")
    return q


def get_query(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, _view(state, _own(state, req)))


def cancel_query(state: State, req: SimRequest) -> SimResponse:
    q = _own(state, req)
    status = _status(state, q)
    if status == "CANCELLED":
        return SimResponse(204, None)
    if status not in ("IN_QUEUE", "IN_PROGRESS"):
        raise invalid("Only queries with processingStatus IN_QUEUE or IN_PROGRESS can be "
                      "cancelled.")
    q["cancelledInQueue"] = status == "IN_QUEUE"
    q["status"] = "CANCELLED"
    q["ended"] = state.now()
    return SimResponse(204, None)


def get_queries(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    p = req.params
    now = state.now()
    token = p.get("paginationToken")
    if token:
        f = state.unsign(str(token), "paginationToken")
        if f.get("op") != "dataKiosk.getQueries" or f.get("s") != req.seller_id:
            raise invalid("Invalid paginationToken.")
    else:
        f = {}
    statuses = as_list(p.get("processingStatuses"))
    for s in statuses:
        if s not in STATUSES:
            raise invalid(f"Invalid processingStatuses value {s!r}.")
    size = int(p.get("pageSize") or 10)
    if not 1 <= size <= 100:
        raise invalid("pageSize must be between 1 and 100.")
    since = time_param(p, "createdSince")
    until = time_param(p, "createdUntil")
    since = since if since is not None else now - 90 * gen.DAY
    until = until if until is not None else now
    rows = [(q["created"], q["id"], _view(state, q))
            for q in state.d.setdefault("queries", {}).values()
            if q["seller"] == req.seller_id and since <= q["created"] <= until]
    rows = [r for r in rows if not statuses or r[2]["processingStatus"] in statuses]
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    offset = int(f.get("o") or 0)
    body: dict[str, Any] = {"queries": [v for _, _, v in rows[offset:offset + size]]}
    if offset + size < len(rows):
        body["pagination"] = {"nextToken": state.sign({"op": "dataKiosk.getQueries",
                                                       "s": req.seller_id,
                                                       "o": offset + size})}
    return SimResponse(200, body)


def get_document(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    doc_id = str(req.params.get("documentId", ""))
    doc = state.d["documents"].get(doc_id)
    if doc is None or doc["seller"] != req.seller_id or not doc.get("dataKiosk"):
        raise not_found(f"Document {doc_id} was not found.")
    token = state.presign(doc_id, "download")
    return SimResponse(200, {"documentId": doc_id,
                             "documentUrl": f"{req.base_url}/_emulator/documents/{token}"})


HANDLERS = {
    "data_kiosk_2023_11_15.createQuery": create_query,
    "data_kiosk_2023_11_15.getQueries": get_queries,
    "data_kiosk_2023_11_15.getQuery": get_query,
    "data_kiosk_2023_11_15.cancelQuery": cancel_query,
    "data_kiosk_2023_11_15.getDocument": get_document,
}
