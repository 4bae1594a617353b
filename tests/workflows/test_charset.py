"""Charsets: the Content-Type's, with Amazon's mislabels corrected, strictly decoded."""

from __future__ import annotations

import pytest

from sellerkit.errors import SellerkitError
from sellerkit.workflows.documents import CP1252, Document, DocumentError, resolve_charset

from .conftest import chunked, gz

EU_TEXT = "sku\titem-name\tprice\nDE-1\tKaffeebecher „Müller“ – 0,5 l\t12,50 €\nFR-2\tCafé crème\t3,20 €\n"
JP_TEXT = "sku\titem-name\tprice\nJP-1\t①丸型マグカップ（青）\t￥1,200\nJP-2\t髙島屋 ～ギフト～\t￥980\n"


def rows_of(data: bytes, content_type: str, size: int = 1, **kw: object) -> list[dict[str, str]]:
    return list(Document(chunked(data, size), document_id="doc-7", content_type=content_type,
                         format="tsv", **kw).rows())  # type: ignore[arg-type]


def expected(text: str) -> list[dict[str, str]]:
    lines = [line.split("\t") for line in text.splitlines()]
    return [dict(zip(lines[0], values, strict=True)) for values in lines[1:]]


@pytest.mark.parametrize("label", ["ISO-8859-1", "iso-8859-1", "Cp1252", "windows-1252",
                                   '"ISO-8859-1"'])
def test_eu_flat_file_labelled_latin1_is_read_as_cp1252(label: str) -> None:
    """„ “ – € are 0x84 0x93 0x96 0x80 in Cp1252: C1 controls if read as Latin-1 (JL#512)."""
    data = EU_TEXT.encode("cp1252")
    got = rows_of(gz(data), f"text/plain;charset={label}")
    assert got == expected(EU_TEXT)
    assert got[0]["price"] == "12,50 €"


def test_cp1252_undefined_bytes_pass_through_as_c1_controls_not_errors() -> None:
    data = b"sku\tnote\nA\t\x81\x8d\x8f\x90\x9d\n"
    assert rows_of(data, "text/plain; charset=ISO-8859-1") == [
        {"sku": "A", "note": "\x81\x8d\x8f\x90\x9d"}]


@pytest.mark.parametrize("label", ["Windows-31J", "windows-31j", "Shift_JIS", "x-sjis", "MS932"])
def test_jp_flat_file_is_read_as_cp932(label: str) -> None:
    """① and 髙 exist in cp932 (Windows-31J) only, not in plain Shift_JIS."""
    data = JP_TEXT.encode("cp932")
    with pytest.raises(UnicodeEncodeError):
        JP_TEXT.encode("shift_jis")
    assert rows_of(gz(data), f"text/tab-separated-values; charset={label}") == expected(JP_TEXT)


def test_multibyte_characters_split_across_every_chunk_boundary() -> None:
    for text, codec, label in ((JP_TEXT, "cp932", "Windows-31J"), (EU_TEXT, "utf-8", "UTF-8"),
                               (JP_TEXT, "utf-8", "UTF-8")):
        assert rows_of(text.encode(codec), f"text/plain; charset={label}", 1) == expected(text)


def test_utf8_bom_is_not_part_of_the_first_key() -> None:
    data = "\ufeff".encode() + EU_TEXT.encode()
    assert list(rows_of(data, "text/plain; charset=UTF-8")[0]) == ["sku", "item-name", "price"]


def test_wrong_charset_raises_with_the_byte_offset() -> None:
    data = EU_TEXT.encode("cp1252")
    offset = data.index("„".encode("cp1252"))
    for size in (1, 3, 1000):
        with pytest.raises(DocumentError) as exc:
            rows_of(data, "text/plain; charset=UTF-8", size, report_id="5001")
        assert exc.value.offset == offset
        assert exc.value.reason == "charset"
        msg = str(exc.value)
        assert msg.startswith("report 5001 (document doc-7):")
        assert f"offset {offset:,}" in msg and "charset=" in msg


def test_wrong_charset_offset_counts_decompressed_bytes_when_split_inside_a_character() -> None:
    # a valid two-byte character, then a lead byte with an invalid trail byte (0x85 0x40 is
    # unassigned); with 1-byte chunks the decoder holds the lead byte when it fails
    data = "sku\tn\nA\t丸".encode("cp932") + b"\x85\x40\n"
    for size in (1, 2, 100):
        with pytest.raises(DocumentError) as exc:
            rows_of(gz(data), "text/plain; charset=Windows-31J", size)
        assert exc.value.offset == len(data) - 3


def test_cp932_document_mislabelled_utf8_fails_instead_of_returning_garbage() -> None:
    with pytest.raises(DocumentError, match="cannot decode"):
        rows_of(JP_TEXT.encode("cp932"), "text/plain; charset=UTF-8")


def test_override_wins_over_the_header_and_is_taken_literally() -> None:
    data = EU_TEXT.encode("cp1252")
    assert rows_of(data, "text/plain; charset=UTF-8", charset="cp1252") == expected(EU_TEXT)
    # an explicit latin-1 override is honoured as latin-1 (C1 controls, not Cp1252)
    got = rows_of(data, "text/plain; charset=UTF-8", charset="latin-1")
    assert got[0]["price"] == "12,50 \x80"


def test_no_charset_defaults_to_utf8() -> None:
    assert resolve_charset(None) == ("utf-8-sig", "default (no charset in Content-Type)")
    assert resolve_charset("text/plain")[0] == "utf-8-sig"
    assert resolve_charset("text/plain; charset=ISO-8859-1")[0] == CP1252
    assert resolve_charset("text/plain; charset=ISO-8859-1", "iso-8859-1")[0] == "iso8859-1"


def test_unknown_charset_is_a_clear_error() -> None:
    with pytest.raises(DocumentError, match="unknown charset 'x-klingon'.*charset=") as exc:
        Document([b""], document_id="doc-9", content_type="text/plain; charset=x-klingon")
    assert str(exc.value).startswith("document doc-9:")
    with pytest.raises(SellerkitError, match="unknown charset"):
        Document([b""], charset="nope")


def test_save_can_transcode_to_utf8(tmp_path: object) -> None:
    from pathlib import Path
    target = Path(str(tmp_path)) / "jp.tsv"
    Document([gz(JP_TEXT.encode("cp932"))], content_type="text/plain; charset=Windows-31J"
             ).save(target, encoding="utf-8")
    assert target.read_text(encoding="utf-8") == JP_TEXT


def test_document_errors_pickle_with_their_details() -> None:
    import pickle
    with pytest.raises(DocumentError) as exc:
        rows_of(b"a\n\xff\n", "text/plain; charset=UTF-8", report_id="77")
    again = pickle.loads(pickle.dumps(exc.value))
    assert (again.document, again.reason, again.offset, str(again)) == (
        exc.value.document, "charset", 2, str(exc.value))
