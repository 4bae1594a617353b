"""Report and feed documents: downloaded bytes in, rows, JSON or XML elements out, streaming.

A document arrives as chunks of bytes from a presigned URL. ``Document`` (sync) and
``AsyncDocument`` (async) wrap such a chunk source and turn it into what the user asked for,
holding only a few hundred kilobytes at a time whatever the document's size::

    chunks -> _Inflater (gzip, found by its magic bytes) -> _TextDecoder (charset, strict)
           -> _RowParser (TSV / CSV) | _JsonItems | _JsonLines | _XmlElements | json.loads

Every stage is a small push parser with ``feed()`` and ``close()`` and no I/O, so the sync and
async shells are the same few lines around ``for`` and ``async for``.

Facts the stages rely on (../shared/sp-api-facts.md §8, ../shared/research/next-waves.md §2-3):

- ``compressionAlgorithm`` is unreliable: null on compressed documents and GZIP on plain ones,
  and with ``Content-Encoding: gzip`` the transport may already have inflated the body (the
  2023-06 double-gunzip incident). So gzip is detected by its magic bytes ``1f 8b`` alone; the
  declared values are kept for diagnostics only.
- The charset comes from the download's Content-Type. Flat files labelled ISO-8859-1 (NA, EU)
  really hold Cp1252 bytes (curly quotes, the euro sign in 0x80-0x9F), so that label is read as
  Cp1252, as browsers do (WHATWG); Windows-31J and Shift_JIS (JP) are read as cp932, the code
  page those labels mean at Amazon. A caller's ``charset=`` wins over both.
- Peers return undecodable bytes silently or replace them; here a decode failure raises
  ``DocumentError`` naming the document and the byte offset, and so do a truncated or corrupt
  gzip stream, malformed JSON or XML, and a row longer than its header.

- XML whose download names no charset is decoded by its declaration's encoding; a document
  that declares a DTD is refused (entity expansion, external entities).

Rows: flat-file reports are tab-separated and unquoted (a ``"`` is data, never a quote), so TSV
is split on tabs with no quoting at all; CSV follows RFC 4180 quoting, and so do the few
tab-separated types whose fields are enclosed in quotes (``quoting="quoted"`` in their metadata:
the LEDGER reports). The header row gives the keys: surrounding blanks are stripped, a blank
name becomes ``column_<n>`` (1-based position) and a repeated name gets ``_2``, ``_3``... Short
rows are padded with ``""`` and counted in ``stats.padded_rows`` (``ragged="error"`` raises
instead); extra fields that are empty are dropped and counted in ``stats.trimmed_rows``; extra
fields with data raise, because dropping them would lose data. Blank lines are skipped.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from sellerkit.errors import ConfigurationError, SellerkitError

__all__ = [
    "AsyncDocument",
    "Document",
    "DocumentError",
    "DocumentStats",
    "MissingDependencyError",
    "resolve_charset",
]

Format = Literal["tsv", "csv", "json", "jsonl", "xml", "binary"]
FORMATS: tuple[str, ...] = ("tsv", "csv", "json", "jsonl", "xml", "binary")

GZIP_MAGIC = b"\x1f\x8b"
# Upper bound on what one inflate step may produce, so a gzip bomb or a highly compressible
# report never materialises more than this at once.
_MAX_PIECE = 256 * 1024
# A CSV record (a quoted field may span lines) or a JSON array element bigger than this is
# treated as a broken document rather than buffered without bound.
_MAX_RECORD = 64 * 1024 * 1024
_READ_SIZE = 256 * 1024


class DocumentError(SellerkitError):
    """A document could not be read as what it claims to be.

    ``document`` names the report or feed document, ``offset`` is the byte offset in the
    decompressed document where decoding failed (``None`` when it does not apply), ``reason``
    one of ``truncated``, ``corrupt``, ``charset``, ``format``, ``ragged``, ``consumed``.
    """

    def __init__(self, message: str, *, document: str = "document", reason: str = "format",
                 offset: int | None = None) -> None:
        self.document = document
        self.reason = reason
        self.offset = offset
        super().__init__(f"{document}: {message}")


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional package an export needs is not installed; the message has the pip command."""


@dataclass
class DocumentStats:
    """What reading a document found, for logs and for checking nothing was dropped."""

    compressed: bool | None = None  # None until the first bytes arrive
    declared_compression: str | None = None
    content_encoding: str | None = None
    gzip_members: int = 0
    bytes_in: int = 0  # as received
    bytes_out: int = 0  # after decompression
    charset: str = ""
    charset_source: str = ""
    rows: int = 0
    padded_rows: int = 0
    trimmed_rows: int = 0
    blank_lines: int = 0
    header: list[str] = field(default_factory=list)

    @property
    def compression_flag_lied(self) -> bool:
        """True when ``compressionAlgorithm`` said the opposite of what the bytes were (a
        difference that ``Content-Encoding: gzip`` explains is not counted)."""
        if self.compressed is None:
            return False
        declared = (self.declared_compression or "").upper() == "GZIP"
        if declared == self.compressed:
            return False
        return (self.content_encoding or "").strip().lower() != "gzip"


# charsets ------------------------------------------------------------------------------------

# Labels Amazon puts on documents, mapped to the codec that reads what they really contain
# (next-waves.md §2 "Report charset": JL#512 Cp1252 is not Latin-1; SW maps Windows-31J->cp932).
_LATIN1_LABELS = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin-1", "latin1", "l1", "8859-1",
                  "iso-ir-100", "cp819", "ibm819", "us-ascii", "ascii"}
_CP1252_LABELS = {"cp1252", "windows-1252", "x-cp1252", "cp-1252", "ms-ansi"}
_CP932_LABELS = {"windows-31j", "shift_jis", "shift-jis", "sjis", "x-sjis", "ms932", "ms_kanji",
                 "csshiftjis", "cswindows31j", "cp932", "x-ms-cp932"}
_UTF8_LABELS = {"utf-8", "utf8", "unicode-1-1-utf-8"}

# Cp1252 leaves five bytes undefined; browsers (WHATWG "windows-1252") and Java's Cp1252 pass
# them through as the C1 control of the same number. Python's cp1252 codec rejects them, which
# would make a document that Amazon's own tools read fail here, so we decode them the same way.
_CP1252_TABLE = "".join(
    ch if ch != "\ufffe" else chr(i)
    for i, ch in enumerate(bytes(range(256)).decode("cp1252", errors="replace")
                           .replace("\ufffd", "\ufffe")))
CP1252 = "cp1252 (windows-1252)"


class _Cp1252Decoder(codecs.IncrementalDecoder):
    def decode(self, input: Any, final: bool = False) -> str:  # noqa: A002 - codecs' name
        return codecs.charmap_decode(input, self.errors, _CP1252_TABLE)[0]


