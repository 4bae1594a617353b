"""Status lines on stderr: the rate limiter's long waits, shown while a command runs.

The client logs every rate-limit wait longer than a few seconds at INFO on the logger
``sellerkit.ratelimit``, with ``extra={"sellerkit_wait": {"seconds": float, "operation": str,
"limit": str}}``. ``wait_status()`` puts a handler on that logger (only that one, never the
root logger) for the duration of a command and turns such records into a line such as::

    waiting 58 s for orders_v0.getOrders (burst 20, 1 per 60 s)

On a terminal the line is transient: the next status line or the end of the command erases it.
Elsewhere (CI logs, a file) each line is kept, so the log shows why a job paused. With
``--json`` and stderr not a terminal, nothing is written: stderr then carries only the JSON
error object, if any.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["LOGGER_NAME", "StatusLines", "WaitStatusHandler", "format_wait", "wait_status"]

LOGGER_NAME = "sellerkit.ratelimit"


def format_wait(wait: Any) -> str | None:
    """The status line for a record's ``sellerkit_wait`` mapping, or None if it is not one."""
    if not isinstance(wait, dict):
        return None
    try:
        seconds = float(wait.get("seconds"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    operation = str(wait.get("operation") or "a call")
    limit = str(wait.get("limit") or "")
    shown = f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    return f"waiting {shown} for {operation}" + (f" ({limit})" if limit else "")


class WaitStatusHandler(logging.Handler):
    """Writes rate-limit waits as status lines to ``stream`` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, *, transient: bool | None = None) -> None:
        super().__init__(logging.INFO)
        self.stream = stream if stream is not None else sys.stderr
        self.transient = _isatty(self.stream) if transient is None else transient
        self._shown = False

    def emit(self, record: logging.LogRecord) -> None:
        line = format_wait(getattr(record, "sellerkit_wait", None))
        if line is None:
            return
        try:
            if self.transient:
                self.stream.write("\r\x1b[2K" + line)
                self._shown = True
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not fail the command
            pass

    def clear(self) -> None:
        """Erase a transient line still on screen."""
        if self._shown:
            self._shown = False
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\r\x1b[2K")
                self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def wait_status(json_mode: bool = False, stream: TextIO | None = None) -> Iterator[None]:
    """Show rate-limit waits on stderr while the block runs (see the module docstring)."""
    out = stream if stream is not None else sys.stderr
    if json_mode and not _isatty(out):
        yield
        return
    logger = logging.getLogger(LOGGER_NAME)
    handler = WaitStatusHandler(out)
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.clear()


class StatusLines:
    """A long job's progress lines on stderr (reports get, datakiosk query); silent with
    ``--json`` when stderr is not a terminal, like the wait lines."""

    def __init__(self, quiet: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.quiet = quiet and not self.console.is_terminal

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False)
