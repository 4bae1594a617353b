"""to_arrow / to_polars / to_dataframe agree with rows(), and say how to install what's missing."""

from __future__ import annotations

import sys

import pytest

from sellerkit.workflows.documents import Document, DocumentError, MissingDependencyError

from .conftest import chunked, gz

TSV = ("sku\tcountry\tprice\tprice\tnote\n"
       "A-1\tNA\t12.50\t1\t5\" screen\n"
       "B-2\tDE\t\t2\t„Müller“ €\n"
       "C-3\tJP\t0.99\t3\t\n")
ROWS = [dict(zip(["sku", "country", "price", "price_2", "note"], line.split("\t"), strict=True))
        for line in TSV.splitlines()[1:]]


def doc(charset: str = "UTF-8", data: bytes | None = None, **kw: object) -> Document:
    body = data if data is not None else TSV.encode("cp1252" if charset != "UTF-8" else "utf-8")
    kw.setdefault("report_type", "GET_MERCHANT_LISTINGS_ALL_DATA")
    return Document(chunked(gz(body), 7), document_id="doc-c",
                    content_type=f"text/tab-separated-values; charset={charset}", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("charset", ["UTF-8", "ISO-8859-1"])
def test_to_arrow_matches_rows(charset: str) -> None:
    pytest.importorskip("pyarrow")
    table = doc(charset).to_arrow()
    assert table.column_names == ["sku", "country", "price", "price_2", "note"]
    assert table.to_pylist() == ROWS  # strings kept as written: "NA" (Namibia) and "" survive
    assert list(doc(charset).rows()) == ROWS


def test_to_arrow_infers_types_on_request() -> None:
    pa = pytest.importorskip("pyarrow")
    table = doc().to_arrow(infer_types=True)
    assert table.schema.field("price_2").type == pa.int64()


def test_to_arrow_csv_with_quotes() -> None:
    pytest.importorskip("pyarrow")
    data = b'sku,name\nA,"Mug, ""XL"""\nB,"two\nlines"\n'
    d = Document([gz(data)], content_type="text/csv")
    assert d.to_arrow().to_pylist() == [{"sku": "A", "name": 'Mug, "XL"'},
                                        {"sku": "B", "name": "two\nlines"}]


def test_to_polars_matches_rows() -> None:
    pytest.importorskip("polars")
    frame = doc("ISO-8859-1").to_polars()
    assert frame.columns == ["sku", "country", "price", "price_2", "note"]
    assert frame.to_dicts() == ROWS


def test_to_dataframe_matches_rows() -> None:
    pytest.importorskip("pandas")
    frame = doc().to_dataframe()
    assert frame.to_dict("records") == ROWS


def test_columnar_errors_name_the_document() -> None:
    pytest.importorskip("pyarrow")
    with pytest.raises(DocumentError, match="doc-c: pyarrow could not read"):
        doc(data=b"a\tb\n1\t2\t3\n").to_arrow()
    with pytest.raises(DocumentError, match="is for TSV/CSV"):
        Document([b"{}"], content_type="application/json").to_arrow()


def test_empty_document_gives_an_empty_table() -> None:
    pytest.importorskip("pyarrow")
    assert doc(data=b"").to_arrow().num_rows == 0


@pytest.mark.parametrize("method, module, hint", [
    ("to_arrow", "pyarrow", "pip install 'sellerkit[columnar]'"),
    ("to_polars", "polars", "pip install 'sellerkit[columnar]'"),
    ("to_dataframe", "pandas", "pip install pandas"),
])
def test_missing_dependency_says_what_to_install(monkeypatch: pytest.MonkeyPatch, method: str,
                                                 module: str, hint: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.raises(MissingDependencyError) as exc:
        getattr(doc(), method)()
    assert str(exc.value) == f"{method}() needs {module}: {hint}"
    assert isinstance(exc.value, ImportError)


def test_arrow_batches_stream_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    body = ("sku\tqty\n" + "".join(f"S-{i}\t{i}\n" for i in range(20000))).encode()
    d = Document([gz(body)], content_type="text/tab-separated-values", format="tsv")
    batches = list(d.arrow_batches())
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 20000 and table.column("qty")[19999].as_py() == "19999"
    with pytest.raises(DocumentError, match="pyarrow could not read"):
        list(Document([b"a\tb\n1\n"], format="tsv").arrow_batches())
