"""ProcessingReport: one model for the JSON (JSON_LISTINGS_FEED) and the legacy XML processing
reports; malformed documents give an error that names the feed. Also the schema generator."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sellerkit.workflows.documents import DocumentError
from sellerkit.workflows.feeds import FeedResult, ListingsFeed, ProcessingReport

from ..conftest import models_file

ROOT = Path(__file__).resolve().parents[2]

XML_REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion>
    <MerchantIdentifier>A1MERCHANT</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message>
    <MessageID>1</MessageID>
    <ProcessingReport>
      <DocumentTransactionID>50001018123</DocumentTransactionID>
      <StatusCode>Complete</StatusCode>
      <ProcessingSummary>
        <MessagesProcessed>3</MessagesProcessed>
        <MessagesSuccessful>1</MessagesSuccessful>
        <MessagesWithError>1</MessagesWithError>
        <MessagesWithWarning>1</MessagesWithWarning>
      </ProcessingSummary>
      <Result>
        <MessageID>2</MessageID>
        <ResultCode>Error</ResultCode>
        <ResultMessageCode>8560</ResultMessageCode>
        <ResultDescription>Données manquantes – prix</ResultDescription>
        <AdditionalInfo><SKU>SKU-2</SKU></AdditionalInfo>
      </Result>
      <Result>
        <MessageID>3</MessageID>
        <ResultCode>Warning</ResultCode>
        <ResultMessageCode>99001</ResultMessageCode>
        <ResultDescription>A value was truncated.</ResultDescription>
        <AdditionalInfo><SKU>SKU-3</SKU></AdditionalInfo>
      </Result>
    </ProcessingReport>
  </Message>
</AmazonEnvelope>
"""


def test_amazons_json_example_report() -> None:
    data = models_file("schemas/feeds/listings-feed-processing-report-schema-v2.example.json"
                       ).read_bytes()
    rep = ProcessingReport.parse(data, feed_id="1234567890")
    assert rep.format == "json" and rep.feed_id == "1234567890"
    assert (rep.messages_processed, rep.messages_accepted, rep.messages_invalid) == (4, 2, 2)
    assert sorted(rep.failed) == [4, 5]
    assert rep.failed[5][0].attribute_names == ("purchasable_offer.our_price",)
    assert rep.failed[4][0].sku == "My-SKU-B" and rep.failed[4][0].code == "90220"
    assert rep.succeeded([1, 2, 4, 5]) == [1, 2]
    assert rep.items and rep.items[0]["sku"] == "My-SKU-B"


@pytest.mark.parametrize("encode", [
    lambda s: s.encode("utf-8"),
    lambda s: gzip.compress(s.encode("utf-8")),  # a gzip report, whatever the flags say
    lambda s: s.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("cp1252"),
])
def test_legacy_xml_report(encode: object) -> None:
    rep = ProcessingReport.parse(encode(XML_REPORT), feed_id="50001018123")  # type: ignore[operator]
    assert rep.format == "xml" and rep.feed_id == "50001018123"
    assert (rep.messages_processed, rep.messages_accepted, rep.messages_invalid,
            rep.messages_with_warning) == (3, 1, 1, 1)
    assert list(rep.failed) == [2]
    err = rep.failed[2][0]
    assert (err.code, err.sku, err.message) == ("8560", "SKU-2", "Données manquantes – prix")
    assert [w.message_id for w in rep.warnings] == [3]
    assert rep.succeeded([1, 2, 3]) == [1, 3]  # a warning is still applied


def test_result_separates_accepted_from_applied() -> None:
    rep = ProcessingReport.parse(XML_REPORT.encode(), feed_id="50001018123")
    res = FeedResult("50001018123", "POST_ORDER_FULFILLMENT_DATA", "DONE",
                     {"resultFeedDocumentId": "doc"}, rep, [1, 2, 3])
    assert res.accepted and not res.ok and res.applied == [1, 3] and list(res.failed) == [2]
    s = res.summary()
    assert s["reportFormat"] == "xml" and s["applied"] == [1, 3] and list(s["failed"]) == ["2"]
    whole_feed = ProcessingReport.from_json({"summary": {"messagesProcessed": 0}, "issues": [
        {"code": "4000003", "severity": "ERROR", "message": "cannot parse"}]})
    assert whole_feed.feed_errors and whole_feed.succeeded([1, 2]) == []


@pytest.mark.parametrize("data,reason", [
    (b'{"header": {}, "summary": {"messagesProcessed": 1', "format"),  # truncated JSON
    (b"<AmazonEnvelope><Message><ProcessingReport>", "format"),  # truncated XML
    (b"\xff\xfe not a report", "format"),
    (b'{"header": {"feedId": "1"}}', "format"),  # JSON, not a processing report
    (b"<Other/>", "format"),
    (gzip.compress(b'{"summary": {}}', mtime=0)[:-6], "truncated"),
    (b'{"summary": {}, "issues": [{"code": "1"}]}', "format"),
])
def test_malformed_reports_name_the_feed(data: bytes, reason: str) -> None:
    with pytest.raises(DocumentError) as info:
        ProcessingReport.parse(data, feed_id="50009999", document_id="amzn1.tortuga.4.na.x")
    assert str(info.value).startswith("feed 50009999 (processing report amzn1.tortuga.4.na.x)")
    assert info.value.reason == reason


def test_xml_with_a_dtd_is_refused() -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
            b"<ProcessingReport><ProcessingSummary/></ProcessingReport>")
    with pytest.raises(DocumentError, match="feed 7"):
        ProcessingReport.parse(evil, feed_id="7")


def test_builder_document_matches_amazons_schema() -> None:
    import jsonschema

    feed = ListingsFeed(seller_id="A1SELLER", issue_locale="en_US",
                        included_data=["summaries", "issues"])
    feed.update("S1", "LUGGAGE", {"item_name": [{"value": "Bag"}]}, requirements="LISTING")
    feed.partial_update("S2", "LUGGAGE", {"item_name": [{"value": "Bag"}]})
    feed.patch("S3", "LUGGAGE", [{"op": "delete", "path": "/attributes/x"}])
    feed.delete("S4")
    assert feed.problems() == []
    full = json.loads(models_file("schemas/feeds/listings-feed-schema-v2.json").read_text())
    jsonschema.Draft7Validator(full).validate(feed.document())
    # and what Amazon's schema rejects, ours does too
    feed.add({"sku": "S5", "operationType": "DELETE", "productType": "LUGGAGE"})
    assert not jsonschema.Draft7Validator(full).is_valid(feed.document())
    assert [p.pointer for p in feed.problems()] == ["/messages/4/productType"]


def test_the_schema_data_is_fresh_and_has_no_prose() -> None:
    source = models_file("schemas/feeds/listings-feed-schema-v2.json")  # skips without them
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_feed_schema.py"),
                           "--check", "--models", str(source.parents[2])],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = (ROOT / "sellerkit" / "workflows" / "data" / "listings_feed_schema.json").read_text()
    assert '"description"' not in text and '"title"' not in text
    assert '"maxItems": 25000' in text
