"""Where LWA access tokens are cached between calls, threads and processes.

``LwaClient`` keeps an in-process copy of every token it fetched and consults a ``TokenStore`` on a
miss, so several processes (workers, cron jobs, the CLI) can share one token per credential set
instead of each asking Login with Amazon for its own:

- ``MemoryTokenStore``: the default; one process.
- ``FileTokenStore``: a JSON file (mode 0600, written atomically); processes on one machine.
- ``RedisTokenStore``: Redis (extra ``redis``); processes on many machines.

Keys are opaque hashes made by ``LwaClient`` (never a refresh token or secret). Values are
``CachedToken``: the access token and its absolute expiry (epoch seconds). Access tokens live one
hour; the stores keep them in plain text, so protect the file / Redis like any credential store.
A store that cannot be read degrades to a cache miss with a warning: a broken cache costs one token
request, never a failed API call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sellerkit._files import remove_stale_temps, temp_pattern, write_private

__all__ = [
    "CachedToken",
    "FileTokenStore",
    "MemoryTokenStore",
    "RedisTokenStore",
    "TokenStore",
]

log = logging.getLogger("sellerkit.auth")


@dataclass(frozen=True, slots=True)
class CachedToken:
    """An access token and the epoch second at which Amazon stops accepting it.

    ``issued_at`` (optional) lets the client scale its early-refresh margin down for short-lived
    tokens (emulators, tests), so a 30-second token is not refreshed on every call.
    """

    access_token: str = field(repr=False)
    expires_at: float
    issued_at: float | None = None

    def __repr__(self) -> str:
        return (f"CachedToken(access_token='**********', expires_at={self.expires_at!r}, "
                f"issued_at={self.issued_at!r})")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"access_token": self.access_token, "expires_at": self.expires_at}
        if self.issued_at is not None:
            data["issued_at"] = self.issued_at
        return data

    @classmethod
    def from_json(cls, data: Any) -> CachedToken | None:
        """Rebuild from ``to_json`` output; ``None`` for anything malformed."""
        if not isinstance(data, dict):
            return None
        token, expires = data.get("access_token"), data.get("expires_at")
        if not isinstance(token, str) or not token or isinstance(expires, bool) \
                or not isinstance(expires, int | float):
            return None
        issued = data.get("issued_at")
        if isinstance(issued, bool) or not isinstance(issued, int | float):
            issued = None
        return cls(token, float(expires), float(issued) if issued is not None else None)


@runtime_checkable
class TokenStore(Protocol):
    """Storage for cached access tokens. Implementations must be safe to call from many threads."""

    def get(self, key: str) -> CachedToken | None: ...

    def set(self, key: str, token: CachedToken) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryTokenStore:
    """A dict behind a lock: tokens shared by the threads of one process."""

    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        with self._lock:
            return self._tokens.get(key)

    def set(self, key: str, token: CachedToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self)} tokens)"


class FileTokenStore:
    """Tokens in one JSON file, shared by the processes of one machine.

    Every write goes to a temporary file (mode 0600 from its creation) in the same directory, is
    fsynced, then replaces the file with ``os.replace``, so a reader never sees half a file. Writers
    serialize on a lock file (``<path>.lock``, POSIX ``flock``) so two processes do not lose each
    other's tokens. Expired entries are dropped on every write. A corrupt or unreadable file counts
    as empty (with a warning) and is overwritten on the next write.

    A process killed in the middle of a write leaves its temporary file
    (``.<name>.XXXXXXXX.tmp``); opening the store removes such leftovers: all of them when no
    writer holds the lock, else those older than a few seconds. Writes clean up the same way.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time
                 ) -> None:
        self.path = Path(path).expanduser()
        self._clock = clock
        self._lock = threading.Lock()
        self._remove_leftovers()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    def get(self, key: str) -> CachedToken | None:
        return CachedToken.from_json(self._read().get(key))

    def set(self, key: str, token: CachedToken) -> None:
        with self._write_lock():
            data = self._read()
            now = self._clock()
            data = {k: v for k, v in data.items()
                    if (t := CachedToken.from_json(v)) is not None and t.expires_at > now}
            data[key] = token.to_json()
            self._write(data)

    def delete(self, key: str) -> None:
        with self._write_lock():
            data = self._read()
            if key in data:
                del data[key]
                self._write(data)

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("token store %s cannot be read (%s); treating it as empty",
                        self.path, exc.strerror or type(exc).__name__)
            return {}
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("token store %s is corrupt (not a JSON object); treating it as empty; "
                        "it is rewritten on the next token refresh", self.path)
            return {}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        # Called with the writers' lock held: any temporary file of ours is a leftover.
        if self._locks_processes:
            remove_stale_temps(self.path, min_age=0)
        # write_private: a mkstemp file (mode 0600 from creation, so the tokens are never
        # readable by others, not even before the rename), fsynced, os.replace'd, dir fsynced.
        write_private(self.path, json.dumps(data, separators=(",", ":"), sort_keys=True))

    @property
    def _locks_processes(self) -> bool:
        try:
            import fcntl  # noqa: F401
        except ImportError:
            return False
        return True

    def _remove_leftovers(self) -> None:
        """Delete temporary files a killed writer left (best effort, never fails the open)."""
        pattern = temp_pattern(self.path)
        try:
            if not any(pattern.fullmatch(name) for name in os.listdir(self.path.parent)):
                return
        except OSError:
            return
        try:
            import fcntl
        except ImportError:
            remove_stale_temps(self.path)
            return
        try:
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            remove_stale_temps(self.path)
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a writer is at work: leave its file, take only old ones
                remove_stale_temps(self.path)
            else:
                remove_stale_temps(self.path, min_age=0)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        with self._lock:
            try:
                import fcntl
            except ImportError:  # Windows: the thread lock is all we have.
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock


