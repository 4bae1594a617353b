"""``sellerkit aws setup-iam``: the IAM user (and role) of Amazon's old SP-API guide.

**Amazon no longer needs any of this.** Since 2023-10-02 SP-API requests need no AWS
Signature Version 4 and the app registration form asks for no IAM ARN: an LWA client id, client
secret and refresh token are all a call needs. This module is kept for people following the old
guide and for signing set-ups that still use it (a proxy that expects signed requests, an
existing app whose registration names an IAM ARN). The AWS step Amazon *does* still require is
the notification queue (``aws_notifications``).

What it sets up, idempotently:

- the IAM user ``user`` with the inline policy ``ExecuteSPAPI``: Allow ``execute-api:Invoke``
  on ``arn:aws:execute-api:*:*:*`` (the old guide's step 2);
- with ``role``: the old guide's role variant instead: the role ``role`` holds ``ExecuteSPAPI``,
  trusts the user (its trust policy lets the user's ARN call ``sts:AssumeRole``), and the user
  gets the inline policy ``AssumeSPAPIRole`` (Allow ``sts:AssumeRole`` on the role ARN);
- an access key for the user, written to the sellerkit profile (``aws_access_key_id``,
  ``aws_secret_access_key``, and ``role_arn`` in the role variant) with
  ``sellerkit.config.save_profile`` (mode 0600, atomic). The secret is never printed. A profile
  that already holds an active key of this user that works (STS names the user when asked
  with it) is kept: no second key is made. AWS allows two keys per user; at the limit the error
  lists the keys and what to do.

Signing stays off (the profile's ``sigv4`` is not touched): set ``sigv4 = true`` only for a
set-up that still needs signed requests.

``dry_run=True`` makes no call and writes nothing: the report holds the calls and the policy
documents, with the account id from ``account_id`` or the placeholder ``ACCOUNT_ID``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sellerkit.errors import ConfigurationError
from sellerkit.onboarding._aws import AwsContext, Report, aws_call, error_code

__all__ = ["EXECUTE_POLICY_NAME", "NOT_NEEDED", "assume_role_policy", "execute_api_policy",
           "setup_iam", "trust_policy"]

COMMAND = "setup-iam"
EXECUTE_POLICY_NAME = "ExecuteSPAPI"
ASSUME_POLICY_NAME = "AssumeSPAPIRole"
PLACEHOLDER_ACCOUNT = "ACCOUNT_ID"
#: what every output of this command says first (doctor and docs/aws.md say the same)
NOT_NEEDED = ("Amazon no longer needs an IAM user or role for SP-API: since 2023-10-02 requests "
              "need no SigV4 signature and the app registration asks for no IAM ARN. This sets "
              "up the old guide's user for set-ups that still sign requests.")
SIGNING_NOTE = ("signing stays off: sellerkit sends unsigned requests, which Amazon accepts "
                "since 2023-10-02; set sigv4 = true in the profile only for a set-up that still needs "
                "signed requests")
_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_ACCOUNT = re.compile(r"\d{12}")


def execute_api_policy() -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "execute-api:Invoke",
        "Resource": "arn:aws:execute-api:*:*:*"}]}


def trust_policy(user_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]}


def assume_role_policy(role_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}


def _check_name(label: str, name: str) -> str:
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise ConfigurationError(f"{label} {name!r} is not a valid IAM name: 1 to 64 letters, "
                                 "digits and +=,.@_-")
    return name


def _policy_doc(value: Any) -> Any:
    """boto3 decodes IAM policy documents to dicts; some endpoints hand back the URL-encoded
    JSON string instead."""
    if isinstance(value, str):
        import json
        from urllib.parse import unquote

        try:
            return json.loads(unquote(value))
        except ValueError:
            return value
    return value


def _mask(key_id: str) -> str:
    return key_id if len(key_id) <= 8 else f"{key_id[:4]}…{key_id[-4:]}"


class _Iam:
    def __init__(self, aws: AwsContext, sleep: Callable[[float], None]) -> None:
        self.aws = aws
        self.iam = aws.client("iam")
        self.sleep = sleep

    def call(self, call: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return aws_call(COMMAND, call, fn, **kwargs)

    def get(self, call: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """The result, or None on NoSuchEntity."""
        try:
            return self.call(call, fn, **kwargs)
        except Exception as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    def ensure_inline(self, kind: str, owner: str, policy_name: str, doc: dict[str, Any],
                      report: Report) -> None:
        get = self.iam.get_user_policy if kind == "user" else self.iam.get_role_policy
        put = self.iam.put_user_policy if kind == "user" else self.iam.put_role_policy
        key = {"UserName": owner} if kind == "user" else {"RoleName": owner}
        verb = "User" if kind == "user" else "Role"
        found = self.get(f"iam:Get{verb}Policy", get, PolicyName=policy_name, **key)
        if found is not None and _policy_doc(found.get("PolicyDocument")) == doc:
            report.add(f"iam:Get{verb}Policy", f"{owner}/{policy_name}", "exists, unchanged")
            return
        import json

        self.call(f"iam:Put{verb}Policy", put, PolicyName=policy_name,
                  PolicyDocument=json.dumps(doc), **key)
        report.add(f"iam:Put{verb}Policy", f"{owner}/{policy_name}",
                   "created" if found is None else "updated",
                   f"inline policy on the {kind} {owner}")

    def create_role(self, role: str, trust: dict[str, Any]) -> Any:
        """CreateRole, retried while IAM does not yet know a user created a moment ago (the
        trust policy names it; IAM is eventually consistent)."""
        import json

        for attempt in range(6):
            try:
                return self.call("iam:CreateRole", self.iam.create_role, RoleName=role,
                                 AssumeRolePolicyDocument=json.dumps(trust),
                                 Description="SP-API (old guide): assumed by the SP-API user "
                                             "to sign requests; created by sellerkit")
            except Exception as exc:
                if error_code(exc) != "MalformedPolicyDocument" or attempt == 5:
                    raise
                self.sleep(2.0)
        raise AssertionError("unreachable")  # pragma: no cover


def setup_iam(aws: AwsContext, user: str, *, role: str | None = None,
              profile: str = "default", config_file: str | Path | None = None,
              account_id: str | None = None, dry_run: bool = False,
              env: Mapping[str, str] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> Report:
    """Set up (or check) the old guide's IAM user, role and access key; see the module
    docstring. The key goes to ``profile`` of ``config_file`` (default: sellerkit's config)."""
    user = _check_name("--user", user)
    role = _check_name("--role", role) if role is not None else None
    if account_id is not None and not _ACCOUNT.fullmatch(account_id.strip()):
        raise ConfigurationError(f"--account-id {account_id!r} is not a 12-digit AWS account id")
    report = Report(COMMAND, dry_run, headline=NOT_NEEDED)

    if dry_run:
        account = (account_id or PLACEHOLDER_ACCOUNT).strip()
        report.notes.append("dry run: no call was made and the profile was not written"
                            + ("; ACCOUNT_ID stands for your AWS account id (pass "
                               "--account-id to fill it in)" if account == PLACEHOLDER_ACCOUNT
                               else ""))
        user_arn = f"arn:aws:iam::{account}:user/{user}"
        role_arn = f"arn:aws:iam::{account}:role/{role}" if role else None
        _plan(report, user, user_arn, role, role_arn, profile)
        report.notes.append(SIGNING_NOTE)
        return report

    _ = aws.session  # boto3 is there (or the install hint)
    path = _config_path(config_file, env)  # where the key goes: checked before any change
    held = _held(profile, path)
    iam = _Iam(aws, sleep)
    account = aws.account_id()
    if account_id and account_id.strip() != account:
        raise ConfigurationError(f"--account-id {account_id.strip()} is not the account of "
                                 f"these AWS credentials ({account}); run with that account's "
                                 "credentials (--aws-profile) or drop the option")

    # the user
    found = iam.get("iam:GetUser", iam.iam.get_user, UserName=user)
    if found is None:
        made = iam.call("iam:CreateUser", iam.iam.create_user, UserName=user)
        user_arn = str(made["User"]["Arn"])
        report.add("iam:CreateUser", user, "created", user_arn)
    else:
        user_arn = str(found["User"]["Arn"])
        report.add("iam:GetUser", user, "exists, unchanged", user_arn)
    report.resources["user_arn"] = user_arn

    role_arn = None
    if role is None:
        report.policies[EXECUTE_POLICY_NAME] = execute_api_policy()
        iam.ensure_inline("user", user, EXECUTE_POLICY_NAME, execute_api_policy(), report)
    else:
        trust = trust_policy(user_arn)
        report.policies["trust_policy"] = trust
        report.policies[EXECUTE_POLICY_NAME] = execute_api_policy()
        existing = iam.get("iam:GetRole", iam.iam.get_role, RoleName=role)
        if existing is None:
            role_arn = str(iam.create_role(role, trust)["Role"]["Arn"])
            report.add("iam:CreateRole", role, "created", f"{role_arn}, trusts {user_arn}")
        else:
            role_arn = str(existing["Role"]["Arn"])
            current = _policy_doc(existing["Role"].get("AssumeRolePolicyDocument"))
            if current == trust:
                report.add("iam:GetRole", role, "exists, unchanged", role_arn)
            else:
                import json

                iam.call("iam:UpdateAssumeRolePolicy", iam.iam.update_assume_role_policy,
                         RoleName=role, PolicyDocument=json.dumps(trust))
                report.add("iam:UpdateAssumeRolePolicy", role, "updated",
                           f"the trust policy now lets {user_arn} assume it")
        report.resources["role_arn"] = role_arn
        iam.ensure_inline("role", role, EXECUTE_POLICY_NAME, execute_api_policy(), report)
        report.policies[ASSUME_POLICY_NAME] = assume_role_policy(role_arn)
        iam.ensure_inline("user", user, ASSUME_POLICY_NAME, assume_role_policy(role_arn),
                          report)

    _access_key(aws, iam, report, user, user_arn, role_arn, profile, path, held)
    report.notes.append(SIGNING_NOTE)
    return report


def _plan(report: Report, user: str, user_arn: str, role: str | None, role_arn: str | None,
          profile: str) -> None:
    import json

    report.resources["user_arn"] = user_arn
    report.add("sts:GetCallerIdentity", "", "would call", "the account id")
    report.add("iam:CreateUser", user, "would call", "unless it exists", {"UserName": user})
    execute = execute_api_policy()
    report.policies[EXECUTE_POLICY_NAME] = execute
    if role is None or role_arn is None:
        report.add("iam:PutUserPolicy", f"{user}/{EXECUTE_POLICY_NAME}", "would call",
                   "unless the same policy is there", {
                       "UserName": user, "PolicyName": EXECUTE_POLICY_NAME,
                       "PolicyDocument": json.dumps(execute)})
    else:
        report.resources["role_arn"] = role_arn
        trust = trust_policy(user_arn)
        assume = assume_role_policy(role_arn)
        report.policies["trust_policy"] = trust
        report.policies[ASSUME_POLICY_NAME] = assume
        report.add("iam:CreateRole", role, "would call",
                   "unless it exists (then iam:UpdateAssumeRolePolicy if the trust differs)",
                   {"RoleName": role, "AssumeRolePolicyDocument": json.dumps(trust)})
        report.add("iam:PutRolePolicy", f"{role}/{EXECUTE_POLICY_NAME}", "would call",
                   "unless the same policy is there", {
                       "RoleName": role, "PolicyName": EXECUTE_POLICY_NAME,
                       "PolicyDocument": json.dumps(execute)})
        report.add("iam:PutUserPolicy", f"{user}/{ASSUME_POLICY_NAME}", "would call",
                   "unless the same policy is there", {
                       "UserName": user, "PolicyName": ASSUME_POLICY_NAME,
                       "PolicyDocument": json.dumps(assume)})
    report.add("iam:CreateAccessKey", user, "would call",
               f"unless profile {profile!r} holds a working key of this user; the key is "
               "written to the profile (0600), the secret never printed",
               {"UserName": user})


def _config_path(config_file: str | Path | None, env: Mapping[str, str] | None) -> Path:
    import os

    from sellerkit.config import default_config_file

    path = Path(config_file).expanduser() if config_file is not None else default_config_file(
        os.environ if env is None else env)
    if str(path) == os.devnull:
        raise ConfigurationError(f"the sellerkit config file is {os.devnull} (SELLERKIT_CONFIG), "
                                 "so the access key could not be stored; point SELLERKIT_CONFIG "
                                 "at a file, or unset it")
    return path


def _held(profile: str, path: Path) -> tuple[str | None, str | None, str | None]:
    """(access key id, secret, role ARN) the profile holds now: only the profile, not the
    environment (SP_API_ACCESS_KEY ... would otherwise hide it)."""
    from sellerkit.config import load_settings

    if not path.exists():
        return None, None, None
    try:
        settings = load_settings(profile=profile, config_file=path, env={})
    except ConfigurationError as exc:
        if "is not in" in str(exc):  # the file has no such profile yet
            return None, None, None
        raise
    secret = settings.aws_secret_access_key
    return settings.aws_access_key_id, secret.reveal() if secret else None, settings.role_arn


def _access_key(aws: AwsContext, iam: _Iam, report: Report, user: str, user_arn: str,
                role_arn: str | None, profile: str, path: Path,
                held: tuple[str | None, str | None, str | None]) -> None:
    from sellerkit.config import save_profile

    held_id, held_secret, held_role = held
    keys = iam.call("iam:ListAccessKeys", iam.iam.list_access_keys,
                    UserName=user)["AccessKeyMetadata"]
    active = {k["AccessKeyId"] for k in keys if k.get("Status") == "Active"}
    reuse = False
    if held_id and held_secret and held_id in active:
        from botocore.exceptions import BotoCoreError, ClientError

        sts = aws.client("sts", aws_access_key_id=held_id, aws_secret_access_key=held_secret)
        try:
            who = sts.get_caller_identity()
        except (BotoCoreError, ClientError) as exc:  # a key that does not work is replaced
            report.notes.append(f"the key {_mask(held_id)} in profile {profile!r} does not work "
                                f"({error_code(exc) or type(exc).__name__}); making a new one")
        else:
            reuse = str(who.get("Arn", "")) == user_arn
    elif held_id:
        report.notes.append(f"profile {profile!r} holds the key {_mask(held_id)}, which is not an "
                            f"active key of {user}; it is replaced by a new key of {user} (the "
                            "old key itself is not deleted)")
    changes: dict[str, Any] = {}
    if reuse:
        report.add("iam:ListAccessKeys", user, "exists, unchanged",
                   f"profile {profile!r} holds the working key {_mask(str(held_id))}")
        report.resources["access_key_id"] = str(held_id)
    else:
        listed = ", ".join(sorted(k["AccessKeyId"] for k in keys)) or "none"
        hint = (f"IAM allows 2 access keys per user and {user} has {listed}: delete one you no "
                f"longer use (aws iam delete-access-key --user-name {user} --access-key-id ID) "
                f"and run again, or put a working key of {user} in profile {profile!r} "
                "(aws_access_key_id / aws_secret_access_key)")
        made = aws_call(COMMAND, "iam:CreateAccessKey", iam.iam.create_access_key,
                        limit_hint=hint, UserName=user)["AccessKey"]
        changes.update(aws_access_key_id=made["AccessKeyId"],
                       aws_secret_access_key=made["SecretAccessKey"])
        report.add("iam:CreateAccessKey", user, "created",
                   f"{_mask(made['AccessKeyId'])}, stored in profile {profile!r}; the secret "
                   "is not shown")
        report.resources["access_key_id"] = str(made["AccessKeyId"])
    if role_arn is not None and held_role != role_arn:
        changes["role_arn"] = role_arn
    report.resources["profile_file"] = str(path)
    if changes:
        save_profile(profile, changes, path)
        stored = ", ".join(sorted(changes))
        report.add("save_profile", profile, "updated", f"{stored} written to {path} (mode 0600)")
    else:
        report.add("save_profile", profile, "exists, unchanged",
                   "the profile already holds this key" + (" and role" if role_arn else ""))
