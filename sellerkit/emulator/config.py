"""Settings of the local SP-API emulator and the documented demo credentials.

The defaults are the emulator's *demo application*: anyone may use them against a local
emulator, they are printed when it starts, and they never work against Amazon. Flags of
``sellerkit emulator`` (and fields of :class:`EmulatorConfig`) override them.

Refresh tokens: the configured ``refresh_token`` belongs to the first simulated seller; seller
``i > 0`` uses ``f"{refresh_token}-{i}"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_AWS_ACCESS_KEY",
    "DEFAULT_AWS_SECRET_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REDIRECT_URIS",
    "DEFAULT_REFRESH_TOKEN",
    "LWA_FAULTS",
    "EmulatorConfig",
]

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.emulator"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.emulator-secret"  # noqa: S105 - documented demo value
DEFAULT_REFRESH_TOKEN = "Atzr|emulator-refresh-token"  # noqa: S105 - documented demo value
DEFAULT_APPLICATION_ID = "amzn1.sp.solution.emulator"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:8000/callback",
    "http://localhost:8000/callback",
)
DEFAULT_AWS_ACCESS_KEY = "AKIAEMULATOR00000000"
DEFAULT_AWS_SECRET_KEY = "emulator/aws/secret/key/0000000000000000"  # noqa: S105 - demo value

# Operations whose usage plan the models do not give (or give as ``n | n``) get this plan.
DEFAULT_RATE = 1.0
DEFAULT_BURST = 5

MAX_BODY_BYTES = 10 * 1024 * 1024

# What Login with Amazon answers for each error (status, error, error_description). The codes
# and the JSON shape are Amazon's (facts §1); the statuses follow OAuth 2.0 (RFC 6749 §5.2:
# 401 for invalid_client, 400 for the others), the descriptions are the texts users report.
LWA_FAULTS: dict[str, tuple[int, str]] = {
    "invalid_client": (401, "Client authentication failed"),
    "invalid_grant": (400, "The request has an invalid grant parameter : refresh_token"),
    "unauthorized_client": (400, "Not authorized for requested operation"),
    "access_denied": (400, "Access not granted for this client"),
    "invalid_scope": (400, "The scope requested is invalid"),
    "invalid_request": (400, "The request is missing a required parameter"),
    "server_error": (500, "Internal server error"),
    "temporarily_unavailable": (503, "Service temporarily unavailable"),
}


@dataclass
class EmulatorConfig:
    """Everything that shapes one emulator instance.

    ``rate_scale`` multiplies every rate (``x-amzn-RateLimit-Limit`` reports the scaled rate);
    ``rate_limits=False`` turns throttling off. ``faults`` is a spec such as
    ``"500:0.05,503:0.02,429:0.05,reset:0.01,latency:20ms"``. ``models`` is a directory of
    Amazon's model files whose static sandbox cases are served first. ``validate=False`` skips
    the parameter and body-schema checks (for benchmarks; parameters are still parsed).
    ``sqs_endpoint`` (an SQS-compatible server such as moto's) makes the emulator send each
    notification for an SQS destination to the queue its ARN names; without it notifications
    are only read in-process (``Emulator.notifications``) or over ``/_emulator/notifications``.
    ``strict_params=True`` answers a query parameter the operation does not declare with a 400;
    by default such parameters are ignored, as Amazon evidently does (python-amazon-sp-api adds
    ``MarketplaceId`` to calls that do not declare it, and those calls work against Amazon).

    Onboarding failures, to rehearse what ``sellerkit doctor`` diagnoses (docs/emulator.md,
    "Onboarding failures"): ``lwa_fault`` makes every token request fail with that LWA error
    (``LWA_FAULTS``: Amazon's status and error code); ``clock_skew`` shifts the ``Date`` header
    of every response by that many seconds; ``missing_roles`` names SP-API roles the app lacks
    (calls only those roles grant answer 403 Unauthorized, see ``sellerkit.emulator.roles``);
    ``rdt=False`` refuses every Restricted Data Token (an app without a restricted role).

    Client secret rotation (``sellerkit.emulator.credentials``): ``secret_queue_arn`` is the SQS
    queue "registered in the developer console" for APPLICATION_OAUTH_CLIENT_NEW_SECRET and
    APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY (delivered there with ``sqs_endpoint``);
    ``client_secret_expires_at`` (epoch seconds) is when the configured secret expires
    (default: 180 days after start; within 90 days, the expiry notification is sent at once).
    """

    host: str = "127.0.0.1"
    port: int = 8787
    seed: int = 0
    orders: int = 100
    sellers: int = 1
    models: Path | None = None
    rate_scale: float = 1.0
    rate_limits: bool = True
    faults: str | None = None
    require_sigv4: bool = False
    validate: bool = True
    strict_params: bool = False
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    refresh_token: str = DEFAULT_REFRESH_TOKEN
    application_id: str = DEFAULT_APPLICATION_ID
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    aws_access_key: str = DEFAULT_AWS_ACCESS_KEY
    aws_secret_key: str = DEFAULT_AWS_SECRET_KEY
    token_lifetime: int = 3600
    rdt_lifetime: int = 3600
    code_lifetime: int = 300
    max_body_bytes: int = MAX_BODY_BYTES
    state_file: Path | None = None
    report_seconds: float = 3.0
    feed_seconds: float = 3.0
    sqs_endpoint: str | None = None
    lwa_fault: str | None = None
    clock_skew: float = 0.0
    missing_roles: tuple[str, ...] = ()
    rdt: bool = True
    secret_queue_arn: str | None = None
    client_secret_expires_at: float | None = None
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.rate_scale <= 0:
            raise ValueError(f"rate_scale must be positive, got {self.rate_scale}")
        if self.sellers < 1:
            raise ValueError(f"sellers must be at least 1, got {self.sellers}")
        if self.models is not None:
            self.models = Path(self.models)
        if self.state_file is not None:
            self.state_file = Path(self.state_file)
        self.redirect_uris = tuple(self.redirect_uris)
        if self.sqs_endpoint is not None and not str(self.sqs_endpoint).startswith(
                ("http://", "https://")):
            raise ValueError(f"sqs_endpoint must be an http:// or https:// URL, got "
                             f"{self.sqs_endpoint!r}")
        if self.lwa_fault is not None and self.lwa_fault not in LWA_FAULTS:
            raise ValueError(f"lwa_fault must be one of {', '.join(LWA_FAULTS)}, got "
                             f"{self.lwa_fault!r}")
        if self.secret_queue_arn is not None and not str(self.secret_queue_arn).startswith(
                "arn:aws:sqs:"):
            raise ValueError(f"secret_queue_arn must be an SQS queue ARN "
                             f"(arn:aws:sqs:REGION:ACCOUNT:NAME), got {self.secret_queue_arn!r}")
        if not math.isfinite(self.clock_skew):
            raise ValueError("clock_skew must be a finite number of seconds")
        from sellerkit.emulator.roles import check_role_names

        self.missing_roles = check_role_names(tuple(self.missing_roles))

    def __repr__(self) -> str:
        # the secrets of a config are demo values more often than not, but a user may pass real
        # looking ones: keep them out of reprs all the same
        return (f"EmulatorConfig(host={self.host!r}, port={self.port}, seed={self.seed}, "
                f"orders={self.orders}, sellers={self.sellers}, models={self.models}, "
                f"rate_scale={self.rate_scale}, rate_limits={self.rate_limits}, "
                f"faults={self.faults!r}, require_sigv4={self.require_sigv4}, "
                f"lwa_fault={self.lwa_fault!r}, clock_skew={self.clock_skew}, "
                f"missing_roles={self.missing_roles!r}, rdt={self.rdt}, "
                f"client_id={self.client_id!r})")
