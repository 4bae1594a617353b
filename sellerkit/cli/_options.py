"""The connection options every command that talks to SP-API takes, declared once.

``profile: ProfileOpt = None`` in a command's signature is the ``--profile NAME`` flag; the
command passes these on to ``load_settings`` (flags > environment > profile > defaults).
"""

from __future__ import annotations

from typing import Annotated

import typer

ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", metavar="NAME", help="Config profile.")]
RegionOpt = Annotated[str | None, typer.Option(
    "--region", metavar="REGION", help="NA, EU or FE.")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint", metavar="URL", help="Override the SP-API host (e.g. the emulator).")]
LwaEndpointOpt = Annotated[str | None, typer.Option(
    "--lwa-endpoint", metavar="URL", help="Override the LWA token URL.")]
RateLimiterOpt = Annotated[str, typer.Option(
    "--rate-limiter", metavar="BACKEND", envvar="SELLERKIT_RATE_LIMITER",
    help="sqlite (shared by consecutive commands), sqlite:PATH, memory, off or a Redis URL.")]
