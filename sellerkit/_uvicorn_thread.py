"""A uvicorn server on a bound socket in a background thread: what the emulator's and the web
app's in-process servers (tests, the demo) share."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

__all__ = ["UvicornThread", "bind"]


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every response waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


class UvicornThread:
    """``uvicorn.Server(config)`` serving ``sock`` in a daemon thread; :meth:`start` returns once
    it accepts connections (or raises what stopped it), :meth:`stop` waits for it to end."""

    def __init__(self, config: Any, sock: socket.socket, *, name: str, what: str) -> None:
        import uvicorn

        self.server = uvicorn.Server(config)
        self.sock = sock
        self._name, self._what = name, what
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        def run() -> None:
            try:
                self.server.run(sockets=[self.sock])
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                self._error = exc

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the {self._what} did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self._what} did not start within 10 s")
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()
        self._thread = None
