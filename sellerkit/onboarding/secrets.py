"""Where a profile's secrets live: the OS keyring when there is a usable one, else the config file.

A profile holds three kinds of secret (the LWA ``client_secret``, the seller's ``refresh_token``
and, for the optional SigV4 signing, ``aws_secret_access_key`` / ``aws_session_token``).
``store_secrets`` puts them in the OS keyring (the ``keyring`` package: macOS Keychain, Windows
Credential Locker, the Secret Service of GNOME/KDE) and writes a *marker* in their place::

    [profiles.default]
    client_id = "amzn1.application-oa2-client.0123"
    client_secret = "keyring:sellerkit/default/client_secret"

``sellerkit.config.load_settings`` resolves a marker through :func:`resolve_marker` when (and
only when) the profile's value is the one used, so an environment variable that overrides it
never touches the keyring. A keyring that is locked or gone gives a ``ConfigurationError`` that
says what to do.

When there is no usable keyring (a headless server, a container: keyring's ``fail`` or ``null``
backend, or ``SELLERKIT_KEYRING=off``) the secrets stay in the config file itself, which
``save_profile`` writes with mode 0600, atomically. There is no separate secrets file: one 0600
file is one thing to protect and back up. :class:`Storage` says which place was used, so every
command can tell the user.

:func:`mask` is how every command shows a secret: a well-known public prefix at most, then its
length (``amzn1.oa2-cs.v1.…(80 chars)``), never its content.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sellerkit._secret import Secret
from sellerkit.errors import ConfigurationError

__all__ = [
    "KEYRING_SERVICE",
    "MARKER_PREFIX",
    "SECRET_KEYS",
    "Storage",
    "delete_secrets",
    "is_marker",
    "keyring_backend",
    "mask",
    "marker_for",
    "resolve_marker",
    "store_secrets",
]

KEYRING_SERVICE = "sellerkit"
MARKER_PREFIX = "keyring:"
#: The profile keys that hold secrets (``sellerkit.config`` kind ``secret``).
SECRET_KEYS = ("client_secret", "refresh_token", "aws_secret_access_key", "aws_session_token")

# Public, documented prefixes: showing them tells a user which kind of value is stored, and
# nothing about the value itself.
_PUBLIC_PREFIXES = ("amzn1.oa2-cs.v1.", "Atzr|", "Atza|")
_OFF = {"0", "off", "no", "false", "file"}


@dataclass(frozen=True)
class Storage:
    """Where secrets went: ``kind`` is ``"keyring"`` or ``"file"``; ``where`` the keyring
    backend's name or the config file's path; ``note`` why the keyring was not used."""

    kind: str
    where: str
    note: str = ""

    def describe(self) -> str:
        if self.kind == "keyring":
            return f"in the OS keyring ({self.where})"
        text = f"in the config file {self.where} (mode 0600)"
        return f"{text}; {self.note}" if self.note else text


def mask(value: Secret | str | None) -> str:
    """A secret as commands show it: a public prefix at most, and its length."""
    if value is None:
        return "-"
    text = value.reveal() if isinstance(value, Secret) else str(value)
    if is_marker(text):
        return text  # a marker names a keyring entry; it is not the secret
    if not text:
        return "(empty)"
    prefix = next((p for p in _PUBLIC_PREFIXES if text.startswith(p) and len(text) > len(p)),
                  "")
    return f"{prefix or str(Secret(text))}…({len(text)} chars)"


def is_marker(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MARKER_PREFIX)


def marker_for(profile: str, key: str) -> str:
    return f"{MARKER_PREFIX}{KEYRING_SERVICE}/{profile}/{key}"


def _parse_marker(marker: str) -> tuple[str, str]:
    rest = marker[len(MARKER_PREFIX):]
    service, sep, username = rest.partition("/")
    if not sep or not service or not username:
        raise ConfigurationError(
            f"{marker!r} is not a keyring reference: expected keyring:SERVICE/NAME, e.g. "
            "keyring:sellerkit/default/client_secret")
    return service, username


def keyring_backend(env: Mapping[str, str] | None = None) -> tuple[Any | None, str]:
    """The usable keyring backend, or None and the reason there is none.

    Unusable: ``SELLERKIT_KEYRING=off``, keyring's ``fail`` / ``null`` backends (what a machine
    without a keyring daemon gets) or any backend of priority <= 0."""
    env = os.environ if env is None else env
    if env.get("SELLERKIT_KEYRING", "").strip().lower() in _OFF:
        return None, "SELLERKIT_KEYRING=off"
    try:
        import keyring
    except ImportError:  # a base dependency, but a trimmed install may lack it
        return None, "the keyring package is not installed"
    try:
        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 1))
    except Exception as exc:  # noqa: BLE001 - a broken keyring set-up means "no keyring"
        return None, f"the OS keyring could not be loaded ({type(exc).__name__})"
    module = type(backend).__module__
    if priority <= 0 or module in ("keyring.backends.fail", "keyring.backends.null"):
        return None, "no OS keyring is available on this machine"
    return backend, ""


def _backend_name(backend: Any) -> str:
    return str(getattr(backend, "name", None) or type(backend).__name__)


def store_secrets(profile: str, values: Mapping[str, Secret | str | None], *,
                  config_file: str, mode: str = "auto",
                  env: Mapping[str, str] | None = None) -> tuple[dict[str, str | None], Storage]:
    """Keep the secret ``values`` of ``profile``: returns what the profile should hold for each
    key (a keyring marker, or the value itself for the config file) and where they went.

    ``mode`` is ``"auto"`` (the keyring when usable, else the file), ``"keyring"`` (fail when
    there is none) or ``"file"``. A value of None means "remove": its keyring entry is deleted.
    """
    if mode not in ("auto", "keyring", "file"):
        raise ConfigurationError(f"secret storage {mode!r} is not one of auto, keyring, file")
    backend, reason = (None, "--secrets file was asked for") if mode == "file" else (
        keyring_backend(env))
    if backend is None and mode == "keyring":
        raise ConfigurationError(
            f"secrets cannot go to the OS keyring: {reason}; install and unlock a keyring "
            "(e.g. gnome-keyring, or keyrings.alt for a file-based one) or use --secrets file")
    out: dict[str, str | None] = {}
    if backend is not None:
        try:
            for key, value in values.items():
                username = f"{profile}/{key}"
                if value is None:
                    _delete(backend, KEYRING_SERVICE, username)
                    out[key] = None
                    continue
                text = value.reveal() if isinstance(value, Secret) else str(value)
                backend.set_password(KEYRING_SERVICE, username, text)
                out[key] = marker_for(profile, key)
            return out, Storage("keyring", _backend_name(backend))
        except Exception as exc:  # noqa: BLE001 - keyring backends raise anything
            if mode == "keyring":
                raise ConfigurationError(
                    f"the OS keyring ({_backend_name(backend)}) refused to store a secret "
                    f"({type(exc).__name__}); unlock it, or use --secrets file") from None
            # undo the part that was stored, then fall back to the file
            for key in out:
                _delete(backend, KEYRING_SERVICE, f"{profile}/{key}")
            reason = f"the OS keyring refused it ({type(exc).__name__})"
            out = {}
    for key, value in values.items():
        out[key] = None if value is None else (
            value.reveal() if isinstance(value, Secret) else str(value))
    note = "" if mode == "file" else f"{reason}, so secrets stay in this file"
    return out, Storage("file", config_file, note)


def _delete(backend: Any, service: str, username: str) -> bool:
    try:
        backend.delete_password(service, username)
    except Exception:  # noqa: BLE001 - absent entries raise PasswordDeleteError
        return False
    return True


def resolve_marker(marker: str, *, where: str = "") -> Secret:
    """The secret a ``keyring:SERVICE/NAME`` marker names; a clear error when it cannot be read."""
    service, username = _parse_marker(marker)
    place = f" ({where})" if where else ""
    backend, reason = keyring_backend()
    if backend is None:
        raise ConfigurationError(
            f"{marker}{place} is kept in the OS keyring, but {reason}; run this where the "
            "keyring is available, or store the secret in the file: "
            "SELLERKIT_KEYRING=off sellerkit config set KEY VALUE")
    try:
        value = backend.get_password(service, username)
    except Exception as exc:  # noqa: BLE001 - locked keyrings, D-Bus errors, ...
        raise ConfigurationError(
            f"the OS keyring ({_backend_name(backend)}) could not read {marker}{place}: "
            f"{type(exc).__name__}; unlock the keyring and try again") from None
    if not value:
        raise ConfigurationError(
            f"the OS keyring has no entry for {marker}{place}; store it again with "
            "'sellerkit config set KEY VALUE' or 'sellerkit init'")
    return Secret(value)


def delete_secrets(table: Mapping[str, Any]) -> list[str]:
    """Delete the keyring entries the markers of one profile table name; returns the markers
    deleted (best effort: a missing keyring deletes nothing)."""
    markers = [v for v in table.values() if is_marker(v)]
    if not markers:
        return []
    backend, _ = keyring_backend()
    if backend is None:
        return []
    done = []
    for marker in markers:
        try:
            service, username = _parse_marker(marker)
        except ConfigurationError:
            continue
        if _delete(backend, service, username):
            done.append(marker)
    return done
