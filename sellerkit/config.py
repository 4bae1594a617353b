"""Settings: where a client's credentials and options come from.

``load_settings`` merges four sources, each field on its own, highest first:

    1. explicit arguments      load_settings(client_id=..., timeout=10)   (None means "not given")
    2. environment             SELLERKIT_CLIENT_ID, ... and python-amazon-sp-api's LWA_APP_ID, ...
    3. a profile               [profiles.NAME] in config.toml (SELLERKIT_CONFIG / user config dir)
    4. defaults                the field defaults of ``Settings``

and returns a frozen ``Settings`` whose repr never shows a secret. Every value is converted to its
field's type where it enters, so a bad value fails with a message naming where it came from
(``SELLERKIT_TIMEOUT='abc' is not a number``) instead of deep inside a request.

``save_profile`` writes a profile back (file mode 0600, atomic). The file format is plain TOML:

    [profiles.default]
    client_id = "amzn1.application-oa2-client.0123"
    client_secret = "amzn1.oa2-cs.v1.abcd"
    refresh_token = "Atzr|IwEB..."
    marketplace = "US"

A secret may instead be a marker, ``client_secret = "keyring:sellerkit/default/client_secret"``:
its value is in the OS keyring (``sellerkit.onboarding.secrets``) and is read only when the
profile's value is the one used. ``PROFILE_KEYS`` (``app_type``, ``marketplaces``,
``business_name``, ``use_case``, ``roles``) are what ``sellerkit init`` learnt about the app:
checked, kept, and not settings.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sellerkit._secret import Secret
from sellerkit.errors import ConfigurationError
from sellerkit.regions import (
    Endpoint,
    check_url,
    get_marketplace,
    get_region,
    resolve_endpoint,
    resolve_lwa_endpoint,
)

__all__ = [
    "ENV_ALIASES",
    "Settings",
    "default_config_file",
    "env_names",
    "PROFILE_KEYS",
    "check_profile_value",
    "load_settings",
    "read_profiles",
    "remove_profile",
    "save_profile",
    "setting_kind",
]

logger = logging.getLogger("sellerkit.config")

ENV_PREFIX = "SELLERKIT_"

# python-amazon-sp-api's variable names, so its users can switch without renaming anything.
# A SELLERKIT_* variable for the same field wins when both are set.
ENV_ALIASES: dict[str, str] = {
    "LWA_APP_ID": "client_id",
    "LWA_CLIENT_SECRET": "client_secret",
    "SP_API_REFRESH_TOKEN": "refresh_token",
    "SP_API_ACCESS_KEY": "aws_access_key_id",
    "SP_API_SECRET_KEY": "aws_secret_access_key",
    "SP_API_ROLE_ARN": "role_arn",
}

# What each field holds; the converter of that kind validates values from every source.
_KINDS: dict[str, str] = {
    "client_id": "str",
    "client_secret": "secret",
    "refresh_token": "secret",
    "region": "region",
    "marketplace": "marketplace",
    "endpoint": "url",
    "lwa_endpoint": "url",
    "sandbox": "bool",
    "app_name": "str",
    "app_version": "str",
    "aws_access_key_id": "str",
    "aws_secret_access_key": "secret",
    "aws_session_token": "secret",
    "role_arn": "arn",
    "sigv4": "bool",
    "timeout": "positive_float",
    "connect_timeout": "positive_float",
    "proxy": "proxy",
    "ca_bundle": "path",
    "max_attempts": "positive_int",
    "max_retry_time": "nonnegative_float",
    "max_wait": "nonnegative_float",
    "token_store": "token_store",
    "profile": "str",
}

# Fields a profile, the environment or save_profile may set (``profile`` selects, it is not set).
_SETTABLE = tuple(k for k in _KINDS if k != "profile")

#: Keys a profile may hold that are not client settings: what ``sellerkit init`` learnt about the
#: app, for ``doctor`` and ``road`` (``load_settings`` checks and then ignores them).
PROFILE_KEYS: dict[str, str] = {
    "app_type": "app_type",            # "private" or "public"
    "marketplaces": "marketplace_list",  # every marketplace the app sells in; ``marketplace``
                                         # is the one calls default to
    "business_name": "str",
    "use_case": "str",
    "roles": "str_list",
}


@dataclass(frozen=True)
class Settings:
    """Everything a client needs to know, already validated. Secrets are ``Secret`` objects.

    ``sources`` tells, for each field that did not keep its default, where its value came from
    (``"argument"``, ``"env SELLERKIT_REGION"``, ``"profile 'default' (/path/config.toml)"``).
    """

    client_id: str | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    region: str | None = None
    marketplace: str | None = None
    endpoint: str | None = None
    lwa_endpoint: str | None = None
    sandbox: bool = False
    app_name: str | None = None
    app_version: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: Secret | None = None
    aws_session_token: Secret | None = None
    role_arn: str | None = None
    sigv4: bool = False
    timeout: float = 30.0
    connect_timeout: float = 10.0
    proxy: str | None = None
    ca_bundle: str | None = None
    max_attempts: int = 5
    max_retry_time: float = 120.0
    #: seconds a call may wait for rate-limit capacity (0: fail fast); see
    #: sellerkit.ratelimit.DEFAULT_MAX_WAIT for why one hour
    max_wait: float = 3600.0
    token_store: str = "memory"  # noqa: S105 - a store kind, not a password
    profile: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Direct construction (Settings(client_secret="...")) gets the same conversion and checks
        # as values loaded from files and the environment.
        for name in _KINDS:
            value = getattr(self, name)
            converted = _convert(name, value, _Origin(name))
            if converted is None and value is not None:
                converted = _default(name)
            object.__setattr__(self, name, converted)
        if self.region and self.marketplace:
            mp = get_marketplace(self.marketplace)
            if mp.region != self.region:
                raise ConfigurationError(
                    f"marketplace {mp.country_code} ({self._where('marketplace')}) is served by "
                    f"region {mp.region}, but region is {self.region} "
                    f"({self._where('region')}); set only one of them")
        object.__setattr__(self, "sources", dict(self.sources))

    def _where(self, name: str) -> str:
        return self.sources.get(name, "argument")

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if f.name in ("proxy", "token_store") and isinstance(value, str):
                value = _mask_userinfo(value)
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        sources = dict(self.sources)
        for name in changes:
            sources[name] = "argument"
        return dataclasses.replace(self, sources=sources, **changes)

    def resolve_endpoint(self) -> Endpoint:
        """Where SP-API calls go for these settings (see ``sellerkit.regions.resolve_endpoint``)."""
        return resolve_endpoint(region=self.region, marketplace=self.marketplace,
                                sandbox=self.sandbox, endpoint=self.endpoint)

    @property
    def lwa_url(self) -> str:
        """The LWA token URL: Amazon's unless ``lwa_endpoint`` overrides it."""
        return resolve_lwa_endpoint(self.lwa_endpoint)

    @property
    def marketplace_id(self) -> str | None:
        return get_marketplace(self.marketplace).id if self.marketplace else None


