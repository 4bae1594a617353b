"""``Report`` / ``AsyncReport``: what ``sp.reports.fetch`` returns, a ``Document`` with the
report's facts. Kept apart from ``reports.py`` so that importing the generated resources does
not import the document reader; ``sellerkit.workflows.reports`` re-exports both lazily."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

from sellerkit.workflows.documents import AsyncDocument, Document

_EMPTY_NOTE = ("a CANCELLED report has no document: Amazon cancels a report that has no data "
               "for its window, or that duplicates one in progress")


class _Facts:
    report_id: str | None
    status: str
    reused: bool
    report: dict[str, Any]

    def _set_facts(self, report: Mapping[str, Any] | None, status: str, reused: bool) -> None:
        self.report = dict(report or {})
        self.report_id = str(self.report["reportId"]) if self.report.get("reportId") else None
        self.status = status
        self.reused = reused

    @property
    def cancelled(self) -> bool:
        """True for a CANCELLED report: every reader gives nothing (no rows, ``json()`` None)."""
        return self.status == "CANCELLED"

    @property
    def done(self) -> bool:
        return self.status == "DONE"


class Report(_Facts, Document):
    """A finished report: ``status`` (DONE or CANCELLED), ``report_id``, ``report`` (the
    getReport answer), ``reused`` (an existing identical report was used), ``document_id`` and
    every ``Document`` reader: ``rows()``, ``json()``, ``json_items()``, ``xml_elements()``,
    ``text()``, ``save(path)``, ``to_arrow()``, ``to_polars()``, ``to_dataframe()``.

    A CANCELLED report reads as empty: no rows, no elements, ``json()`` and ``xml()`` None,
    ``save()`` writes an empty file."""

    def __init__(self, chunks: Any, *, report: Mapping[str, Any] | None, status: str,
                 reused: bool = False, **kwargs: Any) -> None:
        super().__init__(chunks, **kwargs)
        self._set_facts(report, status, reused)
        self._download = chunks if isinstance(chunks, DownloadSource) else None

    def __repr__(self) -> str:
        return f"<Report {self.report_id} {self.status} format={self.format}>"

    def close(self) -> None:
        """Close the download ``fetch`` opened, if it was not read (reading to the end, or
        leaving a ``with`` block, does it too)."""
        if self._download is not None:
            self._download.close()

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, *, ragged: str = "pad") -> Iterator[dict[str, str]]:
        return iter(()) if self.cancelled else super().rows(ragged=ragged)

    def json(self) -> Any:
        return None if self.cancelled else super().json()

    def json_items(self, key: str | None = None) -> Iterator[Any]:
        return iter(()) if self.cancelled else super().json_items(key)

    def json_lines(self) -> Iterator[Any]:
        return iter(()) if self.cancelled else super().json_lines()

    def xml_elements(self, tag: str | None = None) -> Iterator[ET.Element]:
        return iter(()) if self.cancelled else super().xml_elements(tag)

    def xml(self) -> Any:
        return None if self.cancelled else super().xml()


class AsyncReport(_Facts, AsyncDocument):
    """The async twin of ``Report`` (readers are ``async for`` / ``await``)."""

    def __init__(self, chunks: Any, *, report: Mapping[str, Any] | None, status: str,
                 reused: bool = False, **kwargs: Any) -> None:
        super().__init__(chunks, **kwargs)
        self._set_facts(report, status, reused)
        self._download = chunks if isinstance(chunks, AsyncDownloadSource) else None

    def __repr__(self) -> str:
        return f"<AsyncReport {self.report_id} {self.status} format={self.format}>"

    async def aclose(self) -> None:
        """Close the download ``fetch`` opened, if it was not read."""
        if self._download is not None:
            await self._download.aclose()

    async def __aenter__(self) -> AsyncReport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def rows(self, *, ragged: str = "pad") -> AsyncIterator[dict[str, str]]:
        # the document's own generator, not one more layer around it: one fewer async yield
        # per row
        return _nothing() if self.cancelled else super().rows(ragged=ragged)

    async def json(self) -> Any:
        return None if self.cancelled else await super().json()

    async def json_items(self, key: str | None = None) -> AsyncIterator[Any]:
        if not self.cancelled:
            async for item in super().json_items(key):
                yield item

    async def json_lines(self) -> AsyncIterator[Any]:
        if not self.cancelled:
            async for item in super().json_lines():
                yield item

    async def xml_elements(self, tag: str | None = None) -> AsyncIterator[ET.Element]:
        if not self.cancelled:
            async for item in super().xml_elements(tag):
                yield item

    async def xml(self) -> Any:
        return None if self.cancelled else await super().xml()


async def _nothing() -> AsyncIterator[Any]:
    return
    yield  # an async generator that yields nothing


class DownloadSource:
    """A report's chunks, straight from the network: the first read takes the download that
    ``fetch`` opened (so its status and headers were known before ``fetch`` returned); each
    further read, and a first read whose connection died before its first byte (a report
    left unread for a long time), opens a fresh download (a new URL from getReportDocument)."""

    def __init__(self, first: Any, reopen: Callable[[], Any]) -> None:
        self._first = first
        self._reopen = reopen

    def __call__(self) -> Iterator[bytes]:
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        from sellerkit.errors import TransportError

        dl, self._first = self._first, None
        if dl is not None:
            got = False
            try:
                for chunk in dl.iter_bytes():
                    got = True
                    yield chunk
                return
            except TransportError:
                if got:
                    raise
        fresh = self._reopen()
        with fresh:
            yield from fresh.iter_bytes()

    def close(self) -> None:
        dl, self._first = self._first, None
        if dl is not None:
            dl.close()


class AsyncDownloadSource:
    """The async ``DownloadSource``."""

    def __init__(self, first: Any, reopen: Callable[[], Awaitable[Any]]) -> None:
        self._first = first
        self._reopen = reopen

    def __call__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        from sellerkit.errors import TransportError

        dl, self._first = self._first, None
        if dl is not None:
            got = False
            try:
                async for chunk in dl.iter_bytes():
                    got = True
                    yield chunk
                return
            except TransportError:
                if got:
                    raise
        fresh = await self._reopen()
        async with fresh:
            async for chunk in fresh.iter_bytes():
                yield chunk

    async def aclose(self) -> None:
        dl, self._first = self._first, None
        if dl is not None:
            await dl.aclose()


def sync_chunks(data: bytes) -> Any:
    return lambda: [data]


def async_chunks(data: bytes) -> Any:
    async def gen() -> AsyncIterator[bytes]:
        if data:
            yield data
    return gen
