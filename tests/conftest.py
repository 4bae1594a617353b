"""Shared fixtures. Services (Redis, PostgreSQL) are real servers: a test that needs one skips with a
reason when it is down on a developer machine, and fails in CI (CI=true), where .ci/run starts them.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

REDIS_URL = os.environ.get("SELLERKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("SELLERKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's real credentials, profile or environment, or writes state
    (rate-limit snapshots) into their home directory."""
    for name in list(os.environ):
        if name.startswith(("SELLERKIT_", "LWA_", "SP_API_")) and not name.startswith("SELLERKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SELLERKIT_CONFIG", os.devnull)
    monkeypatch.setenv("SELLERKIT_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def _reachable(url: str, default_port: int) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def _need(url: str, port: int, what: str) -> str:
    if not _reachable(url, port):
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not reachable at {url}; .ci/run should have started it")
        pytest.skip(f"{what} is not reachable at {url} (start it, or set the URL env var)")
    return url


@pytest.fixture
def redis_url() -> str:
    """A real Redis database for the test; flushed before use."""
    url = _need(REDIS_URL, 6379, "Redis")
    import redis

    r = redis.Redis.from_url(url)
    r.flushdb()
    r.close()
    return url


@pytest.fixture
def postgres_url() -> str:
    return _need(POSTGRES_URL, 5432, "PostgreSQL")
