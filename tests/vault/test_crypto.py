"""FieldCipher: AES-256-GCM fields bound to their row, data keys under the KEK, the blind index,
vault secrets, crypto-shredding and key rotation while the vault is in use."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sellerkit.errors import AccessDeniedError, IntegrityError, VaultKeyError
from sellerkit.vault import Principal, Role, Vault, schema
from sellerkit.vault.crypto import FORMAT_VERSION
from sellerkit.vault.roles import SYSTEM


def _keys(v: Vault, n: int) -> list[int]:
    with v.write() as conn:
        return v.cipher.new_data_keys(conn, "order", n)


@pytest.fixture
def vault(vault_url: str, tmp_path: Path) -> Iterator[Vault]:
    v = Vault.open(vault_url, key=f"file:{tmp_path / 'kek'}")
    yield v
    v.close()


def test_a_field_round_trips_and_is_versioned(vault: Vault) -> None:
    (kid,) = _keys(vault, 1)
    ct = vault.cipher.encrypt(kid, "order_buyers", "email_ct", "1:111-222", "zoë@example.com")
    assert ct is not None and ct[0] == FORMAT_VERSION and b"example" not in ct
    assert len(ct) == 1 + 12 + len("zoë@example.com".encode()) + 16
    assert vault.cipher.decrypt(kid, "order_buyers", "email_ct", "1:111-222", ct) == \
        "zoë@example.com"
    assert vault.cipher.encrypt(kid, "t", "c", "r", None) is None
    assert vault.cipher.decrypt(kid, "t", "c", "r", None) is None
    # two encryptions of one value differ (random nonces)
    assert ct != vault.cipher.encrypt(kid, "order_buyers", "email_ct", "1:111-222",
                                      "zoë@example.com")


def test_a_ciphertext_moved_elsewhere_fails(vault: Vault) -> None:
    a, b = _keys(vault, 2)
    ct = vault.cipher.encrypt(a, "order_buyers", "name_ct", "1:111", "Jane Roe")
    for key_id, table, column, row in [(a, "order_buyers", "name_ct", "1:112"),   # other row
                                       (a, "order_buyers", "email_ct", "1:111"),  # other column
                                       (a, "order_addresses", "name_ct", "1:111"),  # other table
                                       (b, "order_buyers", "name_ct", "1:111")]:  # other key
        with pytest.raises(IntegrityError, match="failed verification") as err:
            vault.cipher.decrypt(key_id, table, column, row, ct)
        assert "Jane" not in str(err.value)
    assert ct is not None
    tampered = ct[:-1] + bytes([ct[-1] ^ 1])
    with pytest.raises(IntegrityError):
        vault.cipher.decrypt(a, "order_buyers", "name_ct", "1:111", tampered)
    with pytest.raises(IntegrityError, match="not a vault ciphertext"):
        vault.cipher.decrypt(a, "order_buyers", "name_ct", "1:111", b"Jane Roe")


def test_data_keys_are_wrapped_and_survive_a_reopen(vault_url: str, tmp_path: Path) -> None:
    spec = f"file:{tmp_path / 'kek'}"
    with Vault.open(vault_url, key=spec) as v:
        ids = _keys(v, 3)
        cts = [v.cipher.encrypt(i, "t", "c", str(i), f"secret {i}") for i in ids]
        with v.read() as conn:
            wrapped = conn.execute(select(schema.data_keys.c.wrapped)).scalars().all()
        assert all(w is not None and len(w) == 1 + 12 + 32 + 16 for w in wrapped)
    with Vault.open(vault_url, key=spec) as v:  # a fresh cache: keys unwrapped from the database
        assert [v.cipher.decrypt(i, "t", "c", str(i), c) for i, c in zip(ids, cts, strict=True)] \
            == [f"secret {i}" for i in ids]


def test_destroyed_keys_make_ciphertexts_unreadable_even_with_the_kek(vault_url: str,
                                                                      tmp_path: Path) -> None:
    spec = f"file:{tmp_path / 'kek'}"
    with Vault.open(vault_url, key=spec) as v:
        a, b = _keys(v, 2)
        ct = v.cipher.encrypt(a, "t", "c", "r", "Jane Roe")
        with v.write() as conn:
            assert v.cipher.destroy_keys(conn, [a, a]) == 1
            assert v.cipher.destroy_keys(conn, [a]) == 0  # already gone
        with pytest.raises(VaultKeyError, match="destroyed"):
            v.cipher.decrypt(a, "t", "c", "r", ct)
        assert v.cipher.describe()["data_keys"] == {"live": 1, "destroyed": 1}
    with Vault.open(vault_url, key=spec) as v, pytest.raises(VaultKeyError, match="destroyed"):
        v.cipher.decrypt(a, "t", "c", "r", ct)


def test_blind_index_is_keyed_normalised_and_per_vault(vault_url: str, tmp_path: Path) -> None:
    email = "Jane.Roe@Example.COM "
    with Vault.open(vault_url, key=f"file:{tmp_path / 'k1'}") as v:
        idx = v.cipher.blind_index("email", email)
        assert idx == v.cipher.blind_index("email", "jane.roe@example.com")
        assert idx != v.cipher.blind_index("phone", "jane.roe@example.com")
        plain = b"jane.roe@example.com"
        assert idx not in {hashlib.sha256(plain).hexdigest(), hashlib.sha256(
            email.encode()).hexdigest(), hashlib.md5(plain).hexdigest()}  # noqa: S324
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    with Vault.open(other, key=f"file:{tmp_path / 'k2'}") as v2:
        assert v2.cipher.blind_index("email", email) != idx


def test_secret_keys_are_stable_wrapped_and_created_on_first_use(vault_url: str,
                                                                 tmp_path: Path) -> None:
    spec = f"file:{tmp_path / 'kek'}"
    with Vault.open(vault_url, key=spec) as v:
        audit = v.cipher.secret_key("audit-mac")
        custom = v.cipher.secret_key("my-feature")
        assert len(audit) == 32 and audit != custom
        with v.write() as conn:
            in_tx = v.cipher.secret_key("another", conn=conn)
        with v.read() as conn:
            stored = {k: val for k, val in conn.execute(
                select(schema.vault_meta.c.key, schema.vault_meta.c.value))}
        assert audit.hex() not in str(stored) and custom.hex() not in str(stored)
        assert {"secret:audit-mac", "secret:my-feature", "secret:another"} <= set(stored)
    with Vault.open(vault_url, key=spec) as v:
        assert v.cipher.secret_key("audit-mac") == audit
        assert v.cipher.secret_key("my-feature") == custom
        assert v.cipher.secret_key("another") == in_tx


def test_a_tampered_wrapped_key_is_an_integrity_error(sqlite_vault_url: str) -> None:
    with Vault.open(sqlite_vault_url) as v:
        a, b = _keys(v, 2)
        ct = v.cipher.encrypt(a, "t", "c", "r", "x")
        with v.write() as conn:  # swap in another record's wrapped key
            wb = conn.execute(select(schema.data_keys.c.wrapped).where(
                schema.data_keys.c.id == b)).scalar_one()
            conn.execute(update(schema.data_keys).where(schema.data_keys.c.id == a)
                         .values(wrapped=wb))
    with Vault.open(sqlite_vault_url) as v, pytest.raises(IntegrityError):
        v.cipher.decrypt(a, "t", "c", "r", ct)


def test_nothing_secret_in_reprs(vault: Vault) -> None:
    text = repr(vault.cipher) + repr(vault.keys) + repr(vault) + str(vault.cipher.describe())
    for name in ("blind-index", "audit-mac"):
        assert vault.cipher.secret_key(name).hex() not in text
    assert vault.cipher.kek_fingerprint in repr(vault.cipher)


# -- rotation ----------------------------------------------------------------------------------

def test_rotation_needs_manage_keys(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(AccessDeniedError, match="rotate the vault key"):
        vault.cipher.rotate(Principal("ann", Role.ANALYST), f"file:{tmp_path / 'new'}")


def test_rotation_rewraps_everything_while_a_reader_keeps_reading(vault_url: str,
                                                                  tmp_path: Path) -> None:
    old_spec, new_spec = f"file:{tmp_path / 'old.key'}", f"file:{tmp_path / 'new.key'}"
    with Vault.open(vault_url, key=old_spec) as v:
        ids = _keys(v, 450)
        cts = {i: v.cipher.encrypt(i, "t", "c", str(i), f"value {i}") for i in ids}
        secret = v.cipher.secret_key("blind-index")
        old_fp = v.cipher.kek_fingerprint
        v.cipher.rotate_batch = 100  # several batches, so the reader runs between them
        reader = Vault.open(vault_url, key=old_spec)  # another connection pool, opened before
        errors: list[BaseException] = []
        reads = 0
        stop = threading.Event()

        def read_all() -> None:
            nonlocal reads
            try:
                while not stop.is_set():
                    reader.cipher._cache.clear()  # force unwrapping from the database
                    for i in ids[::37]:
                        assert reader.cipher.decrypt(i, "t", "c", str(i), cts[i]) == f"value {i}"
                        reads += 1
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        t = threading.Thread(target=read_all)
        t.start()
        try:
            report = v.cipher.rotate(SYSTEM, new_spec)
        finally:
            stop.set()
            t.join()
            reader.close()
        assert not errors, errors
        assert reads > 0
        assert report.data_keys == 450 and report.batches >= 4 and report.secrets >= 4
        assert report.old_fingerprint == old_fp != report.new_fingerprint
        desc = v.cipher.describe()
        assert desc["kek"]["fingerprint"] == report.new_fingerprint
        assert [r["fingerprint"] for r in desc["retired_keks"]] == [old_fp]
        events = v.audit.events(SYSTEM, action="key.rotate")
        assert len(events) == 1 and (events[0].details or {})["data_keys"] == 450
    (tmp_path / "old.key").unlink()  # the old KEK is no longer needed
    with Vault.open(vault_url, key=new_spec) as v:
        assert all(v.cipher.decrypt(i, "t", "c", str(i), c) == f"value {i}"
                   for i, c in cts.items())
        assert v.cipher.secret_key("blind-index") == secret  # re-wrapped, unchanged
        with v.read() as conn:
            assert set(conn.execute(select(schema.data_keys.c.kek_id)).scalars()) == \
                {desc["kek"]["id"]}
    with Vault.open(vault_url) as v:  # the vault remembers its new key
        assert v.keys.spec == new_spec
    (tmp_path / "old.key").write_text(secrets.token_hex(32))
    (tmp_path / "old.key").chmod(0o600)
    with pytest.raises(VaultKeyError, match="not this vault's key"):
        Vault.open(vault_url, key=old_spec)


def test_rotating_to_the_key_in_use_is_refused(vault: Vault) -> None:
    with pytest.raises(VaultKeyError, match="used by this vault already"):
        vault.cipher.rotate(SYSTEM, vault.keys)
