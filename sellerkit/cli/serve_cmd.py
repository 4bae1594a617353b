"""``sellerkit serve``: the seller-authorization web app and the admin pages, served by uvicorn.

    sellerkit serve --application-id amzn1.sp.solution.0123 --app-status draft \\
        --redirect-uri https://app.example.com/callback \\
        --tls-cert cert.pem --tls-key key.pem --host 0.0.0.0 --port 443

The LWA client id and secret come from the sellerkit profile (``--profile``) or the
environment; the app's facts from the flags or ``SELLERKIT_APPLICATION_ID``,
``SELLERKIT_APP_STATUS``, ``SELLERKIT_REDIRECT_URI``. ``--allow-ip CIDR`` (repeatable) replaces
the admin allowlist (loopback by default); ``--allow-ip-scope all`` applies it to every page,
the public connect flow included. See docs/web.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from sellerkit.cli._options import ProfileOpt
from sellerkit.cli.vault_cmd import KeyOpt, VaultOpt

__all__ = ["register", "serve"]


def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        tls_cert: Annotated[Path | None, typer.Option(
            "--tls-cert", metavar="FILE", help="TLS certificate (PEM): serve HTTPS.")] = None,
        tls_key: Annotated[Path | None, typer.Option(
            "--tls-key", metavar="FILE", help="TLS private key (PEM).")] = None,
        allow_ip: Annotated[list[str] | None, typer.Option(
            "--allow-ip", metavar="CIDR",
            help="Networks allowed to reach the admin pages (repeatable) "
                 "(default: loopback only).")] = None,
        allow_ip_scope: Annotated[str, typer.Option(
            "--allow-ip-scope", metavar="admin|all",
            help="Apply the allowlist to the admin pages only, or to every page.")] = "admin",
        application_id: Annotated[str | None, typer.Option(
            "--application-id", metavar="ID",
            help="The app id (amzn1.sp.solution....) (env SELLERKIT_APPLICATION_ID).")] = None,
        app_status: Annotated[str | None, typer.Option(
            "--app-status", metavar="draft|published",
            help="The app's state in Solution Provider Portal; draft adds version=beta "
                 "[env SELLERKIT_APP_STATUS].")] = None,
        redirect_uri: Annotated[str | None, typer.Option(
            "--redirect-uri", metavar="URL",
            help="The OAuth redirect URI registered for the app "
                 "(env SELLERKIT_REDIRECT_URI).")] = None,
        consent_url: Annotated[str | None, typer.Option(
            "--consent-url", metavar="URL",
            help="Send sellers to this consent host instead of Seller/Vendor Central "
                 "(e.g. the emulator, http://127.0.0.1:8787).")] = None,
        lwa_endpoint: Annotated[str | None, typer.Option(
            "--lwa-endpoint", metavar="URL", help="LWA token URL (default Amazon's).")] = None,
        state_ttl: Annotated[int | None, typer.Option(
            "--state-ttl", metavar="SECONDS",
            help="How long a connect link is valid, 300-900 (default: 600).")] = None,
        vault: VaultOpt = None,
        key: KeyOpt = None,
        profile: ProfileOpt = None,
) -> None:
    """Serve the "Connect your Amazon account" flow and the admin pages."""
    import uvicorn

    from sellerkit.cli.vault_cmd import open_vault
    from sellerkit.web.app import create_app
    from sellerkit.web.config import LOOPBACK, load_web_settings
    from sellerkit.web.server import check_tls_files, uvicorn_config

    check_tls_files(tls_cert, tls_key)
    settings = load_web_settings({
        "application_id": application_id, "app_status": app_status,
        "redirect_uri": redirect_uri, "consent_base_url": consent_url,
        "lwa_endpoint": lwa_endpoint, "state_ttl": state_ttl,
        "allow_ips": tuple(allow_ip) if allow_ip else LOOPBACK,
        "allow_scope": allow_ip_scope, "tls": tls_cert is not None,
    }, profile=profile)
    v = open_vault(vault, key, create=True)  # sellers can connect before an admin exists
    app = create_app(settings, vault=v)
    web_log = logging.getLogger("sellerkit.web")
    if not web_log.handlers:  # the command is the application: it may give its logger a handler
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        web_log.addHandler(handler)
        web_log.setLevel(logging.INFO)
    scheme = "https" if tls_cert else "http"
    typer.echo(f"sellerkit serve: {scheme}://{host}:{port}/connect (sellers), "
               f"{scheme}://{host}:{port}/admin (vault users); app {settings.application_id} "
               f"({settings.app_status}), redirect URI {settings.redirect_uri}")
    try:
        uvicorn.Server(uvicorn_config(app, host, port, tls_cert=tls_cert,
                                      tls_key=tls_key)).run()
    finally:
        v.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
