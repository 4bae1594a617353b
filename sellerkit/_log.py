"""Logging helpers shared by every part of sellerkit.

sellerkit never configures logging: it only creates loggers named ``sellerkit.<part>`` and leaves
handlers, levels and formats to the application. What it does provide is ``redact``, which masks
anything that looks like a Login with Amazon token or an LWA client secret, for use wherever text
that might contain one (a request body, a URL, an error from a server) is about to be logged, and
``RedactingFilter``, a logging filter applications or tests can attach to a handler.

Presigned document URLs are bearer credentials: their query string is the signature. httpx logs
every request URL at INFO (logger ``httpx``), so ``hide_url_in_logs`` marks the requests sellerkit
makes to such URLs; a filter on the ``httpx`` logger, installed on first use, replaces the query
string of the records made inside that block, and only of those: the application's own httpx
logging is left as it is, and no level or handler is changed.

    >>> redact("refresh_token=Atzr|IwEBIA-abc&client_secret=amzn1.oa2-cs.v1.0123abcd")
    'refresh_token=Atzr|***&client_secret=amzn1.oa2-cs.v1.***'
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
from collections.abc import Iterator

__all__ = ["RedactingFilter", "get_logger", "hide_url_in_logs", "redact", "redact_url_queries",
           "scrub_secrets"]

# LWA access tokens (Atza|), refresh tokens (Atzr|) and restricted data tokens (Atz.sprdt|) are
# opaque strings of URL-safe base64 and a few separators. In form bodies and URLs the pipe arrives
# percent-encoded as %7C (or %257C, encoded twice), so every spelling is masked.
_TOKEN = re.compile(r"(?P<prefix>Atz(?:a|r|\.sprdt)(?:\||%7[cC]|%257[cC]))[A-Za-z0-9\-_.~+/=%|]+")
_CLIENT_SECRET = re.compile(r"(?P<prefix>amzn1\.oa2-cs\.v1\.)[A-Za-z0-9\-_.~+/=%]+")

MASK = "***"


def redact(text: str) -> str:
    """``text`` with LWA tokens and client secrets replaced by their prefix and ``***``."""
    if "Atz" not in text and "amzn1.oa2-cs" not in text:
        return text
    text = _TOKEN.sub(lambda m: m.group("prefix") + MASK, text)
    return _CLIENT_SECRET.sub(lambda m: m.group("prefix") + MASK, text)


SECRET_MASK = "**********"  # noqa: S105 - a mask, not a password


def _secret_pattern(secret: str) -> re.Pattern[str]:
    """Matches ``secret`` as sent in any spelling: raw, percent-encoded once or twice (upper or
    lower case hex, each character either way), form-encoded (``+`` for a space)."""
    parts = []
    for ch in secret:
        alts = [re.escape(ch)]
        hexes = [f"{b:02X}" for b in ch.encode("utf-8")]
        once = "".join(f"%[{h[0]}{h[0].lower()}][{h[1]}{h[1].lower()}]" for h in hexes)
        alts.append(once)
        alts.append(once.replace("%", "%25"))  # encoded twice
        if ch == " ":
            alts.append(r"\+")
        parts.append("(?:" + "|".join(alts) + ")")
    return re.compile("".join(parts))


def scrub_secrets(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with every occurrence of each secret, however it was URL- or form-encoded,
    replaced by a mask; then anything that looks like an LWA token or client secret is masked
    too (``redact``)."""
    for secret in secrets:
        if secret and len(secret) <= 4096:
            text = _secret_pattern(secret).sub(SECRET_MASK, text)
        elif secret:
            text = text.replace(secret, SECRET_MASK)
    return redact(text)


class RedactingFilter(logging.Filter):
    """Masks tokens and secrets in a record's formatted message (and its exception text).

    Attach it to a handler: ``handler.addFilter(RedactingFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_URL_QUERY = re.compile(r"(?P<base>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]*")
URL_QUERY_MASK = "?<redacted>"


def redact_url_queries(text: str) -> str:
    """``text`` with the query string of every absolute URL replaced by ``?<redacted>``."""
    if "://" not in text:
        return text
    return _URL_QUERY.sub(lambda m: m.group("base") + URL_QUERY_MASK, text)


_hiding: contextvars.ContextVar[bool] = contextvars.ContextVar("sellerkit_hide_url", default=False)
# Loggers of the HTTP stack that may print a request URL.
_HTTP_LOGGERS = ("httpx",)
_install_lock = threading.Lock()


class _HideUrlFilter(logging.Filter):
    """Rewrites records made inside ``hide_url_in_logs``; every other record passes untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _hiding.get():
            return True
        message = record.getMessage()
        clean = redact_url_queries(message)
        if clean != message:
            record.msg = clean
            record.args = None
        return True


_FILTER = _HideUrlFilter()


def _install() -> None:
    with _install_lock:
        for name in _HTTP_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


@contextlib.contextmanager
def hide_url_in_logs() -> Iterator[None]:
    """Keep the query string of the URLs requested inside the block out of httpx's log records
    (this thread or task only)."""
    _install()
    token = _hiding.set(True)
    try:
        yield
    finally:
        _hiding.reset(token)


def get_logger(part: str) -> logging.Logger:
    """The logger of one part of sellerkit, ``sellerkit.<part>``."""
    return logging.getLogger(f"sellerkit.{part}")
