"""What ``sellerkit aws setup-notifications`` and ``setup-iam`` share: boto3 clients (lazy, with
an install hint), AWS failures as one clear error, and the report both commands print.

boto3 is the optional extra ``aws``; nothing here imports it at module level. The AWS
credentials are boto3's own chain (environment, ``--aws-profile``, SSO, instance roles): the
keys a sellerkit profile holds for SigV4 are those of the restricted SP-API user, not of
someone who may create queues and users.

``--aws-endpoint URL`` (``SELLERKIT_AWS_ENDPOINT``) sends every AWS call to another endpoint:
any https URL, or plain http to a loopback address only (a local moto or LocalStack), as for
the SP-API endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sellerkit.errors import ConfigurationError, SellerkitError

__all__ = ["AwsContext", "AwsSetupError", "Report", "Step", "aws_call", "error_code",
           "explain", "policy_json"]

INSTALL_HINT = "pip install 'sellerkit[aws]'"

#: the IAM permissions each command needs, for AccessDenied messages and docs/aws.md
NEEDED = {
    "setup-notifications": ("sqs:CreateQueue, sqs:GetQueueUrl, sqs:GetQueueAttributes, "
                            "sqs:SetQueueAttributes, sqs:SendMessage, sqs:ReceiveMessage, "
                            "sqs:DeleteMessage, sts:GetCallerIdentity and, with --event-bridge, "
                            "events:DescribeEventBus and events:CreateEventBus"),
    "setup-iam": ("iam:GetUser, iam:CreateUser, iam:GetUserPolicy, iam:PutUserPolicy, "
                  "iam:ListAccessKeys, iam:CreateAccessKey and, with --role, iam:GetRole, "
                  "iam:CreateRole, iam:UpdateAssumeRolePolicy, iam:GetRolePolicy, "
                  "iam:PutRolePolicy"),
}


class AwsSetupError(SellerkitError):
    """AWS refused a set-up call (access denied, a limit, a conflict) or could not be reached;
    the message names the call and says what to do."""

    exit_code = 1  # the other side refused (docs/cli.md)


def policy_json(doc: dict[str, Any]) -> str:
    """A policy document as AWS receives it (and as --dry-run prints it)."""
    return json.dumps(doc, indent=2, sort_keys=False)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code", ""))
    return ""


def _message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        text = str((response.get("Error") or {}).get("Message", ""))
        # an XML error body botocore could not parse (a JSON-protocol client, an XML answer)
        found = re.search(r"<Message>(.*?)</Message>", text, re.S)
        return found.group(1).strip() if found else text
    return str(exc)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
           "AuthorizationError", "AWS.SimpleQueueService.AccessDenied"}
_BAD_KEYS = {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
             "InvalidAccessKeyId", "InvalidSignatureException"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_LIMIT = {"LimitExceeded", "LimitExceededException"}


def aws_call(command: str, call: str, fn: Callable[..., Any], *,
             limit_hint: str = "", **kwargs: Any) -> Any:
    """``fn(**kwargs)``; a botocore failure becomes an :class:`AwsSetupError` (or a
    ConfigurationError for missing credentials / region) naming ``call`` and what to do.
    Error codes the caller handles itself (``NoSuchEntity`` ...) reach it as ClientErrors:
    only the codes listed here are translated."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        explain(command, call, exc, limit_hint)
        raise