def _default(name: str) -> Any:
    f = Settings.__dataclass_fields__[name]
    return f.default


# -- conversion ------------------------------------------------------------------------------------


class _Origin:
    """Where a value came from, for error messages: ``SELLERKIT_TIMEOUT='abc' is not a number``."""

    def __init__(self, label: str, suffix: str = "") -> None:
        self.label = label
        self.suffix = suffix

    def error(self, name: str, value: Any, problem: str) -> ConfigurationError:
        if _KINDS.get(name) == "secret":
            shown = "'***'"  # never echo a secret, not even a malformed one
        elif isinstance(value, str) and "://" in value:
            shown = repr(_mask_userinfo(value))  # URLs may embed a password
        else:
            shown = repr(value)
        return ConfigurationError(f"{self.label}={shown}{self.suffix} {problem}")


_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def _convert(name: str, value: Any, origin: _Origin) -> Any:
    """Convert one value to the type of field ``name``; None and "" mean "not set"."""
    if value is None:
        return None
    kind = _KINDS.get(name) or PROFILE_KEYS[name]
    if isinstance(value, str) and value.strip() == "" and kind != "secret":
        return None
    converter = _CONVERTERS[kind]
    return converter(name, value, origin)


def _as_str(name: str, value: Any, origin: _Origin) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise origin.error(name, value, "is not a string")
    return str(value).strip()


