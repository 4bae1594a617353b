"""Where the vault's key-encryption key (KEK) comes from: a key file, a variable, or AWS KMS.

The KEK wraps every data key and vault secret (:mod:`sellerkit.vault.crypto`); it never touches
the database itself. A provider is named by a spec:

    file:PATH          a 32-byte key in a file, mode 0600 (``sellerkit vault init`` creates it;
                       the default for a SQLite vault is ``vault.key`` beside the database file)
    env:VARIABLE       32 bytes, base64 or hex, in an environment variable
    kms:KEY_ID         a 256-bit KEK generated once by AWS KMS (GenerateDataKey), kept wrapped in
                       the vault (``keks.wrapped``) and unwrapped with one KMS Decrypt per open

Each provider answers two questions: :meth:`KeyProvider.create_kek` (for a new vault, or a
rotation: the key, and what to store in ``keks.wrapped``) and :meth:`KeyProvider.load_kek` (an
existing vault: the key, given what it stored). A provider never makes up a new key for a vault
that already holds data: a missing key file is a :class:`~sellerkit.errors.VaultKeyError` that
names the key the vault needs by its fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from sellerkit.errors import VaultKeyError

__all__ = ["ENV_KEY", "KEY_BYTES", "EnvKeyProvider", "FileKeyProvider", "KeyProvider",
           "KmsKeyProvider", "fingerprint", "parse_key_spec", "resolve_key_provider"]

ENV_KEY = "SELLERKIT_VAULT_KEY"
KEY_BYTES = 32
DEFAULT_KEY_FILE = "vault.key"
_KMS_CONTEXT = {"sellerkit": "vault-kek"}
_SPEC_HELP = "file:PATH, env:VARIABLE or kms:KEY_ID_OR_ALIAS"


def fingerprint(kek: bytes) -> str:
    """A name for a key that does not reveal it (HMAC-SHA256 under the key, 32 hex digits)."""
    return hmac.new(kek, b"sellerkit vault kek fingerprint", hashlib.sha256).hexdigest()[:32]


def _decode_key(text: str, where: str) -> bytes:
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_"
                                   if ("-" in text or "_" in text) else None, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != KEY_BYTES:
        raise VaultKeyError(
            f"{where} does not hold a vault key: it must be {KEY_BYTES} random bytes, base64 or "
            f"hex (make one with: python3 -c 'import secrets; print(secrets.token_hex(32))')")
    return raw


class KeyProvider(ABC):
    """Supplies the key-encryption key. ``kind`` and ``ref`` are recorded in the vault (``keks``):
    where the key is, never the key."""

    kind: str = ""

    @property
    @abstractmethod
    def ref(self) -> str:
        """Where the key is: a path, a variable name, a KMS key id."""

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.ref}"

    @abstractmethod
    def create_kek(self) -> tuple[bytes, bytes | None]:
        """The KEK for a new vault (or the target of a rotation) and what the vault stores in
        ``keks.wrapped`` (KMS: the KMS-wrapped KEK; file and env: None)."""

    @abstractmethod
    def load_kek(self, wrapped: bytes | None, *, expected: str | None = None) -> bytes:
        """The KEK of an existing vault. ``wrapped`` is what :meth:`create_kek` stored;
        ``expected`` the fingerprint the vault recorded (used in error messages)."""

    def exists(self) -> bool:
        """Whether the key is there to be loaded without creating anything."""
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


class FileKeyProvider(KeyProvider):
    """A 32-byte key in a file (hex), created 0600 on first use by a new vault."""

    kind = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()

    @property
    def ref(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.is_file()

    def _read(self) -> bytes:
        try:
            mode = self.path.stat().st_mode & 0o077
            text = self.path.read_text("ascii")
        except FileNotFoundError:
            raise
        except (OSError, UnicodeDecodeError) as exc:
            raise VaultKeyError(f"cannot read the vault key file {self.path}: {exc}") from None
        if mode and os.name == "posix":
            raise VaultKeyError(
                f"the vault key file {self.path} is readable by other users: "
                f"run chmod 600 {self.path}")
        return _decode_key(text, f"the key file {self.path}")

    def create_kek(self) -> tuple[bytes, bytes | None]:
        if self.exists():
            return self._read(), None
        import tempfile

        key = secrets.token_bytes(KEY_BYTES)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written to a private temp file, then linked into place: the key file appears whole or
        # not at all, and a key another process created meanwhile is never replaced.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                os.fchmod(fh.fileno(), 0o600)
                fh.write(key.hex() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return self._read(), None
        finally:
            os.unlink(tmp)
        return key, None

    def load_kek(self, wrapped: bytes | None, *, expected: str | None = None) -> bytes:
        try:
            return self._read()
        except FileNotFoundError:
            which = f" (fingerprint {expected})" if expected else ""
            raise VaultKeyError(
                f"the vault key file {self.path} is missing: this vault's data is encrypted under "
                f"the key{which}; restore that file from your backup, or name where it is with "
                f"--key file:PATH (or ${ENV_KEY}). A new key would not open this vault's data, "
                f"so none is made.") from None


class EnvKeyProvider(KeyProvider):
    """32 bytes, base64 or hex, in an environment variable (read on each load, never stored)."""

    kind = "env"

    def __init__(self, name: str) -> None:
        if not name or not name.replace("_", "").isalnum():
            raise VaultKeyError(f"env:{name} does not name an environment variable")
        self.name = name

    @property
    def ref(self) -> str:
        return self.name

    def exists(self) -> bool:
        return bool(os.environ.get(self.name, "").strip())

    def _get(self, expected: str | None) -> bytes:
        value = os.environ.get(self.name, "").strip()
        if not value:
            which = f" with fingerprint {expected}" if expected else ""
            raise VaultKeyError(
                f"the vault key variable ${self.name} is not set: set it to the vault's key"
                f"{which} ({KEY_BYTES} bytes, base64 or hex)")
        return _decode_key(value, f"${self.name}")

    def create_kek(self) -> tuple[bytes, bytes | None]:
        return self._get(None), None

    def load_kek(self, wrapped: bytes | None, *, expected: str | None = None) -> bytes:
        return self._get(expected)


class KmsKeyProvider(KeyProvider):
    """AWS KMS (extra ``aws``): the KEK is a data key KMS generated under ``key_id``; the vault
    keeps it wrapped, and each open costs one KMS Decrypt (never one per record).

    Credentials, region and endpoint come from boto3's usual chain (``AWS_PROFILE``,
    ``AWS_REGION``, ``AWS_ENDPOINT_URL_KMS``, ...); ``client`` takes a ready boto3 KMS client."""

    kind = "kms"

    def __init__(self, key_id: str, *, client: Any = None, region: str | None = None) -> None:
        if not key_id.strip():
            raise VaultKeyError("kms: needs a key id, ARN or alias (kms:alias/sellerkit-vault)")
        self.key_id = key_id.strip()
        self._client = client
        self._region = region
        self.calls = 0  # KMS requests made, for the curious (and the tests)

    @property
    def ref(self) -> str:
        return self.key_id

    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise VaultKeyError(
                    "a KMS vault key needs boto3: pip install 'sellerkit[aws]'") from None
            region = self._region
            if region is None and self.key_id.startswith("arn:"):
                region = self.key_id.split(":")[3] or None
            # a session of its own: the default one keeps the first credentials it resolved
            self._client = boto3.session.Session().client("kms", region_name=region)
        return self._client

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        client = self.client()
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        try:
            result: dict[str, Any] = getattr(client, op)(**kwargs)
            return result
        except (BotoCoreError, ClientError) as exc:  # no credentials, denied, unreachable
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            raise VaultKeyError(
                f"AWS KMS {op} with key {self.key_id} failed ({code}): check the key id, your AWS "
                f"credentials and region, and that they may use the key (kms:{op})") from None

    def create_kek(self) -> tuple[bytes, bytes | None]:
        out = self._call("generate_data_key", KeyId=self.key_id, KeySpec="AES_256",
                         EncryptionContext=_KMS_CONTEXT)
        return bytes(out["Plaintext"]), bytes(out["CiphertextBlob"])

    def load_kek(self, wrapped: bytes | None, *, expected: str | None = None) -> bytes:
        if not wrapped:
            raise VaultKeyError(
                f"the vault holds no KMS-wrapped key for {self.key_id}: it was not created with "
                f"kms:{self.key_id}")
        out = self._call("decrypt", CiphertextBlob=wrapped, KeyId=self.key_id,
                         EncryptionContext=_KMS_CONTEXT)
        key = bytes(out["Plaintext"])
        if len(key) != KEY_BYTES:
            raise VaultKeyError(f"AWS KMS returned a {len(key)}-byte key; the vault needs 32")
        return key


def parse_key_spec(spec: str) -> KeyProvider:
    """``file:PATH``, ``env:NAME`` or ``kms:KEY_ID`` as a provider."""
    kind, sep, ref = spec.strip().partition(":")
    kind = kind.lower()
    if sep and ref.strip():
        if kind == "file":
            return FileKeyProvider(ref.strip())
        if kind == "env":
            return EnvKeyProvider(ref.strip())
        if kind == "kms":
            return KmsKeyProvider(ref.strip())
    raise VaultKeyError(f"not a vault key spec: {spec!r}; use {_SPEC_HELP}")


def _sqlite_file(vault_url: str | None) -> Path | None:
    if not vault_url:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(vault_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).expanduser().absolute()


def resolve_key_provider(spec: KeyProvider | str | None, vault_url: str | None, *,
                         recorded: str | None = None) -> KeyProvider:
    """The provider for a vault: ``spec`` if given, else ``$SELLERKIT_VAULT_KEY``, else the one
    the vault recorded as in use (``recorded``), else ``vault.key`` beside a SQLite vault file.

    A PostgreSQL vault has no "beside": without a key it is a clear error."""
    if isinstance(spec, KeyProvider):
        return spec
    if spec is not None and spec.strip():
        return parse_key_spec(spec)
    env = os.environ.get(ENV_KEY, "").strip()
    if env:
        return parse_key_spec(env)
    if recorded:
        return parse_key_spec(recorded)
    path = _sqlite_file(vault_url)
    if path is not None:
        return FileKeyProvider(path.with_name(DEFAULT_KEY_FILE))
    raise VaultKeyError(
        f"this vault has no key file beside it: name its key-encryption key with --key or "
        f"${ENV_KEY} ({_SPEC_HELP}), e.g. --key kms:alias/sellerkit-vault")
