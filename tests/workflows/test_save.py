"""save(): atomic, private, and nothing half-written when the document is bad."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sellerkit.errors import ConfigurationError
from sellerkit.workflows.documents import Document, DocumentError

from .conftest import chunked, gz

DATA = "sku\tname\nA\tCafé „x“\n".encode("cp1252")


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_save_writes_the_decompressed_bytes_as_delivered_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "report.tsv"
    d = Document(chunked(gz(DATA), 5), document_id="d1",
                 content_type="text/plain; charset=ISO-8859-1")
    assert d.save(target) == target
    assert target.read_bytes() == DATA
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == ["report.tsv"]


def test_save_transcodes_on_request(tmp_path: Path) -> None:
    target = tmp_path / "report.tsv"
    Document([DATA], content_type="text/plain; charset=ISO-8859-1").save(target, encoding="utf-8")
    assert target.read_text(encoding="utf-8") == DATA.decode("cp1252")


@pytest.mark.parametrize("bad, kwargs", [
    (gz(DATA * 100)[:-10], {}),  # truncated gzip
    (DATA, {"content_type": "text/plain; charset=UTF-8", "encoding": "utf-8"}),  # wrong charset
])
def test_a_failed_save_leaves_nothing_and_keeps_the_old_file(tmp_path: Path, bad: bytes,
                                                             kwargs: dict[str, str]) -> None:
    target = tmp_path / "report.tsv"
    target.write_bytes(b"yesterday's report")
    encoding = kwargs.pop("encoding", None)
    d = Document(chunked(bad, 64), document_id="d2", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(DocumentError, match="document d2"):
        d.save(target, encoding=encoding)
    assert target.read_bytes() == b"yesterday's report"
    assert leftovers(tmp_path) == ["report.tsv"]


def test_a_failed_save_of_a_new_file_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> object:
        yield gz(DATA)[:20]
        raise ConnectionResetError("peer went away")
    with pytest.raises(ConnectionResetError):
        Document(broken(), document_id="d3").save(tmp_path / "new.tsv")  # type: ignore[arg-type]
    assert leftovers(tmp_path) == []


def test_save_into_a_missing_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not a directory"):
        Document([DATA]).save(tmp_path / "nope" / "r.tsv")


def test_save_then_read_the_file_again(tmp_path: Path) -> None:
    target = tmp_path / "r.tsv"
    Document([gz(DATA)], content_type="text/plain; charset=ISO-8859-1").save(target)
    again = Document.from_file(target, content_type="text/plain; charset=ISO-8859-1",
                               format="tsv")
    assert list(again.rows()) == [{"sku": "A", "name": "Café „x“"}]
    assert os.access(target, os.R_OK)
