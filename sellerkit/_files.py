"""Writing local state safely: private (0600) files replaced atomically.

Config files and token stores hold credentials, so they must never be readable by other users,
not even for the moment between creating a file and changing its mode, and a crash must never
leave a half-written file behind. ``write_private`` creates a temporary file next to the target
with mode 0600, writes and fsyncs it, renames it over the target and fsyncs the directory so the
rename itself survives a power cut.

A process killed between creating the temporary file and the rename leaves it behind
(``.<name>.<8 random characters>.tmp``, mode 0600, holding whatever was being saved: tokens, PII).
``remove_stale_temps`` deletes such leftovers of one target, and only those: files of exactly that
pattern, older than a few seconds (a live writer renames its file within milliseconds), or of any
age when the caller holds the lock that writers of the target take. ``write_private`` runs it before
each write, and stores run it when they are opened.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

__all__ = ["STALE_TEMP_AGE", "remove_stale_temps", "temp_pattern", "write_private"]

STALE_TEMP_AGE = 10.0
"""Seconds after which a temporary file of ours is a leftover, not a write in progress."""


def temp_pattern(target: str | os.PathLike[str]) -> re.Pattern[str]:
    """The names ``write_private`` gives its temporary files for ``target``: ``mkstemp`` with
    prefix ``.<name>.`` and suffix ``.tmp`` (8 characters of ``[a-z0-9_]`` between)."""
    name = Path(target).name
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


def remove_stale_temps(target: str | os.PathLike[str], *, min_age: float = STALE_TEMP_AGE,
                       prefix_pattern: re.Pattern[str] | None = None) -> list[Path]:
    """Delete the temporary files a killed writer of ``target`` left next to it.

    Only names matching ``temp_pattern(target)`` (or ``prefix_pattern``, for writers that name
    theirs differently) are touched, and only regular files not modified in the last
    ``min_age`` seconds (``min_age=0``: the caller holds the writers' lock, so none is in
    progress). Never follows symlinks. Best effort: errors are ignored. Returns what was removed.
    """
    path = Path(target).expanduser()
    pattern = prefix_pattern or temp_pattern(path)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False):
                continue
            if min_age > 0 and now - st.st_mtime < min_age:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def write_private(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Atomically replace ``path`` with ``data`` (str is UTF-8 encoded); the file ends up 0600.

    Missing parent directories are created with mode 0700. Returns the path written.
    """
    target = Path(path).expanduser()
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    parent = target.parent
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_stale_temps(target)
    # mkstemp creates the file with O_EXCL and mode 0600, so it is never readable by others.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchmod(fd, 0o600)  # in case a umask or ACL widened it
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(parent)
    return target


def _fsync_dir(directory: Path) -> None:
    # Not every platform lets you open a directory (Windows) or fsync it; the data itself is
    # already durable, only the rename might be lost, so failing here would do more harm.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