def _as_secret(name: str, value: Any, origin: _Origin) -> Secret | None:
    if isinstance(value, Secret):
        return value if value else None
    if not isinstance(value, str):
        raise origin.error(name, value, "is not a string")
    value = value.strip()
    return Secret(value) if value else None


def _as_bool(name: str, value: Any, origin: _Origin) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise origin.error(name, value, "is not a boolean (use true/false, 1/0, yes/no, on/off)")


def _as_float(name: str, value: Any, origin: _Origin) -> float:
    if isinstance(value, bool):
        raise origin.error(name, value, "is not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise origin.error(name, value, "is not a number") from None
    else:
        raise origin.error(name, value, "is not a number")
    if not math.isfinite(number):
        raise origin.error(name, value, "is not a finite number")
    return number


def _as_positive_float(name: str, value: Any, origin: _Origin) -> float:
    number = _as_float(name, value, origin)
    if number <= 0:
        raise origin.error(name, value, "must be greater than 0 (seconds)")
    return number


def _as_nonnegative_float(name: str, value: Any, origin: _Origin) -> float:
    number = _as_float(name, value, origin)
    if number < 0:
        raise origin.error(name, value, "must not be negative (seconds)")
    return number


def _as_positive_int(name: str, value: Any, origin: _Origin) -> int:
    number: int
    if isinstance(value, bool):
        raise origin.error(name, value, "is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        number = int(value)
    else:
        raise origin.error(name, value, "is not a whole number")
    if number < 1:
        raise origin.error(name, value, "must be at least 1")
    return number


def _wrap(check: Callable[[str], str]) -> Callable[[str, Any, _Origin], str]:
    def convert(name: str, value: Any, origin: _Origin) -> str:
        text = _as_str(name, value, origin)
        try:
            return check(text)
        except ConfigurationError as exc:
            raise origin.error(name, value, f"is not valid: {exc}") from None
    return convert


def _check_proxy(text: str) -> str:
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https", "socks5", "socks5h") or not host:
        raise ConfigurationError(
            "expected a proxy URL such as http://proxy.example.com:3128 (http, https or socks5)")
    return text


def _check_token_store(text: str) -> str:
    if text == "memory":
        return text
    if text.startswith("file:"):
        path = text[len("file:"):]
        if not path:
            raise ConfigurationError("file: needs a path, e.g. file:~/.cache/sellerkit/tokens")
        return "file:" + str(Path(path).expanduser())
    if text.startswith(("redis://", "rediss://", "unix://")):
        return text
    raise ConfigurationError(
        "expected 'memory', 'file:PATH' or a Redis URL ('redis://host:6379/0', 'rediss://...')")


def _check_path(text: str) -> str:
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"no such file: {path}")
    return str(path)


def _check_arn(text: str) -> str:
    if not text.startswith("arn:"):
        raise ConfigurationError(
            "expected an IAM role ARN like arn:aws:iam::123456789012:role/Name")
    return text


def _check_region(text: str) -> str:
    return get_region(text).name


def _check_marketplace(text: str) -> str:
    return get_marketplace(text).country_code


def _check_url(text: str) -> str:
    return check_url(text, "the URL")


def _as_app_type(name: str, value: Any, origin: _Origin) -> str:
    text = _as_str(name, value, origin).lower()
    if text not in ("private", "public"):
        raise origin.error(name, value, "is not 'private' or 'public'")
    return text


def _as_list(name: str, value: Any, origin: _Origin) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise origin.error(name, value, "is not a list (write it comma-separated: a, b)")
    return [_as_str(name, v, origin) for v in items if not (isinstance(v, str) and not v.strip())]


def _as_marketplace_list(name: str, value: Any, origin: _Origin) -> list[str]:
    out: list[str] = []
    for item in _as_list(name, value, origin):
        code = _CONVERTERS["marketplace"](name, item, origin)
        if code not in out:
            out.append(code)
    return out


_CONVERTERS: dict[str, Callable[[str, Any, _Origin], Any]] = {
    "str": _as_str,
    "secret": _as_secret,
    "bool": _as_bool,
    "positive_float": _as_positive_float,
    "nonnegative_float": _as_nonnegative_float,
    "positive_int": _as_positive_int,
    "region": _wrap(_check_region),
    "marketplace": _wrap(_check_marketplace),
    "url": _wrap(_check_url),
    "proxy": _wrap(_check_proxy),
    "token_store": _wrap(_check_token_store),
    "path": _wrap(_check_path),
    "arn": _wrap(_check_arn),
    "app_type": _as_app_type,
    "str_list": _as_list,
    "marketplace_list": _as_marketplace_list,
}


def _mask_userinfo(url: str) -> str:
    # Proxy and Redis URLs may embed a password (redis://:pw@host); show the user name only.
    return re.sub(r"(?<=://)([^/@:]*)(:[^/@]*)?@",
                  lambda m: m.group(1) + (":***" if m.group(2) else "") + "@", url)


# -- sources ---------------------------------------------------------------------------------------


def env_names(name: str) -> list[str]:
    """The environment variables that set field ``name``, highest precedence first."""
    return [ENV_PREFIX + name.upper(), *(k for k, v in ENV_ALIASES.items() if v == name)]


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    """``$SELLERKIT_CONFIG`` if set, else ``config.toml`` in the user config dir."""
    env = os.environ if env is None else env
    override = env.get("SELLERKIT_CONFIG")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("sellerkit")) / "config.toml"


