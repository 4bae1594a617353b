"""Workflows on sp.feeds: build, upload, submit and read the processing report.

The generated resource class of this API inherits these mixins (tools/gen_catalog.py,
WORKFLOW_MIXINS), so the workflow methods sit beside the operations on the same resource::

    result = sp.feeds.submit("JSON_LISTINGS_FEED", feed, ["ATVPDKIKX0DER"])
    result.accepted        # Amazon processed the feed (DONE)
    result.applied         # messageIds that went through
    result.failed          # {messageId: [FeedIssue, ...]} for the ones that did not

The flow (../shared/sp-api-facts.md §8, Feeds v2021-06-30): ``createFeedDocument
{contentType}`` -> PUT the bytes to the presigned URL with exactly that Content-Type ->
``createFeed`` -> poll ``getFeed`` until DONE / CANCELLED / FATAL -> ``getFeedDocument`` for
``resultFeedDocumentId`` -> the processing report. The I/O-free parts (content encoding, the
listings feed builder and its schema validation, processing-report parsing, the outcome) are
shared; the sync and async shells are the two short ``_submit`` bodies below, written by hand.

The module stays light to import: jsonschema and the XML parser load inside the methods.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sellerkit.errors import ApiError, ConfigurationError, SellerkitError, ValidationError

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    from sellerkit.client.options import CallOptions

__all__ = [
    "AsyncFeedsMixin",
    "FeedFailedError",
    "FeedIssue",
    "FeedProblem",
    "FeedResult",
    "FeedTimeoutError",
    "FeedsMixin",
    "ListingsFeed",
    "MAX_LISTINGS_MESSAGES",
    "ProcessingReport",
    "content_type_for",
]

MAX_LISTINGS_MESSAGES = 25_000
LISTINGS_FEED = "JSON_LISTINGS_FEED"
OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
TERMINAL = ("DONE", "CANCELLED", "FATAL")

# Content types by feed family (sp-api-facts.md §8 names these three). A caller's
# content_type= wins; a feed type not matched here is taken to be XML, the legacy format.
_JSON_CT = "application/json"
_XML_CT = "text/xml"
_TSV_CT = "text/tab-separated-values"


def content_type_for(feed_type: str, charset: str = "UTF-8") -> str:
    """The Content-Type sellerkit uses for ``feed_type`` when none is given:
    JSON for JSON_* feeds, tab-separated for flat files, XML otherwise."""
    if feed_type.startswith("JSON_"):
        base = _JSON_CT
    elif "FLAT_FILE" in feed_type or feed_type.endswith("_TSV"):
        base = _TSV_CT
    else:
        base = _XML_CT
    return f"{base}; charset={charset}"


# errors ---------------------------------------------------------------------------------


class FeedFailedError(SellerkitError):
    """The feed ended FATAL: Amazon did not process it. ``report`` is the processing report
    when Amazon left one (``report.issues`` says why), ``feed`` the last getFeed payload."""

    exit_code = 1  # Amazon refused: the CLI's exit status for an API failure

    def __init__(self, feed_id: str, feed: Mapping[str, Any],
                 report: ProcessingReport | None) -> None:
        self.feed_id = feed_id
        self.feed = dict(feed)
        self.report = report
        why = ""
        if report is not None and report.issues:
            why = ": " + "; ".join(i.describe() for i in report.issues[:5])
            if len(report.issues) > 5:
                why += f" (and {len(report.issues) - 5} more)"
        elif report is None:
            why = " (Amazon left no processing report)"
        super().__init__(f"feed {feed_id} ({feed.get('feedType', '?')}) ended FATAL{why}")


class FeedTimeoutError(SellerkitError):
    """The feed was still IN_QUEUE / IN_PROGRESS when ``poll_timeout`` ran out. It keeps
    running at Amazon: read it later with ``sp.feeds.result(feed_id)``."""

    def __init__(self, feed_id: str, status: str, waited: float) -> None:
        self.feed_id = feed_id
        self.status = status
        self.waited = waited
        super().__init__(f"feed {feed_id} is still {status} after {waited:.0f} s; it keeps "
                         f"running at Amazon: get its outcome later with "
                         f"sp.feeds.result({feed_id!r}) or raise poll_timeout")


# the processing report ------------------------------------------------------------------


@dataclass(frozen=True)
class FeedIssue:
    """One problem a processing report names. ``severity`` is ERROR, WARNING or INFO (XML
    ``ResultCode`` Error/Warning map to ERROR/WARNING); ``message_id`` is None for an issue of
    the whole feed."""

    message_id: int | None
    severity: str
    code: str
    message: str
    sku: str | None = None
    attribute_names: tuple[str, ...] = ()

    def describe(self) -> str:
        where = f"message {self.message_id}" if self.message_id is not None else "feed"
        if self.sku:
            where += f" (sku {self.sku})"
        attrs = f" [{', '.join(self.attribute_names)}]" if self.attribute_names else ""
        return f"{where}: {self.severity} {self.code}{attrs}: {self.message}"


@dataclass
class ProcessingReport:
    """A feed's processing report, from the JSON format (JSON_LISTINGS_FEED,
    listings-feed-processing-report-schema-v2) or the legacy XML one (AmazonEnvelope /
    Message / ProcessingReport with ProcessingSummary and Result elements).

    ``messages_processed`` / ``messages_accepted`` / ``messages_invalid`` are the summary's
    counts (XML: MessagesProcessed, MessagesSuccessful, MessagesWithError);
    ``messages_with_warning`` is XML's MessagesWithWarning, or the number of messages with a
    WARNING issue in JSON. ``raw`` is the parsed JSON document (None for XML).
    """

    format: Literal["json", "xml"]
    feed_id: str | None
    messages_processed: int | None
    messages_accepted: int | None
    messages_invalid: int | None
    messages_with_warning: int | None
    issues: list[FeedIssue] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    raw: Any = None

    @property
    def errors(self) -> list[FeedIssue]:
        return [i for i in self.issues if i.severity == "ERROR"]

    @property
    def warnings(self) -> list[FeedIssue]:
        return [i for i in self.issues if i.severity == "WARNING"]

    @property
    def failed(self) -> dict[int, list[FeedIssue]]:
        """messageId -> its ERROR issues, for every message that was not applied."""
        out: dict[int, list[FeedIssue]] = {}
        for i in self.errors:
            if i.message_id is not None:
                out.setdefault(i.message_id, []).append(i)
        return out

    @property
    def feed_errors(self) -> list[FeedIssue]:
        """ERROR issues that belong to no message (the feed as a whole)."""
        return [i for i in self.errors if i.message_id is None]

    def succeeded(self, message_ids: Iterable[int]) -> list[int]:
        """Of the ``message_ids`` that were sent, those without an ERROR issue (in order).
        Empty when the report has an error for the whole feed."""
        if self.feed_errors:
            return []
        failed = self.failed
        return [m for m in message_ids if m not in failed]

    # parsing

    @classmethod
    def parse(cls, data: bytes, *, feed_id: str | None = None, document_id: str | None = None,
              content_type: str | None = None, charset: str | None = None) -> ProcessingReport:
        """Parse a downloaded processing report (gzip or not, any charset the download
        declares). The format is taken from the first bytes: ``{`` JSON, ``<`` XML. A report
        that is neither, or malformed, raises ``DocumentError`` naming the feed."""
        from sellerkit.workflows.documents import Document, DocumentError

        label = f"feed {feed_id}" if feed_id else "feed"
        if document_id:
            label += f" (processing report {document_id})"

        def document(fmt: str | None) -> Document:
            doc = Document(data, document_id=document_id, content_type=content_type,
                           charset=charset, format=fmt)
            doc.label = label  # errors name the feed, not only the document
            return doc

        first = next(iter(document("binary").iter_bytes()), b"")
        head = first[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"{"):
            return cls.from_json(document("json").json(), feed_id=feed_id, label=label)
        if head.startswith(b"<"):
            return cls.from_xml(document("xml").xml(), feed_id=feed_id, label=label)
        raise DocumentError("the processing report is neither JSON nor XML"
                            f" (it starts with {head[:20]!r})", document=label,
                            reason="format", offset=0)

    @classmethod
    def from_json(cls, report: Any, *, feed_id: str | None = None,
                  label: str = "feed") -> ProcessingReport:
        """From the JSON format (listings-feed-processing-report-schema-v2)."""
        from sellerkit.workflows.documents import DocumentError

        if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
            raise DocumentError("the JSON processing report has no summary object; it is not "
                                "a listings feed processing report", document=label)
        header: dict[str, Any] = (report["header"] if isinstance(report.get("header"), dict)
                                  else {})
        summary = report["summary"]
        issues: list[FeedIssue] = []
        for n, i in enumerate(report.get("issues") or []):
            if not isinstance(i, dict) or not isinstance(i.get("severity"), str):
                raise DocumentError(f"issue {n} of the processing report has no severity",
                                    document=label)
            attrs = i.get("attributeNames") or ([i["attributeName"]]
                                                if i.get("attributeName") else [])
            mid = i.get("messageId")
            issues.append(FeedIssue(
                message_id=mid if isinstance(mid, int) and not isinstance(mid, bool) else None,
                severity=i["severity"].upper(), code=str(i.get("code", "")),
                message=str(i.get("message", "")),
                sku=i.get("sku") if isinstance(i.get("sku"), str) else None,
                attribute_names=tuple(str(a) for a in attrs)))
        warned = {i.message_id for i in issues if i.severity == "WARNING"
                  and i.message_id is not None}
        items = [x for x in report.get("items") or [] if isinstance(x, dict)]
        return cls(format="json", feed_id=str(header.get("feedId") or feed_id or "") or None,
                   messages_processed=_int(summary.get("messagesProcessed")),
                   messages_accepted=_int(summary.get("messagesAccepted")),
                   messages_invalid=_int(summary.get("messagesInvalid")),
                   messages_with_warning=len(warned), issues=issues, items=items, raw=report)

    @classmethod
    def from_xml(cls, root: ET.Element, *, feed_id: str | None = None,
                 label: str = "feed") -> ProcessingReport:
        """From the legacy XML format: an AmazonEnvelope whose Message holds a
        ProcessingReport (DocumentTransactionID, StatusCode, ProcessingSummary, Result*), or a
        bare ProcessingReport."""
        from sellerkit.workflows.documents import DocumentError

        rep = root if _local(root.tag) == "ProcessingReport" else _find(root, "ProcessingReport")
        if rep is None:
            raise DocumentError(f"the XML has no ProcessingReport element (root "
                                f"<{_local(root.tag)}>); it is not a processing report",
                                document=label)
        summary = _find(rep, "ProcessingSummary")
        counts = {}
        for name in ("MessagesProcessed", "MessagesSuccessful", "MessagesWithError",
                     "MessagesWithWarning"):
            el = _find(summary, name) if summary is not None else None
            text = (el.text or "").strip() if el is not None else ""
            if text and not text.isdigit():
                raise DocumentError(f"ProcessingSummary/{name} is {text[:30]!r}, not a count",
                                    document=label)
            counts[name] = int(text) if text else None
        issues: list[FeedIssue] = []
        for res in rep:
            if _local(res.tag) != "Result":
                continue
            mid_text = _text(res, "MessageID")
            mid = int(mid_text) if mid_text.isdigit() else None
            code = _text(res, "ResultCode").upper()
            severity = {"ERROR": "ERROR", "WARNING": "WARNING"}.get(code, code or "INFO")
            info = _find(res, "AdditionalInfo")
            sku = _text(info, "SKU") if info is not None else ""
            issues.append(FeedIssue(message_id=mid if mid else None, severity=severity,
                                    code=_text(res, "ResultMessageCode"),
                                    message=_text(res, "ResultDescription"),
                                    sku=sku or None))
        fid = _text(rep, "DocumentTransactionID") or feed_id
        return cls(format="xml", feed_id=fid or None,
                   messages_processed=counts["MessagesProcessed"],
                   messages_accepted=counts["MessagesSuccessful"],
                   messages_invalid=counts["MessagesWithError"],
                   messages_with_warning=counts["MessagesWithWarning"], issues=issues)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def _find(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    for child in el.iter():
        if child is not el and _local(child.tag) == name:
            return child
    return None


def _text(el: ET.Element | None, name: str) -> str:
    found = _find(el, name)
    return (found.text or "").strip() if found is not None else ""


# the outcome ----------------------------------------------------------------------------


@dataclass
class FeedResult:
    """What became of a submitted feed.

    ``status`` is DONE or CANCELLED (FATAL raises ``FeedFailedError``). ``accepted`` says
    Amazon processed the feed (DONE); that is not the same as the changes being applied:
    ``applied`` lists the messageIds that went through and ``failed`` maps the others to their
    ERROR issues. ``message_ids`` are the ids that were sent, when sellerkit knows them (a
    listings feed, or JSON / XML content it could read); without them ``applied`` is empty and
    only ``report``'s counts say how many went through.
    """

    feed_id: str
    feed_type: str
    status: str
    feed: dict[str, Any]
    report: ProcessingReport | None
    message_ids: list[int] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status == "DONE"

    @property
    def cancelled(self) -> bool:
        return self.status == "CANCELLED"

    @property
    def applied(self) -> list[int]:
        if self.report is None or not self.accepted:
            return []
        return self.report.succeeded(self.message_ids)

    @property
    def failed(self) -> dict[int, list[FeedIssue]]:
        return self.report.failed if self.report is not None else {}

    @property
    def ok(self) -> bool:
        """DONE and no ERROR issue at all."""
        return self.accepted and self.report is not None and not self.report.errors

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``sellerkit feeds ... --json`` prints)."""
        rep = self.report
        return {
            "feedId": self.feed_id, "feedType": self.feed_type, "status": self.status,
            "accepted": self.accepted,
            "resultFeedDocumentId": self.feed.get("resultFeedDocumentId"),
            "reportFormat": rep.format if rep else None,
            "messagesProcessed": rep.messages_processed if rep else None,
            "messagesAccepted": rep.messages_accepted if rep else None,
            "messagesInvalid": rep.messages_invalid if rep else None,
            "applied": self.applied,
            "failed": {str(k): [i.describe() for i in v] for k, v in self.failed.items()},
            "feedErrors": [i.describe() for i in rep.feed_errors] if rep else [],
            "warnings": [i.describe() for i in rep.warnings] if rep else [],
        }


# the listings feed builder --------------------------------------------------------------


@dataclass(frozen=True)
class FeedProblem:
    """One way a listings message breaks the JSON_LISTINGS_FEED schema: ``index`` is the
    message's position (0-based), ``pointer`` the JSON pointer into the feed document."""

    index: int | None
    message_id: int | None
    sku: str | None
    pointer: str
    message: str

    def __str__(self) -> str:
        if self.index is None:
            return f"{self.pointer or '/'}: {self.message}"
        who = f"message {self.index}"
        if self.message_id is not None:
            who += f" (messageId {self.message_id}"
            who += f", sku {self.sku!r})" if self.sku else ")"
        return f"{who}: {self.pointer}: {self.message}"


_schema_cache: dict[str, Any] = {}


def listings_feed_schema() -> dict[str, Any]:
    """Amazon's JSON_LISTINGS_FEED v2 schema, without its prose (data/listings_feed_schema.json,
    generated by tools/gen_feed_schema.py)."""
    if "schema" not in _schema_cache:
        from importlib.resources import files

        text = files("sellerkit.workflows").joinpath("data/listings_feed_schema.json").read_text(
            encoding="utf-8")
        _schema_cache["schema"] = json.loads(text)["schema"]
    schema: dict[str, Any] = _schema_cache["schema"]
    return schema


def _validators() -> dict[str, Any]:
    """Draft 7 validators: the header, and one per operation (the message schema without its
    ``oneOf``, plus the branch of that operation, so errors name the member that is wrong
    instead of "not valid under any of the given schemas")."""
    if "validators" not in _schema_cache:
        import jsonschema

        schema = listings_feed_schema()
        header = schema["properties"]["header"]
        msg = dict(schema["properties"]["messages"]["items"])
        branches = msg.pop("oneOf")
        per_op: dict[str, Any] = {}
        forbidden: dict[str, list[str]] = {}
        for b in branches:
            props = dict(b.get("properties") or {})
            op = props["operationType"]["const"]
            # members a branch forbids ("patches": false) are checked by hand, so that the
            # problem's pointer names the member (jsonschema reports them at the message)
            forbidden[op] = [k for k, v in props.items() if v is False]
            b = {**b, "properties": {k: v for k, v in props.items() if v is not False}}
            per_op[op] = jsonschema.Draft7Validator({"allOf": [msg, b]})
        per_op[""] = jsonschema.Draft7Validator(msg)
        _schema_cache["validators"] = {"header": jsonschema.Draft7Validator(header),
                                       "forbidden": forbidden, **per_op}
    validators: dict[str, Any] = _schema_cache["validators"]
    return validators


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _explain(err: Any, op: str) -> str:
    if err.validator == "required":
        return err.message.replace("is a required property", "is required") + (
            f" for operationType {op}" if op else "")
    return str(err.message)[:300]


class ListingsFeed:
    """A ``JSON_LISTINGS_FEED`` document built message by message and validated against
    Amazon's schema before anything is uploaded.

        feed = ListingsFeed(seller_id="A1...")          # or sp.feeds.listings_feed()
        feed.update("SKU-1", "PRODUCT", {"item_name": [{"value": "..."}]})
        feed.patch("SKU-2", "PRODUCT", [{"op": "replace", "path": "/attributes/...", ...}])
        feed.delete("SKU-3")
        feed.validate()                                 # ValidationError listing every problem

    messageIds are assigned 1, 2, 3... in the order of the calls (``add`` takes a whole
    message; its messageId, when given, is kept). ``seller_id`` may be given later, as
    ``submit(..., seller_id=)``. At most 25,000 messages.
    """

    feed_type = LISTINGS_FEED

    def __init__(self, seller_id: str | None = None, *, issue_locale: str | None = None,
                 included_data: Sequence[str] | None = None) -> None:
        self.seller_id = seller_id
        self.issue_locale = issue_locale
        self.included_data = list(included_data) if included_data else None
        self.messages: list[dict[str, Any]] = []
        self._next_id = 1

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        return f"<ListingsFeed {len(self.messages)} messages>"

    def add(self, message: Mapping[str, Any]) -> int:
        """Append one message (``{sku, operationType, productType, attributes|patches}``);
        returns its messageId."""
        if not isinstance(message, Mapping):
            raise ConfigurationError(f"a listings message is an object, not "
                                     f"{type(message).__name__}")
        if len(self.messages) >= MAX_LISTINGS_MESSAGES:
            raise ConfigurationError(
                f"a JSON_LISTINGS_FEED holds at most {MAX_LISTINGS_MESSAGES:,} messages; "
                "submit the rest in another feed")
        m = dict(message)
        mid = m.get("messageId")
        if mid is None:
            mid = m["messageId"] = self._next_id
        if isinstance(mid, int) and not isinstance(mid, bool):
            self._next_id = max(self._next_id, mid + 1)
        self.messages.append(m)
        return mid if isinstance(mid, int) else -1

    def update(self, sku: str, product_type: str, attributes: Mapping[str, Any], *,
               requirements: str | None = None) -> int:
        m: dict[str, Any] = {"sku": sku, "operationType": "UPDATE", "productType": product_type,
                             "attributes": dict(attributes)}
        if requirements:
            m["requirements"] = requirements
        return self.add(m)

    def partial_update(self, sku: str, product_type: str, attributes: Mapping[str, Any]) -> int:
        return self.add({"sku": sku, "operationType": "PARTIAL_UPDATE",
                         "productType": product_type, "attributes": dict(attributes)})

    def patch(self, sku: str, product_type: str, patches: Sequence[Mapping[str, Any]]) -> int:
        return self.add({"sku": sku, "operationType": "PATCH", "productType": product_type,
                         "patches": [dict(p) for p in patches]})

    def delete(self, sku: str) -> int:
        return self.add({"sku": sku, "operationType": "DELETE"})

    @property
    def message_ids(self) -> list[int]:
        return [m["messageId"] for m in self.messages if isinstance(m.get("messageId"), int)]

    def document(self) -> dict[str, Any]:
        header: dict[str, Any] = {"sellerId": self.seller_id, "version": "2.0"}
        if self.issue_locale:
            header["issueLocale"] = self.issue_locale
        if self.included_data:
            header["report"] = {"includedData": self.included_data, "apiVersion": "2021-08-01"}
        return {"header": header, "messages": self.messages}

    def problems(self) -> list[FeedProblem]:
        """Every way the document breaks the schema (empty when it is valid)."""
        v = _validators()
        out: list[FeedProblem] = []
        if not self.seller_id:
            out.append(FeedProblem(None, None, None, "/header/sellerId", _NO_SELLER))
        else:
            for err in v["header"].iter_errors(self.document()["header"]):
                out.append(FeedProblem(None, None, None, _pointer(["header", *err.path]),
                                       _explain(err, "")))
        if not self.messages:
            out.append(FeedProblem(None, None, None, "/messages",
                                   "a listings feed needs at least one message"))
        if len(self.messages) > MAX_LISTINGS_MESSAGES:
            out.append(FeedProblem(None, None, None, "/messages",
                                   f"{len(self.messages):,} messages; at most "
                                   f"{MAX_LISTINGS_MESSAGES:,} per feed"))
        seen: dict[Any, int] = {}
        for n, m in enumerate(self.messages):
            mid = m.get("messageId")
            mid_ok = mid if isinstance(mid, int) and not isinstance(mid, bool) else None
            sku = m.get("sku") if isinstance(m.get("sku"), str) else None
            op = m.get("operationType")
            validator = v[op] if isinstance(op, str) and op in OPERATIONS else v[""]
            if not isinstance(m, dict):
                out.append(FeedProblem(n, None, None, f"/messages/{n}",
                                       "a message must be an object"))
                continue
            found = [] if validator.is_valid(m) else [
                (list(err.path), _explain(err, op if op in OPERATIONS else ""))
                for err in validator.iter_errors(m)]
            found += [([k], f"must not be given for operationType {op}")
                      for k in v["forbidden"].get(op, []) if k in m]
            for path, text in sorted(found, key=lambda x: [str(p) for p in x[0]]):
                out.append(FeedProblem(n, mid_ok, sku, _pointer(["messages", n, *path]), text))
            if mid_ok is not None:
                if mid_ok in seen:
                    out.append(FeedProblem(n, mid_ok, sku, f"/messages/{n}/messageId",
                                           f"messageId {mid_ok} is also used by message "
                                           f"{seen[mid_ok]}; it must be unique in the feed"))
                else:
                    seen[mid_ok] = n
        return out

    def validate(self) -> None:
        """Raise ``ValidationError`` (its ``problems`` are ``FeedProblem`` s) unless every
        message and the header are valid."""
        problems = self.problems()
        if problems:
            raise ValidationError(LISTINGS_FEED, problems)

    def to_bytes(self, charset: str = "UTF-8", *, validate: bool = True) -> bytes:
        """The document, validated (unless ``validate=False``: it was just validated) and
        encoded in ``charset``."""
        if validate:
            self.validate()
        return _encode(json.dumps(self.document(), ensure_ascii=False), charset)


def read_listings_messages(lines: Iterable[str], *, source: str = "messages"
                           ) -> Iterator[dict[str, Any]]:
    """Messages from JSON Lines text (one ``{sku, operationType, ...}`` object per line);
    blank lines are skipped. A line that is not a JSON object raises ConfigurationError
    naming ``source`` and the line number."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            m = json.loads(line)
        except ValueError as exc:
            raise ConfigurationError(f"{source} line {n} is not valid JSON: {exc}") from None
        if not isinstance(m, dict):
            raise ConfigurationError(f"{source} line {n} is a JSON {type(m).__name__}, not an "
                                     "object {sku, operationType, productType, ...}")
        yield m


# content --------------------------------------------------------------------------------


def _codec(charset: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        raise ConfigurationError(f"charset {charset!r} is not a known encoding; use UTF-8 "
                                 "(the default) or a name Python knows") from None


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(_codec(charset))
    except UnicodeEncodeError as exc:
        raise ConfigurationError(
            f"the feed content cannot be encoded in {charset}: {exc.object[exc.start:exc.end]!r}"
            f" at character {exc.start}; use charset='UTF-8'") from None


def _charset_of(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset":
            return v.strip().strip('"') or None
    return None


@dataclass
class _Prepared:
    feed_type: str
    content_type: str
    data: bytes
    message_ids: list[int]
    feed: ListingsFeed | None


def _prepare(feed_type: Any, content: Any, marketplace_ids: Any, content_type: str | None,
             charset: str) -> _Prepared:
    """Check the arguments and produce the bytes to upload; raises before any call."""
    if not isinstance(feed_type, str) or not feed_type.strip():
        raise ConfigurationError("feed_type must be a feed type name such as "
                                 "'JSON_LISTINGS_FEED'")
    if isinstance(marketplace_ids, str) or not marketplace_ids or not all(
            isinstance(m, str) and m for m in marketplace_ids):
        raise ConfigurationError("marketplace_ids must be a non-empty list of marketplace ids, "
                                 "e.g. ['ATVPDKIKX0DER']")
    _codec(charset)
    if content_type is None:
        content_type = content_type_for(feed_type, charset)
    elif not isinstance(content_type, str) or "/" not in content_type:
        raise ConfigurationError(f"content_type {content_type!r} is not a media type such as "
                                 "'text/xml; charset=UTF-8'")
    else:
        declared = _charset_of(content_type)
        if declared is None:
            content_type = f"{content_type.strip()}; charset={charset}"
        elif _codec(declared) != _codec(charset):
            raise ConfigurationError(f"content_type says charset={declared} but charset= is "
                                     f"{charset}; give one of them")
    listings: ListingsFeed | None = None
    ids: list[int] = []
    if isinstance(content, ListingsFeed):
        listings = content
        if feed_type != LISTINGS_FEED:
            raise ConfigurationError(f"a ListingsFeed is a {LISTINGS_FEED}, not {feed_type}")
        data = content.to_bytes(charset, validate=False)  # _prepare_with_seller validated it
        ids = content.message_ids
    elif isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    elif isinstance(content, str):
        data = _encode(content, charset)
    elif isinstance(content, Mapping):
        if feed_type == LISTINGS_FEED:
            listings = _listings_from_mapping(content)
            data = listings.to_bytes(charset)
            ids = listings.message_ids
        else:
            data = _encode(json.dumps(content, ensure_ascii=False), charset)
    else:
        raise ConfigurationError(f"content must be bytes, str, a dict (JSON) or a ListingsFeed, "
                                 f"not {type(content).__name__}")
    if not data:
        raise ConfigurationError("the feed content is empty")
    if not ids:
        ids = _message_ids_of(data, content_type, charset)
    return _Prepared(feed_type, content_type, data, ids, listings)


def _listings_from_mapping(doc: Mapping[str, Any]) -> ListingsFeed:
    header: Mapping[str, Any] = (doc["header"] if isinstance(doc.get("header"), Mapping)
                                 else {})
    feed = ListingsFeed(seller_id=header.get("sellerId") or None,
                        issue_locale=header.get("issueLocale"),
                        included_data=(header.get("report") or {}).get("includedData"))
    messages = doc.get("messages")
    if not isinstance(messages, list):
        raise ValidationError(LISTINGS_FEED, [FeedProblem(None, None, None, "/messages",
                                                          "messages must be a list")])
    if len(messages) > MAX_LISTINGS_MESSAGES:
        raise ValidationError(LISTINGS_FEED, [FeedProblem(
            None, None, None, "/messages", f"{len(messages):,} messages; at most "
            f"{MAX_LISTINGS_MESSAGES:,} per feed")])
    feed.messages = [dict(m) if isinstance(m, Mapping) else m for m in messages]
    return feed


def _message_ids_of(data: bytes, content_type: str, charset: str) -> list[int]:
    """The messageIds / MessageIDs in content given as bytes or text, when it is JSON or XML
    sellerkit can read (best effort: Amazon is the judge of the content)."""
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    try:
        if head.startswith(b"{"):
            doc = json.loads(data.decode(_codec(charset)))
            msgs = doc.get("messages") if isinstance(doc, dict) else None
            return [m["messageId"] for m in msgs or [] if isinstance(m, dict)
                    and isinstance(m.get("messageId"), int)]
        if head.startswith(b"<") and len(data) <= 64 * 1024 * 1024:
            from sellerkit.workflows.documents import Document

            root = Document(data, content_type=content_type, format="xml").xml()
            ids = []
            for msg in root:
                if _local(msg.tag) == "Message":
                    t = _text(msg, "MessageID")
                    if t.isdigit():
                        ids.append(int(t))
            return ids
    except (ValueError, SellerkitError):
        return []
    return []


# polling --------------------------------------------------------------------------------


def _intervals(first: float, most: float) -> Iterator[float]:
    """Growing waits between getFeed calls: ``first``, then x1.5 each time, up to ``most``."""
    wait = first
    while True:
        yield wait
        wait = min(most, wait * 1.5)


def _check_poll(poll_interval: float, max_interval: float, poll_timeout: float | None) -> None:
    if not poll_interval > 0 or not max_interval >= poll_interval:
        raise ConfigurationError("poll_interval must be > 0 and max_interval >= poll_interval")
    if poll_timeout is not None and not poll_timeout > 0:
        raise ConfigurationError("poll_timeout must be > 0 seconds (or None: no limit)")


def _download_failed(status: int, body: bytes, url: str, what: str) -> ApiError:
    from sellerkit.client._base import scrub_url_values

    return ApiError(status, message=f"{what} failed", body=scrub_url_values(body[:2000], url))


def _progress(cb: Any, event: str, **info: Any) -> None:
    if cb is not None:
        cb(event, info)


# the shells -----------------------------------------------------------------------------

_SUBMIT_DOC = """Submit a feed and wait for its outcome.

    ``content`` is the feed: bytes (sent as they are), str (encoded in ``charset``), a dict
    (JSON; for JSON_LISTINGS_FEED it is validated like a ``ListingsFeed``) or a
    ``ListingsFeed``. ``content_type`` is the upload's media type (default by feed type:
    ``application/json`` for JSON_*, ``text/tab-separated-values`` for flat files,
    ``text/xml`` otherwise); ``; charset=<charset>`` is added when it names none. The same
    string goes to createFeedDocument and the upload, as Amazon requires.

    A listings feed is validated before the first call (ValidationError with every problem
    and its JSON pointer); ``seller_id=`` fills its header's sellerId (the merchant token:
    SP-API has no operation that returns it, so it cannot be looked up).

    getFeed is polled every ``poll_interval`` seconds, growing to ``max_interval``, inside
    ``wait_as_needed()`` (rate-limit waits are not bounded by the call's max_wait);
    ``poll_timeout`` bounds the whole wait (FeedTimeoutError; the feed keeps running).
    ``progress(event, info)`` is told ``uploaded``, ``created``, ``status`` and ``done``.

    Returns a FeedResult (DONE or CANCELLED); FATAL raises FeedFailedError with the processing
    report when Amazon left one. The upload URL and document URLs are never logged.
    """


_NO_SELLER = (
    "a JSON_LISTINGS_FEED header needs the seller id (merchant token): pass seller_id= (it "
    "is the selling_partner_id of the authorization redirect, and Seller Central shows it as "
    "Merchant Token under Settings > Account Info); SP-API has no operation that returns it")


def _prepare_with_seller(feed_type: Any, content: Any, marketplace_ids: Any,
                         content_type: str | None, charset: str, seller_id: str | None
                         ) -> _Prepared:
    """``_prepare`` with a listings feed's sellerId filled in from ``seller_id``; every
    problem of the feed is reported before anything is sent."""
    if isinstance(content, Mapping) and feed_type == LISTINGS_FEED:
        content = _listings_from_mapping(content)
    if isinstance(content, ListingsFeed):
        if seller_id:
            if content.seller_id and content.seller_id != seller_id:
                raise ConfigurationError(f"the feed's header names seller {content.seller_id!r} "
                                         f"but seller_id= is {seller_id!r}; give one of them")
            content.seller_id = seller_id
        problems = content.problems()
        if problems:
            if not content.seller_id:
                problems[0] = FeedProblem(None, None, None, "/header/sellerId", _NO_SELLER)
            raise ValidationError(LISTINGS_FEED, problems)
    return _prepare(feed_type, content, marketplace_ids, content_type, charset)


class _Shared:
    _client: Any

    @staticmethod
    def _feed_doc(prepared: _Prepared) -> dict[str, Any]:
        return {"contentType": prepared.content_type}

    @staticmethod
    def _create_body(prepared: _Prepared, doc_id: str, marketplace_ids: Sequence[str],
                     feed_options: Mapping[str, str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"feedType": prepared.feed_type,
                                "marketplaceIds": list(marketplace_ids),
                                "inputFeedDocumentId": doc_id}
        if feed_options:
            body["feedOptions"] = {str(k): str(v) for k, v in feed_options.items()}
        return body

    def listings_feed(self, seller_id: str | None = None, **kwargs: Any) -> ListingsFeed:
        """A new, empty ``ListingsFeed`` (see its doc)."""
        return ListingsFeed(seller_id, **kwargs)

    def _upload_request(self, prepared: _Prepared) -> tuple[dict[str, str], float]:
        return ({"content-type": prepared.content_type,
                 "user-agent": self._client.user_agent}, self._client.timeout)


class FeedsMixin(_Shared):
    """Workflow methods of the sync feeds resource."""

    def submit(self, feed_type: str, content: Any, marketplace_ids: Sequence[str], *,
               content_type: str | None = None, charset: str = "UTF-8",
               options: CallOptions | None = None, feed_options: Mapping[str, str] | None = None,
               seller_id: str | None = None, poll_interval: float = 5.0,
               max_interval: float = 60.0, poll_timeout: float | None = None,
               progress: Any = None) -> FeedResult:
        _check_poll(poll_interval, max_interval, poll_timeout)
        prepared = _prepare_with_seller(feed_type, content, marketplace_ids, content_type,
                                        charset, seller_id)
        return self._submit(prepared, marketplace_ids, options, feed_options, poll_interval,
                            max_interval, poll_timeout, progress)

    submit.__doc__ = _SUBMIT_DOC

    def _submit(self, prepared: _Prepared, marketplace_ids: Sequence[str],
                options: CallOptions | None, feed_options: Mapping[str, str] | None,
                poll_interval: float, max_interval: float, poll_timeout: float | None,
                progress: Any) -> FeedResult:
        from sellerkit._log import hide_url_in_logs
        from sellerkit.client._base import transport_error
        from sellerkit.client._lazy import hx

        client = self._client
        doc = client.call("feeds_2021_06_30.createFeedDocument",
                          body=self._feed_doc(prepared), options=options).payload
        url = doc["url"]
        headers, timeout = self._upload_request(prepared)
        try:
            with hide_url_in_logs():
                resp = client._wire.request("PUT", url, headers=headers, content=prepared.data,
                                            timeout=timeout)
        except hx.HTTPError as exc:
            raise transport_error(exc, "PUT", "<feed upload url>") from None
        if resp.status_code >= 300:
            raise _download_failed(resp.status_code, resp.content, url, "feed upload")
        _progress(progress, "uploaded", bytes=len(prepared.data),
                  feedDocumentId=doc["feedDocumentId"])
        feed_id = str(client.call("feeds_2021_06_30.createFeed", body=self._create_body(
            prepared, doc["feedDocumentId"], marketplace_ids, feed_options),
            options=options).payload["feedId"])
        _progress(progress, "created", feedId=feed_id)
        return self.wait(feed_id, options=options, poll_interval=poll_interval,
                         max_interval=max_interval, poll_timeout=poll_timeout,
                         progress=progress, message_ids=prepared.message_ids)

    def wait(self, feed_id: str, *, options: CallOptions | None = None,
             poll_interval: float = 5.0, max_interval: float = 60.0,
             poll_timeout: float | None = None, progress: Any = None,
             message_ids: Sequence[int] = ()) -> FeedResult:
        """Poll getFeed for ``feed_id`` until it ends, then read its processing report (see
        ``submit`` for the outcome). ``message_ids`` are the ids that were sent, if known."""
        from sellerkit.ratelimit import wait_as_needed

        _check_poll(poll_interval, max_interval, poll_timeout)
        start = time.monotonic()
        last = None
        for pause in _intervals(poll_interval, max_interval):
            with wait_as_needed():
                feed = self._client.call("feeds_2021_06_30.getFeed", feedId=feed_id,
                                         options=options).payload
            status = str(feed.get("processingStatus"))
            if status != last:
                _progress(progress, "status", feedId=feed_id, status=status)
                last = status
            if status in TERMINAL:
                return self._finish(feed_id, feed, options, list(message_ids), progress)
            waited = time.monotonic() - start
            if poll_timeout is not None and waited + pause > poll_timeout:
                raise FeedTimeoutError(feed_id, status, waited)
            time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def result(self, feed_id: str, *, options: CallOptions | None = None) -> FeedResult:
        """The outcome of a feed that has ended (one getFeed call; a feed still running raises
        FeedTimeoutError at once)."""
        return self.wait(feed_id, options=options, poll_interval=1e-9, max_interval=1e-9,
                         poll_timeout=1e-9)

    def processing_report(self, feed_id: str, document_id: str, *,
                          options: CallOptions | None = None) -> ProcessingReport:
        """Download and parse a feed's result document (getFeedDocument + the presigned URL).
        The download goes through ``sp.stream_download``; a processing report is parsed whole
        (its size is bounded by the feed's), so it is read into memory."""
        from sellerkit.client._base import check_download
        from sellerkit.errors import ApiError
        from sellerkit.ratelimit import wait_as_needed

        for attempt in (1, 2):
            with wait_as_needed():
                d = self._client.call("feeds_2021_06_30.getFeedDocument",
                                      feedDocumentId=document_id, options=options).payload
            url = d["url"]
            check_download(url, d.get("compressionAlgorithm"))
            try:
                with self._client.stream_download(url) as dl:
                    data, content_type = dl.read(), dl.content_type
                break
            except ApiError as err:
                if err.status != 403 or attempt == 2:
                    raise _download_failed(err.status, err.body, url,
                                           f"download of the processing report of feed "
                                           f"{feed_id}") from None
            # the URL lives five minutes: a 403 from the document host is most often an
            # expired URL, so ask for a fresh one, once
        return ProcessingReport.parse(data, feed_id=feed_id, document_id=document_id,
                                      content_type=content_type)

    def _finish(self, feed_id: str, feed: dict[str, Any], options: CallOptions | None,
                message_ids: list[int], progress: Any) -> FeedResult:
        doc_id = feed.get("resultFeedDocumentId")
        report = (self.processing_report(feed_id, doc_id, options=options) if doc_id else None)
        status = str(feed["processingStatus"])
        _progress(progress, "done", feedId=feed_id, status=status)
        if status == "FATAL":
            raise FeedFailedError(feed_id, feed, report)
        return FeedResult(feed_id, str(feed.get("feedType", "")), status, feed, report,
                          message_ids)


class AsyncFeedsMixin(_Shared):
    """Workflow methods of the async feeds resource (the same as FeedsMixin, awaited)."""

    async def submit(self, feed_type: str, content: Any, marketplace_ids: Sequence[str], *,
                     content_type: str | None = None, charset: str = "UTF-8",
                     options: CallOptions | None = None,
                     feed_options: Mapping[str, str] | None = None,
                     seller_id: str | None = None, poll_interval: float = 5.0,
                     max_interval: float = 60.0, poll_timeout: float | None = None,
                     progress: Any = None) -> FeedResult:
        _check_poll(poll_interval, max_interval, poll_timeout)
        prepared = _prepare_with_seller(feed_type, content, marketplace_ids, content_type,
                                        charset, seller_id)
        return await self._submit(prepared, marketplace_ids, options, feed_options,
                                  poll_interval, max_interval, poll_timeout, progress)

    submit.__doc__ = _SUBMIT_DOC

    async def _submit(self, prepared: _Prepared, marketplace_ids: Sequence[str],
                      options: CallOptions | None, feed_options: Mapping[str, str] | None,
                      poll_interval: float, max_interval: float, poll_timeout: float | None,
                      progress: Any) -> FeedResult:
        from sellerkit._log import hide_url_in_logs
        from sellerkit.client._base import transport_error
        from sellerkit.client._lazy import hx

        client = self._client
        doc = (await client.call("feeds_2021_06_30.createFeedDocument",
                                 body=self._feed_doc(prepared), options=options)).payload
        url = doc["url"]
        headers, timeout = self._upload_request(prepared)
        try:
            with hide_url_in_logs():
                resp = await client._wire.request("PUT", url, headers=headers,
                                                  content=prepared.data, timeout=timeout)
        except hx.HTTPError as exc:
            raise transport_error(exc, "PUT", "<feed upload url>") from None
        if resp.status_code >= 300:
            raise _download_failed(resp.status_code, resp.content, url, "feed upload")
        _progress(progress, "uploaded", bytes=len(prepared.data),
                  feedDocumentId=doc["feedDocumentId"])
        feed_id = str((await client.call("feeds_2021_06_30.createFeed", body=self._create_body(
            prepared, doc["feedDocumentId"], marketplace_ids, feed_options),
            options=options)).payload["feedId"])
        _progress(progress, "created", feedId=feed_id)
        return await self.wait(feed_id, options=options, poll_interval=poll_interval,
                               max_interval=max_interval, poll_timeout=poll_timeout,
                               progress=progress, message_ids=prepared.message_ids)

    async def wait(self, feed_id: str, *, options: CallOptions | None = None,
                   poll_interval: float = 5.0, max_interval: float = 60.0,
                   poll_timeout: float | None = None, progress: Any = None,
                   message_ids: Sequence[int] = ()) -> FeedResult:
        """Poll getFeed for ``feed_id`` until it ends (see ``FeedsMixin.wait``)."""
        import asyncio

        from sellerkit.ratelimit import wait_as_needed

        _check_poll(poll_interval, max_interval, poll_timeout)
        start = time.monotonic()
        last = None
        for pause in _intervals(poll_interval, max_interval):
            with wait_as_needed():
                feed = (await self._client.call("feeds_2021_06_30.getFeed", feedId=feed_id,
                                                options=options)).payload
            status = str(feed.get("processingStatus"))
            if status != last:
                _progress(progress, "status", feedId=feed_id, status=status)
                last = status
            if status in TERMINAL:
                return await self._finish(feed_id, feed, options, list(message_ids), progress)
            waited = time.monotonic() - start
            if poll_timeout is not None and waited + pause > poll_timeout:
                raise FeedTimeoutError(feed_id, status, waited)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def result(self, feed_id: str, *, options: CallOptions | None = None) -> FeedResult:
        """The outcome of a feed that has ended (see ``FeedsMixin.result``)."""
        return await self.wait(feed_id, options=options, poll_interval=1e-9,
                               max_interval=1e-9, poll_timeout=1e-9)

    async def processing_report(self, feed_id: str, document_id: str, *,
                                options: CallOptions | None = None) -> ProcessingReport:
        """Download and parse a feed's result document."""
        from sellerkit.client._base import check_download
        from sellerkit.errors import ApiError
        from sellerkit.ratelimit import wait_as_needed

        for attempt in (1, 2):
            with wait_as_needed():
                d = (await self._client.call("feeds_2021_06_30.getFeedDocument",
                                             feedDocumentId=document_id, options=options)).payload
            url = d["url"]
            check_download(url, d.get("compressionAlgorithm"))
            try:
                async with self._client.stream_download(url) as dl:
                    data, content_type = await dl.read(), dl.content_type
                break
            except ApiError as err:
                if err.status != 403 or attempt == 2:
                    raise _download_failed(err.status, err.body, url,
                                           f"download of the processing report of feed "
                                           f"{feed_id}") from None
        return ProcessingReport.parse(data, feed_id=feed_id, document_id=document_id,
                                      content_type=content_type)

    async def _finish(self, feed_id: str, feed: dict[str, Any], options: CallOptions | None,
                      message_ids: list[int], progress: Any) -> FeedResult:
        doc_id = feed.get("resultFeedDocumentId")
        report = (await self.processing_report(feed_id, doc_id, options=options)
                  if doc_id else None)
        status = str(feed["processingStatus"])
        _progress(progress, "done", feedId=feed_id, status=status)
        if status == "FATAL":
            raise FeedFailedError(feed_id, feed, report)
        return FeedResult(feed_id, str(feed.get("feedType", "")), status, feed, report,
                          message_ids)
