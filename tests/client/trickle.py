"""A loopback HTTP server that answers slowly on purpose, for the timeout tests.

Each request path (or absolute-form URL, when the server stands in for a proxy) is matched
against ``server.modes`` (substring -> mode):

- ``"fast"``: a JSON answer at once (an LWA token for the token path, an RDT for the tokens
  API, ``{"payload": {}}`` otherwise);
- ``"trickle"``: a 200 with a 100,000-byte body announced, then one body byte every
  ``interval`` seconds;
- ``"trickle-head"``: the status line and headers themselves, one byte every ``interval``;
- ``"hang"``: read the request and never answer.

Every slow answer ends when the client goes away, or after ``max_seconds`` at the latest, so a
broken client cannot keep a test (or CI) waiting for ever.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

TOKEN = json.dumps({"access_token": "Atza|t", "token_type": "bearer", "expires_in": 3600})
RDT = json.dumps({"restrictedDataToken": "Atz.sprdt|t", "expiresIn": 3600})
LWA_PATH = "/auth/o2/token"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, TrickleServer)
        sock: socket.socket = self.request
        sock.settimeout(server.max_seconds)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                while len(buf) < length:
                    buf += sock.recv(65536)
                buf = buf[length:]
                target = lines[0].split(" ")[1]
                if not self._answer(server, sock, target):
                    return
        except OSError:
            return  # the client went away (what a timed-out client does)

    def _answer(self, server: TrickleServer, sock: socket.socket, target: str) -> bool:
        mode = next((m for key, m in server.modes.items() if key in target), "fast")
        server.seen.append((target, mode))
        until = time.monotonic() + server.max_seconds
        if mode == "hang":
            while time.monotonic() < until and sock.recv(65536):
                pass
            return False
        if mode == "trickle-head":
            for byte in b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" * 1000:
                if time.monotonic() > until:
                    return False
                sock.sendall(bytes([byte]))
                time.sleep(server.interval)
            return False
        if mode == "trickle":
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"content-length: 100000\r\n\r\n")
            while time.monotonic() < until:
                sock.sendall(b" ")
                time.sleep(server.interval)
            return False
        body = (TOKEN if LWA_PATH in target else RDT if RDT_PATH in target
                else json.dumps({"payload": {}})).encode()
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        return True


class TrickleServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, interval: float = 0.3, max_seconds: float = 30.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.interval = interval
        self.max_seconds = max_seconds
        self.modes: dict[str, str] = {}
        self.seen: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def trickle_server(interval: float = 0.3) -> Iterator[TrickleServer]:
    srv = TrickleServer(interval)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
