"""Serving the web app with uvicorn: the settings ``sellerkit serve`` and :class:`WebServer` share.

uvicorn's access log is turned off: it would log the callback's query string, which carries
``spapi_oauth_code`` and ``state``. The app logs its own line per request instead (logger
``sellerkit.web``, path only). TLS is on when a certificate and key are given.

:class:`WebServer` runs the app on a free loopback port in a background thread (tests)::

    with WebServer(app) as server:
        httpx.get(server.base_url + "/connect")
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from sellerkit._uvicorn_thread import UvicornThread, bind
from sellerkit.errors import ConfigurationError

__all__ = ["WebServer", "check_tls_files", "uvicorn_config"]


def check_tls_files(cert: Path | None, key: Path | None) -> None:
    if (cert is None) != (key is None):
        raise ConfigurationError("TLS needs both --tls-cert and --tls-key (PEM files)")
    for what, path in (("certificate", cert), ("key", key)):
        if path is not None and not Path(path).is_file():
            raise ConfigurationError(f"the TLS {what} file {path} does not exist")


def uvicorn_config(app: Any, host: str, port: int, *, tls_cert: Path | None = None,
                   tls_key: Path | None = None, log_level: str = "info",
                   configure_logging: bool = True) -> Any:
    import uvicorn

    check_tls_files(tls_cert, tls_key)
    extra: dict[str, Any] = {} if configure_logging else {"log_config": None}
    if tls_cert is not None and tls_key is not None:
        extra.update(ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key))
    # proxy_headers off: the allowlist judges the peer address, never a header a client sets
    return uvicorn.Config(app, host=host, port=port, access_log=False, log_level=log_level,
                          lifespan="off", ws="none", proxy_headers=False, server_header=False,
                          timeout_keep_alive=5, **extra)


class WebServer:
    """The web app on a loopback port in a background thread (a context manager)."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 tls_cert: Path | None = None, tls_key: Path | None = None,
                 sock: socket.socket | None = None) -> None:
        """``sock``: an already bound socket to serve on (so a caller can learn the port, e.g.
        to build the redirect URI, before the app exists)."""
        self.app = app
        self.host = host
        self.port = port
        self._given = sock
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self._runner: UvicornThread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> WebServer:
        if self._given is not None:
            sock = self._given
            self.host = sock.getsockname()[0]
            sock.listen(128)
        else:
            sock = bind(self.host, self.port, 128)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn_config(self.app, self.host, self.port, tls_cert=self.tls_cert,
                                tls_key=self.tls_key, log_level="warning", configure_logging=False)
        self._runner = UvicornThread(config, sock, name="sellerkit-web-server", what="web server")
        self._runner.start()
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._runner = None
        self._sock = None

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
