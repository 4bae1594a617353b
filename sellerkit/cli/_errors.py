"""Errors in command-line terms, and the one channel they leave by.

The library's messages speak Python (``pass client_id= and client_secret=``,
``options=CallOptions(timeout=...)``). Errors carry what a front end needs to say it otherwise:
``ConfigurationError.missing`` names the settings that were missing, ``RateLimitWaitError`` has
its operation, wait and budget. ``cli_message`` turns them into flags, environment variables
and profile keys; a few remaining Python phrases are rewritten by a table.

``error_document`` is the JSON object ``--json`` writes to stderr for every failure::

    {"error": {"type": "ValidationError", "message": "...", "exit_code": 2, ...}}
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["SETTING_FLAGS", "cli_message", "error_document", "exit_code_of", "how_to_set"]

#: Settings the command line sets with a flag (``sellerkit call``).
SETTING_FLAGS: dict[str, str] = {
    "marketplace": "--marketplace",
    "region": "--region",
    "endpoint": "--endpoint",
    "lwa_endpoint": "--lwa-endpoint",
    "sandbox": "--sandbox",
    "profile": "--profile",
    "timeout": "--timeout",
}

# What else fixes a missing setting, in CLI words.
_ALTERNATIVES = {"marketplace": "--region"}

# Python phrasings that may still reach the command line, and what the CLI calls them.
_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"options=CallOptions\(rdt=False\)"), "--no-rdt"),
    (re.compile(r"(?:the call's )?timeout \(options=CallOptions\(timeout=\.\.\.\)\)"),
     "--timeout"),
    (re.compile(r"(?:the call's )?max_wait \(options=CallOptions\(max_wait=\.\.\.\)\)"),
     "--max-wait"),
    (re.compile(r"options=CallOptions\(max_wait=[^)]*\)"), "--max-wait"),
    (re.compile(r"options=CallOptions\(timeout=[^)]*\)"), "--timeout"),
    (re.compile(r"options=CallOptions\(rdt_data_elements=[^)]*\)"), "--rdt-elements"),
    (re.compile(r"pass items='<field name>'"), "pass --items FIELD"),
    (re.compile(r"or choose another backend$"),
     "or pass --rate-limiter memory (or set SELLERKIT_RATE_LIMITER)"),
]


def _env_names(name: str) -> list[str]:
    from sellerkit.config import env_names

    return env_names(name)


def _config_file() -> str:
    from sellerkit.config import default_config_file

    try:
        return str(default_config_file())
    except Exception:  # noqa: BLE001 - only for a hint; never hide the real error
        return "the sellerkit config file"


def how_to_set(missing: tuple[str, ...] | list[str]) -> str:
    """``pass --x, set SELLERKIT_X (or ALIAS), or x in a profile of PATH`` for settings."""
    names = list(missing)
    parts: list[str] = []
    flags = [SETTING_FLAGS[n] for n in names if n in SETTING_FLAGS]
    if flags and len(flags) == len(names):
        alt = [_ALTERNATIVES[n] for n in names if n in _ALTERNATIVES]
        parts.append("pass " + " and ".join(flags) + (f" (or {' / '.join(alt)})" if alt else ""))
    envs = [_env_names(n) for n in names]
    main = " and ".join(e[0] for e in envs)
    aliases = [e[1:] for e in envs]
    text = f"set {main}"
    if all(aliases):
        text += f" (or {' and '.join(a[0] for a in aliases)})"
    parts.append(text)
    keys = " and ".join(names)
    parts.append(f"{keys} in a profile of {_config_file()} (pick one with --profile or "
                 "SELLERKIT_PROFILE)")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):g} s"
    except (TypeError, ValueError):
        return "0 s"


def cli_message(exc: BaseException) -> str:
    """The message of ``exc`` in command-line terms."""
    from sellerkit.errors import ConfigurationError, RateLimitWaitError

    if isinstance(exc, ConfigurationError) and exc.missing:
        problem = exc.problem or str(exc).split(":", 1)[0]
        return f"{problem}: {how_to_set(exc.missing)}"
    if isinstance(exc, RateLimitWaitError):
        layer = getattr(exc, "layer", None) or "rate limit"
        return (f"{exc.operation}: the next token of the {layer} is {float(exc.wait):.1f} s away, "
                f"more than this call may wait ({_seconds(exc.budget)}); raise --max-wait or "
                "leave it out (the command line then waits as long as the quota requires)")
    text = str(exc)
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    return text


def exit_code_of(exc: BaseException) -> int:
    """1 when Amazon (or the network) refused, 2 for mistakes the user can fix here."""
    from sellerkit.errors import ApiError, AuthError, TransportError

    if isinstance(exc, ApiError | AuthError | TransportError):
        return 1
    code = getattr(exc, "exit_code", None)
    return code if isinstance(code, int) and code > 0 else 2


def error_document(exc: BaseException, message: str, exit_code: int) -> dict[str, Any]:
    """The ``--json`` error object for ``exc`` (``message`` already redacted)."""
    from sellerkit.errors import ApiError, ValidationError

    doc: dict[str, Any] = {"type": type(exc).__name__, "message": message,
                           "exit_code": exit_code}
    if isinstance(exc, ApiError):
        doc.update(status=exc.status, code=exc.code, details=exc.details,
                   request_id=exc.request_id, errors=exc.errors, operation=exc.operation)
    elif isinstance(exc, ValidationError):
        doc.update(operation=exc.operation, problems=[str(p) for p in exc.problems])
    return {"error": doc}
