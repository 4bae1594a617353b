"""Issue 7, 8.7: a process killed while saving tokens leaves a temporary file; the next open of the
store removes it, and the temporary file was private (0600) from its creation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sellerkit._files import remove_stale_temps, write_private
from sellerkit.auth import CachedToken, FileTokenStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and flock are POSIX")


def _leftover(directory: Path, name: str = ".tokens.json.k1ll3d_9.tmp", age: float = 0.0
              ) -> Path:
    p = directory / name
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b'{"k":{"access_token":"Atza|half-writ')
    os.close(fd)
    if age:
        old = time.time() - age
        os.utime(p, (old, old))
    return p


def test_opening_the_store_removes_a_killed_writers_temp_file(tmp_path: Path) -> None:
    left = _leftover(tmp_path)
    store = FileTokenStore(tmp_path / "tokens.json")
    assert not left.exists()
    assert store.get("k") is None  # the half-written file was never the store


def test_only_our_own_pattern_is_removed(tmp_path: Path) -> None:
    others = [tmp_path / n for n in (".tokens.json.notours.tmp", ".tokens.json.abcdefgh.txt",
                                     "tokens.json.abcdefgh.tmp", ".other.json.abcdefgh.tmp",
                                     ".tokens.json.ABCDEFGH.tmp")]
    for p in others:
        p.write_text("keep")
    target = tmp_path / "tokens.json"
    target.write_text("{}")
    FileTokenStore(target)
    assert all(p.exists() for p in others)
    assert target.read_text() == "{}"


def test_a_temp_file_of_a_live_writer_is_kept_until_it_is_old(tmp_path: Path) -> None:
    """While another process holds the writers' lock, only old temp files are taken."""
    target = tmp_path / "tokens.json"
    fresh = _leftover(tmp_path, ".tokens.json.fresh123.tmp")
    old = _leftover(tmp_path, ".tokens.json.old45678.tmp", age=60)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(target) + '.lock'!r}, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        FileTokenStore(target)
        assert fresh.exists() and not old.exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    FileTokenStore(target)  # nobody writes now: the fresh one is a leftover too
    assert not fresh.exists()


def test_a_write_cleans_up_too_and_leaves_only_the_store(tmp_path: Path) -> None:
    target = tmp_path / "tokens.json"
    store = FileTokenStore(target)
    left = _leftover(tmp_path)  # left after the open, e.g. by another process killed since
    store.set("k", CachedToken("Atza|t", time.time() + 3600))
    assert not left.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_temp_files_are_private_from_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """Kill the write right after the temp file is created: what is left is 0600 even with a
    permissive umask, and the next open removes it."""
    import sellerkit._files as files

    modes: list[int] = []
    real_write = os.write

    def dying_write(fd: int, data: bytes | memoryview) -> int:
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_write(fd, bytes(data)[:10])
        raise KeyboardInterrupt  # as good as a kill for what is on disk

    old_umask = os.umask(0)
    try:
        monkeypatch.setattr(files.os, "write", dying_write)
        monkeypatch.setattr(files.os, "unlink", lambda _p: None)  # a kill runs no cleanup
        with pytest.raises(KeyboardInterrupt):
            FileTokenStore(tmp_path / "tokens.json").set("k", CachedToken("Atza|t", 2e9))
    finally:
        os.umask(old_umask)
        monkeypatch.undo()
    assert modes == [0o600]
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and stat.S_IMODE(left[0].stat().st_mode) == 0o600
    FileTokenStore(tmp_path / "tokens.json")
    assert not left[0].exists()


def test_write_private_removes_only_old_leftovers_of_its_target(tmp_path: Path) -> None:
    target = tmp_path / "limits.json"
    old = _leftover(tmp_path, ".limits.json.abc12345.tmp", age=60)
    fresh = _leftover(tmp_path, ".limits.json.def67890.tmp")
    other = _leftover(tmp_path, ".tokens.json.abc12345.tmp", age=60)
    write_private(target, "{}")
    assert not old.exists() and fresh.exists() and other.exists()
    assert remove_stale_temps(target, min_age=0) == [fresh]


def test_a_writer_with_its_own_naming_can_clean_up_too(tmp_path: Path) -> None:
    import re

    old = _leftover(tmp_path, ".emulator-state-ab12cd34", age=60)
    similar = _leftover(tmp_path, ".emulator-state-ab12cd34.bak", age=60)
    removed = remove_stale_temps(tmp_path / "state.json",
                                 prefix_pattern=re.compile(r"\.emulator-state-[a-z0-9_]{8}"))
    assert removed == [old] and similar.exists()
