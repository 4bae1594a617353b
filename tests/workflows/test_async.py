"""AsyncDocument reads exactly what Document reads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sellerkit.workflows.documents import AsyncDocument, Document, DocumentError

from .conftest import achunked, gz

TSV = "sku\tname\nA\tCafé\nB\t5\" screen\n".encode("cp1252")
CT = "text/tab-separated-values; charset=ISO-8859-1"


def adoc(data: bytes, size: int = 1, **kw: object) -> AsyncDocument:
    kw.setdefault("content_type", CT)
    return AsyncDocument(achunked(data, size), document_id="doc-a", **kw)  # type: ignore[arg-type]


async def test_rows_match_the_sync_document() -> None:
    data = gz(TSV)
    got = [r async for r in adoc(data, 3).rows()]
    assert got == list(Document([data], content_type=CT).rows())
    assert got == [{"sku": "A", "name": "Café"}, {"sku": "B", "name": '5" screen'}]


async def test_json_items_json_lines_and_xml() -> None:
    body = json.dumps({"x": 1, "items": [{"a": 1}, {"a": 2}]}).encode()
    assert [i async for i in adoc(body, 2, content_type="application/json").json_items("items")
            ] == [{"a": 1}, {"a": 2}]
    assert await adoc(body, content_type="application/json").json() == json.loads(body)
    assert [i async for i in adoc(b'{"a":1}\n{"a":2}\n', format="jsonl").json_lines()] == [
        {"a": 1}, {"a": 2}]
    xml = b"<r><m><id>1</id></m><m><id>2</id></m></r>"
    assert [e.findtext("id") async for e in adoc(xml, content_type="text/xml").xml_elements("m")
            ] == ["1", "2"]
    assert (await adoc(xml, content_type="text/xml").xml()).tag == "r"


async def test_truncated_gzip_raises_and_save_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="doc-a: the gzip stream ends early"):
        [r async for r in adoc(gz(TSV)[:-6]).rows()]
    with pytest.raises(DocumentError, match="truncated"):
        await adoc(gz(TSV)[:-6], 4).save(tmp_path / "r.tsv")
    assert list(tmp_path.iterdir()) == []
    assert (await adoc(gz(TSV), 4).save(tmp_path / "r.tsv")).read_bytes() == TSV


async def test_stream_reads_once() -> None:
    d = adoc(TSV)
    assert len([r async for r in d.rows()]) == 2
    with pytest.raises(DocumentError, match="already been read"):
        [r async for r in d.rows()]


async def test_to_arrow_spools_and_matches_rows() -> None:
    pytest.importorskip("pyarrow")
    table = await adoc(gz(TSV), 5).to_arrow()
    assert table.to_pylist() == [{"sku": "A", "name": "Café"}, {"sku": "B", "name": '5" screen'}]


async def test_httpx_async_stream_with_content_encoding() -> None:
    headers = {"Content-Type": CT, "Content-Encoding": "gzip"}
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, stream=httpx.ByteStream(gz(TSV)), headers=headers))
    async with httpx.AsyncClient(transport=transport) as client, \
            client.stream("GET", "https://s3.example/doc") as resp:
        d = AsyncDocument(resp.aiter_bytes(), document_id="doc-h",
                          content_type=resp.headers["content-type"],
                          content_encoding=resp.headers["content-encoding"],
                          compression_algorithm="GZIP")
        assert [r["name"] async for r in d.rows()] == ["Café", '5" screen']
        assert d.stats.compressed is False and not d.stats.compression_flag_lied
