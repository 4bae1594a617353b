"""Token stores: memory, file (0600, atomic, corrupt-tolerant, multi-writer) and real Redis."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from pathlib import Path

import httpx
import pytest
from lwa_fake import CLIENT_ID, CLIENT_SECRET, ENDPOINT, REFRESH, FakeLwa

from sellerkit.auth import (
    CachedToken,
    FileTokenStore,
    LwaClient,
    MemoryTokenStore,
    RedisTokenStore,
    TokenStore,
)

FAR = 4_000_000_000.0  # an expiry far in the future (year 2096)


def test_cached_token_repr_masks_the_token() -> None:
    token = CachedToken("Atza|secret-access-token", 123.0)
    assert "secret-access-token" not in repr(token)
    assert "123.0" in repr(token)
    assert CachedToken.from_json(token.to_json()) == token
    for bad in (None, [], {"access_token": ""}, {"access_token": "x", "expires_at": "soon"},
                {"access_token": "x", "expires_at": True}, {"expires_at": 1}):
        assert CachedToken.from_json(bad) is None


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_stores_follow_the_protocol(kind: str, tmp_path: Path) -> None:
    store: TokenStore = MemoryTokenStore() if kind == "memory" else FileTokenStore(tmp_path / "t")
    assert isinstance(store, TokenStore)
    assert store.get("k") is None
    store.set("k", CachedToken("a", FAR))
    store.set("j", CachedToken("b", FAR))
    assert store.get("k") == CachedToken("a", FAR)
    store.set("k", CachedToken("c", FAR + 1))
    assert store.get("k") == CachedToken("c", FAR + 1)
    store.delete("k")
    store.delete("missing")
    assert store.get("k") is None
    assert store.get("j") == CachedToken("b", FAR)


# -- FileTokenStore -------------------------------------------------------------------------------

def test_file_store_writes_0600_json_and_another_instance_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tokens.json"  # the directory does not exist yet
    FileTokenStore(path).set("key1", CachedToken("Atza|one", FAR))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"key1": {"access_token": "Atza|one",
                                                     "expires_at": FAR}}
    assert FileTokenStore(path).get("key1") == CachedToken("Atza|one", FAR)
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_file_store_tightens_a_loose_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(0o644)
    FileTokenStore(path).set("k", CachedToken("t", FAR))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_store_drops_expired_entries_on_write(tmp_path: Path) -> None:
    now = [1000.0]
    store = FileTokenStore(tmp_path / "t.json", clock=lambda: now[0])
    store.set("old", CachedToken("a", 1500.0))
    now[0] = 2000.0
    store.set("new", CachedToken("b", 5000.0))
    assert set(json.loads((tmp_path / "t.json").read_text())) == {"new"}


def test_file_store_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    store = FileTokenStore(path)
    store.set("k", CachedToken("before", FAR))
    original = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.set("k", CachedToken("after", FAR))
    assert path.read_bytes() == original  # the old file is intact
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []  # no debris


def test_file_store_fsyncs_before_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    FileTokenStore(tmp_path / "t.json").set("k", CachedToken("x", FAR))
    assert events[:2] == ["fsync", "replace"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\x00\xff\xfe", b"null"])
def test_corrupt_file_counts_as_empty_and_is_repaired(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    store = FileTokenStore(path)
    with caplog.at_level(logging.WARNING, "sellerkit.auth"):
        assert store.get("k") is None
    assert "corrupt" in caplog.text
    store.set("k", CachedToken("fresh", FAR))
    assert store.get("k") == CachedToken("fresh", FAR)


def test_unreadable_path_counts_as_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                         ) -> None:
    (tmp_path / "t.json").mkdir()  # a directory where the file should be
    with caplog.at_level(logging.WARNING, "sellerkit.auth"):
        assert FileTokenStore(tmp_path / "t.json").get("k") is None
    assert "cannot be read" in caplog.text


def test_corrupt_file_does_not_break_lwa(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("garbage")
    fake = FakeLwa()
    lwa = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint=ENDPOINT, store=FileTokenStore(path))
    with fake.client() as http:
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-1"
    assert fake.count == 1
    assert len(json.loads(path.read_text())) == 1


def test_concurrent_writers_do_not_lose_tokens(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        store = FileTokenStore(path)  # separate instances: only the lock file serializes them
        barrier.wait()
        for j in range(10):
            store.set(f"k{i}-{j}", CachedToken(f"t{i}-{j}", FAR))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(json.loads(path.read_text())) == 80


# -- RedisTokenStore (real Redis) -----------------------------------------------------------------

def test_redis_store_roundtrip_with_px_expiry(redis_url: str) -> None:
    import redis

    now = 1_000_000.0
    store = RedisTokenStore(redis_url, clock=lambda: now)
    store.set("abc", CachedToken("Atza|redis", now + 120))
    assert store.get("abc") == CachedToken("Atza|redis", now + 120)
    r = redis.Redis.from_url(redis_url)
    try:
        pttl = r.pttl("sellerkit:lwa:abc")
        assert 110_000 < pttl <= 120_000
        assert json.loads(r.get("sellerkit:lwa:abc"))["access_token"] == "Atza|redis"
        store.delete("abc")
        assert store.get("abc") is None and r.exists("sellerkit:lwa:abc") == 0
        store.set("gone", CachedToken("x", now - 1))  # already expired: not stored
        assert r.exists("sellerkit:lwa:gone") == 0
        r.set("sellerkit:lwa:bad", b"{oops")
        assert store.get("bad") is None
    finally:
        r.close()


def test_redis_store_accepts_a_client_and_a_prefix(redis_url: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    try:
        store = RedisTokenStore(r, prefix="app2:")
        store.set("k", CachedToken("v", 4_000_000_000.0))
        assert r.exists("app2:k") == 1
        assert RedisTokenStore(r, prefix="app2:").get("k") == CachedToken("v", 4_000_000_000.0)
        assert RedisTokenStore(r).get("k") is None
    finally:
        r.close()


def test_redis_store_shares_tokens_between_lwa_clients(redis_url: str) -> None:
    fake = FakeLwa()
    one = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint=ENDPOINT, store=RedisTokenStore(redis_url))
    two = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint=ENDPOINT, store=RedisTokenStore(redis_url))
    with fake.client() as http:
        token = one.access_token(http, refresh_token=REFRESH)
        assert two.access_token(http, refresh_token=REFRESH) == token
        two.invalidate(refresh_token=REFRESH)
        one._local.clear()  # a fresh process: only Redis to go by
        assert one.access_token(http, refresh_token=REFRESH) == "Atza|token-2"
    assert fake.count == 2


async def test_redis_store_from_async_code(redis_url: str) -> None:
    fake = FakeLwa(delay=0.05)
    lwa = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint=ENDPOINT, store=RedisTokenStore(redis_url))
    import asyncio

    async with fake.async_client() as http:
        tokens = await asyncio.gather(*(lwa.access_token_async(http, refresh_token=REFRESH)
                                        for _ in range(20)))
    assert set(tokens) == {"Atza|token-1"} and fake.count == 1
    assert RedisTokenStore(redis_url).get(lwa.cache_key(refresh_token=REFRESH)) is not None


def test_redis_down_is_a_cache_miss(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisTokenStore("redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, "sellerkit.auth"):
        assert store.get("k") is None
        store.set("k", CachedToken("x", 4_000_000_000.0))
        store.delete("k")
    assert caplog.text.count("failed") == 3


def test_redis_store_repr_hides_the_password() -> None:
    store = RedisTokenStore("redis://user:hunter2pass@127.0.0.1:6379/15")
    assert "hunter2pass" not in repr(store)
    assert "127.0.0.1:6379" in repr(store)


def test_redis_store_with_lwa_keeps_working_when_redis_is_down() -> None:
    fake = FakeLwa()
    lwa = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint=ENDPOINT,
                    store=RedisTokenStore("redis://127.0.0.1:1/0"))
    with httpx.Client(transport=httpx.MockTransport(fake.handler)) as http:
        assert lwa.access_token(http, scope="s") == lwa.access_token(http, scope="s")
    assert fake.count == 1


def test_missing_redis_package_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from sellerkit.errors import ConfigurationError

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'sellerkit\[redis\]'"):
        RedisTokenStore("redis://127.0.0.1:6379/15")


def test_file_store_expands_the_home_directory(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    FileTokenStore("~/state/tokens.json").set("k", CachedToken("t", FAR))
    assert (tmp_path / "state" / "tokens.json").exists()


def test_hung_redis_times_out_into_a_cache_miss(caplog: pytest.LogCaptureFixture) -> None:
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts connections, never answers
    port = server.getsockname()[1]
    try:
        store = RedisTokenStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, "sellerkit.auth"):
            assert store.get("k") is None
        assert time.monotonic() - started < 3
        assert "GET failed" in caplog.text
    finally:
        server.close()
