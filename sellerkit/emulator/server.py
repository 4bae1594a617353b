"""Serving the emulator over real HTTP with uvicorn.

:func:`uvicorn_config` builds the uvicorn settings both the CLI and :class:`EmulatorServer` use:
an HTTP protocol class that lets the app drop a connection for ``reset`` faults (uvicorn would
otherwise answer a failed app with a 500), and quiet access logs.

:class:`EmulatorServer` runs uvicorn in a background thread on a free loopback port::

    with EmulatorServer(EmulatorConfig(rate_scale=1000)) as server:
        httpx.get(server.base_url + "/_emulator/health")
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from sellerkit._uvicorn_thread import UvicornThread, bind
from sellerkit.emulator.app import ABORT_EXTENSION, Emulator
from sellerkit.emulator.config import EmulatorConfig

__all__ = ["EmulatorServer", "protocol_class", "uvicorn_config"]

_PROTOCOL: type[asyncio.Protocol] | None = None


def protocol_class() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, extended to give the app a way to drop its connection."""
    global _PROTOCOL
    if _PROTOCOL is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base: Any = AutoHTTPProtocol

        class AbortableProtocol(base):
            def connection_made(self, transport: asyncio.Transport) -> None:
                super().connection_made(transport)
                inner: Any = getattr(self, "app")  # noqa: B009 - set by the base class

                async def app(scope: Any, receive: Any, send: Any) -> None:
                    if scope.get("type") == "http":
                        scope.setdefault("extensions", {})[ABORT_EXTENSION] = transport.abort
                    await inner(scope, receive, send)

                self.app = app

        _PROTOCOL = AbortableProtocol
    return _PROTOCOL


def uvicorn_config(emulator: Emulator, host: str, port: int, *, log_level: str = "warning",
                   access_log: bool = False, configure_logging: bool = True) -> Any:
    """uvicorn settings; ``configure_logging=False`` leaves the process's logging alone (a
    library must not reconfigure loggers it does not own)."""
    import uvicorn

    extra: dict[str, Any] = {} if configure_logging else {"log_config": None}
    return uvicorn.Config(emulator.app, host=host, port=port, http=protocol_class(),
                          log_level=log_level, access_log=access_log, lifespan="off",
                          ws="none", timeout_keep_alive=30, date_header=False, **extra)


class EmulatorServer:
    """The emulator on a free loopback port in a background thread (a context manager).

    ``base_url`` is ``http://127.0.0.1:<port>``; ``emulator`` is the in-process
    :class:`Emulator` behind it, for ``set_faults`` and token helpers.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, emulator: Emulator | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or (emulator.config if emulator else EmulatorConfig())
        self._owns_emulator = emulator is None
        self.emulator = emulator or Emulator(self.config)
        self.host = host
        self.port = port
        self._runner: UvicornThread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        if self._sock is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        sock = bind(self.host, self.port, 512)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn_config(self.emulator, self.host, self.port, configure_logging=False)
        self._runner = UvicornThread(config, sock, name="sellerkit-emulator-server",
                                     what="emulator server")
        self._runner.start()
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._runner = None  # base_url keeps answering: a summary may name the address after
        if self.config.state_file is not None:
            self.emulator.save_state()
        if self._owns_emulator:
            self.emulator.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
