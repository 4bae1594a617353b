"""Per-call options, kept apart from API parameters.

``CallOptions`` fields default to ``UNSET``: an unset field falls back to the client's setting.
An explicit ``None`` for ``timeout``, ``max_wait`` or ``max_attempts`` means the same as unset
(there is no "no timeout"; "no bound on the wait for quota" is ``max_wait=math.inf``).
Precedence: call > client > built-in default.

Every field is checked when the ``CallOptions`` is made, so a wrong type or value fails at once
with a ``ConfigurationError`` that names the field, what it got and what it takes; it never
surfaces later, in the middle of a call, as an ``AttributeError`` or ``TypeError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sellerkit.errors import ConfigurationError


class _Unset:
    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True)
class CallOptions:
    """Options for one call.

    timeout: seconds for one HTTP attempt (connect, send and read), never the wait for quota.
    max_wait: seconds a call may wait for rate-limit capacity (0 fails fast, ``math.inf``: as
        long as the quota requires); unset: the client's (``paginate`` and ``sellerkit.bulk``
        wait as long as the quota requires).
    max_attempts: attempts including the first (1 disables retries).
    rdt: False to call a restricted operation with the plain access token (no buyer data).
    rdt_data_elements: data elements for the Restricted Data Token (e.g. ``["buyerInfo"]``);
        a single string is one element (``"buyerInfo"`` means ``["buyerInfo"]``), never split
        into characters. Kept as a tuple.
    restricted_data_token: an RDT you obtained yourself; sent instead of the access token.
    headers: extra request headers (str names and values; printable ASCII, no CR/LF).

    ``None`` for timeout, max_wait or max_attempts means the same as leaving it unset.
    """

    timeout: float | _Unset = UNSET
    max_wait: float | _Unset = UNSET
    max_attempts: int | _Unset = UNSET
    rdt: bool = True
    rdt_data_elements: Sequence[str] | _Unset = UNSET
    restricted_data_token: str | _Unset = UNSET
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name, minimum, strict in (("timeout", 0.0, True), ("max_wait", 0.0, False)):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, UNSET)
            elif value is not UNSET:
                problem = _seconds_problem(value, minimum, strict=strict,
                                           allow_inf=name == "max_wait")
                if problem:
                    problems.append(f"{name} {problem}")
                else:
                    object.__setattr__(self, name, float(value))
        a = self.max_attempts
        if a is None:
            object.__setattr__(self, "max_attempts", UNSET)
        elif a is not UNSET and (isinstance(a, bool) or not isinstance(a, int) or a < 1):
            problems.append(f"max_attempts must be a whole number >= 1 (1 disables retries), "
                            f"got {_shown(a)}")
        if not isinstance(self.rdt, bool):
            problems.append(f"rdt must be True or False, got {_shown(self.rdt)}")
        elements = self.rdt_data_elements
        if elements is not UNSET:
            if isinstance(elements, str):
                elements = (elements,)  # one element, not its characters
            if not isinstance(elements, Sequence | set | frozenset) or isinstance(elements,
                                                                                  bytes):
                problems.append("rdt_data_elements must be a list of data element names such "
                                f"as ['buyerInfo', 'shippingAddress'], got {_shown(elements)}")
            else:
                bad = [e for e in elements if not isinstance(e, str) or not _ELEMENT.fullmatch(e)]
                if bad:
                    problems.append(
                        "rdt_data_elements must hold names such as 'buyerInfo' or "
                        f"'shippingAddress' (letters only), got {_shown(bad[0])}")
                else:
                    object.__setattr__(self, "rdt_data_elements", tuple(elements))
        t = self.restricted_data_token
        if t is not UNSET and (not isinstance(t, str) or not t.strip()
                               or header_value_problem(t)):
            problems.append("restricted_data_token must be the non-empty token string that "
                            "createRestrictedDataToken returned")
        h = self.headers
        if not isinstance(h, Mapping):
            problems.append("headers must be a dict of header name to value, such as "
                            f"{{'x-amzn-idempotency-token': '...'}}, got {_shown(h)}")
        else:
            for k, v in h.items():
                problem = header_problem(k, v)
                if problem:
                    problems.append(f"headers: {problem}")
            if not problems:
                object.__setattr__(self, "headers", dict(h))
        if problems:
            raise ConfigurationError("invalid CallOptions: " + "; ".join(problems))

    def __repr__(self) -> str:
        shown: dict[str, Any] = {}
        for name in ("timeout", "max_wait", "max_attempts", "rdt_data_elements"):
            v = getattr(self, name)
            if v is not UNSET:
                shown[name] = v
        if not self.rdt:
            shown["rdt"] = False
        if self.restricted_data_token is not UNSET:
            shown["restricted_data_token"] = "**********"  # noqa: S105 (a mask)
        if self.headers:
            shown["headers"] = list(self.headers)
        return "CallOptions(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


DEFAULT_OPTIONS: Final = CallOptions()

_ELEMENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# RFC 9110 token characters: what a header name (and a method) may contain.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _shown(value: Any) -> str:
    r = repr(value)
    return f"{type(value).__name__} {r if len(r) <= 40 else r[:37] + '...'}"


def _seconds_problem(value: Any, minimum: float, *, strict: bool, allow_inf: bool) -> str:
    """What is wrong with a number of seconds, or ''."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of seconds, got {_shown(value)}"
    if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
        return f"must be a finite number of seconds, got {value!r}"
    if value < minimum or (strict and value <= minimum):
        op = ">" if strict else ">="
        return f"must be {op} {minimum:g} seconds, got {value!r}"
    return ""


