"""The emulator's Starlette application: LWA, the consent page, documents, and every SP-API
operation routed through one pipeline.

For an SP-API request the pipeline is::

    route (catalog.match)  -> 404 / 405
    faults (--faults)      -> injected 5xx/429, dropped connection, latency
    body (size cap)        -> 413
    SigV4 (--require-sigv4), access token, grantless scope, RDT coverage -> 403
    rate limit             -> 429 QuotaExceeded
    content type, UTF-8, JSON      -> 415 / 400
    static sandbox case (--models) -> the case's status and body
    parameters and body schema     -> 400 InvalidInput naming every problem
    answer: Tokens API (here) | simulation | a schema-conformant generated response

Every response carries ``x-amzn-RequestId``; successful ones (and 400/404) carry
``x-amzn-RateLimit-Limit`` with the (scaled) rate of the operation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sellerkit.catalog import Operation, get_catalog
from sellerkit.catalog.validation import Problem, check_params, parse_wire
from sellerkit.emulator.config import EmulatorConfig
from sellerkit.emulator.consent import (
    ConsentError,
    check_consent,
    consent_page,
    error_page,
    redirect_location,
)
from sellerkit.emulator.faults import FaultPlan, parse_faults
from sellerkit.emulator.generator import RequestContext, generate_for, request_context
from sellerkit.emulator.ratelimit import RateLimiter
from sellerkit.emulator.sandbox import NO_BODY, StaticSandbox
from sellerkit.emulator.tokens import AccessToken, LwaFailure, RdtResource, TokenStore
from sellerkit.errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

__all__ = ["ConnectionDropped", "Emulator"]

log = logging.getLogger("sellerkit.emulator")

RDT_OPERATION = "tokens_2021_03_01.createRestrictedDataToken"
ROTATE_OPERATION = "application_management_2023_11_30.rotateApplicationClientSecret"
# The documented values of dataElements (Tokens API model, RestrictedResource).
ORDER_DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")
ABORT_EXTENSION = "sellerkit.abort"
SANDBOX_STATUS_HEADER = "x-emulator-sandbox-status"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_DENIED = "Access to requested resource is denied."
_ERROR_TEXT = {
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    502: ("InternalFailure", "Bad gateway. Please try again."),
    503: ("ServiceUnavailable", "Service is temporarily unavailable. Please try again."),
    504: ("InternalFailure", "Gateway timeout. Please try again."),
    429: ("QuotaExceeded", "You exceeded your quota for the requested resource."),
    400: ("InvalidInput", "Invalid input."),
    403: ("Unauthorized", _DENIED),
    404: ("NotFound", "Resource not found."),
}
_EMPTY_SEGMENT = re.compile(r"/(?=/|$)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _control_message(method: str, path: str) -> str:
    return (f"No SP-API operation serves {method} {path[:200]!r}: the path holds a control "
            "character (a newline from unstripped input?). Strip identifiers before sending.")


_GENERATED_CACHE = 256  # generated bodies kept, by operation and request
_RATE_HEADER_STATUSES = frozenset({200, 201, 202, 204, 207, 400, 404})


class ConnectionDropped(Exception):  # noqa: N818 - it is an event, not an error of the caller
    """Raised by the in-process app when a ``reset`` fault drops the connection; the emulator's
    transports turn it into ``httpx.ReadError``."""


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _errors(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"errors": [err]}


class _Reject(Exception):  # noqa: N818 - control flow inside the pipeline
    """Stop the pipeline with this error response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class _Drop(Response):
    """A "response" that drops the connection instead of answering."""

    def __init__(self) -> None:
        super().__init__(b"", 500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort = (scope.get("extensions") or {}).get(ABORT_EXTENSION)
        if abort is None:
            raise ConnectionDropped("the emulator dropped the connection (reset fault)")
        abort()
        # let the server notice the closed transport before the app returns, so it does not
        # try to send a 500 on a connection that is gone
        await anyio.sleep(0)
        await anyio.sleep(0)


def _temp_prefix(target: Path) -> str:
    return f".emulator-state-{target.name}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or we cannot tell: leave its file alone
    return True


def remove_stale_state_temps(target: Path) -> list[Path]:
    """Delete the temporary files that a save interrupted by a crash left beside ``target``
    (they hold the same PII and refresh tokens as the state). Files of a process that is still
    running are kept; files of the older ``.emulator-state-XXXX`` naming are removed."""
    removed: list[Path] = []
    parent = Path(target).parent
    if not parent.is_dir():
        return removed
    prefix = _temp_prefix(Path(target))
    for f in parent.glob(".emulator-state-*"):
        name = f.name
        if name.startswith(prefix):
            pid_text = name[len(prefix):].split(".", 1)[0]
            if not pid_text.isascii() or not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if pid != os.getpid() and _pid_alive(pid):
                continue
        elif "." in name[len(".emulator-state-"):]:
            continue  # the temporary file of another state file
        try:
            f.unlink()
            removed.append(f)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("emulator: could not remove the leftover %s: %s", f, exc.strerror)
    if removed:
        log.info("emulator: removed %d leftover state file(s) of an interrupted save",
                 len(removed))
    return removed


class _DateHeader:
    """Every response carries ``Date`` (RFC 9110 §6.6.1, as Amazon's do), from the emulator's
    clock shifted by ``clock_skew``: the clock ``sellerkit doctor`` compares with the local one.
    uvicorn's own Date header is turned off (``server.uvicorn_config``) so there is only one."""

    def __init__(self, app: Any, now: Callable[[], float]) -> None:
        self.app = app
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        from email.utils import formatdate

        async def send_dated(message: Any) -> None:
            if message.get("type") == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"date"]
                headers.append((b"date", formatdate(self.now(), usegmt=True).encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_dated)


def _default_seller_ids(n: int) -> list[str]:
    return [f"A2SIMSELLER{i + 1:04d}" for i in range(n)]


class Emulator:
    """A local SP-API: ``.app`` is the Starlette app; transports run it in-process.

    >>> emu = Emulator(EmulatorConfig(rate_limits=False))
    >>> import httpx
    >>> client = httpx.Client(transport=emu.sync_transport(), base_url="http://emulator")
    """

    def __init__(self, config: EmulatorConfig | None = None, *, simulation: Any = None) -> None:
        self.config = config or EmulatorConfig()
        cfg = self.config
        if cfg.require_sigv4:
            from sellerkit.emulator.sigv4 import require_botocore

            require_botocore()
        self.catalog = get_catalog()
        self.clock: Callable[[], float] = cfg.clock
        saved: dict[str, Any] | None = None
        self._save_lock = threading.Lock()
        if cfg.state_file is not None:
            remove_stale_state_temps(cfg.state_file)
        if cfg.state_file is not None and cfg.state_file.exists():
            try:
                saved = json.loads(cfg.state_file.read_text(encoding="utf-8"))
                if not isinstance(saved, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"cannot read the emulator state {cfg.state_file}: "
                                         f"{exc}; delete it to start fresh") from None
        self.simulation = simulation if simulation is not None else self._make_simulation(saved)
        from sellerkit.emulator.delivery import NotificationDelivery

        self.notifications = NotificationDelivery(self.simulation,
                                                  sqs_endpoint=cfg.sqs_endpoint)
        self.seller_ids: list[str] = (list(self.simulation.seller_ids) if self.simulation
                                      is not None else _default_seller_ids(cfg.sellers))
        self.tokens = TokenStore(cfg, self.seller_ids, self.clock)
        if saved:
            self.tokens.load(saved.get("lwa") or {})
        self._secret_expiry_notice()  # a configured secret already near its end
        self.limiter = RateLimiter(scale=cfg.rate_scale, enabled=cfg.rate_limits,
                                   clock=self.clock)
        self.faults: FaultPlan = parse_faults(cfg.faults, seed=cfg.seed)
        self.sandbox = (StaticSandbox.from_dir(cfg.models, self.catalog)
                        if cfg.models is not None else None)
        self._validators: dict[str, Any] = {}
        self._generated: dict[tuple[str, str, bytes, bytes, str],
                              tuple[int, bytes | None, str]] = {}
        self.app: Any = Starlette(routes=[
            Route("/auth/o2/token", self._lwa, methods=["POST"]),
            Route("/apps/authorize/consent", self._consent, methods=["GET", "POST"]),
            Route("/_emulator/documents/{document_id}", self._document, methods=["GET"]),
            Route("/_emulator/uploads/{document_id}", self._upload, methods=["PUT"]),
            Route("/_emulator/health", self._health, methods=["GET"]),
            Route("/_emulator/notifications", self._notifications, methods=["GET"]),
            Route("/{path:path}", self._sp_api, methods=_METHODS),
        ], exception_handlers={HTTPException: self._http_error,
                               ClientDisconnect: self._disconnected})
        self.app = _DateHeader(self.app, lambda: self.clock() + self.config.clock_skew)

    # ------------------------------------------------------------------ setup

    def _make_simulation(self, saved: dict[str, Any] | None) -> Any:
        cfg = self.config
        try:
            from sellerkit.emulator.simulation import Simulation
        except ImportError:  # the simulation package is optional while it is being written
            return None
        kw: dict[str, Any] = {"clock": self.clock, "report_seconds": cfg.report_seconds,
                              "feed_seconds": cfg.feed_seconds}
        if saved and "simulation" in saved and hasattr(Simulation, "load"):
            return Simulation.load(saved["simulation"], **kw)
        return Simulation(seed=cfg.seed, orders=cfg.orders, sellers=cfg.sellers, **kw)

    def set_faults(self, spec: str | None) -> None:
        """Replace the fault spec (``None`` or ``""`` for none); the sequence restarts from
        the seed, so a test that sets the same spec sees the same faults."""
        self.faults = parse_faults(spec, seed=self.config.seed)

    def refresh_token(self, seller_index: int = 0) -> str:
        """The configured refresh token of the i-th simulated seller."""
        base = self.config.refresh_token
        return base if seller_index == 0 else f"{base}-{seller_index}"

    def save_state(self, path: Path | None = None) -> Path | None:
        """Write the simulation and the minted refresh tokens as JSON (atomically, mode 0600).
        Returns the path, or None when there is nowhere to write or nothing to dump.

        The temporary file is created 0600 beside the target and named after this process
        (``.emulator-state-<name>.<pid>.*.tmp``), so one a crash leaves behind is readable only
        by its owner and is removed when an emulator next starts with the same state file."""
        target = Path(path) if path is not None else self.config.state_file
        if target is None or self.simulation is None or not hasattr(self.simulation, "dump"):
            return None
        with self._save_lock:
            data = {"version": 1, "simulation": self.simulation.dump(),
                    "lwa": self.tokens.dump()}
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}.",
                                       suffix=".tmp", dir=target.parent)  # 0600 from creation
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return target

    def _persist(self) -> None:
        """Save ``--state`` now (a change that must survive a kill -9); a failure is logged,
        the request that caused it still succeeds."""
        if self.config.state_file is None:
            return
        try:
            self.save_state()
        except OSError as exc:
            log.warning("emulator: could not save the state to %s: %s",
                        self.config.state_file, exc.strerror or exc)

    # ------------------------------------------------------------------ transports

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that runs the app in the caller's event loop."""
        from sellerkit.emulator.transport import EmulatorAsyncTransport

        return EmulatorAsyncTransport(self.app)

    def sync_transport(self) -> httpx.BaseTransport:
        """An httpx transport that runs the app on a private event loop thread."""
        from sellerkit.emulator.transport import EmulatorSyncTransport

        return EmulatorSyncTransport(self.app)

    # ------------------------------------------------------------------ small routes

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own answers (no route matched, e.g. a path with a newline, which the
        catch-all route's pattern does not match) as SP-API error bodies, not text/plain."""
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        path = request.scope.get("path", "")
        message = (_control_message(request.method, path) if _CONTROL.search(path)
                   else f"No SP-API operation serves {request.method} {path[:200]}.")
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "InvalidInput")
        return self._json(status, _errors(code, message), str(uuid.uuid4()))

    async def _disconnected(self, request: Request, exc: Exception) -> Response:
        # the client went away before its body arrived: nothing to answer, nothing wrong here
        log.debug("emulator: client disconnected during %s %s", request.method,
                  request.url.path)
        return Response(b"", 400)

    async def _health(self, request: Request) -> Response:
        return Response(_json_bytes({"status": "ok", "sellers": self.seller_ids}),
                        media_type="application/json")

    async def _notifications(self, request: Request) -> Response:
        """``GET /_emulator/notifications``: the delivered notifications after ``after``
        (a ``seq``), optionally of one ``destinationId`` / ``notificationType`` (repeatable);
        ``wait`` (seconds, at most 20) long-polls until one arrives."""
        q = request.query_params
        try:
            after = int(q.get("after") or 0)
            wait = float(q.get("wait") or 0)
        except ValueError:
            return self._json(400, _errors("InvalidInput", "after must be an integer and wait "
                                                           "a number of seconds."),
                              str(uuid.uuid4()))
        if not 0 <= wait <= 20:
            return self._json(400, _errors("InvalidInput", "wait must be between 0 and 20 "
                                                           "seconds."), str(uuid.uuid4()))
        types = q.getlist("notificationType") or None
        deadline = anyio.current_time() + wait
        while True:
            got = self.notifications.delivered(q.get("destinationId") or None, after=after,
                                               notification_types=types)
            if got or anyio.current_time() >= deadline:
                break
            await anyio.sleep(min(0.1, max(0.0, deadline - anyio.current_time())))
        last = max([after] + [int(r["seq"]) for r in got])
        return self._json(200, {"notifications": got, "last": last}, str(uuid.uuid4()))

    async def _lwa(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache",
                   "x-amzn-RequestId": str(uuid.uuid4())}
        form: dict[str, str] = {}
        try:
            raw = await self._read_body(request)
        except _Reject:
            return Response(_json_bytes({"error": "invalid_request",
                                         "error_description": "The request is too large."}),
                            413, headers, media_type="application/json")
        try:
            ctype = request.headers.get("content-type", "").lower()
            if "json" in ctype:
                data = json.loads(raw.decode("utf-8")) if raw else {}
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                form = {str(k): str(v) for k, v in data.items() if v is not None}
            else:
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                      errors="strict"))
            self._secret_expiry_notice()
            body = self.tokens.grant(form)
            status = 200
            if form.get("grant_type") == "authorization_code":
                # a refresh token minted by consent must outlive a kill -9
                await anyio.to_thread.run_sync(self._persist)
        except LwaFailure as exc:
            body, status = exc.body(), exc.status
        except (ValueError, RecursionError):  # includes UnicodeDecodeError
            body = {"error": "invalid_request",
                    "error_description": "The request body could not be parsed."}
            status = 400
        return Response(_json_bytes(body), status, headers, media_type="application/json")

    async def _consent(self, request: Request) -> Response:
        headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                   "x-amzn-RequestId": str(uuid.uuid4())}
        try:
            params = dict(request.query_params)
            if request.method == "POST":
                try:
                    raw = await self._read_body(request)
                except _Reject:
                    raise ConsentError("MD9000", "The form is too large.", 413) from None
                try:
                    params = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                            errors="strict"))
                except ValueError:
                    raise ConsentError("MD9000", "The form could not be read.") from None
            req = check_consent(self.config, params)
            if request.method == "GET":
                return HTMLResponse(consent_page(req, self.seller_ids, "sellerkit emulator app"),
                                    headers=headers)
            seller = params.get("selling_partner_id") or self.seller_ids[0]
            if seller not in self.seller_ids:
                raise ConsentError("MD9000", "Unknown selling account.")
            code = self.tokens.issue_code(seller, req.redirect_uri)
            return RedirectResponse(redirect_location(req, code, seller), 302, headers=headers)
        except ConsentError as err:
            return HTMLResponse(error_page(err), err.status, headers=headers)

    async def _document(self, request: Request) -> Response:
        if self.simulation is None:
            return self._json(404, _errors("NotFound", "No such document."), str(uuid.uuid4()))
        sim = self.simulation.document(request.path_params["document_id"])
        return self._sim_response(sim, str(uuid.uuid4()), None)

    async def _upload(self, request: Request) -> Response:
        rid = str(uuid.uuid4())
        if self.simulation is None:
            return self._json(404, _errors("NotFound", "No such upload destination."), rid)
        data = await request.body()
        if len(data) > self.config.max_body_bytes:
            return self._json(413, _errors("RequestEntityTooLarge",
                                           "The upload is too large."), rid)
        sim = self.simulation.upload(request.path_params["document_id"],
                                     request.headers.get("content-type"), data)
        return self._sim_response(sim, rid, None)

    # ------------------------------------------------------------------ SP-API

    def _json(self, status: int, body: Any, rid: str, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> Response:
        h = {"x-amzn-RequestId": rid}
        if headers:
            h.update(headers)
        if body is None or status == 204:
            return Response(b"", status, h)
        content = body if isinstance(body, bytes) else _json_bytes(body)
        return Response(content, status, h, media_type=content_type)

    def _sim_response(self, sim: Any, rid: str, rate: str | None) -> Response:
        headers = dict(sim.headers or {})
        if rate is not None and sim.status in _RATE_HEADER_STATUSES:
            headers["x-amzn-RateLimit-Limit"] = rate
        body = sim.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self._json(sim.status, body, rid, headers, sim.content_type or "application/json")

    async def _sp_api(self, request: Request) -> Response:
        rid = str(uuid.uuid4())
        try:
            return await self._pipeline(request, rid)
        except _Reject as rej:
            return self._json(rej.status, rej.body, rid, rej.headers)
        except ClientDisconnect:
            return await self._disconnected(request, ClientDisconnect())
        except Exception:  # noqa: BLE001 - a bug must still answer like SP-API, not crash
            log.exception("emulator: internal error answering %s %s", request.method,
                          request.url.path)
            return self._json(500, _errors(*_ERROR_TEXT[500]), rid)

    def _route(self, request: Request) -> tuple[Operation, dict[str, str], str]:
        scope = request.scope
        method = request.method
        raw_path: bytes | None = scope.get("raw_path")
        try:
            encoded = raw_path.decode("ascii") if raw_path else scope["path"]
        except UnicodeDecodeError:
            raise _Reject(400, _errors("InvalidInput", "The request path is not valid.")) from None
        encoded = encoded.split("?", 1)[0]
        found = self.catalog.match(method, encoded)
        if found is None and encoded != scope["path"]:
            found = self.catalog.match(method, scope["path"])
        if found is None and ("//" in encoded or encoded.endswith("/")):
            # an empty path parameter (".../items/" for an empty asin): match it so the request
            # gets a 400 naming the parameter rather than a 404
            hole = _EMPTY_SEGMENT.sub("/\x00", encoded)
            found = self.catalog.match(method, hole)
            if found is not None:
                found = (found[0], {k: v.replace("\x00", "") for k, v in found[1].items()})
        try:
            path = unquote(encoded, errors="strict")
        except UnicodeDecodeError:
            raise _Reject(400, _errors("InvalidInput",
                                       "The request path is not valid UTF-8.")) from None
        if _CONTROL.search(path):
            raise _Reject(404, _errors("NotFound", _control_message(method, path)))
        if found is None:
            allowed = self.catalog.paths_for(path)
            if allowed:
                raise _Reject(405, _errors(
                    "MethodNotAllowed", f"{method} is not allowed on {path[:200]}; use "
                                        f"{', '.join(allowed)}."), {"Allow": ", ".join(allowed)})
            raise _Reject(404, _errors("NotFound", f"No SP-API operation serves {method} "
                                                   f"{path[:200]}."))
        op, raw_params = found
        params: dict[str, str] = {}
        for name, value in raw_params.items():
            try:
                params[name] = unquote(value, errors="strict")
            except UnicodeDecodeError:
                raise _Reject(400, _errors("InvalidInput", f"Path parameter {name} is not valid "
                                                           "UTF-8.", name)) from None
        return op, params, path

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        too_large = _errors("RequestEntityTooLarge",
                            f"The request body is larger than {limit} bytes.")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise _Reject(413, too_large)
            except ValueError:
                raise _Reject(400, _errors("InvalidInput", "Content-Length is not a number.")
                              ) from None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Reject(413, too_large)
            chunks.append(chunk)
        return b"".join(chunks)

    def _authorize(self, request: Request, op: Operation, path: str) -> tuple[AccessToken, Any]:
        token = request.headers.get("x-amz-access-token")
        if not token:
            raise _Reject(403, _errors("Unauthorized", _DENIED,
                                       "The request is missing the x-amz-access-token header."))
        rec = self.tokens.lookup(token)
        if rec is None:
            raise _Reject(403, _errors("Unauthorized", _DENIED, "The access token you provided "
                                                                "is revoked, malformed or invalid."))
        if rec.expires_at <= self.clock():
            raise _Reject(403, _errors("Unauthorized", _DENIED,
                                       "The access token you provided has expired."))
        if rec.kind != "grantless" and self.config.missing_roles:
            self._check_roles(op)
        grant = None
        if op.grantless_scope:
            if rec.kind != "grantless" or op.grantless_scope not in rec.scope.split():
                raise _Reject(403, _errors(
                    "Unauthorized", _DENIED, f"{op.operation_id} is a grantless operation: call "
                    f"it with a client_credentials token of scope {op.grantless_scope}."))
        elif rec.kind == "grantless":
            raise _Reject(403, _errors(
                "Unauthorized", _DENIED, f"{op.operation_id} needs a selling partner's "
                "authorization (a refresh_token access token), not a grantless token."))
        elif rec.kind == "rdt":
            covering = next((r for r in rec.resources if r.covers(request.method, path)), None)
            if covering is None:
                raise _Reject(403, _errors(
                    "Unauthorized", _DENIED, "The restricted data token does not cover "
                    f"{request.method} {path[:200]}."))
            from sellerkit.emulator.simulation import RdtGrant

            grant = RdtGrant(data_elements=covering.data_elements)
        elif op.restricted and not self._redacts(op):
            # Amazon: a restricted operation needs an RDT. Where the simulation answers, it
            # leaves the buyer data out of a plain-token answer (Orders v0, restricted report
            # documents); a generated answer cannot be redacted, so it is refused.
            raise _Reject(403, _errors(
                "Unauthorized", _DENIED, f"{op.operation_id} is a restricted operation: call it "
                "with a Restricted Data Token (createRestrictedDataToken) for "
                f"{request.method} {op.path}."))
        return rec, grant

    def _check_roles(self, op: Operation) -> None:
        """``missing_roles``: refuse ``op`` when the app has none of the roles that grant its
        API. Amazon answers a missing role exactly like a bad token (a 403 ``Unauthorized``
        with an empty ``details``), so the caller cannot tell which it was from the answer."""
        from sellerkit.emulator.roles import roles_for_api

        grants = roles_for_api(op.api_key)
        if grants is not None and grants <= set(self.config.missing_roles):
            raise _Reject(403, _errors("Unauthorized", _DENIED, ""))

    def _redacts(self, op: Operation) -> bool:
        """Whether a plain-token call of restricted ``op`` gets an answer without buyer data."""
        if op.key == "reports_2021_06_30.getReportDocument":
            return True  # restricted only for some report types; the handler decides
        sim = self.simulation
        return sim is not None and bool(sim.handles(op.key))

    def _parse_body(self, request: Request, body: bytes) -> Any:
        if not body:
            return NO_BODY
        ctype = request.headers.get("content-type")
        if ctype:
            media = ctype.split(";", 1)[0].strip().lower()
            if not (media == "application/json" or media.endswith("+json")):
                raise _Reject(415, _errors(
                    "UnsupportedMediaType", f"Content-Type {media[:80]!r} is not supported; "
                    "send application/json."))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Reject(400, _errors("InvalidInput",
                                       "The request body is not valid UTF-8.")) from None
        try:
            return json.loads(text)
        except RecursionError:
            raise _Reject(400, _errors("InvalidInput", "The request body nests too deeply.")
                          ) from None
        except json.JSONDecodeError as exc:
            raise _Reject(400, _errors("InvalidInput", f"The request body is not valid JSON: "
                                                       f"{exc.msg} at position {exc.pos}.")
                          ) from None
        except ValueError:
            # json.loads refuses an integer of more than sys.get_int_max_str_digits() digits
            # with a plain ValueError, not a JSONDecodeError
            raise _Reject(400, _errors("InvalidInput", "The request body holds a number too "
                                                       "long to read (more than 4300 digits)."
                                       )) from None

    def _validator(self, op: Operation) -> Any:
        validator = self._validators.get(op.key)
        if validator is None and op.body_param is not None and op.body_param.schema:
            from jsonschema import Draft4Validator

            schema = {**op.body_param.schema, "definitions": self.catalog.schemas(op.api_key)}
            validator = self._validators[op.key] = Draft4Validator(schema)
        return validator

    def _validate(self, op: Operation, query: dict[str, list[str]], path: dict[str, str],
                  request: Request, body: Any) -> dict[str, Any]:
        values, problems = parse_wire(op, query, path, request.headers)
        if not self.config.strict_params:
            values = {k: v for k, v in values.items() if k in op.params_by_name}
        problems += check_params(op, values, body_present=body is not NO_BODY)
        problems += [Problem(name, "must not be empty") for name, v in path.items() if v == ""]
        errors = [{"code": "InvalidInput", "message": str(p), "details": p.param}
                  for p in problems]
        if body is not NO_BODY:
            validator = self._validator(op)
            if validator is not None:
                name = op.body_param.name if op.body_param else "body"
                for err in sorted(validator.iter_errors(body),
                                  key=lambda e: [str(p) for p in e.path])[:20]:
                    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}"
                                    for p in err.path)
                    message = err.message if len(err.message) <= 300 else err.message[:297] + "..."
                    errors.append({"code": "InvalidInput", "message": f"{name}{where}: {message}",
                                   "details": f"{name}{where}"})
        if errors:
            raise _Reject(400, {"errors": errors})
        return values

    async def _pipeline(self, request: Request, rid: str) -> Response:
        op, path_params, path = self._route(request)
        self._secret_expiry_notice()

        if self.faults.active:
            fault = self.faults.draw()
            if fault.delay > 0:
                await anyio.sleep(fault.delay)
            if fault.reset:
                return _Drop()
            if fault.status is not None:
                code, message = _ERROR_TEXT.get(fault.status, ("InternalFailure",
                                                               "Injected fault."))
                # Amazon's throttle body carries an empty details member
                details = "" if fault.status == 429 else None
                return self._json(fault.status, _errors(code, message, details), rid)

        raw_body = await self._read_body(request)
        if self.config.require_sigv4:
            self._check_sigv4(request, raw_body)
        rec, rdt = self._authorize(request, op, path)
        if not self.limiter.acquire(op, rec.application_id, rec.seller_id):
            return self._json(429, _errors(*_ERROR_TEXT[429], details=""), rid)
        rate = self.limiter.plan(op)[2]
        rate_headers = {"x-amzn-RateLimit-Limit": rate}
        try:
            body = self._parse_body(request, raw_body)
            query: dict[str, list[str]] = {}
            qs = request.scope.get("query_string") or b""
            if qs:
                for k, v in parse_qsl(qs.decode("utf-8"), keep_blank_values=True,
                                      errors="strict"):
                    query.setdefault(k, []).append(v)
        except UnicodeDecodeError:
            return self._json(400, _errors("InvalidInput", "The query string is not valid "
                                                           "UTF-8."), rid, rate_headers)
        except _Reject as rej:
            return self._json(rej.status, rej.body, rid,
                              rate_headers if rej.status in _RATE_HEADER_STATUSES else None)

        if self.sandbox is not None:
            prefer = request.headers.get(SANDBOX_STATUS_HEADER)
            prefer_status: int | None = None
            if prefer is not None:
                # isdigit() alone accepts "²" and other digits int() refuses
                if not (len(prefer) == 3 and prefer.isascii() and prefer.isdigit()):
                    return self._json(400, _errors(
                        "InvalidInput", f"{SANDBOX_STATUS_HEADER} must be an HTTP status code "
                        f"such as 200 or 400, got {prefer[:20]!r}.", SANDBOX_STATUS_HEADER),
                        rid, rate_headers)
                prefer_status = int(prefer)
            case = self.sandbox.match(op, query, path_params, request.headers, body,
                                      prefer_status=prefer_status)
            if case is not None:
                headers = rate_headers if case.status in _RATE_HEADER_STATUSES else None
                resp = case.response
                if resp == "" or resp is None:
                    return self._json(case.status, None, rid, headers)
                return self._json(case.status, resp, rid, headers)

        if self.config.validate:
            try:
                values = self._validate(op, query, path_params, request, body)
            except _Reject as rej:
                return self._json(rej.status, rej.body, rid, rate_headers)
        else:
            values = parse_wire(op, query, path_params, request.headers)[0]

        parsed = None if body is NO_BODY else body
        if op.key == RDT_OPERATION:
            status, payload = self._create_rdt(rec, parsed)
            return self._json(status, payload, rid, rate_headers)
        if op.key == ROTATE_OPERATION:
            self._rotate_client_secret(rec)
            # the new secret must survive a restart of a --state emulator
            await anyio.to_thread.run_sync(self._persist)
            return self._json(204, None, rid, rate_headers)
        sim = self.simulation
        if sim is not None and sim.handles(op.key):
            from sellerkit.emulator.simulation import SimRequest

            sim_req = SimRequest(
                operation=op, params=values, body=parsed, raw_body=raw_body,
                content_type=request.headers.get("content-type"), seller_id=rec.seller_id,
                application_id=rec.application_id, rdt=rdt,
                base_url=str(request.base_url).rstrip("/"))
            answer = sim.handle(sim_req)
            self.notifications.kick()
            return self._sim_response(answer, rid, rate)
        # the request as it came is the cache key, so a repeated request costs a dict lookup
        key = (op.key, path, request.scope.get("query_string") or b"", raw_body, rec.seller_id)
        cached = self._generated.get(key)
        if cached is None:
            context = request_context(op, path_params, query, parsed, rec.seller_id,
                                      self.catalog, raw_body)
            cached = self._generated_response(op, context)
            if len(raw_body) <= 65536:
                if len(self._generated) >= _GENERATED_CACHE:
                    # oldest first; another event loop (sync and async transports at once) may
                    # be trimming too
                    with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                        self._generated.pop(next(iter(self._generated)))
                self._generated[key] = cached
        status, content, ctype = cached
        return self._json(status, content, rid, rate_headers, ctype)

    def _generated_response(self, op: Operation, context: RequestContext
                            ) -> tuple[int, bytes | None, str]:
        status, body = generate_for(op, self.catalog.schemas(op.api_key), self.config.seed,
                                    context)
        ctype = op.produces[0] if op.produces else "application/json"
        return status, None if body is None else _json_bytes(body), ctype

    def _check_sigv4(self, request: Request, body: bytes) -> None:
        from sellerkit.emulator.sigv4 import verify_sigv4

        headers = {k.lower(): v for k, v in request.headers.items()}
        problem = verify_sigv4(request.method, str(request.url), headers, body,
                               access_key=self.config.aws_access_key,
                               secret_key=self.config.aws_secret_key, now=self.clock())
        if problem is not None:
            code = "InvalidSignature" if "signature" in problem.lower() else "Unauthorized"
            raise _Reject(403, _errors(code, _DENIED, problem))

    def _create_rdt(self, rec: AccessToken, body: Any) -> tuple[int, Any]:
        if rec.kind != "seller":
            return 403, _errors("Unauthorized", _DENIED,
                                "Restricted data tokens are issued for a seller access token.")
        if not self.config.rdt:
            # EmulatorConfig.rdt=False: an app without a restricted role; Amazon refuses the
            # token with its plain 403 (the Tokens API documents 403 for an unauthorized caller)
            return 403, _errors("Unauthorized", _DENIED, "")
        resources = body.get("restrictedResources") if isinstance(body, dict) else None
        if not isinstance(resources, list) or not resources:
            return 400, _errors("InvalidInput", "restrictedResources must list at least one "
                                                "resource.", "restrictedResources")
        if len(resources) > 50:
            return 400, _errors("InvalidInput", "restrictedResources takes at most 50 "
                                                "resources.", "restrictedResources")
        built: list[RdtResource] = []
        for i, res in enumerate(resources):
            where = f"restrictedResources[{i}]"
            if not isinstance(res, dict) or "method" not in res or "path" not in res:
                return 400, _errors("InvalidInput", f"{where} needs a method and a path.", where)
            method, rpath = str(res["method"]).upper(), str(res["path"])
            raw_elements = res.get("dataElements")
            if raw_elements is None:
                raw_elements = []
            if not isinstance(raw_elements, list) or not all(
                    isinstance(e, str) for e in raw_elements):
                return 400, _errors("InvalidInput", f"{where}.dataElements must be a list of "
                                                    "strings.", where)
            elements = list(raw_elements)
            found = self.catalog.match(method, rpath.split("?", 1)[0])
            if found is None:
                return 400, _errors("InvalidInput", f"{where}: {method} {rpath[:200]} is not an "
                                                    "SP-API operation.", where)
            target = found[0]
            if not target.restricted:
                return 400, _errors("InvalidInput", f"{where}: {target.operation_id} is not a "
                                                    "restricted operation.", where)
            # dataElements select the PII of Orders v0 getOrders, getOrder and getOrderItems
            # only; for every other restricted operation the RDT for the path unlocks its data,
            # and dataElements, not needed there, change nothing.
            if target.restricted_data_elements:
                bad = [e for e in elements if e not in ORDER_DATA_ELEMENTS]
                if bad:
                    return 400, _errors(
                        "InvalidInput", f"{where}: data element(s) {', '.join(bad)[:200]} not "
                        f"valid for {target.operation_id} (valid: "
                        f"{', '.join(ORDER_DATA_ELEMENTS)}).", where)
            else:
                elements = []
            if target.key == "reports_2021_06_30.getReportDocument" and "{" in rpath:
                return 400, _errors("InvalidInput", f"{where}: getReportDocument needs a specific "
                                                    "path (the reportDocumentId), not a template.",
                                    where)
            built.append(RdtResource.build(method, rpath, frozenset(elements)))
        app = str(body.get("targetApplication") or rec.application_id)
        token = self.tokens.issue_rdt(app, rec.seller_id, tuple(built))
        return 200, {"restrictedDataToken": token, "expiresIn": self.config.rdt_lifetime}

    # ------------------------------------------------------------------ client secrets

    def _rotate_client_secret(self, rec: AccessToken) -> None:
        """rotateApplicationClientSecret: a new secret, delivered only by notification to the
        console-registered queue (``secret_queue_arn``); the old one keeps working for the
        grace period (``sellerkit.emulator.credentials``)."""
        from sellerkit.emulator.credentials import NEW_SECRET, new_secret_payload
        from sellerkit.emulator.simulation.data import iso

        rotation = self.tokens.client_secrets.rotate()
        if self.simulation is not None:
            self.simulation.notify_application(
                rec.application_id, self.config.secret_queue_arn, NEW_SECRET,
                new_secret_payload(self.config.client_id, rotation, iso))
            self.notifications.kick()

    def _secret_expiry_notice(self) -> None:
        """APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY once the current secret is within 90 days of
        its expiry (once per secret)."""
        expires_at = self.tokens.client_secrets.due_warning()
        if expires_at is None or self.simulation is None:
            return
        from sellerkit.emulator.credentials import SECRET_EXPIRY, expiry_payload
        from sellerkit.emulator.simulation.data import iso

        self.simulation.notify_application(
            self.config.application_id, self.config.secret_queue_arn, SECRET_EXPIRY,
            expiry_payload(self.config.client_id, expires_at, iso))
        self.notifications.kick()

    # ------------------------------------------------------------------ helpers for tests

    def access_token(self, seller_index: int = 0) -> str:
        """An access token for a simulated seller, without going through LWA."""
        return self.tokens.grant({"grant_type": "refresh_token", "client_id": self.config.client_id,
                                  "client_secret": self.tokens.client_secrets.current,
                                  "refresh_token": self.refresh_token(seller_index)}
                                 )["access_token"]

    def grantless_token(self, scope: str) -> str:
        """A client_credentials access token for ``scope``, without going through LWA."""
        return self.tokens.grant({"grant_type": "client_credentials", "scope": scope,
                                  "client_id": self.config.client_id,
                                  "client_secret": self.tokens.client_secrets.current}
                                 )["access_token"]

    def restricted_token(self, method: str, path: str, data_elements: tuple[str, ...] = (),
                         seller_index: int = 0) -> str:
        """A Restricted Data Token for one resource (a specific or ``{template}`` path), without
        going through the Tokens API."""
        seller = self.tokens.lookup(self.access_token(seller_index))
        assert seller is not None
        return self.tokens.issue_rdt(self.config.application_id, seller.seller_id, (
            RdtResource.build(method, path, frozenset(data_elements)),))

    def token_for(self, op: Operation, seller_index: int = 0) -> str:
        """The token a call of ``op`` needs: grantless, an RDT for the operation's generic path
        (the concrete one can't be known here: getReportDocument callers use
        :meth:`restricted_token`), or the seller's access token."""
        if op.grantless_scope:
            return self.grantless_token(op.grantless_scope)
        if op.restricted:
            return self.restricted_token(op.method, op.path, op.restricted_data_elements,
                                         seller_index)
        return self.access_token(seller_index)

    def close(self) -> None:
        """Stop the notification sender (``sqs_endpoint``) after a last round; idempotent."""
        self.notifications.close()
