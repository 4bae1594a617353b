"""Helpers for the document tests: chunking, gzip, and both inflate backends."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator

import pytest

from sellerkit.workflows import documents


def chunked(data: bytes, size: int = 1) -> list[bytes]:
    """``data`` split into ``size``-byte chunks (1 byte: every boundary a parser can meet)."""
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


async def achunked(data: bytes, size: int = 1) -> AsyncIterator[bytes]:
    for chunk in chunked(data, size):
        yield chunk


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.fixture(params=["zlib", "isal"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with the standard library's zlib and with ISA-L (when installed)."""
    if request.param == "isal":
        pytest.importorskip("isal")
        documents._gzip_backend.cache_clear()
    else:
        import zlib

        def zlib_only() -> tuple[object, tuple[type[Exception], ...]]:
            return (lambda: zlib.decompressobj(zlib.MAX_WBITS | 16)), (zlib.error,)
        monkeypatch.setattr(documents, "_gzip_backend", zlib_only)
    yield request.param
    if request.param == "isal":
        documents._gzip_backend.cache_clear()
