"""Shared fixtures. Services (Redis, PostgreSQL) are real servers: a test that needs one skips with a
reason when it is down on a developer machine, and fails in CI (CI=true), where .ci/run starts them.

Amazon's models (``SELLERKIT_MODELS_DIR``, else ``../shared/sp-api-models``; see
tools/models_source.py) are needed by a few tests: those use ``requires_models`` or
``models_file()`` and skip, saying why, on a fresh clone without them. In CI nothing may skip:
every skip there is turned into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

_ROOT = Path(__file__).resolve().parent.parent


def _load_models_source() -> Any:
    spec = importlib.util.spec_from_file_location("_sellerkit_models_source",
                                                  _ROOT / "tools" / "models_source.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


models_source = _load_models_source()
_MODELS_LOCATION = models_source.locate()
MODELS_ROOT: Path | None = _MODELS_LOCATION.root  # the copy of amzn/selling-partner-api-models
MODELS_SKIP_REASON: str = _MODELS_LOCATION.reason
requires_models = pytest.mark.skipif(MODELS_ROOT is None, reason=MODELS_SKIP_REASON)


def models_file(relative: str) -> Path:
    """A file of Amazon's models (``"schemas/feeds/x.json"``); skips the test when absent."""
    if MODELS_ROOT is None:
        pytest.skip(MODELS_SKIP_REASON)
    path = MODELS_ROOT / relative
    if not path.is_file():
        pytest.fail(f"{relative} is not in the models at {MODELS_ROOT}")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """In CI (CI=true) a skipped test is a failed test: CI has every service and the models."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {reason}"

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


def in_ci() -> bool:
    """CI=true (as .ci/run sets it); "", "0", "false" and "no" mean a developer machine."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _reachable(url: str, default_port: int) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def _per_worker(url: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, db = url.rpartition("/")
    number = int(db) if db.isdigit() else 15
    return f"{base}/{max(0, number - int(worker[2:]))}"


def _need(url: str, port: int, what: str) -> str:
    if not _reachable(url, port):
        if in_ci():
            pytest.fail(f"{what} is not reachable at {url}; .ci/run should have started it")
        pytest.skip(f"{what} is not reachable at {url} (start it, or set the URL env var)")
    return url


@pytest.fixture
def redis_url() -> str:
    """A real Redis database for the test; flushed before use. Under pytest-xdist each worker
    gets a database of its own (15, 14, ... counted down from the configured one)."""
    url = _need(_per_worker(REDIS_URL), 6379, "Redis")
    import redis

    r = redis.Redis.from_url(url)
    r.flushdb()
    r.close()
    return url


@pytest.fixture
def postgres_url() -> str:
    return _need(POSTGRES_URL, 5432, "PostgreSQL")
