"""JSON, JSON Lines and XML documents: parsed, streamed, and refused when malformed or unsafe."""

from __future__ import annotations

import json

import pytest

from sellerkit.workflows.documents import Document, DocumentError

from .conftest import chunked, gz

SALES = {
    "reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                            "marketplaceIds": ["ATVPDKIKX0DER"]},
    "salesAndTrafficByDate": [{"date": "2026-11-01", "salesByDate": {"unitsOrdered": 3}}],
    "salesAndTrafficByAsin": [
        {"parentAsin": f"B0{i:08d}", "sales": {"unitsOrdered": i, "orderedProductSales":
                                               {"amount": -12.5e-3 * i, "currencyCode": "USD"}},
         "flags": [True, False, None], "title": "Tea \u201cblend\u201d \\ \"x\" ☕"}
        for i in range(30)],
}


def jdoc(data: bytes, size: int = 1, **kw: object) -> Document:
    kw.setdefault("content_type", "application/json")
    return Document(chunked(data, size), document_id="doc-j", **kw)  # type: ignore[arg-type]


def test_json_report_parsed_whole() -> None:
    data = gz(json.dumps(SALES).encode())
    assert jdoc(data, 7, report_type="GET_SALES_AND_TRAFFIC_REPORT").json() == SALES


@pytest.mark.parametrize("size", [1, 2, 13, 100_000])
@pytest.mark.parametrize("indent", [None, 2])
def test_json_items_streams_one_array_and_keeps_the_rest(size: int, indent: int | None) -> None:
    data = json.dumps(SALES, indent=indent).encode()
    d = jdoc(data, size)
    gen = d.json_items("salesAndTrafficByAsin")
    assert list(gen) == SALES["salesAndTrafficByAsin"]


def test_json_items_other_members_and_top_level_arrays() -> None:
    from sellerkit.workflows.documents import _JsonItems
    p = _JsonItems("salesAndTrafficByAsin", "doc")
    text = json.dumps(SALES)
    got = [item for ch in chunked(text.encode(), 5) for item in p.feed(ch.decode())] + p.close()
    assert got == SALES["salesAndTrafficByAsin"]
    assert p.rest == {k: v for k, v in SALES.items() if k != "salesAndTrafficByAsin"}
    assert list(jdoc(b" [1, -2.5e3, \"x\", {\"a\": []}, [], null] ", 1).json_items()) == [
        1, -2500.0, "x", {"a": []}, [], None]
    assert list(jdoc(b"[]").json_items()) == []
    assert list(jdoc(b'{"rows": []}').json_items("rows")) == []


def test_numbers_split_by_a_chunk_boundary_are_not_cut_short() -> None:
    assert list(jdoc(b"[12345, 6.75e2, true]", 1).json_items()) == [12345, 675.0, True]


@pytest.mark.parametrize("text, match", [
    (b'{"a": [1, 2', "ends early"),
    (b'{"a": [1, 2,, 3]}', "malformed JSON"),
    (b'{"a": [1 2]}', "expected ',' or ']'"),
    (b'{"a": [1]} x', "extra data"),
    (b'{"b": [1]}', "no top-level key 'a' \\(keys: b\\)"),
    (b'[1]', "expected '\\{'.*without a key"),
    (b'<xml/>', "not JSON"),
])
def test_malformed_or_truncated_json_items_raise(text: bytes, match: str) -> None:
    with pytest.raises(DocumentError, match=match) as exc:
        list(jdoc(text, 1).json_items("a"))
    assert str(exc.value).startswith("document doc-j:")


def test_a_malformed_element_fails_fast_not_at_the_end() -> None:
    data = b'{"a": [{"ok": 1}, {"bad" 2}, ' + b'{"x": 1}, ' * 20000 + b"{}]}"
    pulled = []

    def chunks() -> object:
        for chunk in chunked(data, 4096):
            pulled.append(len(chunk))
            yield chunk
    with pytest.raises(DocumentError, match="malformed JSON"):
        list(Document(chunks(), format="json").json_items("a"))  # type: ignore[arg-type]
    assert len(pulled) <= 2  # not buffered to the end of a 200 KB document


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(DocumentError, match=r"doc-j: malformed JSON at line 2, column 8") as exc:
        jdoc(b'{"a": 1,\n  "b": }').json()
    assert exc.value.reason == "format"


def test_json_lines_for_data_kiosk_documents() -> None:
    lines = [{"orderId": "1", "total": 2.5}, {"orderId": "2", "items": [1, 2]}]
    data = gz(b"\n".join(json.dumps(x).encode() for x in lines) + b"\n\n")
    assert list(jdoc(data, 3, format="jsonl").json_lines()) == lines
    with pytest.raises(DocumentError, match="malformed JSON on line 2, column 2"):
        list(jdoc(b'{"a": 1}\n{x}\n', format="jsonl").json_lines())
    with pytest.raises(DocumentError, match="line 1"):
        list(jdoc(b'{"a": 1', format="jsonl").json_lines())  # truncated last line