class RedisTokenStore:
    """Tokens in Redis, shared by every process that reaches the server.

    ``url_or_client`` is a ``redis://`` URL or an existing ``redis.Redis`` client. Each token is one
    key (``prefix + key``) holding JSON, set with a PX expiry so Redis drops it when Amazon would.
    Redis errors are logged and treated as a cache miss. A client made from a URL gives up on an
    unresponsive server after ``timeout`` seconds, so a hung Redis delays a call, never blocks it.
    """

    def __init__(self, url_or_client: Any, prefix: str = "sellerkit:lwa:", *,
                 clock: Callable[[], float] = time.time, timeout: float = 2.0) -> None:
        try:
            import redis
        except ImportError as exc:
            from sellerkit.errors import ConfigurationError

            raise ConfigurationError(
                "RedisTokenStore needs the redis package: pip install 'sellerkit[redis]'"
            ) from exc
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        if isinstance(url_or_client, str):
            self._redis = redis.Redis.from_url(url_or_client, socket_timeout=timeout,
                                               socket_connect_timeout=timeout)
            self._where = _redact_url(url_or_client)
        else:
            self._redis = url_or_client
            self._where = type(url_or_client).__name__
        self.prefix = prefix
        self._clock = clock

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._where!r}, prefix={self.prefix!r})"

    def get(self, key: str) -> CachedToken | None:
        try:
            raw = self._redis.get(self.prefix + key)
        except self._errors as exc:
            log.warning("token store %s: GET failed (%s); fetching a new token instead",
                        self._where, type(exc).__name__)
            return None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        token = CachedToken.from_json(data)
        if token is None:
            log.warning("token store %s: entry %s is corrupt; ignoring it", self._where,
                        self.prefix + key)
        return token

    def set(self, key: str, token: CachedToken) -> None:
        ttl_ms = int((token.expires_at - self._clock()) * 1000)
        try:
            if ttl_ms <= 0:
                self._redis.delete(self.prefix + key)
                return
            self._redis.set(self.prefix + key, json.dumps(token.to_json()), px=ttl_ms)
        except self._errors as exc:
            log.warning("token store %s: SET failed (%s); the token is cached in this process only",
                        self._where, type(exc).__name__)

    def delete(self, key: str) -> None:
        try:
            self._redis.delete(self.prefix + key)
        except self._errors as exc:
            log.warning("token store %s: DELETE failed (%s)", self._where, type(exc).__name__)


def _redact_url(url: str) -> str:
    """``redis://user:pw@host/0`` -> ``redis://***@host/0``: the password never reaches a repr."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "redis"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, "", ""))
