"""``sellerkit init``: the questions, their checks and the profile they produce.

The wizard asks, in order (each answer also has a flag, so it runs without a terminal):

1. a private app (for your own seller account) or a public one (for other sellers);
2. the region and the marketplaces;
3. the LWA client id and client secret, format-checked: the client id starts
   ``amzn1.application-oa2-client.``, the secret ``amzn1.oa2-cs.v1.``; an *app id*
   (``amzn1.sp.solution.…`` or ``amzn1.sellerapps.app.…``) pasted for the client id is recognised
   and explained, as is a client id pasted for the secret;
4. a refresh token (``Atzr|…``) from self-authorization; a public app may skip it and connect
   sellers through ``sellerkit serve``'s OAuth flow instead;
5. optionally the business name, use case and roles, kept for ``sellerkit road draft-profile``.

It never asks for IAM: SP-API has not needed an IAM user or SigV4 since 2023-10-02
(research/next-waves.md §1).

:func:`ask_all` runs the questions through a :class:`Prompter` (a terminal) or, with none,
takes the given answers only and names the flag of the first required one missing.
:func:`write_profile` stores the result: secrets in the OS keyring when there is one
(``sellerkit.onboarding.secrets``), the rest in ``[profiles.NAME]`` of the config file (0600,
atomic, one write).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sellerkit._secret import Secret
from sellerkit.emulator.roles import GENERAL_ROLES, RESTRICTED_ROLES
from sellerkit.errors import ConfigurationError
from sellerkit.onboarding.secrets import Storage

__all__ = [
    "APP_ID_PREFIXES",
    "CLIENT_ID_PREFIX",
    "CLIENT_SECRET_PREFIX",
    "KNOWN_ROLES",
    "QUESTIONS",
    "REFRESH_TOKEN_PREFIX",
    "Answers",
    "Prompter",
    "Question",
    "ask_all",
    "check_client_id",
    "check_client_secret",
    "check_refresh_token",
    "write_profile",
]

CLIENT_ID_PREFIX = "amzn1.application-oa2-client."
CLIENT_SECRET_PREFIX = "amzn1.oa2-cs.v1."  # noqa: S105 - a public format prefix
REFRESH_TOKEN_PREFIX = "Atzr|"  # noqa: S105 - a public format prefix
APP_ID_PREFIXES = ("amzn1.sp.solution.", "amzn1.sellerapps.app.")

# Roles seen on Amazon's role pages (research/next-waves.md §1: the general and restricted ones
# sellerkit.emulator.roles knows), plus four seen only in third-party role justifications
# (UNCONFIRMED, accepted so that an app that needs one can say so).
_UNCONFIRMED_ROLES = ("Buyer Solicitation", "Amazon Logistics",
                      "Payment Initiation Service Provider", "Sustainability Certification")
KNOWN_ROLES = (*GENERAL_ROLES, *RESTRICTED_ROLES, *_UNCONFIRMED_ROLES)
# newer role pages say "Direct-to-Consumer Delivery (Restricted)": the same role
_ROLE_ALIASES = {"direct-to-consumer delivery": "Direct-to-Consumer Shipping"}

# The marketplace a region's question defaults to.
_DEFAULT_MARKETPLACE = {"NA": "US", "EU": "DE", "FE": "JP"}

_WHERE_CREDENTIALS = (
    "Your app's LWA credentials are in the Solution Provider Portal (Seller Central: Apps and "
    "Services > Develop Apps leads there): open the app, then 'View' under LWA credentials. "
    "The client id is not the app id: the app id starts amzn1.sp.solution. (or "
    "amzn1.sellerapps.app.), the client id amzn1.application-oa2-client.")
_SELF_AUTHORIZE = (
    "Self-authorize the app for your own account: in the Solution Provider Portal (or Seller "
    "Central > Apps and Services > Develop Apps) open the app's menu, choose 'Authorize app' "
    "and 'Generate refresh token'. Each click mints a new token (older ones keep working); a "
    "merged multi-region account gets one per region. The token starts Atzr|.")
_PUBLIC_OAUTH = (
    "A public app is authorized by each seller through the OAuth flow: 'sellerkit serve' runs "
    "the 'Connect your Amazon account' page and keeps their refresh tokens. To try the app on "
    "your own account first, self-authorize it (Solution Provider Portal > your app > "
    "Authorize app) and paste that token; or press Enter to skip.")


# -- checks ----------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return text.strip().strip('"').strip("'").strip()


def check_app_type(text: str) -> str:
    value = _one_line(text).lower()
    if value in ("private", "priv", "1"):
        return "private"
    if value in ("public", "pub", "2"):
        return "public"
    raise ConfigurationError("answer 'private' (an app for your own seller account) or "
                             "'public' (an app other sellers authorize)")


def check_region(text: str) -> str:
    from sellerkit.regions import get_region

    return get_region(_one_line(text)).name


def check_marketplaces(text: str | list[str], region: str | None) -> list[str]:
    """Marketplace codes or ids, comma or space separated, all in ``region``."""
    from sellerkit.regions import get_marketplace

    items = re.split(r"[\s,]+", text) if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        mp = get_marketplace(item)
        if region and mp.region != region:
            raise ConfigurationError(
                f"marketplace {mp.country_code} is in region {mp.region}, not {region}; one "
                f"profile serves one region (make another profile for {mp.region})")
        if mp.country_code not in out:
            out.append(mp.country_code)
    if not out:
        raise ConfigurationError("name at least one marketplace, e.g. US or DE")
    return out


def check_client_id(text: str) -> str:
    value = _one_line(text)
    if value.startswith(APP_ID_PREFIXES):
        prefix = next(p for p in APP_ID_PREFIXES if value.startswith(p))
        raise ConfigurationError(
            f"that is the app id ({prefix}…), not the LWA "
            f"client id: the client id starts {CLIENT_ID_PREFIX} and is under 'LWA "
            "credentials' > 'View' on the app's page")
    if value.startswith(CLIENT_SECRET_PREFIX):
        raise ConfigurationError(
            f"that is the client secret, not the client id: the client id starts "
            f"{CLIENT_ID_PREFIX}")
    if not value.startswith(CLIENT_ID_PREFIX) or len(value) == len(CLIENT_ID_PREFIX):
        raise ConfigurationError(f"an LWA client id starts {CLIENT_ID_PREFIX}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        raise ConfigurationError("an LWA client id holds only letters, digits, '.', '_' and '-'")
    return value


def check_client_secret(text: str) -> Secret:
    value = _one_line(text)
    if value.startswith(CLIENT_ID_PREFIX):
        raise ConfigurationError(
            f"that is the client id, not the client secret: the secret starts "
            f"{CLIENT_SECRET_PREFIX} (click 'View' under LWA credentials to see it)")
    if value.startswith(APP_ID_PREFIXES):
        raise ConfigurationError(f"that is the app id, not the client secret: the secret "
                                 f"starts {CLIENT_SECRET_PREFIX}")
    if not value.startswith(CLIENT_SECRET_PREFIX) or len(value) == len(CLIENT_SECRET_PREFIX):
        raise ConfigurationError(f"an LWA client secret starts {CLIENT_SECRET_PREFIX}")
    if any(c.isspace() for c in value):
        raise ConfigurationError("an LWA client secret has no spaces (was it pasted twice?)")
    return Secret(value)


def check_refresh_token(text: str) -> Secret:
    value = _one_line(text)
    if value.startswith("Atza|"):
        raise ConfigurationError(
            "that is an access token (Atza|…, valid one hour), not a refresh token (Atzr|…)")
    if not value.startswith(REFRESH_TOKEN_PREFIX) or len(value) == len(REFRESH_TOKEN_PREFIX):
        raise ConfigurationError(f"a refresh token starts {REFRESH_TOKEN_PREFIX}")
    if any(c.isspace() for c in value):
        raise ConfigurationError("a refresh token has no spaces (was it pasted twice?)")
    return Secret(value)


def check_roles(text: str | list[str]) -> list[str]:
    items = [i.strip() for i in (text.split(",") if isinstance(text, str) else text)]
    out: list[str] = []
    folded = {r.casefold(): r for r in KNOWN_ROLES} | _ROLE_ALIASES
    for item in (i for i in items if i):
        role = folded.get(item.casefold())
        if role is None:
            close = difflib.get_close_matches(item, KNOWN_ROLES, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigurationError(f"{item!r} is not an SP-API role{hint}; roles: "
                                     + ", ".join(KNOWN_ROLES))
        if role not in out:
            out.append(role)
    return out


def _check_text(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        value = " ".join(text.split())
        if len(value) > limit:
            raise ConfigurationError(f"keep it under {limit} characters")
        return value
    return check


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the questions ---------------------------------------------------------------------------


@dataclass
class Answers:
    """What init learnt. Secrets are ``Secret`` objects."""

    app_type: str = "private"
    region: str | None = None
    marketplaces: list[str] = field(default_factory=list)
    client_id: str | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    business_name: str | None = None
    use_case: str | None = None
    roles: list[str] = field(default_factory=list)
    endpoint: str | None = None
    lwa_endpoint: str | None = None

    def profile_values(self) -> dict[str, Any]:
        """The non-secret keys of the profile (the secrets go through ``store_secrets``)."""
        values: dict[str, Any] = {
            "app_type": self.app_type, "region": self.region,
            "marketplace": self.marketplaces[0] if self.marketplaces else None,
            "marketplaces": self.marketplaces or None, "client_id": self.client_id,
            "business_name": self.business_name or None, "use_case": self.use_case or None,
            "roles": self.roles or None, "endpoint": self.endpoint,
            "lwa_endpoint": self.lwa_endpoint}
        return values

    def secret_values(self) -> dict[str, Secret | None]:
        return {"client_secret": self.client_secret, "refresh_token": self.refresh_token}


@dataclass(frozen=True)
class Question:
    """One question: the ``Answers`` field it fills, the flag that answers it without a
    terminal, the prompt, what to explain first, how to check an answer."""

    name: str
    flag: str
    prompt: str
    check: Callable[[Answers, str], Any]
    explain: Callable[[Answers], str | None] = lambda a: None
    default: Callable[[Answers], str | None] = lambda a: None
    required: Callable[[Answers], bool] = lambda a: True
    secret: bool = False
    group: str = ""  # "business": asked only after a yes to the business question


def _refresh_required(a: Answers) -> bool:
    return a.app_type == "private"


QUESTIONS: tuple[Question, ...] = (
    Question("app_type", "--app-type", "Is the app private (your own seller account) or public "
             "(other sellers authorize it)? [private/public]",
             lambda a, t: check_app_type(t), default=lambda a: "private"),
    Question("region", "--region", "Region [NA/EU/FE]",
             lambda a, t: check_region(t),
             explain=lambda a: "NA: US, CA, MX, BR. EU: UK, DE, FR, IT, ES, NL, SE, PL, BE, IE, "
                               "TR, AE, SA, EG, IN, ZA. FE: JP, AU, SG.",
             default=lambda a: None),
    Question("marketplaces", "--marketplace", "Marketplaces (comma separated)",
             lambda a, t: check_marketplaces(t, a.region),
             default=lambda a: _DEFAULT_MARKETPLACE.get(a.region or "")),
    Question("client_id", "--client-id", "LWA client id",
             lambda a, t: check_client_id(t), explain=lambda a: _WHERE_CREDENTIALS),
    Question("client_secret", "--client-secret", "LWA client secret (input hidden)",
             lambda a, t: check_client_secret(t), secret=True),
    Question("refresh_token", "--refresh-token", "Refresh token (input hidden)",
             lambda a, t: check_refresh_token(t), secret=True,
             explain=lambda a: _SELF_AUTHORIZE if a.app_type == "private" else _PUBLIC_OAUTH,
             required=_refresh_required),
    Question("business_name", "--business-name", "Business name",
             lambda a, t: _check_text(200)(t), required=lambda a: False, group="business"),
    Question("use_case", "--use-case", "What the app does for you (use case)",
             lambda a, t: _check_text(2000)(t), required=lambda a: False, group="business"),
    Question("roles", "--role", "Roles the app needs (comma separated)",
             lambda a, t: check_roles(t), required=lambda a: False, group="business",
             explain=lambda a: "Roles: " + ", ".join(KNOWN_ROLES) + "."),
)


class Prompter(Protocol):
    """A terminal: ``ask`` returns the raw answer ("" for none), ``say`` explains."""

    def ask(self, prompt: str, *, default: str | None, secret: bool) -> str: ...

    def say(self, text: str, *, style: str = "") -> None: ...

    def confirm(self, prompt: str, *, default: bool) -> bool: ...


def _missing(questions: list[Question]) -> ConfigurationError:
    flags = [q.flag for q in questions]
    named = flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]
    return ConfigurationError(
        f"{named} {'is' if len(flags) == 1 else 'are'} required (there is no terminal to ask "
        f"on: pass {'it' if len(flags) == 1 else 'them'}, or run 'sellerkit init' in a "
        "terminal)", problem=f"{named} missing")


def ask_all(given: Mapping[str, Any], prompter: Prompter | None, *,
            ask_business: bool | None = None, max_tries: int = 5) -> Answers:
    """Fill ``Answers`` from ``given`` (flag values by question name; None = not given) and,
    for what is missing, from ``prompter``. A given value that fails its check is an error
    naming its flag; a typed one is explained and asked again (``max_tries`` times)."""
    answers = Answers(endpoint=given.get("endpoint"), lwa_endpoint=given.get("lwa_endpoint"))
    business_given = any(given.get(q.name) not in (None, "", []) for q in QUESTIONS
                         if q.group == "business")
    asked_business = False
    missing: list[Question] = []
    for q in QUESTIONS:
        raw = given.get(q.name)
        if q.name == "region" and raw in (None, "") and given.get("marketplaces"):
            # the first marketplace names the region
            from sellerkit.regions import get_marketplace

            first = re.split(r"[\s,]+", ",".join(given["marketplaces"]).strip(" ,"))[0]
            try:
                raw = get_marketplace(first).region
            except ConfigurationError as exc:
                raise ConfigurationError(f"--marketplace: {exc}") from None
        if raw not in (None, "", []):
            text = ",".join(raw) if isinstance(raw, list | tuple) else str(raw)
            try:
                setattr(answers, q.name, q.check(answers, text))
            except ConfigurationError as exc:
                raise ConfigurationError(f"{q.flag}: {exc}") from None
            continue
        if q.group == "business":
            if prompter is None or business_given:
                continue
            if not asked_business:
                asked_business = True
                want = ask_business if ask_business is not None else prompter.confirm(
                    "Note your business name, use case and roles for 'sellerkit road "
                    "draft-profile'?", default=False)
                if not want:
                    ask_business = False
                    continue
                ask_business = True
            if not ask_business:
                continue
        default = q.default(answers)
        if prompter is None:
            if q.required(answers) and default is None:
                missing.append(q)
                continue
            if default is not None:
                setattr(answers, q.name, q.check(answers, default))
            continue
        explanation = q.explain(answers)
        if explanation:
            prompter.say(explanation, style="dim")
        for _ in range(max_tries):
            text = prompter.ask(q.prompt, default=default, secret=q.secret).strip()
            if not text and default is not None:
                text = default
            if not text:
                if not q.required(answers):
                    break
                prompter.say(f"{q.prompt.split(' (')[0].split(' [')[0]} is required.",
                             style="red")
                continue
            try:
                setattr(answers, q.name, q.check(answers, text))
                break
            except ConfigurationError as exc:
                prompter.say(f"{exc}; try again", style="red")
        else:
            raise ConfigurationError(f"no valid answer for {q.flag} after {max_tries} tries")
    if missing:
        raise _missing(missing)
    if answers.endpoint and not answers.lwa_endpoint and is_loopback_url(answers.endpoint):
        # a local emulator serves Login with Amazon on the same host
        answers.lwa_endpoint = answers.endpoint.rstrip("/") + "/auth/o2/token"
    return answers


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitResult:
    profile: str
    path: Path
    storage: Storage
    replaced: bool


def write_profile(profile: str, answers: Answers, *, config_file: Path, secrets_mode: str = "auto",
                  replace: bool = False) -> InitResult:
    """Store ``answers`` as ``[profiles.NAME]``: secrets in the keyring or the file, all other
    keys in the file. ``replace`` drops every key of an existing profile the answers do not set
    (and the keyring entries those held); without it an existing profile is an error."""
    from sellerkit.config import read_profiles, save_profile
    from sellerkit.onboarding.secrets import delete_secrets, store_secrets

    _, profiles = read_profiles(config_file)
    old = profiles.get(profile)
    if old is not None and not replace:
        raise ConfigurationError(
            f"profile {profile!r} already exists in {config_file}; pass --force to replace it "
            "(or --profile NAME for another one)")
    secrets = {k: v for k, v in answers.secret_values().items() if v is not None}
    stored, storage = store_secrets(profile, secrets, config_file=str(config_file),
                                    mode=secrets_mode)
    values: dict[str, Any] = {k: None for k in (old or {})}
    values.update({k: v for k, v in answers.profile_values().items() if v is not None})
    values.update(stored)
    try:
        save_profile(profile, values, config_file)
    except BaseException:
        # the file was not written: the keyring must not keep entries nothing refers to
        delete_secrets({k: v for k, v in stored.items() if v is not None})
        raise
    if old:
        # keyring entries of the old profile that the new one no longer refers to
        delete_secrets({k: v for k, v in old.items() if stored.get(k) != v})
    return InitResult(profile, config_file, storage, old is not None)
