"""Writing local state safely: private (0600) files replaced atomically.

Config files and token stores hold credentials, so they must never be readable by other users,
not even for the moment between creating a file and changing its mode, and a crash must never
leave a half-written file behind. ``write_private`` creates a temporary file next to the target
with mode 0600, writes and fsyncs it, renames it over the target and fsyncs the directory so the
rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Atomically replace ``path`` with ``data`` (str is UTF-8 encoded); the file ends up 0600.

    Missing parent directories are created with mode 0700. Returns the path written.
    """
    target = Path(path).expanduser()
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    parent = target.parent
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