def header_value_problem(value: str) -> str:
    """What makes a header value unsendable, or '' (printable ASCII and tabs only: line breaks
    would split the request, and httpx encodes header values as ASCII)."""
    for i, c in enumerate(value):
        if c in "\r\n":
            return f"contains a line break at position {i}, which would split the request"
        if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F:
            return f"contains the control character {c!r} at position {i}"
        if ord(c) > 0x7E:
            return (f"contains the non-ASCII character {c!r} at position {i}, which HTTP headers "
                    "cannot carry (percent-encode or base64 it)")
    return ""


def header_problem(name: Any, value: Any) -> str:
    """What is wrong with one request header, or '' (names are RFC 9110 tokens; values are str
    of printable ASCII, without CR/LF)."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return (f"header name {name!r:.40} is not a valid HTTP header name (letters, digits "
                "and -, no spaces or line breaks)")
    if not isinstance(value, str):
        # The value itself is shown only when it cannot be a credential.
        plain = value is None or isinstance(value, int | float)
        hint = ("; leave the header out to send none" if value is None
                else f"; pass str({value!r:.20})" if plain else "")
        got = _shown(value) if plain else type(value).__name__
        return f"header {name!r} must have a str value, got {got}{hint}"
    problem = header_value_problem(value)
    return f"header {name!r} {problem}" if problem else ""


def _masked(name: Any, value: Any) -> str:
    """A CallOptions argument as it may appear in a message: no token or header value."""
    if name == "restricted_data_token":
        return "'...'"
    if name == "headers" and isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r:.40}: '...'" for k in value) + "}"
    return f"{value!r:.40}"


def check_call_options(options: Any) -> CallOptions:
    """``options`` as given to a call: a CallOptions, or None for the defaults."""
    if options is None:
        return DEFAULT_OPTIONS
    if isinstance(options, CallOptions):
        return options
    if isinstance(options, Mapping):
        args = ", ".join(f"{k}={_masked(k, v)}" for k, v in options.items())
        raise ConfigurationError(
            f"options must be a CallOptions, not a {type(options).__name__}: write "
            f"options=CallOptions({args}) (from sellerkit import CallOptions)")
    raise ConfigurationError(
        f"options must be a CallOptions (from sellerkit import CallOptions), got "
        f"{_shown(options)}")