def resolve_charset(content_type: str | None, override: str | None = None,
                    default: str = "utf-8", *, document: str = "document") -> tuple[str, str]:
    """The codec to decode a document with, and where that choice came from.

    ``override`` (the caller's ``charset=``) wins and is taken literally, except that names
    Python lacks (Windows-31J) are translated. Otherwise the Content-Type ``charset`` is used,
    with Amazon's mislabels corrected (ISO-8859-1 -> Cp1252, Windows-31J/Shift_JIS -> cp932);
    with no charset there, ``default``. Raises ``DocumentError`` for a charset Python does not
    know, saying how to override it.
    """
    if override:
        return _codec_for(override, literal=True, document=document), "charset="
    label = _charset_param(content_type)
    if label:
        return (_codec_for(label, literal=False, document=document),
                f"Content-Type charset={label}")
    return (_codec_for(default, literal=False, document=document),
            "default (no charset in Content-Type)")


def _charset_param(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').strip("'") or None
    return None


def _codec_for(label: str, *, literal: bool, document: str) -> str:
    low = label.strip().lower()
    if low in _CP932_LABELS:
        return "cp932"
    if low in _CP1252_LABELS or (low in _LATIN1_LABELS and not literal):
        return CP1252
    if low in _UTF8_LABELS:
        return "utf-8-sig"  # flat files exported from Excel may start with a BOM
    try:
        return codecs.lookup(low).name
    except LookupError:
        raise DocumentError(
            f"unknown charset {label!r}; pass charset= with a Python codec name "
            "(e.g. charset='utf-8', 'cp1252' or 'cp932')", document=document,
            reason="charset") from None


def _display(codec: str) -> str:
    return "utf-8" if codec == "utf-8-sig" else codec


def _incremental_decoder(codec: str) -> codecs.IncrementalDecoder:
    if codec == CP1252:
        return _Cp1252Decoder("strict")
    return codecs.getincrementaldecoder(codec)("strict")


# stage 1: bytes -> decompressed bytes ----------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _gzip_backend() -> tuple[Callable[[], Any], tuple[type[Exception], ...]]:
    """zlib, or ISA-L's drop-in zlib (``pip install 'sellerkit[fast]'``) when installed: it
    inflates about three times faster, which is a fifth of the time spent per row."""
    try:
        from isal import isal_zlib
    except ImportError:
        return (lambda: zlib.decompressobj(zlib.MAX_WBITS | 16)), (zlib.error,)
    isal_error = cast(type[Exception], isal_zlib.error)
    return (lambda: isal_zlib.decompressobj(zlib.MAX_WBITS | 16)), (zlib.error, isal_error)


class _Inflater:
    """Inflates gzip (single or multi-member) when the bytes begin with its magic; passes
    anything else through untouched, so a body the transport already inflated is never
    inflated twice."""

    def __init__(self, label: str, stats: DocumentStats) -> None:
        self._label = label
        self._stats = stats
        self._head = b""  # first bytes, until there are two to test for the magic
        self._gzip: bool | None = None
        self._z: Any = None  # the current member's decompressobj; None between members
        self._between = b""  # bytes after a member that are too few to test
        self._in = 0
        self._new, self._errors = _gzip_backend()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._stats.bytes_in += len(data)
        if self._gzip is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            self._gzip = data[:2] == GZIP_MAGIC
            self._stats.compressed = self._gzip
        if not self._gzip:
            self._stats.bytes_out += len(data)
            if data:
                yield data
            return
        yield from self._inflate(data)

    def close(self) -> Iterator[bytes]:
        if self._gzip is None:  # fewer than two bytes in all
            self._gzip = False
            self._stats.compressed = False if self._head else None
            data, self._head = self._head, b""
            self._stats.bytes_out += len(data)
            if data:
                yield data
            return
        if not self._gzip:
            return
        if self._z is not None:
            # output zlib still holds after the last bounded step (never more than a window)
            z = self._z
            try:
                tail = z.flush()
            except self._errors as exc:
                raise self._corrupt(exc) from None
            if tail:
                self._stats.bytes_out += len(tail)
                yield tail
            if z.eof:
                self._z = None
                if z.unused_data:
                    yield from self._inflate(z.unused_data)
        if self._z is not None:
            raise DocumentError(
                f"the gzip stream ends early, after {self._in:,} compressed bytes "
                f"({self._stats.bytes_out:,} bytes inflated): the download was truncated; "
                "download the document again (its URL lasts 5 minutes, get a new one)",
                document=self._label, reason="truncated", offset=self._stats.bytes_out)
        if self._between.strip(b"\0"):
            self._trailing_garbage()

    def _corrupt(self, exc: Exception) -> DocumentError:
        return DocumentError(
            f"the gzip data is corrupt near compressed offset {self._in:,} ({exc}); "
            "download the document again",
            document=self._label, reason="corrupt", offset=self._stats.bytes_out)

    def _trailing_garbage(self) -> None:
        raise DocumentError(
            f"bytes after the end of the gzip data at compressed offset {self._in:,} are not "
            "gzip; the document is corrupt, download it again",
            document=self._label, reason="corrupt", offset=self._stats.bytes_out)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._z is None:  # at a member boundary: another member, padding or garbage
                data, self._between = self._between + data, b""
                if len(data) < 2:
                    self._between = data
                    return
                if data[:2] != GZIP_MAGIC:
                    if data.strip(b"\0"):
                        self._trailing_garbage()
                    self._in += len(data)  # zero padding after the last member is harmless
                    return
                self._z = self._new()
                self._stats.gzip_members += 1
            z = self._z
            before = len(data)
            try:
                out = z.decompress(data, _MAX_PIECE)
                while True:
                    if out:
                        self._stats.bytes_out += len(out)
                        yield out
                    if not z.unconsumed_tail or z.eof:
                        break
                    out = z.decompress(z.unconsumed_tail, _MAX_PIECE)
            except self._errors as exc:
                raise self._corrupt(exc) from None
            if z.eof:
                rest = z.unused_data
                self._in += before - len(rest)
                self._z = None
                data = rest
            else:
                self._in += before
                data = b""


# stage 2: bytes -> text ---------------------------------------------------------------------------


class _TextDecoder:
    def __init__(self, codec: str, source: str, label: str) -> None:
        self._codec = codec
        self._source = source
        self._label = label
        self._dec = _incremental_decoder(codec)
        self._offset = 0  # decompressed bytes handed to the decoder so far

    def feed(self, data: bytes, final: bool = False) -> str:
        try:
            text = self._dec.decode(data, final)
        except UnicodeDecodeError as exc:
            # exc.object is the decoder's pending bytes followed by this call's input.
            pending = len(exc.object) - len(data)
            offset = self._offset - pending + exc.start
            bad = bytes(exc.object[exc.start:exc.end][:4]).hex(" ")
            raise DocumentError(
                f"cannot decode byte(s) {bad} at byte offset {offset:,} as {_display(self._codec)} "
                f"(charset "
                f"from {self._source}); the charset is wrong: pass charset= with the right one "
                "(e.g. charset='cp1252' for EU/NA flat files, 'cp932' for JP)",
                document=self._label, reason="charset", offset=offset) from None
        self._offset += len(data)
        return text


# stage 3: text -> rows ----------------------------------------------------------------------------


def header_keys(fields: list[str]) -> list[str]:
    """Dict keys for a header row: stripped; blank -> ``column_<n>``; repeats -> ``name_2``..."""
    names = [f.strip() for f in fields]
    if names:
        names[0] = names[0].lstrip("\ufeff")
    used = {n for n in names if n}
    keys: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(names, 1):
        if not name:
            name = f"column_{i}"
            k = 2
            while name in used or name in taken:
                name = f"column_{i}_{k}"
                k += 1
        elif name in taken:
            k = 2
            while f"{name}_{k}" in used or f"{name}_{k}" in taken:
                k += 1
            name = f"{name}_{k}"
        taken.add(name)
        keys.append(name)
    return keys


class _RowParser:
    def __init__(self, fmt: str, label: str, stats: DocumentStats, ragged: str,
                 quoted: bool) -> None:
        if ragged not in ("pad", "error"):
            raise ConfigurationError(f"ragged must be 'pad' or 'error', not {ragged!r}")
        self._csv = fmt == "csv" or quoted  # the csv module handles quoted TSV too
        self._delimiter = "," if fmt == "csv" else "\t"
        self._label = label
        self._stats = stats
        self._pad = ragged == "pad"
        self._buf = ""
        self._quotes = 0  # parity of '"' in _buf (CSV only)
        self._keys: list[str] | None = None
        self._line = 0  # physical lines consumed (1-based numbers in messages)

    def feed(self, text: str) -> Iterator[dict[str, str]]:
        """Rows completed by ``text``, yielded one at a time (building them lazily keeps the
        working set in the CPU cache: materialising a block's dicts first is much slower)."""
        buf = self._buf + text if self._buf else text
        cut = buf.rfind("\n")
        if cut < 0:
            self._keep(buf)
            return iter(())
        if self._csv:
            # A newline inside a quoted field does not end a record: cut at the last newline
            # with an even number of quotes before it (RFC 4180 doubles quotes inside fields).
            odd = buf.count('"', 0, cut + 1) % 2
            while odd and cut >= 0:
                prev = buf.rfind("\n", 0, cut)
                odd ^= buf.count('"', prev + 1, cut + 1) % 2
                cut = prev
            if cut < 0:
                self._keep(buf)
                return iter(())
        block, rest = buf[:cut + 1], buf[cut + 1:]
        self._keep(rest)
        return self._csv_rows(block) if self._csv else self._tsv_rows(block)

    def close(self) -> Iterator[dict[str, str]]:
        rest, self._buf = self._buf, ""
        if not rest:
            return iter(())
        return self._csv_rows(rest) if self._csv else self._tsv_rows(rest)

    def _keep(self, buf: str) -> None:
        if len(buf) > _MAX_RECORD:
            what = "an unbalanced quote" if self._csv else "no line break"
            raise DocumentError(
                f"a record after line {self._line:,} is over {_MAX_RECORD // 2**20} MiB "
                f"({what}); the document is not a {'CSV' if self._csv else 'TSV'} flat file "
                "as expected (pass format= if the report type's format is wrong)",
                document=self._label, reason="format")
        self._buf = buf

    def _tsv_rows(self, block: str) -> Iterator[dict[str, str]]:
        if "\r" in block:
            block = block.replace("\r\n", "\n")
        lines = block.split("\n")
        if lines[-1] == "":
            lines.pop()
        base = self._line
        self._line += len(lines)
        keys = self._keys if self._keys is not None else []
        n = len(keys) if self._keys is not None else -1  # -1: the next record is the header
        stats = self._stats
        count = 0
        try:
            for i, text in enumerate(lines):
                if not text:
                    stats.blank_lines += 1
                    continue
                values = text.split("\t")
                if len(values) != n:
                    if n < 0:
                        keys = self._set_header(values)
                        n = len(keys)
                        continue
                    values = self._fit(values, n, base + i + 1)
                count += 1
                yield dict(zip(keys, values, strict=False))  # lengths checked above
        finally:
            stats.rows += count

    def _csv_rows(self, block: str) -> Iterator[dict[str, str]]:
        reader = csv.reader(io.StringIO(block, newline=""), delimiter=self._delimiter,
                            strict=True)
        keys = self._keys if self._keys is not None else []
        n = len(keys) if self._keys is not None else -1  # -1: the next record is the header
        base = self._line
        self._line = base + block.count("\n") + (0 if block.endswith("\n") else 1)
        count = 0
        try:
            for values in reader:
                if not values or values == [""]:
                    self._stats.blank_lines += 1
                    continue
                if len(values) != n:
                    if n < 0:
                        keys = self._set_header(values)
                        n = len(keys)
                        continue
                    values = self._fit(values, n, base + reader.line_num)
                count += 1
                yield dict(zip(keys, values, strict=False))  # lengths checked above
        except csv.Error as exc:
            raise DocumentError(f"malformed CSV at line {base + reader.line_num:,}: {exc}",
                                document=self._label, reason="format") from None
        finally:
            self._stats.rows += count

    def _set_header(self, values: list[str]) -> list[str]:
        self._stats.header = list(values)
        self._keys = header_keys(values)
        return self._keys

    def _fit(self, values: list[str], n: int, line: int) -> list[str]:
        if len(values) < n:
            if not self._pad:
                raise DocumentError(
                    f"line {line:,} has {len(values)} fields, the header has {n} "
                    "(ragged='pad' pads short rows with '')",
                    document=self._label, reason="ragged")
            self._stats.padded_rows += 1
            return values + [""] * (n - len(values))
        if any(values[n:]):
            raise DocumentError(
                f"line {line:,} has {len(values)} fields, the header has {n}, and the extra "
                "fields hold data; the document is not the flat file its header describes "
                "(pass format='csv'/'tsv' if the delimiter is wrong)",
                document=self._label, reason="ragged")
        self._stats.trimmed_rows += 1
        return values[:n]


# stage 3: text -> JSON -----------------------------------------------------------------------------


_WS = " \t\r\n"
_SCALAR_END = ",]} \t\r\n"


class _NeedMore(Exception):
    pass


class _JsonItems:
    """Streams the elements of one array: the top-level array (``key=None``) or the array held
    by a top-level key of an object, e.g. ``salesAndTrafficByAsin``. The object's other
    top-level members are kept in ``rest``. Each element is parsed by the standard library's
    decoder as soon as its closing delimiter has arrived."""

    def __init__(self, key: str | None, label: str) -> None:
        self._key = key
        self._label = label
        self._buf = ""
        self._pos = 0
        self._base = 0  # characters dropped from the front of _buf
        self._state = "start"
        self._member: str | None = None
        self._found = key is None
        self._retry_at = 0  # don't retry an incomplete value until this much is pending
        self._dec = json.JSONDecoder()
        self.rest: dict[str, Any] = {}

    def feed(self, text: str) -> list[Any]:
        if self._pos:
            self._buf = self._buf[self._pos:]
            self._base += self._pos
            self._pos = 0
        self._buf += text
        if len(self._buf) < self._retry_at:
            return []
        return self._run(final=False)

    def close(self) -> list[Any]:
        out = self._run(final=True)
        if self._state != "done":
            self._fail("the JSON ends early (truncated document)", self._base + len(self._buf))
        if not self._found:
            keys = ", ".join(sorted(self.rest)) or "none"
            raise DocumentError(f"the JSON has no top-level key {self._key!r} (keys: {keys})",
                                document=self._label, reason="format")
        return out

    def _fail(self, what: str, pos: int) -> None:
        raise DocumentError(f"malformed JSON at character {pos:,}: {what}",
                            document=self._label, reason="format")

    def _skip(self) -> str:
        buf, pos, n = self._buf, self._pos, len(self._buf)
        while pos < n and buf[pos] in _WS:
            pos += 1
        self._pos = pos
        if pos >= n:
            raise _NeedMore
        return buf[pos]

    def _value(self, final: bool) -> Any:
        buf, pos = self._buf, self._pos
        first = buf[pos]
        if first not in '"[{' and not final:
            # a number or literal is complete only once a delimiter follows it
            end = pos
            n = len(buf)
            while end < n and buf[end] not in _SCALAR_END:
                end += 1
            if end >= n:
                raise _NeedMore
        try:
            value, end = self._dec.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not final and (exc.pos >= len(buf) - 8 or exc.msg.startswith("Unterminated")):
                # wait for twice the pending value (at least 64K) before trying it again, so
                # a large element is parsed O(n) times in total, not once per chunk
                self._retry_at = max(64 * 1024, 2 * (len(buf) - pos))
                if len(buf) - pos > _MAX_RECORD:
                    self._fail(f"a value over {_MAX_RECORD // 2**20} MiB", self._base + pos)
                raise _NeedMore from None
            self._fail(exc.msg, self._base + exc.pos)
        self._pos = end
        return value

    def _run(self, final: bool) -> list[Any]:
        out: list[Any] = []
        self._retry_at = 0
        try:
            while True:
                state = self._state
                if state == "done":
                    try:
                        self._skip()
                    except _NeedMore:
                        return out
                    self._fail("extra data after the JSON value", self._base + self._pos)
                c = self._skip()
                if state == "start":
                    want = "[" if self._key is None else "{"
                    if c != want:
                        hint = ("call json_items() with the key of the array" if c == "{"
                                else "call json_items() without a key" if c == "[" else
                                "the document is not JSON")
                        self._fail(f"expected {want!r}, found {c!r}; {hint}",
                                   self._base + self._pos)
                    self._pos += 1
                    self._state = "first_elem" if self._key is None else "first_member"
                elif state in ("first_member", "member"):
                    if c == "}" and state == "first_member":
                        self._pos += 1
                        self._state = "done"
                        continue
                    if c != '"':
                        self._fail(f"expected a key, found {c!r}", self._base + self._pos)
                    self._member = self._value(final)
                    self._state = "colon"
                elif state == "colon":
                    if c != ":":
                        self._fail(f"expected ':', found {c!r}", self._base + self._pos)
                    self._pos += 1
                    self._state = "member_value"
                elif state == "member_value":
                    if self._member == self._key and c == "[":
                        self._found = True
                        self._pos += 1
                        self._state = "first_elem"
                    else:
                        self.rest[cast(str, self._member)] = self._value(final)
                        self._state = "after_member"
                elif state == "after_member":
                    self._pos += 1
                    if c == ",":
                        self._state = "member"
                    elif c == "}":
                        self._state = "done"
                    else:
                        self._fail(f"expected ',' or '}}', found {c!r}", self._base + self._pos - 1)
                elif state in ("first_elem", "elem"):
                    if c == "]" and state == "first_elem":
                        self._pos += 1
                        self._state = "done" if self._key is None else "after_member"
                        continue
                    out.append(self._value(final))
                    self._state = "after_elem"
                elif state == "after_elem":
                    self._pos += 1
                    if c == ",":
                        self._state = "elem"
                    elif c == "]":
                        self._state = "done" if self._key is None else "after_member"
                    else:
                        self._fail(f"expected ',' or ']', found {c!r}", self._base + self._pos - 1)
        except _NeedMore:
            return out


class _JsonLines:
    """JSON Lines (Data Kiosk documents): one value per line; blank lines are skipped."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._buf = ""
        self._line = 0

    def feed(self, text: str) -> list[Any]:
        buf = self._buf + text
        cut = buf.rfind("\n")
        if cut < 0:
            self._buf = buf
            return []
        self._buf = buf[cut + 1:]
        return self._parse(buf[:cut].split("\n"))

    def close(self) -> list[Any]:
        rest, self._buf = self._buf, ""
        return self._parse([rest]) if rest.strip() else []

    def _parse(self, lines: list[str]) -> list[Any]:
        out = []
        loads = json.loads
        for text in lines:
            self._line += 1
            if not text.strip():
                continue
            try:
                out.append(loads(text))
            except json.JSONDecodeError as exc:
                raise DocumentError(f"malformed JSON on line {self._line:,}, column "
                                    f"{exc.colno}: {exc.msg}",
                                    document=self._label, reason="format") from None
        return out


def _parse_json(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg}", document=label, reason="format") from None


# stage 3: text -> XML elements ---------------------------------------------------------------------


class _ForbiddenDtd(Exception):
    pass


class _SafeBuilder(ET.TreeBuilder):
    """Builds the tree and records start/end events; refuses any DTD, so no entity (internal,
    which could expand a few bytes into gigabytes, or external) is ever declared. SP-API
    documents never carry a DTD."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, ET.Element]] = []

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        el = super().start(tag, attrs)
        self.events.append(("start", el))
        return el

    def end(self, tag: Any) -> ET.Element:
        el = super().end(tag)
        self.events.append(("end", el))
        return el

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _ForbiddenDtd(name)


def _xml_parser() -> tuple[ET.XMLParser, _SafeBuilder]:
    builder = _SafeBuilder()
    # S314: the builder refuses any DTD, which is what defusedxml guards against for us
    return ET.XMLParser(target=builder), builder  # noqa: S314


def _xml_error(exc: Exception, label: str) -> DocumentError:
    if isinstance(exc, _ForbiddenDtd):
        return DocumentError("the XML declares a DTD (<!DOCTYPE>); sellerkit refuses DTDs in "
                             "documents because their entities can expand without bound or "
                             "read local files", document=label, reason="format")
    return DocumentError(f"malformed XML: {exc}", document=label, reason="format")


def _matches(tag: str, want: str) -> bool:
    return tag == want or (tag.endswith(want) and tag[-len(want) - 1] == "}")


class _XmlElements:
    """Yields elements as they end: the root's children (``tag=None``) or every element named
    ``tag`` (namespace optional). A yielded element is cleared and detached from its parent as
    soon as the consumer asks for the next one, and unmatched children of the root are dropped
    as they end, so memory stays flat. (A match nested in another match is yielded, and then
    cleared, before the outer one ends.)"""

    def __init__(self, tag: str | None, label: str) -> None:
        self._tag = tag
        self._label = label
        self._parser, self._builder = _xml_parser()
        self._stack: list[ET.Element] = []

    def feed(self, text: str) -> Iterator[ET.Element]:
        try:
            self._parser.feed(text)
        except (ET.ParseError, _ForbiddenDtd) as exc:
            raise _xml_error(exc, self._label) from None
        return self._hand_out(self._events())

    def close(self) -> Iterator[ET.Element]:
        try:
            self._parser.close()
        except (ET.ParseError, _ForbiddenDtd) as exc:
            raise _xml_error(exc, self._label) from None
        return self._hand_out(self._events())

    @staticmethod
    def _hand_out(pairs: list[tuple[ET.Element, ET.Element]]) -> Iterator[ET.Element]:
        for parent, el in pairs:
            yield el
            el.clear()
            with contextlib.suppress(ValueError):
                parent.remove(el)

    def _events(self) -> list[tuple[ET.Element, ET.Element]]:
        out: list[tuple[ET.Element, ET.Element]] = []
        events = self._builder.events
        stack = self._stack
        tag = self._tag
        for kind, el in events:
            if kind == "start":
                stack.append(el)
                continue
            stack.pop()
            if not stack:
                continue  # the root itself
            parent = stack[-1]
            if (tag is None and len(stack) == 1) or (tag is not None and _matches(el.tag, tag)):
                out.append((parent, el))
            elif len(stack) == 1:
                parent.remove(el)
        events.clear()
        return out


# format detection ---------------------------------------------------------------------------------

_CONTENT_TYPES = {
    "text/tab-separated-values": "tsv", "text/tsv": "tsv", "text/csv": "csv",
    "application/csv": "csv", "application/json": "json", "text/json": "json",
    "application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/x-jsonlines": "jsonl",
    "text/xml": "xml", "application/xml": "xml", "application/pdf": "binary",
    "application/zip": "binary",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "binary",
}


def _format_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


_HEAD = 512  # bytes read before deciding the format and an XML declaration's encoding
# (a UTF-8 byte order mark before the declaration wins over it, so none is matched here)
_XML_ENCODING = re.compile(rb"""\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def _sniff(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return "json"
    if text.startswith(b"<"):
        return "xml"
    return "tsv"  # what an unknown report type most likely is; rows still come out


# the shells ---------------------------------------------------------------------------------------


class _Base:
    def __init__(self, *, document_id: str | None, report_id: str | None,
                 content_type: str | None, compression_algorithm: str | None,
                 content_encoding: str | None, charset: str | None, format: str | None,
                 report_type: str | None, quoting: str | None) -> None:
        if report_id and document_id:
            self.label = f"report {report_id} (document {document_id})"
        elif report_id or document_id:
            self.label = f"report {report_id}" if report_id else f"document {document_id}"
        else:
            self.label = "document"
        self.document_id = document_id
        self.report_id = report_id
        self.content_type = content_type
        self.report_type = report_type
        if format is not None and format not in FORMATS:
            raise ConfigurationError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        self._format = format or self._format_hint(report_type, content_type)
        info = None
        if report_type:
            from sellerkit.workflows.report_types import report_type as lookup
            info = lookup(report_type)
        default = info.charset if info is not None and info.charset else "utf-8"
        if quoting is not None and quoting not in ("none", "quoted", "minimal"):
            raise ConfigurationError(f"quoting must be 'none', 'quoted' or 'minimal', not "
                                     f"{quoting!r}")
        self.quoting = quoting or (info.quoting if info is not None else None)
        self.codec, source = resolve_charset(content_type, charset, default, document=self.label)
        self.stats = DocumentStats(declared_compression=compression_algorithm,
                                   content_encoding=content_encoding, charset=self.codec,
                                   charset_source=source)
        self._consumed = False

    @staticmethod
    def _format_hint(report_type: str | None, content_type: str | None) -> str | None:
        if report_type:
            from sellerkit.workflows.report_types import report_type as lookup
            fmt = lookup(report_type).format
            if fmt in ("xlsx", "pdf"):
                return "binary"
            if fmt in FORMATS:
                return fmt
        return _format_from_content_type(content_type)

    @property
    def format(self) -> str | None:
        """tsv, csv, json, jsonl, xml or binary; None until sniffed from the first bytes when
        neither the report type, the Content-Type nor ``format=`` said."""
        return self._format

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label} format={self._format} charset={self.codec}>"

    def _claim(self) -> None:
        if self._consumed:
            raise DocumentError("this document has already been read; a download is a stream "
                                "and can be read once (save() it to read it again)",
                                document=self.label, reason="consumed")
        self._consumed = True

    def _settle(self, head: bytes) -> None:
        """Decide what the first bytes must decide: the format when nothing said it, and for
        XML whose download names no charset, the encoding its declaration gives (XML 1.0
        §4.3.3; the Content-Type's charset, when there is one, takes precedence: RFC 7303)."""
        if self._format is None:
            self._format = _sniff(head)
        if self._format == "xml" and self.stats.charset_source.startswith("default"):
            m = _XML_ENCODING.match(head)
            if m:
                label = m.group(1).decode("ascii")
                self.codec = _codec_for(label, literal=False, document=self.label)
                self.stats.charset = self.codec
                self.stats.charset_source = f"XML declaration encoding={label}"

    def _check_tabular(self, what: str) -> str:
        fmt = self._format
        if fmt is None:
            return "tsv"
        if fmt not in ("tsv", "csv"):
            raise DocumentError(f"{what} is for TSV/CSV flat files and this document is {fmt}"
                                " (use json(), json_items(), json_lines() or xml_elements())",
                                document=self.label, reason="format")
        return fmt

    def _row_parser(self, ragged: str) -> _RowParser:
        return _RowParser(self._check_tabular("rows()"), self.label, self.stats, ragged,
                          self._quoted)

    @property
    def _quoted(self) -> bool:
        return self.quoting in ("quoted", "minimal")

    def _decoder(self) -> _TextDecoder:
        return _TextDecoder(self.codec, self.stats.charset_source, self.label)

    def _columnar_options(self) -> tuple[str, str, bool]:
        fmt = self._check_tabular("a columnar export")
        return fmt, self.codec, fmt == "csv" or self._quoted


def _as_chunks(chunks: Any) -> Any:
    if isinstance(chunks, bytes | bytearray | memoryview):
        data = bytes(chunks)
        return lambda: [data]
    if isinstance(chunks, str):
        raise ConfigurationError("a document is bytes, not str: pass the downloaded bytes "
                                 "(response.iter_bytes() or response.content)")
    return chunks


class Document(_Base):
    """A report or feed document as a one-shot stream of bytes (sync).

    ``chunks`` is an iterable of ``bytes`` as downloaded (``response.iter_bytes()``), a callable
    returning one or a ``bytes`` object (then the document can be read more than once), or see
    ``from_file``. Nothing is read until a method asks for data.

    ``document_id`` / ``report_id`` name the document in every error. ``content_type`` and
    ``content_encoding`` are the download's headers, ``compression_algorithm`` the
    getReportDocument field (kept for diagnostics: gzip is detected by its magic bytes).
    ``charset`` overrides the charset; ``format`` (tsv, csv, json, jsonl, xml, binary) overrides
    the format, which otherwise comes from ``report_type``'s metadata, then the Content-Type,
    then the first bytes.
    """

    def __init__(self, chunks: bytes | Iterable[bytes] | Callable[[], Iterable[bytes]], *,
                 document_id: str | None = None, report_id: str | None = None,
                 content_type: str | None = None, compression_algorithm: str | None = None,
                 content_encoding: str | None = None, charset: str | None = None,
                 format: str | None = None, report_type: str | None = None,  # noqa: A002
                 quoting: str | None = None) -> None:
        super().__init__(document_id=document_id, report_id=report_id, content_type=content_type,
                         compression_algorithm=compression_algorithm,
                         content_encoding=content_encoding, charset=charset, format=format,
                         report_type=report_type, quoting=quoting)
        self._source = _as_chunks(chunks)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Document:
        """A document read from a local file (compressed or not); it can be read repeatedly."""
        p = Path(path)

        def chunks() -> Iterator[bytes]:
            with open(p, "rb") as fh:
                while chunk := fh.read(_READ_SIZE):
                    yield chunk
        return cls(chunks, **kwargs)

    def _chunks(self) -> Iterable[bytes]:
        if callable(self._source):
            return self._source()
        self._claim()
        return self._source

    # bytes and text

    def iter_bytes(self) -> Iterator[bytes]:
        """The document's bytes, decompressed, not decoded."""
        inflater = _Inflater(self.label, self.stats)
        for chunk in self._chunks():
            yield from inflater.feed(chunk)
        yield from inflater.close()

    def _pieces(self) -> Iterator[bytes]:
        pieces = self.iter_bytes()
        head = b""
        for piece in pieces:
            head += piece
            if len(head) >= _HEAD:
                break
        self._settle(head)
        if head:
            yield head
        yield from pieces

    def iter_text(self) -> Iterator[str]:
        """The document's text in pieces, decoded strictly with the resolved charset."""
        decoder = None
        for piece in self._pieces():
            if decoder is None:  # the first piece may have settled the charset
                decoder = self._decoder()
            text = decoder.feed(piece)
            if text:
                yield text
        text = (decoder or self._decoder()).feed(b"", final=True)
        if text:
            yield text

    def text(self) -> str:
        return "".join(self.iter_text())

    # results

    def rows(self, *, ragged: str = "pad") -> Iterator[dict[str, str]]:
        """Rows of a TSV or CSV flat file as dicts keyed by the header (see the module doc)."""
        if self._format is not None:
            self._row_parser(ragged)  # a wrong format or option fails before any download
        texts = self.iter_text()
        first = next(texts, "")  # settles the format when it has to be sniffed
        parser = self._row_parser(ragged)
        yield from parser.feed(first)
        for text in texts:
            yield from parser.feed(text)
        yield from parser.close()

    def json(self) -> Any:
        """The whole document parsed as JSON (holds it in memory; see ``json_items``)."""
        return _parse_json(self.text(), self.label)

    def json_items(self, key: str | None = None) -> Iterator[Any]:
        """Stream the elements of the top-level array, or of the array under top-level ``key``
        (e.g. ``"salesAndTrafficByAsin"``), without holding the document in memory."""
        parser = _JsonItems(key, self.label)
        for text in self.iter_text():
            yield from parser.feed(text)
        yield from parser.close()

    def json_lines(self) -> Iterator[Any]:
        """Values of a JSON Lines document, one per line (Data Kiosk documents)."""
        parser = _JsonLines(self.label)
        for text in self.iter_text():
            yield from parser.feed(text)
        yield from parser.close()

    def xml_elements(self, tag: str | None = None) -> Iterator[ET.Element]:
        """Stream XML elements as they close: the root's children, or every ``tag`` element.
        Each element is cleared when the next one is requested: take what you need from it."""
        parser = _XmlElements(tag, self.label)
        for text in self.iter_text():
            yield from parser.feed(text)
        yield from parser.close()

    def xml(self) -> ET.Element:
        """The whole XML document as a tree (small documents such as processing reports)."""
        parser, _ = _xml_parser()
        try:
            for text in self.iter_text():
                parser.feed(text)
            return parser.close()
        except (ET.ParseError, _ForbiddenDtd) as exc:
            raise _xml_error(exc, self.label) from None

    # output

    def save(self, path: str | os.PathLike[str], *, encoding: str | None = None) -> Path:
        """Write the decompressed document to ``path`` atomically, mode 0600 (reports can hold
        buyer data). ``encoding=None`` keeps the bytes as delivered; ``encoding="utf-8"`` (or
        another codec) transcodes, which also proves the charset right. On any error nothing is
        left behind and an existing file at ``path`` is untouched."""
        with _AtomicFile(path) as fh:
            if encoding is None:
                for piece in self.iter_bytes():
                    fh.write(piece)
            else:
                encoder = codecs.getincrementalencoder(encoding)("strict")
                for text in self.iter_text():
                    fh.write(encoder.encode(text))
                fh.write(encoder.encode("", final=True))
        return fh.path

    def to_arrow(self, *, infer_types: bool = False) -> Any:
        """A ``pyarrow.Table`` built by pyarrow's CSV reader. Columns are strings (``""`` for
        empty) unless ``infer_types=True``. Needs ``pip install 'sellerkit[columnar]'``."""
        _require("pyarrow", "to_arrow()", "pip install 'sellerkit[columnar]'")
        pa_csv = _require("pyarrow.csv", "to_arrow()", "pip install 'sellerkit[columnar]'")
        fmt, codec, quoted = self._columnar_options()
        reader = _Utf8Reader(self._utf8_pieces(codec))
        keys = reader.header(fmt, quoted, self.stats)
        return _arrow_read(pa_csv, reader, fmt, quoted, keys, infer_types, self.label)

    def arrow_batches(self, *, infer_types: bool = False) -> Iterator[Any]:
        """``pyarrow.RecordBatch`` es from pyarrow's streaming CSV reader: columnar like
        ``to_arrow()`` in memory bounded by a few blocks whatever the document's size. With
        ``infer_types=True`` the types come from the first block (pyarrow's rule), so a later
        value that does not fit raises ``DocumentError``."""
        _require("pyarrow", "arrow_batches()", "pip install 'sellerkit[columnar]'")
        pa_csv = _require("pyarrow.csv", "arrow_batches()", "pip install 'sellerkit[columnar]'")
        fmt, codec, quoted = self._columnar_options()
        reader = _Utf8Reader(self._utf8_pieces(codec))
        keys = reader.header(fmt, quoted, self.stats)
        if not keys:
            return
        import pyarrow as pa
        read, parse, convert = _arrow_options(pa_csv, fmt, quoted, keys, infer_types)
        try:
            stream = pa_csv.open_csv(reader, read_options=read, parse_options=parse,
                                     convert_options=convert)
            yield from stream
        except pa.ArrowInvalid as exc:
            raise DocumentError(f"pyarrow could not read the flat file: {exc}",
                                document=self.label, reason="format") from None

    def to_polars(self, *, infer_types: bool = False) -> Any:
        """A ``polars.DataFrame`` built by polars' CSV reader (all columns strings unless
        ``infer_types=True``). Needs ``pip install 'sellerkit[columnar]'``."""
        pl = _require("polars", "to_polars()", "pip install 'sellerkit[columnar]'")
        fmt, codec, quoted = self._columnar_options()
        reader = _Utf8Reader(self._utf8_pieces(codec))
        keys = reader.header(fmt, quoted, self.stats)
        return _polars_read(pl, reader, fmt, quoted, keys, infer_types, self.label)

    def to_dataframe(self, *, infer_types: bool = False) -> Any:
        """A ``pandas.DataFrame`` built by pandas' CSV reader; values stay strings (so "NA", the
        code of Namibia, stays "NA") unless ``infer_types=True``. Needs ``pip install pandas``."""
        pd = _require("pandas", "to_dataframe()", "pip install pandas")
        fmt, codec, quoted = self._columnar_options()
        reader = _Utf8Reader(self._utf8_pieces(codec))
        keys = reader.header(fmt, quoted, self.stats)
        return _pandas_read(pd, reader, fmt, quoted, keys, infer_types, self.label)

    def _utf8_pieces(self, codec: str) -> Iterator[bytes]:
        if codec in ("utf-8", "utf-8-sig"):
            # pyarrow/polars/pandas check UTF-8 themselves; skip the decode round trip
            return self.iter_bytes()
        return (t.encode("utf-8") for t in self.iter_text())


class AsyncDocument(_Base):
    """The async twin of ``Document``: ``chunks`` is an async iterable of bytes
    (``response.aiter_bytes()``) or a callable returning one. Methods are async generators
    (``async for row in doc.rows()``) or coroutines (``await doc.json()``)."""

    def __init__(self, chunks: AsyncIterable[bytes] | Callable[[], AsyncIterable[bytes]], *,
                 document_id: str | None = None, report_id: str | None = None,
                 content_type: str | None = None, compression_algorithm: str | None = None,
                 content_encoding: str | None = None, charset: str | None = None,
                 format: str | None = None, report_type: str | None = None,  # noqa: A002
                 quoting: str | None = None) -> None:
        super().__init__(document_id=document_id, report_id=report_id, content_type=content_type,
                         compression_algorithm=compression_algorithm,
                         content_encoding=content_encoding, charset=charset, format=format,
                         report_type=report_type, quoting=quoting)
        self._source = chunks

    def _chunks(self) -> AsyncIterable[bytes]:
        if callable(self._source):
            return self._source()
        self._claim()
        return self._source

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        inflater = _Inflater(self.label, self.stats)
        async for chunk in self._chunks():
            for piece in inflater.feed(chunk):
                yield piece
        for piece in inflater.close():
            yield piece

    async def _pieces(self) -> AsyncIterator[bytes]:
        pieces = self.iter_bytes()
        head = b""
        async for piece in pieces:
            head += piece
            if len(head) >= _HEAD:
                break
        self._settle(head)
        if head:
            yield head
        async for piece in pieces:
            yield piece

    async def iter_text(self) -> AsyncIterator[str]:
        decoder = None
        async for piece in self._pieces():
            if decoder is None:
                decoder = self._decoder()
            text = decoder.feed(piece)
            if text:
                yield text
        text = (decoder or self._decoder()).feed(b"", final=True)
        if text:
            yield text

    async def text(self) -> str:
        return "".join([t async for t in self.iter_text()])

    async def rows(self, *, ragged: str = "pad") -> AsyncIterator[dict[str, str]]:
        if self._format is not None:
            self._row_parser(ragged)
        texts = self.iter_text()
        first = await anext(texts, "")
        parser = self._row_parser(ragged)
        for row in parser.feed(first):
            yield row
        async for text in texts:
            for row in parser.feed(text):
                yield row
        for row in parser.close():
            yield row

    async def json(self) -> Any:
        return _parse_json(await self.text(), self.label)

    async def json_items(self, key: str | None = None) -> AsyncIterator[Any]:
        parser = _JsonItems(key, self.label)
        async for text in self.iter_text():
            for item in parser.feed(text):
                yield item
        for item in parser.close():
            yield item

    async def json_lines(self) -> AsyncIterator[Any]:
        parser = _JsonLines(self.label)
        async for text in self.iter_text():
            for item in parser.feed(text):
                yield item
        for item in parser.close():
            yield item

    async def xml_elements(self, tag: str | None = None) -> AsyncIterator[ET.Element]:
        parser = _XmlElements(tag, self.label)
        async for text in self.iter_text():
            for el in parser.feed(text):
                yield el
        for el in parser.close():
            yield el

    async def xml(self) -> ET.Element:
        parser, _ = _xml_parser()
        try:
            async for text in self.iter_text():
                parser.feed(text)
            return parser.close()
        except (ET.ParseError, _ForbiddenDtd) as exc:
            raise _xml_error(exc, self.label) from None

    async def save(self, path: str | os.PathLike[str], *, encoding: str | None = None) -> Path:
        """As ``Document.save``; writes go to a local file as the chunks arrive."""
        with _AtomicFile(path) as fh:
            if encoding is None:
                async for piece in self.iter_bytes():
                    fh.write(piece)
            else:
                encoder = codecs.getincrementalencoder(encoding)("strict")
                async for text in self.iter_text():
                    fh.write(encoder.encode(text))
                fh.write(encoder.encode("", final=True))
        return fh.path

    async def _spooled(self, export: str, infer_types: bool) -> Any:
        """Download into a private temporary file, then run the sync export on it in a thread
        (the columnar readers are synchronous)."""
        import asyncio
        fd, name = tempfile.mkstemp(prefix=".sellerkit-doc.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                async for piece in self.iter_bytes():
                    fh.write(piece)
            doc = Document.from_file(name, document_id=self.document_id,
                                     report_id=self.report_id, format=self._format)
            doc.codec = self.codec
            result = await asyncio.to_thread(getattr(doc, export), infer_types=infer_types)
            self.stats.header = doc.stats.header
            return result
        finally:
            os.unlink(name)

    async def to_arrow(self, *, infer_types: bool = False) -> Any:
        return await self._spooled("to_arrow", infer_types)

    async def to_polars(self, *, infer_types: bool = False) -> Any:
        return await self._spooled("to_polars", infer_types)

    async def to_dataframe(self, *, infer_types: bool = False) -> Any:
        return await self._spooled("to_dataframe", infer_types)


# atomic output ------------------------------------------------------------------------------------


class _AtomicFile:
    """A 0600 temporary file next to ``path``, renamed over it only when the block succeeds."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._fh: Any = None
        self._tmp = ""

    def __enter__(self) -> _AtomicFile:
        parent = self.path.parent
        if not parent.is_dir():
            raise ConfigurationError(f"cannot save to {self.path}: {parent} is not a directory")
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent)
        os.fchmod(fd, 0o600)
        self._fh = os.fdopen(fd, "wb", buffering=1024 * 1024)
        return self

    def write(self, data: bytes) -> None:
        self._fh.write(data)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            self._fh.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
                self._tmp = ""
                _fsync_dir(self.path.parent)
        finally:
            if self._tmp:
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# columnar exports -------------------------------------------------------------------------------


def _require(module: str, what: str, hint: str) -> Any:
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"{what} needs {module.split('.')[0]}: {hint}") from None


class _Utf8Reader(io.RawIOBase):
    """A read-only binary file over an iterator of UTF-8 byte pieces, for the CSV readers."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        super().__init__()
        self._pieces = pieces
        self._buf = b""
        self._first = True

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        piece = next(self._pieces, None)
        if piece is None:
            return False
        if self._first:
            self._first = False
            if piece.startswith(b"\xef\xbb\xbf"):
                piece = piece[3:]
        self._buf = self._buf + piece if self._buf else piece
        return True

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes, short only at the end (the CSV readers take a short read for
        the end of a block)."""
        if size is None or size < 0:
            parts = [self._buf]
            while (piece := next(self._pieces, None)) is not None:
                parts.append(piece)
            self._buf = b""
            data = b"".join(parts)
            return data[3:] if self._first and data.startswith(b"\xef\xbb\xbf") else data
        parts = [self._buf]
        have = len(self._buf)
        self._buf = b""
        while have < size and self._fill():
            parts.append(self._buf)
            have += len(self._buf)
            self._buf = b""
        data = b"".join(parts)
        self._buf = data[size:]
        return data[:size]

    def header(self, fmt: str, quoted: bool, stats: DocumentStats) -> list[str]:
        """Consume the header line and return its keys (the readers get the rest)."""
        while True:
            cut = self._buf.find(b"\n")
            if cut >= 0 or not self._fill():
                break
        if cut < 0:
            cut = len(self._buf)
        line = self._buf[:cut].decode("utf-8", errors="replace").rstrip("\r")
        self._buf = self._buf[cut + 1:]
        delimiter = "," if fmt == "csv" else "\t"
        fields = next(csv.reader([line], delimiter=delimiter)) if quoted else line.split("\t")
        stats.header = list(fields) if line else []
        return header_keys(fields) if line else []


def _arrow_options(pa_csv: Any, fmt: str, quoted: bool, keys: list[str], infer: bool
                   ) -> tuple[Any, Any, Any]:
    import pyarrow as pa
    delimiter = "," if fmt == "csv" else "\t"
    parse = (pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True) if quoted else
             pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                 escape_char=False, newlines_in_values=False))
    read = pa_csv.ReadOptions(column_names=keys, use_threads=True, block_size=4 << 20)
    convert = (pa_csv.ConvertOptions() if infer else pa_csv.ConvertOptions(
        column_types={k: pa.string() for k in keys}, strings_can_be_null=False,
        quoted_strings_can_be_null=False))
    return read, parse, convert


def _arrow_read(pa_csv: Any, reader: _Utf8Reader, fmt: str, quoted: bool, keys: list[str],
                infer: bool, label: str) -> Any:
    import pyarrow as pa
    if not keys:
        return pa.table({})
    read, parse, convert = _arrow_options(pa_csv, fmt, quoted, keys, infer)
    try:
        return pa_csv.read_csv(reader, read_options=read, parse_options=parse,
                               convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise DocumentError(f"pyarrow could not read the flat file: {exc} (rows() pads short rows"
                            " and names the offending line)", document=label,
                            reason="format") from None


def _polars_read(pl: Any, reader: _Utf8Reader, fmt: str, quoted: bool, keys: list[str],
                 infer: bool, label: str) -> Any:
    if not keys:
        return pl.DataFrame()
    import inspect
    params = inspect.signature(pl.read_csv).parameters
    opts: dict[str, Any] = {}
    if "empty_string_is_null" in params:  # polars 2
        opts["empty_string_is_null"] = infer
    elif "missing_utf8_is_empty_string" in params:  # polars 1
        opts["missing_utf8_is_empty_string"] = not infer
    try:
        return pl.read_csv(reader.read(), has_header=False, new_columns=keys,
                           separator="\t" if fmt == "tsv" else ",",
                           quote_char='"' if quoted else None, infer_schema=infer,
                           schema_overrides=None if infer else dict.fromkeys(keys, pl.String),
                           **opts)
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError) as exc:
        raise DocumentError(f"polars could not read the flat file: {exc}", document=label,
                            reason="format") from None


def _pandas_read(pd: Any, reader: _Utf8Reader, fmt: str, quoted: bool, keys: list[str],
                 infer: bool, label: str) -> Any:
    if not keys:
        return pd.DataFrame()
    opts: dict[str, Any] = {"sep": "," if fmt == "csv" else "\t"}
    if not quoted:
        opts["quoting"] = csv.QUOTE_NONE
    if not infer:
        opts.update(dtype=str, keep_default_na=False, na_filter=False)
    try:
        return pd.read_csv(io.BufferedReader(reader), header=None, names=keys,
                           encoding="utf-8", **opts)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DocumentError(f"pandas could not read the flat file: {exc}", document=label,
                            reason="format") from None
