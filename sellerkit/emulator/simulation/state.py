"""The simulation's mutable state, and the helpers every domain module shares.

All state lives in one JSON-able dict (``State.d``) so ``dump()``/``load()`` are a copy; indexes
that are only there for speed are rebuilt after a load. Callers hold ``State.lock`` (the
:class:`~sellerkit.emulator.simulation.Simulation` does) around every read and write.

Randomness after generation (report ids, destination ids, ...) comes from
``random.Random(f"{seed}:{purpose}:{counter}")`` with counters kept in the state, so a replayed
sequence of calls gives the same ids. The only deliberately unpredictable values are the
download/upload URL tokens, which stand in for presigned S3 URLs.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse, error
from sellerkit.emulator.simulation import data as gen

URL_LIFETIME = 300.0
# Pagination tokens start with these bytes ("+/+/" in base64) and end with a truncated HMAC.
_TOKEN_MAGIC = b"\xfb\xff\xbf"
_TOKEN_MAC = 12  # presigned S3 URLs are valid for five minutes
FORMAT_VERSION = 1


class Reject(Exception):
    """Raised inside a handler to answer with an error response."""

    def __init__(self, response: SimResponse) -> None:
        super().__init__(response.status)
        self.response = response


def invalid(message: str, details: str | None = None) -> Reject:
    return Reject(error(400, "InvalidInput", message, details))


def not_found(message: str) -> Reject:
    return Reject(error(404, "NotFound", message))


class State:
    """Seller accounts, catalog, listings, orders, reports, feeds and notification settings."""

    def __init__(self, *, seed: int = 0, orders: int = 100, sellers: int = 1,
                 clock: Callable[[], float] = time.time, report_seconds: float = 3.0,
                 feed_seconds: float = 3.0, _data: dict[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._now_override: float | None = None
        self.report_seconds = float(report_seconds)
        self.feed_seconds = float(feed_seconds)
        if _data is None:
            _data = self._generate(int(seed), max(0, int(orders)), max(1, int(sellers)),
                                   float(clock()))
        self.d = _data
        self.seed: int = self.d["seed"]
        self.seller_ids: list[str] = list(self.d["sellerIds"])
        self._key = hashlib.sha256(f"sellerkit-simulation:{self.seed}".encode()).digest()
        self._reindex()
        self._arrivals(self.d["anchor"])

    # generation ---------------------------------------------------------------------------

    @staticmethod
    def _generate(seed: int, orders: int, sellers: int, anchor: float) -> dict[str, Any]:
        def rng(purpose: str) -> random.Random:
            return random.Random(f"{seed}:{purpose}")

        catalog = gen.products(rng("catalog"), 40 + 10 * sellers)
        d: dict[str, Any] = {
            "version": FORMAT_VERSION, "seed": seed, "ordersPerSeller": orders,
            "anchor": anchor, "sellerIds": [], "sellers": {}, "catalog": catalog,
            "listings": {}, "orders": {}, "reports": {}, "feeds": {}, "documents": {},
            "urls": {}, "destinations": {}, "subscriptions": {}, "counters": {},
            "arrivalDays": {}, "schedules": {},
        }
        for i in range(sellers):
            s = gen.seller(rng(f"seller:{i}"), i)
            sid = s["id"]
            d["sellerIds"].append(sid)
            d["sellers"][sid] = s
            d["listings"][sid] = gen.listings(rng(f"listings:{i}"), s, catalog, anchor)
            d["orders"][sid] = gen.orders(rng(f"orders:{i}"), s, d["listings"][sid], catalog,
                                          orders, anchor)
        return d

    def _arrivals(self, now: float) -> None:
        """Keep orders arriving after the start at the backlog's rate (``orders`` per 30 days),
        one seeded batch per simulated day, generated when that day begins."""
        d = self.d
        rate = d["ordersPerSeller"] / 30.0
        if rate <= 0:
            return
        today = int((now - d["anchor"]) // gen.DAY)
        days = d.setdefault("arrivalDays", {})
        for i, sid in enumerate(d["sellerIds"]):
            done = days.get(sid, -1)
            # a dump loaded long after it was written catches up on at most 90 days
            for day in range(max(done + 1, today - 89), today + 1):
                rng = random.Random(f"{self.seed}:orders:{i}:day:{day}")
                count = int(rate * rng.uniform(0.6, 1.4) + rng.random())
                start = d["anchor"] + day * gen.DAY
                batch = gen.orders(rng, d["sellers"][sid], d["listings"][sid], d["catalog"],
                                   count, d["anchor"], window=(start, start + gen.DAY),
                                   taken=set(self.order_index))
                d["orders"][sid].extend(batch)
                for o in batch:
                    self.order_index[o["id"]] = (sid, o)
            if today > done:
                days[sid] = today
                d["orders"][sid].sort(key=lambda o: (o["created"], o["id"]))

    def _reindex(self) -> None:
        self.order_index: dict[str, tuple[str, dict[str, Any]]] = {}
        for sid, lst in self.d["orders"].items():
            for o in lst:
                self.order_index[o["id"]] = (sid, o)

    # dump / load --------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        out = copy.deepcopy(self.d)
        out["reportSeconds"] = self.report_seconds
        out["feedSeconds"] = self.feed_seconds
        return out

    @classmethod
    def from_dump(cls, data: dict[str, Any], **kw: Any) -> State:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported simulation dump version {data.get('version')!r}")
        d = copy.deepcopy(data)
        kw.setdefault("report_seconds", d.pop("reportSeconds", 3.0))
        kw.setdefault("feed_seconds", d.pop("feedSeconds", 3.0))
        d.pop("reportSeconds", None)
        d.pop("feedSeconds", None)
        # The seed and sizes are fixed by the dump; a caller that passes its configuration
        # along unchanged is not wrong, so those keywords are accepted and ignored.
        for fixed in ("seed", "orders", "sellers"):
            kw.pop(fixed, None)
        allowed = {"clock", "report_seconds", "feed_seconds"}
        unknown = set(kw) - allowed
        if unknown:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
        return cls(_data=d, **kw)

    # shared helpers -----------------------------------------------------------------------

    def now(self) -> float:
        # While a report or feed finishes, "now" is the moment its processing ended, so the
        # listings it changes and the rows it reads carry that time, however late it is noticed.
        if self._now_override is not None:
            return self._now_override
        return float(self.clock())

    def rng(self, purpose: str) -> random.Random:
        """A fresh seeded generator for the next id of ``purpose`` (counter kept in state)."""
        n = self.d["counters"].get(purpose, 0) + 1
        self.d["counters"][purpose] = n
        return random.Random(f"{self.seed}:{purpose}:{n}")

    def next_number(self, purpose: str, base: int) -> str:
        """Numeric ids such as report and feed ids (Amazon uses 11-digit numbers)."""
        n = self.d["counters"].get(purpose, 0) + 1
        self.d["counters"][purpose] = n
        offset = random.Random(f"{self.seed}:{purpose}").randrange(10**8)
        return str(base + offset + n * 7)

    def seller(self, req: SimRequest) -> dict[str, Any]:
        """The caller's seller account; a token for a seller the simulation lacks gets 403."""
        s = self.d["sellers"].get(req.seller_id)
        if s is None:
            raise Reject(error(403, "Unauthorized", "Access to requested resource is denied.",
                               "The selling partner of this token is not in the simulation."))
        return s

    def check_marketplaces(self, seller: dict[str, Any], mps: Iterable[str], param: str) -> None:
        for mp in mps:
            if mp not in gen.MARKETPLACES:
                raise invalid(f"Invalid {param}: {mp!r} is not a valid marketplace id.")
            if mp not in seller["marketplaces"]:
                raise invalid(f"Invalid {param}: the seller does not participate in {mp}.")

    # opaque pagination tokens -------------------------------------------------------------

    def sign(self, payload: dict[str, Any]) -> str:
        """An opaque token in standard base64, as Amazon's are: it always holds ``+``, ``/``
        and ``=`` padding, so a client that does not URL-encode it fails here first."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        body += b" " * ((1 - len(body)) % 3)  # 3 + body + 12 bytes = 1 (mod 3): "==" at the end
        mac = hmac.new(self._key, _TOKEN_MAGIC + body, "sha256").digest()[:_TOKEN_MAC]
        return base64.b64encode(_TOKEN_MAGIC + body + mac).decode("ascii")

    def unsign(self, token: str, param: str) -> dict[str, Any]:
        text = str(token)
        hint = ("Pass the token exactly as it was returned, URL-encoded once (it holds '+', "
                "'/' and '=').")
        if " " in text:
            raise invalid(f"Invalid {param}: it holds a space where the token had a '+'; the "
                          "token was not URL-encoded.", hint)
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (ValueError, binascii.Error):  # non-ASCII, bad alphabet or padding
            raise invalid(f"Invalid {param}: the token is malformed.", hint) from None
        body, mac = raw[len(_TOKEN_MAGIC):-_TOKEN_MAC], raw[-_TOKEN_MAC:]
        good = hmac.new(self._key, raw[:-_TOKEN_MAC], "sha256").digest()[:_TOKEN_MAC]
        if (len(raw) <= len(_TOKEN_MAGIC) + _TOKEN_MAC or not raw.startswith(_TOKEN_MAGIC)
                or not hmac.compare_digest(mac, good)):
            raise invalid(f"Invalid {param}: the token is malformed or was not issued here.",
                          hint)
        try:
            payload = json.loads(body)
        except ValueError:
            raise invalid(f"Invalid {param}.", hint) from None
        if not isinstance(payload, dict):
            raise invalid(f"Invalid {param}.", hint)
        return payload

    @staticmethod
    def filter_hash(values: dict[str, Any]) -> str:
        text = json.dumps(values, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # documents ----------------------------------------------------------------------------

    def add_document(self, doc_id: str, *, seller_id: str, content: str, content_type: str,
                     gzip_it: bool) -> None:
        self.d["documents"][doc_id] = {"seller": seller_id, "content": content,
                                       "contentType": content_type, "gzip": gzip_it,
                                       "kind": "result"}

    def presign(self, doc_id: str, kind: str, *, content_encoding: bool = False) -> str:
        """A fresh unguessable URL token for a download (``document``) or an upload."""
        now = self.now()
        urls = self.d["urls"]
        for old in [t for t, u in urls.items() if u["expires"] < now]:
            del urls[old]
        token = secrets.token_urlsafe(24)
        urls[token] = {"doc": doc_id, "kind": kind, "expires": now + URL_LIFETIME,
                       "encoding": content_encoding}
        return token

    def _url(self, token: str, kind: str) -> dict[str, Any] | SimResponse:
        u = self.d["urls"].get(token)
        if u is None or u["kind"] != kind:
            return s3_error(404 if kind == "download" else 403, "NoSuchKey" if kind == "download"
                            else "AccessDenied", "The specified key does not exist."
                            if kind == "download" else "Access Denied")
        if self.now() > u["expires"]:
            return s3_error(403, "AccessDenied", "Request has expired")
        return u

    def document(self, token: str) -> SimResponse:
        u = self._url(token, "download")
        if isinstance(u, SimResponse):
            return u
        doc = self.d["documents"].get(u["doc"])
        if doc is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if doc["kind"] == "input":
            raw = base64.b64decode(doc.get("data") or "")
            return SimResponse(200, raw, content_type=doc["contentType"])
        # a report document may be in its marketplace's charset (Cp1252, cp932); what the
        # charset lacks becomes "?", as at Amazon
        body = doc["content"].encode(doc.get("charset") or "utf-8", errors="replace")
        headers: dict[str, str] = {}
        if doc["gzip"]:
            body = gzip.compress(body, mtime=0)
            if u.get("encoding"):
                # enableContentEncodingUrlHeader=true: HTTP clients decompress on their own
                headers["Content-Encoding"] = "gzip"
        return SimResponse(200, body, headers=headers, content_type=doc["contentType"])

    def upload(self, token: str, content_type: str | None, data: bytes) -> SimResponse:
        u = self._url(token, "upload")
        if isinstance(u, SimResponse):
            return u
        doc = self.d["documents"].get(u["doc"])
        if doc is None or doc["kind"] != "input" or doc.get("locked"):
            # a document a feed was created from can no longer be replaced
            return s3_error(403, "AccessDenied", "Access Denied")
        if (content_type or "").strip() != doc["contentType"].strip():
            # The presigned URL signs the Content-Type given to createFeedDocument, so S3
            # rejects any other one as a signature mismatch.
            return s3_error(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature "
                            "you provided. Check your key and signing method.")
        doc["data"] = base64.b64encode(data).decode()
        doc["uploaded"] = self.now()
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return SimResponse(200, b"", headers={"ETag": f'"{etag}"'}, content_type="text/plain")

    # time passing -------------------------------------------------------------------------

    def advance(self) -> None:
        """Bring the state up to the clock: new orders of the day, scheduled reports, and the
        reports and feeds whose processing time has passed (oldest first)."""
        from sellerkit.emulator.simulation import datakiosk, feeds, notifications, reports

        now = self.now()
        self._arrivals(now)
        reports.run_schedules(self, now)
        due: list[tuple[float, str, str]] = []
        for rid, r in self.d["reports"].items():
            if r["status"] in ("IN_QUEUE", "IN_PROGRESS") and now >= r["done"]:
                due.append((r["done"], "report", rid))
        for fid, f in self.d["feeds"].items():
            if f["status"] in ("IN_QUEUE", "IN_PROGRESS") and now >= f["done"]:
                due.append((f["done"], "feed", fid))
        for at, kind, key in sorted(due):
            self._now_override = at
            try:
                if kind == "report":
                    reports.finish(self, self.d["reports"][key])
                else:
                    feeds.finish(self, self.d["feeds"][key])
            finally:
                self._now_override = None
            rec = self.d["reports" if kind == "report" else "feeds"][key]
            notifications.processing_finished(self, kind, rec, at)
        datakiosk.advance(self, now)
        notifications.order_changes(self, now)


def s3_error(status: int, code: str, message: str) -> SimResponse:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>")
    return SimResponse(status, body.encode(), content_type="application/xml")


def as_list(value: Any) -> list[Any]:
    """Array parameters arrive as lists; tolerate a comma-joined string as well."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [v for v in str(value).split(",") if v]


def time_param(params: dict[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return gen.parse_time(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid {name}: {str(value)[:40]!r} is not an ISO 8601 date-time."
                      ) from None


def status_of(order: dict[str, Any], at: float) -> str:
    """The v0 ``OrderStatus`` of an order at time ``at``."""
    if order["canceled"] is not None and at >= order["canceled"]:
        return "Canceled"
    if order["shipped"] is not None and at >= order["shipped"]:
        return "Shipped"
    if order["unshipped"] is not None and at >= order["unshipped"]:
        return "Unshipped"
    return "Pending"


def last_update(order: dict[str, Any], at: float) -> float:
    """When the order last changed, as seen at time ``at``."""
    times = [order["created"]] + [t for t in (order["unshipped"], order["shipped"],
                                              order["canceled"]) if t is not None and t <= at]
    return max(times)
