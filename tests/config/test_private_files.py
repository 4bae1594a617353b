"""write_private: atomic replacement, mode 0600, no leftovers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sellerkit import _files
from sellerkit._files import write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        target = write_private(tmp_path / "sub" / "tokens.json", "secret text")
    finally:
        os.umask(old)
    assert target.read_text() == "secret text"
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o700


def test_replacing_a_world_readable_file_makes_it_private(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, b"\x00new bytes")
    assert target.read_bytes() == b"\x00new bytes"
    assert _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config.toml"
    target.write_text("intact")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        write_private(target, "x" * 100_000)
    assert target.read_text() == "intact"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