def _read_config(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from None
    unknown = [k for k in data if k != "profiles"]
    if unknown:
        raise ConfigurationError(
            f"config file {path}: unknown top-level key {unknown[0]!r}"
            f"{_suggest(unknown[0], ['profiles'])}; settings go in [profiles.NAME] tables")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigurationError(
            f"config file {path}: 'profiles' must hold tables, e.g. [profiles.default]")
    _warn_if_exposed(path, profiles)
    return data


def _warn_if_exposed(path: Path, profiles: Mapping[str, Mapping[str, Any]]) -> None:
    secret_keys = {k for k, kind in _KINDS.items() if kind == "secret"}
    if not any(secret_keys & set(p) for p in profiles.values()):
        return
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o077:
        logger.warning("config file %s holds secrets but is readable by other users (mode %03o); "
                       "run: chmod 600 %s", path, mode, path)


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_settings(*, profile: str | None = None, config_file: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
                  **explicit: Any) -> Settings:
    """Merge explicit arguments > environment > profile > defaults into ``Settings``.

    ``explicit`` takes the ``Settings`` field names; a value of None counts as not given, so a
    client constructor can pass its keyword arguments straight through. ``env`` defaults to
    ``os.environ`` as it is at call time. The profile is ``profile``, else ``$SELLERKIT_PROFILE``,
    else ``default``; a profile that was asked for by name must exist, the implicit ``default``
    may be absent (as may the whole file, unless ``config_file``/``$SELLERKIT_CONFIG`` names it).

    ``labels`` names the explicit arguments as the caller's user knows them, for messages and
    ``sources``: the command line passes ``{"marketplace": "--marketplace", ...}`` so an error
    says ``--marketplace='XX' is not valid`` instead of ``marketplace='XX'``.
    """
    env = os.environ if env is None else env
    labels = labels or {}
    for name in explicit:
        if name not in _SETTABLE:
            raise ConfigurationError(
                f"unknown setting {name!r}{_suggest(name, list(_SETTABLE))}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    rank: dict[str, int] = {}  # 1 profile, 2 env, 3 argument: for region/marketplace conflicts
    markers: dict[str, tuple[str, str]] = {}  # secrets the profile keeps in the OS keyring

    # 3. the profile
    path_named = config_file is not None or bool(env.get("SELLERKIT_CONFIG"))
    path = Path(config_file).expanduser() if config_file is not None else default_config_file(env)
    if profile:
        profile_name, asked_by = profile, labels.get("profile", "profile=")
    elif env.get("SELLERKIT_PROFILE"):
        profile_name, asked_by = env["SELLERKIT_PROFILE"], "SELLERKIT_PROFILE"
    else:
        profile_name, asked_by = "default", ""
    used_profile: str | None = None
    try:
        data = _read_config(path)
    except FileNotFoundError:
        if path_named:
            raise ConfigurationError(f"config file {path} does not exist") from None
        if asked_by:
            raise ConfigurationError(
                f"profile {profile_name!r} was asked for ({asked_by}) but there is no config "
                f"file at {path}; create it with save_profile() or set SELLERKIT_CONFIG") from None
        data = {}
    profiles: dict[str, Any] = data.get("profiles", {})
    table = profiles.get(profile_name)
    if table is None and asked_by:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(
            f"profile {profile_name!r} ({asked_by}) is not in {path}"
            f"{_suggest(profile_name, list(profiles))}; profiles there: {known}")
    if table is not None:
        used_profile = profile_name
        where = f"profile {profile_name!r} ({path})"
        for key, raw in table.items():
            if key in PROFILE_KEYS:
                _convert(key, raw, _Origin(key, f" in {where}"))  # checked, not a setting
                continue
            if key not in _SETTABLE:
                raise ConfigurationError(
                    f"unknown key {key!r} in {where}"
                    f"{_suggest(key, [*_SETTABLE, *PROFILE_KEYS])}")
            if _KINDS[key] == "secret" and _is_marker(raw):
                # kept in the OS keyring: read only if nothing below overrides it
                markers[key] = (str(raw), where)
                values[key], sources[key], rank[key] = None, f"{where} (OS keyring)", 1
                continue
            value = _convert(key, raw, _Origin(key, f" in {where}"))
            if value is not None:
                values[key], sources[key], rank[key] = value, where, 1

    # 2. the environment; SELLERKIT_* first, so it wins over the python-amazon-sp-api names
    for name in _SETTABLE:
        for var in env_names(name):
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            value = _convert(name, raw, _Origin(var))
            if value is not None:
                values[name], sources[name], rank[name] = value, f"env {var}", 2
                break

    # 1. explicit arguments
    for name, raw in explicit.items():
        value = _convert(name, raw, _Origin(labels.get(name, name)))
        if value is not None:
            values[name], sources[name], rank[name] = value, labels.get(name, "argument"), 3

    for name, (marker, where) in markers.items():
        if rank.get(name) == 1:
            from sellerkit.onboarding.secrets import resolve_marker

            values[name] = resolve_marker(marker, where=f"{name} in {where}")

    # A marketplace implies its region. When the two disagree but come from different sources,
    # the more specific source wins (marketplace="DE" as an argument over region=NA in a profile).
    region, marketplace = values.get("region"), values.get("marketplace")
    if region and marketplace:
        mp_region = get_marketplace(marketplace).region
        if mp_region != region:
            if rank["marketplace"] > rank["region"]:
                values["region"], sources["region"] = mp_region, sources["marketplace"]
            elif rank["region"] > rank["marketplace"]:
                del values["marketplace"], sources["marketplace"]
            else:
                raise ConfigurationError(
                    f"marketplace {marketplace} is served by region {mp_region}, but region is "
                    f"{region} (both from {sources['region']}); set only one of them")

    return Settings(**values, profile=used_profile, sources=sources)


# -- writing ---------------------------------------------------------------------------------------


def save_profile(name: str, values: Mapping[str, Any],
                 config_file: str | os.PathLike[str] | None = None, *,
                 env: Mapping[str, str] | None = None) -> Path:
    """Merge ``values`` into ``[profiles.NAME]`` of the config file and write it (mode 0600).

    Values are validated like loaded ones; a value of None removes the key. Other profiles are
    kept; comments in the file are not. Returns the path written.
    """
    from sellerkit._files import write_private

    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError("a profile needs a non-empty name")
    path = Path(config_file).expanduser() if config_file is not None else default_config_file(env)
    try:
        data = _read_config(path)
    except FileNotFoundError:
        data = {}
    profiles: dict[str, Any] = data.setdefault("profiles", {})
    table: dict[str, Any] = dict(profiles.get(name, {}))
    for key, raw in values.items():
        if key not in _SETTABLE and key not in PROFILE_KEYS:
            raise ConfigurationError(
                f"unknown setting {key!r}{_suggest(key, [*_SETTABLE, *PROFILE_KEYS])}")
        if raw is None:
            table.pop(key, None)
            continue
        if _is_marker(raw) and _KINDS.get(key) == "secret":
            table[key] = str(raw)  # a reference to the OS keyring, kept as written
            continue
        value = _convert(key, raw, _Origin(key))
        if value is None:
            table.pop(key, None)
        elif isinstance(value, Secret):
            table[key] = value.reveal()
        else:
            table[key] = value
    profiles[name] = table
    header = "# sellerkit configuration (written by sellerkit; comments are not preserved)\n"
    return write_private(path, header + dumps_toml(data))


def _is_marker(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("keyring:")


def check_profile_value(key: str, raw: Any) -> Any:
    """``raw`` converted as a profile would hold ``key`` (the converters ``load_settings``
    uses), or a ConfigurationError: unknown keys get a suggestion. A secret comes back as a
    ``Secret``; a keyring marker as itself; None for "not set"."""
    if key not in _SETTABLE and key not in PROFILE_KEYS:
        raise ConfigurationError(
            f"unknown setting {key!r}{_suggest(key, [*_SETTABLE, *PROFILE_KEYS])}; "
            f"settings: {', '.join([*_SETTABLE, *PROFILE_KEYS])}")
    if _is_marker(raw) and _KINDS.get(key) == "secret":
        return raw
    return _convert(key, raw, _Origin(key))


def setting_kind(key: str) -> str | None:
    """The kind of value ``key`` holds (``"secret"``, ``"bool"``, ...), or None when unknown."""
    return _KINDS.get(key) or PROFILE_KEYS.get(key)


def read_profiles(config_file: str | os.PathLike[str] | None = None, *,
                  env: Mapping[str, str] | None = None) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The config file's path and its profiles as written (markers unresolved); no file: {}."""
    path = Path(config_file).expanduser() if config_file is not None else default_config_file(env)
    try:
        data = _read_config(path)
    except FileNotFoundError:
        return path, {}
    return path, {k: dict(v) for k, v in data.get("profiles", {}).items()}


def remove_profile(name: str, config_file: str | os.PathLike[str] | None = None, *,
                   env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Delete ``[profiles.NAME]`` from the config file (0600, atomic); returns the removed
    table, for the caller to delete its keyring entries."""
    from sellerkit._files import write_private

    path = Path(config_file).expanduser() if config_file is not None else default_config_file(env)
    try:
        data = _read_config(path)
    except FileNotFoundError:
        raise ConfigurationError(f"there is no config file at {path}") from None
    profiles: dict[str, Any] = data.get("profiles", {})
    if name not in profiles:
        raise ConfigurationError(
            f"profile {name!r} is not in {path}{_suggest(name, list(profiles))}; profiles "
            f"there: {', '.join(sorted(profiles)) or 'none'}")
    table = dict(profiles.pop(name))
    header = "# sellerkit configuration (written by sellerkit; comments are not preserved)\n"
    write_private(path, header + dumps_toml(data))
    return table


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_str(key)


def _toml_str(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} to TOML")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """TOML text for nested tables of strings, numbers, booleans and arrays of those.

    Uses ``tomli_w`` when it is installed; otherwise a minimal emitter that covers exactly what
    the config file holds.
    """
    try:
        import tomli_w
    except ImportError:
        pass
    else:
        return str(tomli_w.dumps(dict(data)))
    lines: list[str] = []

    def emit(prefix: list[str], table: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
        if prefix and (scalars or not tables):
            if lines:
                lines.append("")
            lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
        for k, v in scalars:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in tables:
            emit([*prefix, k], v)

    emit([], data)
    return "\n".join(lines) + "\n"
