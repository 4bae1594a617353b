"""Rows from flat files: quoting per format, header keys, ragged rows, format detection."""

from __future__ import annotations

import csv
import io

import pytest

from sellerkit.errors import ConfigurationError
from sellerkit.workflows.documents import Document, DocumentError, header_keys

from .conftest import chunked, gz


def rows(data: bytes, size: int = 1, **kw: object) -> list[dict[str, str]]:
    kw.setdefault("content_type", "text/tab-separated-values; charset=UTF-8")
    return list(Document(chunked(data, size), document_id="doc-r", **kw).rows())  # type: ignore[arg-type]


def test_tsv_quotes_are_data_not_quoting() -> None:
    """Flat files are unquoted: a 5" screen, a "quoted" word and a lone quote stay as written."""
    data = b'sku\tname\tnote\nA\t5" screen\t"as is"\nB\t"open\tx"y\n'
    for size in (1, 4, 100):
        assert rows(data, size) == [{"sku": "A", "name": '5" screen', "note": '"as is"'},
                                    {"sku": "B", "name": '"open', "note": 'x"y'}]


def test_csv_quoting_commas_doubled_quotes_and_newlines_across_chunks() -> None:
    records = [["sku", "name", "qty"], ["A,1", 'Mug "XL"', "2"], ["B", "two\nlines\r\nhere", "3"],
               ["C", "", "0"]]
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_MINIMAL).writerows(records)
    data = buf.getvalue().encode()
    expected = [dict(zip(records[0], r, strict=True)) for r in records[1:]]
    for size in (1, 2, 5, 1000):
        assert rows(gz(data), size, content_type="text/csv; charset=UTF-8") == expected


def test_quoted_tsv_for_the_ledger_reports() -> None:
    data = b'"Date"\t"FNSKU"\t"Title"\n"2026-11-01"\t"X00"\t"Tab\tinside, ""quoted"""\n'
    got = rows(data, 3, report_type="GET_LEDGER_DETAIL_VIEW_DATA")
    assert got == [{"Date": "2026-11-01", "FNSKU": "X00", "Title": 'Tab\tinside, "quoted"'}]
    # read as an unquoted flat file, the tab inside the quotes splits the field: an error,
    # not a shifted row
    with pytest.raises(DocumentError, match="line 2 has 4 fields"):
        rows(data, report_type="GET_LEDGER_DETAIL_VIEW_DATA", quoting="none")
    plain = rows(b'"Date"\t"FNSKU"\n"2026-11-01"\t"X00"\n', quoting="none")
    assert plain == [{'"Date"': '"2026-11-01"', '"FNSKU"': '"X00"'}]


def test_malformed_csv_names_the_line() -> None:
    data = b'a,b\n1,2\n3,"x"y\n'
    with pytest.raises(DocumentError, match=r"malformed CSV at line 3"):
        rows(data, content_type="text/csv")


def test_header_keys_blank_duplicate_and_padded_names() -> None:
    assert header_keys(["sku", " price ", "", "sku", "sku_2", "", "sku"]) == [
        "sku", "price", "column_3", "sku_3", "sku_2", "column_6", "sku_4"]
    assert header_keys(["\ufeffsku", "column_3", ""]) == ["sku", "column_3", "column_3_2"]


def test_duplicate_header_keeps_every_column() -> None:
    got = rows(b"sku\tprice\tprice\t\nA\t1\t2\t3\n")
    assert got == [{"sku": "A", "price": "1", "price_2": "2", "column_4": "3"}]


def test_short_rows_are_padded_and_counted() -> None:
    d = Document([b"a\tb\tc\n1\t2\n4\t5\t6\n"], format="tsv")
    assert list(d.rows()) == [{"a": "1", "b": "2", "c": ""}, {"a": "4", "b": "5", "c": "6"}]
    assert d.stats.padded_rows == 1 and d.stats.rows == 2


def test_short_rows_raise_with_ragged_error() -> None:
    with pytest.raises(DocumentError, match="line 2 has 2 fields, the header has 3") as exc:
        list(Document([b"a\tb\tc\n1\t2\n"], format="tsv").rows(ragged="error"))
    assert exc.value.reason == "ragged"
    with pytest.raises(ConfigurationError):
        list(Document([b"a\n"], format="tsv").rows(ragged="drop"))


