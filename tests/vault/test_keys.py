"""Key providers: a key file created 0600, a variable, AWS KMS (moto on loopback); a vault never
opens (or silently re-keys) with a key that is not its own."""

from __future__ import annotations

import base64
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sellerkit.errors import VaultKeyError
from sellerkit.vault import Vault
from sellerkit.vault.keys import (
    EnvKeyProvider,
    FileKeyProvider,
    KmsKeyProvider,
    fingerprint,
    parse_key_spec,
    resolve_key_provider,
)
from tests.moto_server import running_moto


def test_a_new_sqlite_vault_creates_its_key_file_0600_beside_it(tmp_path: Path) -> None:
    with Vault.open(f"sqlite:///{tmp_path / 'v.sqlite3'}") as v:
        assert isinstance(v.keys, FileKeyProvider)
        key_file = tmp_path / "vault.key"
        assert v.keys.path == key_file
        fp = v.cipher.kek_fingerprint
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert fingerprint(bytes.fromhex(key_file.read_text().strip())) == fp
    assert not list(tmp_path.glob(".vault.key.*"))  # no temp file left behind
    with Vault.open(f"sqlite:///{tmp_path / 'v.sqlite3'}") as v:  # reopens with the same key
        assert v.cipher.kek_fingerprint == fp


def test_a_missing_key_file_is_never_replaced_by_a_new_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    with Vault.open(url) as v:
        fp = v.cipher.kek_fingerprint
    (tmp_path / "vault.key").unlink()
    with pytest.raises(VaultKeyError, match=f"missing.*fingerprint {fp}.*restore"):
        Vault.open(url)
    assert not (tmp_path / "vault.key").exists()


def test_a_wrong_key_is_refused_naming_the_key_needed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    with Vault.open(url) as v:
        fp = v.cipher.kek_fingerprint
    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32))
    other.chmod(0o600)
    with pytest.raises(VaultKeyError, match=f"not this vault's key.*fingerprint {fp}") as err:
        Vault.open(url, key=f"file:{other}")
    assert other.read_text() not in str(err.value)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text(secrets.token_hex(32))
    path.chmod(0o644)
    with pytest.raises(VaultKeyError, match="chmod 600"):
        FileKeyProvider(path).load_kek(None)


def test_env_provider_takes_hex_or_base64(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = secrets.token_bytes(32)
    for text in (raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        monkeypatch.setenv("VK", text)
        assert EnvKeyProvider("VK").load_kek(None) == raw
    monkeypatch.setenv("VK", "too-short")
    with pytest.raises(VaultKeyError, match="32 random bytes"):
        EnvKeyProvider("VK").load_kek(None)
    monkeypatch.delenv("VK")
    with pytest.raises(VaultKeyError, match=r"\$VK is not set"):
        EnvKeyProvider("VK").create_kek()


def test_env_key_opens_a_vault_on_either_backend(vault_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_VAULT_KEY", secrets.token_hex(32))
    with Vault.open(vault_url, key="env:MY_VAULT_KEY") as v:
        assert v.cipher.describe()["kek"]["provider"] == "env"
    # with no key named, the vault's record of its key (env:MY_VAULT_KEY) is used
    monkeypatch.delenv("SELLERKIT_VAULT_KEY", raising=False)
    with Vault.open(vault_url) as v:
        assert v.keys.spec == "env:MY_VAULT_KEY"
    monkeypatch.setenv("MY_VAULT_KEY", secrets.token_hex(32))
    with pytest.raises(VaultKeyError, match="not this vault's key"):
        Vault.open(vault_url)


def test_resolution_order_and_postgres_needs_a_key(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SELLERKIT_VAULT_KEY", raising=False)
    sqlite = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    assert resolve_key_provider(None, sqlite).spec == f"file:{tmp_path / 'vault.key'}"
    assert resolve_key_provider(None, sqlite, recorded="env:X").spec == "env:X"
    assert resolve_key_provider("kms:alias/a", sqlite).spec == "kms:alias/a"
    monkeypatch.setenv("SELLERKIT_VAULT_KEY", "env:FROM_ENV")
    assert resolve_key_provider(None, sqlite, recorded="env:X").spec == "env:FROM_ENV"
    monkeypatch.delenv("SELLERKIT_VAULT_KEY")
    with pytest.raises(VaultKeyError, match="--key"):
        resolve_key_provider(None, "postgresql://u@h/db")
    for bad in ("nonsense", "file:", "s3:bucket"):
        with pytest.raises(VaultKeyError, match="file:PATH, env:VARIABLE or kms:"):
            parse_key_spec(bad)


# -- AWS KMS, through moto in server mode on loopback ------------------------------------------------

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def kms_endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def aws_env(kms_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": kms_endpoint}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return kms_endpoint


def _kms_key(alias: str) -> str:
    kms: Any = boto3.client("kms")
    key_id = kms.create_key(Description="vault test")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return str(key_id)


def test_kms_wraps_the_kek_and_costs_one_decrypt_per_open(sqlite_vault_url: str,
                                                          aws_env: str) -> None:
    vault_url = sqlite_vault_url
    alias = f"alias/vault-{os.getpid()}-{secrets.token_hex(3)}"
    _kms_key(alias)
    provider = KmsKeyProvider(alias)
    with Vault.open(vault_url, key=provider) as v:
        assert provider.calls == 1  # GenerateDataKey, once
        with v.write() as conn:
            ids = v.cipher.new_data_keys(conn, "order", 50)
        cts = [v.cipher.encrypt(i, "orders", "extra_pii_ct", f"r{i}", f"v{i}") for i in ids]
        d = v.cipher.describe()["kek"]
        assert d["provider"] == "kms" and d["ref"] == alias
    from sqlalchemy import create_engine, text

    eng = create_engine(vault_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect() as conn:
        wrapped = conn.execute(text("SELECT wrapped FROM keks")).scalar_one()
    eng.dispose()
    assert wrapped and len(wrapped) > 32  # the KEK is stored wrapped by KMS, not in clear

    reopened = KmsKeyProvider(alias)
    with Vault.open(vault_url, key=reopened) as v:
        got = [v.cipher.decrypt(i, "orders", "extra_pii_ct", f"r{i}", c)
               for i, c in zip(ids, cts, strict=True)]
    assert got == [f"v{i}" for i in ids]
    assert reopened.calls == 1  # one Decrypt for the open, none per record


def test_kms_spec_through_boto3s_default_chain(sqlite_vault_url: str, aws_env: str) -> None:
    alias = f"alias/vault-spec-{secrets.token_hex(3)}"
    _kms_key(alias)
    with Vault.open(sqlite_vault_url, key=f"kms:{alias}") as v:
        fp = v.cipher.kek_fingerprint
    with Vault.open(sqlite_vault_url) as v:  # the vault remembers kms:alias
        assert v.keys.spec == f"kms:{alias}" and v.cipher.kek_fingerprint == fp


def test_kms_errors_are_clear(sqlite_vault_url: str, aws_env: str) -> None:
    with pytest.raises(VaultKeyError, match=r"AWS KMS generate_data_key with key alias/nope "
                                            r"failed \(NotFoundException\)"):
        Vault.open(sqlite_vault_url, key="kms:alias/nope")
