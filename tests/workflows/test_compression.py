"""GZIP is found by its magic bytes, never by the flags, and never inflated twice."""

from __future__ import annotations

import gzip
import os

import httpx
import pytest

from sellerkit.workflows.documents import Document, DocumentError

from .conftest import chunked, gz

BODY = b"A-1\t3\nB-2\t0\n"
TSV = b"sku\tqty\n" + BODY
ROWS = [{"sku": "A-1", "qty": "3"}, {"sku": "B-2", "qty": "0"}]


def doc(chunks: list[bytes], **kw: object) -> Document:
    kw.setdefault("document_id", "amzn1.tortuga.doc1")
    kw.setdefault("content_type", "text/tab-separated-values; charset=UTF-8")
    return Document(chunks, **kw)  # type: ignore[arg-type]


@pytest.mark.usefixtures("backend")
def test_gzip_with_the_flag_is_inflated() -> None:
    d = doc([gz(TSV)], compression_algorithm="GZIP")
    assert list(d.rows()) == ROWS
    assert d.stats.compressed is True and not d.stats.compression_flag_lied


@pytest.mark.usefixtures("backend")
def test_flag_says_gzip_but_bytes_are_plain() -> None:
    d = doc([TSV], compression_algorithm="GZIP")
    assert list(d.rows()) == ROWS
    assert d.stats.compressed is False and d.stats.compression_flag_lied


@pytest.mark.usefixtures("backend")
def test_gzip_bytes_without_the_flag_are_inflated() -> None:
    d = doc(chunked(gz(TSV)), compression_algorithm=None)
    assert list(d.rows()) == ROWS
    assert d.stats.compressed is True and d.stats.compression_flag_lied


@pytest.mark.usefixtures("backend")
def test_every_chunk_boundary_including_inside_the_magic() -> None:
    data = gz(TSV + BODY * 199)
    for size in (1, 2, 3, 7, 4096):
        assert list(doc(chunked(data, size)).rows()) == ROWS * 200


@pytest.mark.usefixtures("backend")
def test_multi_member_gzip_is_read_to_the_end() -> None:
    data = gz(TSV) + gz(b"C-3\t9\n") + gz(b"D-4\t1\n")
    d = doc(chunked(data, 5))
    assert [r["sku"] for r in d.rows()] == ["A-1", "B-2", "C-3", "D-4"]
    assert d.stats.gzip_members == 3


@pytest.mark.usefixtures("backend")
def test_zero_padding_after_the_last_member_is_accepted() -> None:
    assert list(doc([gz(TSV) + b"\0" * 10]).rows()) == ROWS


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("cut", [11, 30, -8, -1])
def test_truncated_gzip_raises_naming_the_document(cut: int) -> None:
    data = gz(TSV + BODY * 49)[:cut]
    d = doc(chunked(data, 16), report_id="50017", document_id="amzn1.tortuga.doc1")
    with pytest.raises(DocumentError) as exc:
        list(d.rows())
    assert exc.value.reason == "truncated"
    assert "report 50017 (document amzn1.tortuga.doc1)" in str(exc.value)
    assert "truncated" in str(exc.value)


@pytest.mark.usefixtures("backend")
def test_truncated_gzip_never_yields_a_partial_document_silently() -> None:
    data = gz(os.urandom(50_000).hex().encode())[:-100]
    with pytest.raises(DocumentError):
        b"".join(doc([data], format="binary").iter_bytes())


@pytest.mark.usefixtures("backend")
def test_corrupt_gzip_raises() -> None:
    data = bytearray(gz(TSV + BODY * 99))
    data[20:30] = b"\xff" * 10
    with pytest.raises(DocumentError) as exc:
        list(doc([bytes(data)]).rows())
    assert exc.value.reason == "corrupt"


@pytest.mark.usefixtures("backend")
def test_wrong_crc_raises() -> None:
    data = bytearray(gz(TSV))
    data[-8] ^= 0xFF  # the CRC32 of the member
    with pytest.raises(DocumentError, match="corrupt"):
        list(doc([bytes(data)]).rows())


@pytest.mark.usefixtures("backend")
def test_garbage_after_the_gzip_data_raises() -> None:
    with pytest.raises(DocumentError, match="not gzip"):
        list(doc([gz(TSV) + b"<html>error</html>"]).rows())


def test_empty_and_one_byte_documents() -> None:
    assert list(doc([b""]).rows()) == []
    assert list(doc([]).rows()) == []
    assert list(doc([b"x"]).rows()) == []  # a header and no rows
    assert b"".join(doc([b"\x1f"], format="binary").iter_bytes()) == b"\x1f"


def _server(body: bytes, headers: dict[str, str]) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(200, stream=httpx.ByteStream(body), headers=headers))


@pytest.mark.parametrize("raw", [True, False])
def test_content_encoding_gzip_is_not_inflated_twice(raw: bool) -> None:
    """A URL fetched with enableContentEncodingUrlHeader=true serves Content-Encoding: gzip;
    httpx's iter_bytes() inflates it already, iter_raw() does not: both read the same."""
    body = gz(TSV)
    headers = {"Content-Type": "text/tab-separated-values; charset=UTF-8",
               "Content-Encoding": "gzip"}
    with httpx.Client(transport=_server(body, headers)) as client, \
            client.stream("GET", "https://s3.example/doc") as resp:
        chunks = resp.iter_raw() if raw else resp.iter_bytes()
        d = Document(chunks, document_id="d", content_type=resp.headers["content-type"],
                     content_encoding=resp.headers["content-encoding"],
                     compression_algorithm="GZIP")
        assert list(d.rows()) == ROWS
        assert d.stats.compressed is raw
        assert not d.stats.compression_flag_lied


def test_gzip_bomb_is_inflated_in_bounded_pieces() -> None:
    data = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    d = doc([data], format="binary")
    sizes = [len(p) for p in d.iter_bytes()]
    assert sum(sizes) == 50_000_000
    assert max(sizes) <= 256 * 1024
