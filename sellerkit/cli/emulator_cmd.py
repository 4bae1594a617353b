"""``sellerkit emulator``: serve the local SP-API (LWA, consent page, all operations) with uvicorn.

It prints its base URL and the demo application's credentials, then serves until Ctrl-C. The
emulator itself lives in ``sellerkit.emulator`` and is imported only when the command runs.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "serve"]


def _banner(emulator: object, base_url: str, defaults: dict[str, bool]) -> None:
    from rich.console import Console
    from rich.table import Table

    from sellerkit.emulator.app import Emulator

    assert isinstance(emulator, Emulator)
    cfg = emulator.config
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]sellerkit emulator[/bold] listening on [cyan]{base_url}[/cyan]")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")

    def shown(value: str, is_default: bool, flag: str) -> str:
        # demo defaults are public and printed on purpose; values given on the command line
        # may be someone's real-looking secrets, so they are not echoed back
        return value if is_default else f"(as given with {flag})"

    table.add_row("endpoint", base_url)
    table.add_row("lwa_endpoint", f"{base_url}/auth/o2/token")
    table.add_row("client_id", cfg.client_id)
    table.add_row("client_secret", shown(cfg.client_secret, defaults["client_secret"],
                                         "--client-secret"))
    table.add_row("refresh_token", shown(cfg.refresh_token, defaults["refresh_token"],
                                         "--refresh-token")
                  + (f"  (seller i>0: <token>-i, {len(emulator.seller_ids)} sellers)"
                     if len(emulator.seller_ids) > 1 else ""))
    table.add_row("sellers", ", ".join(emulator.seller_ids[:3])
                  + (" ..." if len(emulator.seller_ids) > 3 else ""))
    table.add_row("application_id", cfg.application_id)
    limits = ("off" if not cfg.rate_limits else
              "Amazon's default plans" + (f" x{cfg.rate_scale:g}" if cfg.rate_scale != 1 else ""))
    table.add_row("rate limits", limits)
    if cfg.faults:
        table.add_row("faults", cfg.faults)
    if emulator.sandbox is not None:
        table.add_row("static sandbox", f"{len(emulator.sandbox)} cases from {cfg.models}")
    onboarding = [f"lwa fault {cfg.lwa_fault}" if cfg.lwa_fault else "",
                  f"clock skew {cfg.clock_skew:+g}s" if cfg.clock_skew else "",
                  ("missing roles " + ", ".join(cfg.missing_roles)) if cfg.missing_roles else "",
                  "" if cfg.rdt else "no RDTs"]
    if any(onboarding):
        table.add_row("onboarding faults", "; ".join(x for x in onboarding if x))
    if cfg.require_sigv4:
        table.add_row("sigv4", f"required (access key {cfg.aws_access_key})")
    if cfg.state_file is not None:
        table.add_row("state", str(cfg.state_file))
    table.add_row("notifications", f"SQS at {cfg.sqs_endpoint}" if cfg.sqs_endpoint
                  else f"GET {base_url}/_emulator/notifications")
    if cfg.secret_queue_arn:
        table.add_row("secret notifications", cfg.secret_queue_arn)
    console.print(table)
    console.print(f"consent page: {base_url}/apps/authorize/consent?application_id="
                  f"{cfg.application_id}&state=xyz&version=beta", markup=False)
    if cfg.host not in ("127.0.0.1", "::1", "localhost"):
        console.print(f"[yellow]warning: listening on {cfg.host}, beyond loopback: anyone who "
                      "can reach this port can use the credentials above. sellerkit clients "
                      "only send credentials over plain HTTP to loopback addresses.[/yellow]")
    console.print("[dim]Ctrl-C stops it.[/dim]")
    sys.stdout.flush()


def serve(config: object, *, log_level: str = "warning", access_log: bool = False) -> None:
    """Run the emulator in the foreground until Ctrl-C (or SIGTERM)."""
    import uvicorn

    from sellerkit.emulator.app import Emulator
    from sellerkit.emulator.config import (
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
        EmulatorConfig,
    )
    from sellerkit.emulator.server import uvicorn_config

    assert isinstance(config, EmulatorConfig)
    emulator = Emulator(config)
    if config.models is not None and emulator.sandbox is not None and not len(emulator.sandbox):
        from sellerkit.errors import ConfigurationError

        raise ConfigurationError(
            f"--models {config.models} holds no static sandbox cases (no Amazon model file "
            "with x-amzn-api-sandbox examples); point it at the models directory of "
            "amzn/selling-partner-api-models, or leave --models out")
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # proto IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every response waits ~40 ms for a delayed ACK
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        from sellerkit.errors import ConfigurationError

        raise ConfigurationError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}; "
                                 "pick another --port (0 picks a free one)") from None
    sock.listen(512)
    port = sock.getsockname()[1]
    host = config.host if ":" not in config.host else f"[{config.host}]"
    base_url = f"http://{host}:{port}"
    _banner(emulator, base_url, {"client_secret": config.client_secret == DEFAULT_CLIENT_SECRET,
                                 "refresh_token": config.refresh_token == DEFAULT_REFRESH_TOKEN})
    server = uvicorn.Server(uvicorn_config(emulator, config.host, port, log_level=log_level,
                                           access_log=access_log))
    if access_log:
        # uvicorn logs requests at INFO on its access logger and sets that logger to the
        # --log-level (warning by default), which would swallow every line --access-log asks for
        import logging

        access = logging.getLogger("uvicorn.access")
        if access.getEffectiveLevel() > logging.INFO:
            access.setLevel(logging.INFO)

    @contextlib.contextmanager
    def capture_signals() -> Iterator[None]:
        # uvicorn's own handler re-raises the signal after shutting down, which would kill the
        # process before the state is saved; stop gracefully and return instead
        handled = [signal.SIGINT, signal.SIGTERM]
        original = {sig: signal.signal(sig, server.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    if threading.current_thread() is threading.main_thread():
        server.capture_signals = capture_signals  # type: ignore[method-assign]
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        emulator.close()
        saved = emulator.save_state()
        if saved is not None:
            typer.echo(f"state saved to {saved}")
    typer.echo("emulator stopped")


def register(app: typer.Typer) -> None:
    @app.command("emulator")
    def emulator_cmd(
        host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")
                        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8787,
        models: Annotated[Path | None, typer.Option(
            help="Directory of Amazon's model files: serve their static sandbox cases first.",
            exists=True, file_okay=False)] = None,
        seed: Annotated[int, typer.Option(help="Seed of the simulation, generated responses "
                                               "and faults.")] = 0,
        orders: Annotated[int, typer.Option(help="Orders per simulated seller.")] = 100,
        sellers: Annotated[int, typer.Option(help="Number of simulated sellers.")] = 1,
        rate_scale: Annotated[float, typer.Option(
            help="Multiply every rate limit (the x-amzn-RateLimit-Limit header follows).")
        ] = 1.0,
        no_rate_limits: Annotated[bool, typer.Option("--no-rate-limits",
                                                     help="Never throttle.")] = False,
        faults: Annotated[str | None, typer.Option(
            help='Inject faults, e.g. "500:0.05,503:0.02,429:0.05,reset:0.01,latency:20ms".')
        ] = None,
        require_sigv4: Annotated[bool, typer.Option(
            "--require-sigv4", help="Reject requests without a valid AWS SigV4 signature.")
        ] = False,
        strict_params: Annotated[bool, typer.Option(
            "--strict-params",
            help="Reject query parameters the operation does not declare (default: ignore "
                 "them, as Amazon does).")
        ] = False,
        aws_access_key: Annotated[str | None, typer.Option(
            help="Access key id expected in SigV4 signatures.")] = None,
        aws_secret_key: Annotated[str | None, typer.Option(
            help="Secret key SigV4 signatures are checked with.")] = None,
        client_id: Annotated[str | None, typer.Option(help="LWA client id of the app.")] = None,
        client_secret: Annotated[str | None, typer.Option(
            help="LWA client secret of the app.")] = None,
        refresh_token: Annotated[str | None, typer.Option(
            help="Refresh token of the first seller (seller i>0: <token>-i).")] = None,
        redirect_uri: Annotated[list[str] | None, typer.Option(
            help="Registered OAuth redirect URI (repeatable; replaces the defaults).")] = None,
        token_lifetime: Annotated[int, typer.Option(
            help="Seconds an LWA access token lives (expires_in).")] = 3600,
        state: Annotated[Path | None, typer.Option(
            help="Load the simulation from this JSON file if it exists; save it on exit.")
        ] = None,
        sqs_endpoint: Annotated[str | None, typer.Option(
            help="Send notifications to SQS queues on this endpoint (e.g. a moto server); "
                 "without it read them at /_emulator/notifications.")] = None,
        lwa_fault: Annotated[str | None, typer.Option(
            "--lwa-fault", metavar="ERROR",
            help="Fail every LWA token request with this error: invalid_client, invalid_grant, "
                 "unauthorized_client, access_denied, invalid_scope, invalid_request, "
                 "server_error or temporarily_unavailable.")] = None,
        clock_skew: Annotated[float, typer.Option(
            "--clock-skew", metavar="SECONDS",
            help="Shift the Date header of every response by this many seconds.")] = 0.0,
        missing_role: Annotated[list[str] | None, typer.Option(
            "--missing-role", metavar="ROLE",
            help='An SP-API role the app lacks (repeatable), e.g. "Finance and Accounting": '
                 "calls only it grants answer 403 Unauthorized.")] = None,
        no_rdt: Annotated[bool, typer.Option(
            "--no-rdt", help="Refuse every Restricted Data Token (an app without a restricted "
                             "role).")] = False,
        secret_queue: Annotated[str | None, typer.Option(
            "--secret-queue", metavar="ARN",
            help="SQS queue ARN 'registered in the developer console' for the client secret "
                 "notifications (new secret after rotation, expiry warning).")] = None,
        secret_expires_in: Annotated[float | None, typer.Option(
            "--secret-expires-in", metavar="DAYS",
            help="Days until the client secret expires (default 180; under 90 sends the "
                 "expiry notification at once).")] = None,
        log_level: Annotated[str, typer.Option(
            help="uvicorn log level: critical, error, warning, info, debug or trace.")
        ] = "warning",
        access_log: Annotated[bool, typer.Option(
            help="Log every request (whatever the --log-level).")] = False,
    ) -> None:
        """Serve a local SP-API + LWA + consent page to build against before Amazon says yes."""
        from sellerkit.emulator.config import EmulatorConfig
        from sellerkit.emulator.faults import parse_faults
        from sellerkit.errors import ConfigurationError

        if rate_scale <= 0:
            raise ConfigurationError(f"--rate-scale must be positive, got {rate_scale}")
        if sqs_endpoint is not None and not sqs_endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"--sqs-endpoint must be an http:// or https:// URL, got "
                                     f"{sqs_endpoint!r}")
        if token_lifetime < 1:
            raise ConfigurationError("--token-lifetime must be at least 1 second")
        if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
            raise ConfigurationError(f"--log-level {log_level!r} is not one of critical, error, "
                                     "warning, info, debug, trace")
        log_level = log_level.lower()
        if sellers < 1 or orders < 0:
            raise ConfigurationError("--sellers must be at least 1 and --orders at least 0")
        parse_faults(faults, seed=seed)  # a bad spec fails here, before anything starts
        from sellerkit.emulator.config import LWA_FAULTS
        from sellerkit.emulator.roles import check_role_names

        if lwa_fault is not None and lwa_fault not in LWA_FAULTS:
            raise ConfigurationError(f"--lwa-fault {lwa_fault!r} is not one of "
                                     + ", ".join(LWA_FAULTS))
        try:
            roles = check_role_names(missing_role or [])
        except ValueError as exc:
            raise ConfigurationError(f"--missing-role: {exc}") from None
        kw: dict[str, object] = {}
        if secret_queue is not None:
            if not secret_queue.startswith("arn:aws:sqs:"):
                raise ConfigurationError(f"--secret-queue must be an SQS queue ARN "
                                         f"(arn:aws:sqs:REGION:ACCOUNT:NAME), got "
                                         f"{secret_queue!r}")
            kw["secret_queue_arn"] = secret_queue
        if secret_expires_in is not None:
            import time as _time

            kw["client_secret_expires_at"] = _time.time() + secret_expires_in * 86400
        for name, value in (("client_id", client_id), ("client_secret", client_secret),
                            ("refresh_token", refresh_token), ("aws_access_key", aws_access_key),
                            ("aws_secret_key", aws_secret_key)):
            if value is not None:
                kw[name] = value
        if redirect_uri:
            kw["redirect_uris"] = tuple(redirect_uri)
        config = EmulatorConfig(
            host=host, port=port, seed=seed, orders=orders, sellers=sellers, models=models,
            rate_scale=rate_scale, rate_limits=not no_rate_limits, faults=faults,
            require_sigv4=require_sigv4, strict_params=strict_params,
            state_file=state, token_lifetime=token_lifetime, sqs_endpoint=sqs_endpoint,
            lwa_fault=lwa_fault, clock_skew=clock_skew, missing_roles=roles, rdt=not no_rdt,
            **kw)  # type: ignore[arg-type]
        serve(config, log_level=log_level, access_log=access_log)