def explain(command: str, call: str, exc: BaseException, limit_hint: str = "") -> None:
    """Raise the clear error for a botocore failure of ``call``; return for anything else
    (the caller re-raises or handles it)."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        raise ConfigurationError(
            f"{call}: no AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE / --aws-profile) for an identity that may set this up") from None
    if name == "ProfileNotFound":
        raise ConfigurationError(f"{call}: {exc} (check --aws-profile / AWS_PROFILE)"
                                 ) from None
    if name == "NoRegionError":
        raise ConfigurationError(f"{call}: no AWS region; pass --aws-region (e.g. "
                                 "us-east-1) or set AWS_DEFAULT_REGION") from None
    if name in ("EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError",
                "ReadTimeoutError"):
        raise AwsSetupError(f"{call}: cannot reach AWS: {exc}") from None
    code = error_code(exc)
    if code in _BAD_KEYS:
        raise AwsSetupError(f"{call}: AWS does not accept these credentials ({code}); check "
                            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or --aws-profile"
                            ) from None
    if code in _EXPIRED:
        raise AwsSetupError(f"{call}: the AWS credentials have expired ({code}); refresh "
                            "them (aws sso login, or new session credentials)") from None
    if code in _DENIED or (_status(exc) == 403 and code in ("", "403")):
        raise AwsSetupError(
            f"{call}: access denied ({_message(exc)}). The AWS identity running "
            f"'sellerkit aws {command}' needs {NEEDED[command]}; run it with an "
            "administrator's credentials (--aws-profile) or attach a policy with those "
            "actions (docs/aws.md)") from None
    if code in _LIMIT:
        raise AwsSetupError(f"{call}: an AWS limit was reached ({_message(exc)})"
                            f"{'; ' + limit_hint if limit_hint else ''}") from None


_LOADERS: dict[str | None, Any] = {}


def _loader(data_path: str | None) -> Any:
    """botocore's model loader, shared by the sessions of one process: a fresh session would
    read and parse the service models again (a few tenths of a second per run). Credentials
    and configuration stay per session."""
    if data_path not in _LOADERS:
        from botocore.loaders import create_loader

        _LOADERS[data_path] = create_loader(data_path)
    return _LOADERS[data_path]


@dataclass
class AwsContext:
    """boto3 clients for one region / profile / endpoint."""

    command: str
    region: str | None = None
    aws_profile: str | None = None
    endpoint: str | None = None
    _session: Any = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.endpoint:
            from sellerkit.regions import check_url

            self.endpoint = check_url(self.endpoint, "--aws-endpoint")

    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                import boto3
            except ImportError:
                raise ConfigurationError(f"'sellerkit aws {self.command}' needs boto3: "
                                         f"{INSTALL_HINT}") from None
            import botocore.session

            core = botocore.session.get_session()
            core.register_component("data_loader",
                                    _loader(core.get_config_variable("data_path")))
            try:
                self._session = boto3.session.Session(botocore_session=core,
                                                      profile_name=self.aws_profile,
                                                      region_name=self.region)
            except Exception as exc:  # ProfileNotFound and friends
                if type(exc).__name__ == "ProfileNotFound":
                    raise ConfigurationError(f"{exc} (check --aws-profile / AWS_PROFILE)"
                                             ) from None
                raise
        return self._session

    def client(self, service: str, **credentials: Any) -> Any:
        key = service if not credentials else f"{service}:{credentials.get('aws_access_key_id')}"
        if key not in self._clients:
            region = self.session.region_name or self.region
            # IAM is global and STS answers for every account in us-east-1
            if not region and service not in ("iam", "sts"):
                raise ConfigurationError("no AWS region; pass --aws-region (e.g. us-east-1) or "
                                         "set AWS_DEFAULT_REGION")
            self._clients[key] = self.session.client(
                service, region_name=region or "us-east-1", endpoint_url=self.endpoint,
                **credentials)
        return self._clients[key]

    @property
    def region_name(self) -> str:
        region = self.session.region_name or self.region
        if not region:
            raise ConfigurationError("no AWS region; pass --aws-region (e.g. us-east-1) or set "
                                     "AWS_DEFAULT_REGION")
        return str(region)

    def account_id(self) -> str:
        sts = self.client("sts")
        return str(aws_call(self.command, "sts:GetCallerIdentity",
                            sts.get_caller_identity)["Account"])


# the report -----------------------------------------------------------------------------------

#: what a step's status means; "would ..." only in a dry run
STATUSES = ("created", "updated", "exists, unchanged", "verified", "pending", "skipped",
            "would call")


@dataclass
class Step:
    """One thing a set-up command did (or, in a dry run, would do): ``call`` is the API call
    (``sqs:CreateQueue``), ``target`` what it acts on, ``status`` one of STATUSES."""

    call: str
    target: str
    status: str
    detail: str = ""
    params: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"call": self.call, "target": self.target, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if self.params is not None:
            out["params"] = self.params
        return out


@dataclass
class Report:
    """What a set-up command did: the steps, the policy documents it set (or would set), the
    resources it ended with, and notes for the user."""

    command: str
    dry_run: bool
    headline: str = ""
    steps: list[Step] = field(default_factory=list)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, call: str, target: str, status: str, detail: str = "",
            params: dict[str, Any] | None = None) -> Step:
        step = Step(call, target, status, detail, params)
        self.steps.append(step)
        return step

    @property
    def changed(self) -> bool:
        return any(s.status in ("created", "updated") for s in self.steps)

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.status == "pending"]

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "dry_run": self.dry_run, "headline": self.headline,
                "changed": self.changed,
                "steps": [s.to_dict() for s in self.steps], "policies": self.policies,
                "resources": self.resources, "notes": self.notes}
