"""Logging helpers shared by every part of sellerkit.

sellerkit never configures logging: it only creates loggers named ``sellerkit.<part>`` and leaves
handlers, levels and formats to the application. What it does provide is ``redact``, which masks
anything that looks like a Login with Amazon token or an LWA client secret, for use wherever text
that might contain one (a request body, a URL, an error from a server) is about to be logged, and
``RedactingFilter``, a logging filter applications or tests can attach to a handler.

    >>> redact("refresh_token=Atzr|IwEBIA-abc&client_secret=amzn1.oa2-cs.v1.0123abcd")
    'refresh_token=Atzr|***&client_secret=amzn1.oa2-cs.v1.***'
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "get_logger", "redact"]

# LWA access tokens (Atza|), refresh tokens (Atzr|) and restricted data tokens (Atz.sprdt|) are
# opaque strings of URL-safe base64 and a few separators. In form bodies and URLs the pipe arrives
# percent-encoded as %7C, so both spellings are masked.
_TOKEN = re.compile(r"(?P<prefix>Atz(?:a|r|\.sprdt)(?:\||%7[cC]))[A-Za-z0-9\-_.~+/=%|]+")
_CLIENT_SECRET = re.compile(r"(?P<prefix>amzn1\.oa2-cs\.v1\.)[A-Za-z0-9\-_.~+/=%]+")

MASK = "***"


def redact(text: str) -> str:
    """``text`` with LWA tokens and client secrets replaced by their prefix and ``***``."""
    if "Atz" not in text and "amzn1.oa2-cs" not in text:
        return text
    text = _TOKEN.sub(lambda m: m.group("prefix") + MASK, text)
    return _CLIENT_SECRET.sub(lambda m: m.group("prefix") + MASK, text)


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


def get_logger(part: str) -> logging.Logger:
    """The logger of one part of sellerkit, ``sellerkit.<part>``."""
    return logging.getLogger(f"sellerkit.{part}")