ENVELOPE = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            b"<Header><DocumentVersion>1.02</DocumentVersion></Header>"
            b"<MessageType>ProcessingReport</MessageType>"
            + b"".join(b"<Message><MessageID>%d</MessageID><Result>Caf\xc3\xa9</Result></Message>" % i
                       for i in range(1, 6))
            + b"</AmazonEnvelope>")


def xdoc(data: bytes, size: int = 1, **kw: object) -> Document:
    kw.setdefault("content_type", "text/xml; charset=UTF-8")
    return Document(chunked(data, size), document_id="doc-x", **kw)  # type: ignore[arg-type]


def test_xml_elements_by_tag_across_every_chunk_boundary() -> None:
    for size in (1, 7, 10_000):
        got = [(el.findtext("MessageID"), el.findtext("Result"))
               for el in xdoc(gz(ENVELOPE), size).xml_elements("Message")]
        assert got == [(str(i), "Café") for i in range(1, 6)]


def test_xml_children_of_the_root_by_default_and_namespaces() -> None:
    assert [el.tag for el in xdoc(ENVELOPE).xml_elements()] == [
        "Header", "MessageType"] + ["Message"] * 5
    ns = b'<r xmlns="urn:amazon"><Node><id>1</id></Node><Node><id>2</id></Node></r>'
    got = [el.findtext("{urn:amazon}id") for el in xdoc(ns).xml_elements("Node")]
    assert got == ["1", "2"]


def test_xml_elements_are_released_as_the_stream_moves_on() -> None:
    data = b"<r>" + b"<Node><id>%d</id></Node>" % 0 * 50_000 + b"</r>"
    previous = None
    count = 0
    for el in xdoc(data, 65536).xml_elements("Node"):
        assert el.findtext("id") == "0"
        if previous is not None:
            # handed out before and released since: cleared, and detached from the tree
            assert len(previous) == 0
        previous = el
        count += 1
    assert count == 50_000


def test_xml_whole_tree_and_cp1252_declared_in_content_type() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><r><n>„Müller“ €</n></r>'.encode("cp1252")
    root = xdoc(data, 1, content_type="text/xml; charset=ISO-8859-1").xml()
    assert root.findtext("n") == "„Müller“ €"


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b"<lolz>&lol2;</lolz>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<!-- <a> --><!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>',
])
def test_dtds_are_refused(data: bytes) -> None:
    for method in ("xml", "xml_elements"):
        d = xdoc(data, 3)
        with pytest.raises(DocumentError, match="refuses DTDs"):
            result = getattr(d, method)()
            list(result) if method == "xml_elements" else None


@pytest.mark.parametrize("data, match", [
    (b"<r><a>1</a><b></r>", "mismatched tag"),
    (b"<r><a>1</a>", "no element found"),
    (b"<r>&undefined;</r>", "undefined entity"),
    (b"not xml", "syntax error"),
])
def test_malformed_or_truncated_xml_raises(data: bytes, match: str) -> None:
    with pytest.raises(DocumentError, match=f"doc-x: malformed XML: {match}"):
        list(xdoc(data).xml_elements())
    with pytest.raises(DocumentError, match="malformed XML"):
        xdoc(data).xml()


def test_a_large_element_split_into_many_chunks() -> None:
    big = {"asin": "B0BIG", "text": "x" * 300_000, "nested": [{"n": i} for i in range(2000)]}
    data = json.dumps({"a": [{"small": 1}, big, {"small": 2}]}).encode()
    assert list(jdoc(data, 1024).json_items("a")) == [{"small": 1}, big, {"small": 2}]


def test_xml_declaration_gives_the_encoding_when_the_download_names_none() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<r><n>„Müller“ €</n></r>'.encode("cp1252")
    for size in (1, 4, 1000):
        d = Document(chunked(gz(body), size), content_type="text/xml")
        assert d.xml().findtext("n") == "„Müller“ €"
        assert d.stats.charset_source == "XML declaration encoding=ISO-8859-1"
    # a charset in the Content-Type wins (RFC 7303): here it is wrong, and that is reported
    with pytest.raises(DocumentError, match="cannot decode"):
        Document([body], content_type="text/xml; charset=UTF-8").xml()
    sjis = '\ufeff<?xml version="1.0" encoding="Shift_JIS"?><r>①</r>'
    assert Document([sjis.encode("utf-8")], format="xml").xml().text == "①"  # BOM, no match
    assert Document([sjis[1:].encode("cp932")], format="xml").xml().text == "①"