def test_extra_empty_fields_are_trimmed_but_extra_data_raises() -> None:
    d = Document([b"a\tb\n1\t2\t\t\n"], format="tsv")
    assert list(d.rows()) == [{"a": "1", "b": "2"}] and d.stats.trimmed_rows == 1
    with pytest.raises(DocumentError, match="line 3 has 3 fields.*hold data"):
        list(Document([b"a\tb\n1\t2\n1\t2\tsurprise\n"], format="tsv").rows())


def test_crlf_blank_lines_and_no_final_newline() -> None:
    d = Document(chunked(b"a\tb\r\n\r\n1\t2\r\n\n3\t4", 1), format="tsv")
    assert list(d.rows()) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert d.stats.blank_lines == 2 and d.stats.header == ["a", "b"]


def test_a_carriage_return_inside_a_field_is_data() -> None:
    assert rows(b"a\tb\nx\ry\tz\n") == [{"a": "x\ry", "b": "z"}]


def test_empty_document_and_header_only() -> None:
    assert rows(b"") == [] and rows(b"a\tb\n") == []


def test_format_from_report_type_then_content_type_then_first_bytes() -> None:
    assert Document([b""], report_type="GET_VAT_TRANSACTION_DATA").format == "csv"
    assert Document([b""], content_type="text/csv").format == "csv"
    assert Document([b""], report_type="GET_V2_SELLER_PERFORMANCE_REPORT").format == "json"
    unknown = Document([b'  {"a": 1}'], report_type="GET_BRAND_NEW_REPORT")
    assert unknown.format is None
    assert unknown.json() == {"a": 1} and unknown.format == "json"


def test_unknown_report_type_still_gives_raw_rows() -> None:
    d = Document(chunked(gz(b"k1\tk2\nv1\tv2\n"), 3), report_type="GET_BRAND_NEW_REPORT",
                 content_type="application/octet-stream")
    assert list(d.rows()) == [{"k1": "v1", "k2": "v2"}] and d.format == "tsv"


def test_rows_of_a_json_document_is_a_clear_error() -> None:
    with pytest.raises(DocumentError, match=r"rows\(\) is for TSV/CSV.*json\(\)"):
        list(Document([b"[]"], content_type="application/json").rows())
    with pytest.raises(ConfigurationError, match="format must be one of"):
        Document([b""], format="parquet")


def test_a_stream_reads_once_a_file_or_callable_reads_again(tmp_path: object) -> None:
    from pathlib import Path
    d = Document(iter([b"a\n1\n"]), document_id="doc-s", format="tsv")
    assert list(d.rows()) == [{"a": "1"}]
    with pytest.raises(DocumentError, match="already been read") as exc:
        list(d.rows())
    assert exc.value.reason == "consumed"
    path = Path(str(tmp_path)) / "r.tsv.gz"
    path.write_bytes(gz(b"a\n1\n"))
    f = Document.from_file(path, format="tsv")
    assert list(f.rows()) == list(f.rows()) == [{"a": "1"}]


def test_a_runaway_record_is_an_error_not_unbounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from sellerkit.workflows import documents
    monkeypatch.setattr(documents, "_MAX_RECORD", 1000)
    with pytest.raises(DocumentError, match="unbalanced quote"):
        rows(b'a,b\n1,"' + b"x" * 3000 + b"\n" * 5, 100, content_type="text/csv")
    with pytest.raises(DocumentError, match="no line break"):
        rows(b"a\tb\n" + b"x" * 3000, 100)


def test_repr_names_the_document_but_no_url() -> None:
    d = Document([b""], report_id="42", document_id="amzn1.doc", format="tsv")
    assert repr(d) == "<Document report 42 (document amzn1.doc) format=tsv charset=utf-8-sig>"


def test_bytes_are_one_chunk_and_str_is_a_user_error() -> None:
    d = Document(b"a\n1\n", format="tsv")
    assert list(d.rows()) == list(d.rows()) == [{"a": "1"}]
    with pytest.raises(ConfigurationError, match="bytes, not str"):
        Document("a\n1\n", format="tsv")  # type: ignore[arg-type]


def test_a_wrong_format_fails_before_anything_is_downloaded() -> None:
    pulled: list[bytes] = []

    def chunks() -> object:
        pulled.append(b"x")
        yield b"{}"
    with pytest.raises(DocumentError, match="is for TSV/CSV"):
        next(Document(chunks(), content_type="application/json").rows())  # type: ignore[arg-type]
    assert pulled == []
