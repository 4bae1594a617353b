"""Where profile secrets live (the OS keyring through a real in-memory backend, or the 0600
config file when there is no keyring), how load_settings reads them back, and the
`profiles list|show|remove` / `config get|set|unset` commands: secrets are never printed."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from sellerkit.config import load_settings, save_profile
from sellerkit.errors import ConfigurationError
from sellerkit.onboarding.secrets import mask, store_secrets

from . import keyring_memory
from .keyring_memory import MemoryKeyring

# the shared fixtures (a config file of the test's own; an in-memory keyring or none)
config_file = keyring_memory.config_file
memory_keyring = keyring_memory.memory_keyring
no_keyring = keyring_memory.no_keyring

SECRET = "amzn1.oa2-cs.v1.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
TOKEN = "Atzr|IwEBIPrefreshtokenvalue-0123456789-abcdefghijklmnopqrstuvwxyz"
CLIENT_ID = "amzn1.application-oa2-client.0123456789abcdef"

runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    out = result.stdout + result.stderr
    for secret in (SECRET, TOKEN, SECRET[16:40], TOKEN[5:30]):
        assert secret not in out, out
    assert "Traceback" not in out, out
    return result.exit_code, out


def read(path: Path) -> dict:
    return tomllib.loads(path.read_text())["profiles"]


def test_a_secret_set_with_a_keyring_goes_to_the_keyring(config_file: Path,
                                                          memory_keyring: MemoryKeyring) -> None:
    code, out = run("config", "set", "client_secret", SECRET, "--profile", "shop")
    assert code == 0, out
    assert "OS keyring" in out and "MemoryKeyring" in out
    table = read(config_file)["shop"]
    assert table["client_secret"] == "keyring:sellerkit/shop/client_secret"
    assert SECRET not in config_file.read_text()
    assert memory_keyring.entries[("sellerkit", "shop/client_secret")] == SECRET
    # load_settings resolves the marker transparently
    settings = load_settings(profile="shop")
    assert settings.client_secret is not None and settings.client_secret.reveal() == SECRET
    assert "OS keyring" in settings.sources["client_secret"]


def test_without_a_keyring_the_secret_stays_in_the_0600_file_and_it_says_so(
        config_file: Path, no_keyring: None) -> None:
    code, out = run("config", "set", "refresh_token", TOKEN)
    assert code == 0, out
    assert "config file" in out and "no OS keyring is available" in out
    assert read(config_file)["default"]["refresh_token"] == TOKEN
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert load_settings().refresh_token.reveal() == TOKEN  # type: ignore[union-attr]


def test_secrets_file_mode_keeps_it_in_the_file_even_with_a_keyring(
        config_file: Path, memory_keyring: MemoryKeyring) -> None:
    code, out = run("config", "set", "client_secret", SECRET, "--secrets", "file")
    assert code == 0, out
    assert read(config_file)["default"]["client_secret"] == SECRET
    assert memory_keyring.entries == {}


def test_keyring_only_fails_clearly_without_a_keyring(config_file: Path, no_keyring: None) -> None:
    code, out = run("config", "set", "client_secret", SECRET, "--secrets", "keyring")
    assert code == 2
    assert "cannot go to the OS keyring" in out and "--secrets file" in out
    assert not config_file.exists()


def test_list_and_show_mask_every_secret(config_file: Path, memory_keyring: MemoryKeyring) -> None:
    save_profile("filed", {"client_id": CLIENT_ID, "client_secret": SECRET,
                           "refresh_token": TOKEN, "region": "EU"})
    stored, _ = store_secrets("kept", {"client_secret": SECRET}, config_file=str(config_file))
    save_profile("kept", {"client_id": CLIENT_ID, "marketplace": "US", **stored})

    code, out = run("profiles", "list", "--json")
    assert code == 0, out
    rows = {r["name"]: r for r in json.loads(out)["profiles"]}
    assert rows["filed"]["secrets"] == "file" and rows["kept"]["secrets"] == "keyring"
    assert rows["filed"]["region"] == "EU" and rows["kept"]["marketplace"] == "US"

    code, out = run("profiles", "show", "filed", "--json")
    values = json.loads(out)["values"]
    assert values["client_secret"] == f"amzn1.oa2-cs.v1.…({len(SECRET)} chars)"
    assert values["refresh_token"] == f"Atzr|…({len(TOKEN)} chars)"
    assert values["client_id"] == CLIENT_ID  # not a secret

    code, out = run("profiles", "show", "kept")
    assert code == 0 and "(in the OS keyring)" in out
    code, out = run("profiles", "list")
    assert code == 0 and "filed" in out and "kept" in out
    code, out = run("config", "get", "client_secret", "--profile", "filed")
    assert code == 0 and out.strip() == mask(SECRET)


def test_mask_shows_a_public_prefix_and_the_length_at_most() -> None:
    assert mask(SECRET) == f"amzn1.oa2-cs.v1.…({len(SECRET)} chars)"
    assert mask("hunter2-but-longer") == "**********…(18 chars)"
    assert "hunter" not in mask("hunter2")


def test_remove_deletes_the_profile_and_its_keyring_entries(config_file: Path,
                                                            memory_keyring: MemoryKeyring) -> None:
    stored, _ = store_secrets("gone", {"client_secret": SECRET, "refresh_token": TOKEN},
                              config_file=str(config_file))
    save_profile("gone", {"client_id": CLIENT_ID, **stored})
    save_profile("stays", {"client_id": CLIENT_ID, "region": "FE"})
    assert len(memory_keyring.entries) == 2
    code, out = run("profiles", "remove", "gone")
    assert code == 2 and "--yes" in out  # no terminal to confirm on
    code, out = run("profiles", "remove", "gone", "--yes")
    assert code == 0, out
    assert "2 keyring entries" in out
    assert memory_keyring.entries == {}
    assert set(read(config_file)) == {"stays"}
    code, out = run("profiles", "remove", "gone", "--yes")
    assert code == 2 and "'gone' is not in" in out


def test_config_get_set_unset_validate_like_load_settings(config_file: Path,
                                                           memory_keyring: MemoryKeyring) -> None:
    code, out = run("config", "set", "regoin", "EU")
    assert code == 2 and "did you mean 'region'" in out
    code, out = run("config", "set", "timeout", "abc")
    assert code == 2 and "is not a number" in out
    code, out = run("config", "set", "marketplace", "XX")
    assert code == 2 and "XX" in out
    code, out = run("config", "set", "marketplace", "de")
    assert code == 0 and read(config_file)["default"]["marketplace"] == "DE"
    code, out = run("config", "get", "marketplace")
    assert (code, out.strip()) == (0, "DE")
    code, out = run("config", "get", "region")
    assert code == 1 and "not set" in out
    code, out = run("config", "get", "regoin")
    assert code == 2 and "did you mean 'region'" in out
    code, out = run("config", "set", "roles", "Pricing, Product Listing")
    assert code == 0 and read(config_file)["default"]["roles"] == ["Pricing", "Product Listing"]
    code, out = run("config", "get", "roles", "--json")
    assert json.loads(out)["value"] == ["Pricing", "Product Listing"]

    # a secret through stdin (not the shell history), then unset: the keyring entry goes too
    code, out = run("config", "set", "refresh_token", "-", input=TOKEN + "\n")
    assert code == 0, out
    assert memory_keyring.entries[("sellerkit", "default/refresh_token")] == TOKEN
    code, out = run("config", "unset", "refresh_token")
    assert code == 0, out
    assert "refresh_token" not in read(config_file)["default"]
    assert memory_keyring.entries == {}


def test_config_set_knows_the_credentials_apart(config_file: Path, no_keyring: None) -> None:
    code, out = run("config", "set", "client_id", "amzn1.sp.solution.0a1b2c3d")
    assert code == 2 and "client_id: that is the app id" in out
    code, out = run("config", "set", "client_secret", CLIENT_ID)
    assert code == 2 and "that is the client id, not the client secret" in out
    code, out = run("config", "set", "refresh_token", "not-a-token")
    assert code == 0 and "warning: refresh_token: a refresh token starts Atzr|" in out
    assert not config_file.read_text().count(CLIENT_ID)


def test_a_secret_moved_to_the_file_leaves_no_stale_keyring_copy(
        config_file: Path, memory_keyring: MemoryKeyring) -> None:
    run("config", "set", "client_secret", SECRET)
    assert memory_keyring.entries
    code, _ = run("config", "set", "client_secret", SECRET[:-4] + "ffff", "--secrets", "file")
    assert code == 0
    assert memory_keyring.entries == {}


def test_an_env_override_never_touches_the_keyring(config_file: Path,
                                                   memory_keyring: MemoryKeyring,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    stored, _ = store_secrets("default", {"client_secret": SECRET}, config_file=str(config_file))
    save_profile("default", {"client_id": CLIENT_ID, **stored})
    memory_keyring.locked = True
    monkeypatch.setenv("LWA_CLIENT_SECRET", "amzn1.oa2-cs.v1.from-the-environment")
    settings = load_settings()
    assert settings.client_secret.reveal() == "amzn1.oa2-cs.v1.from-the-environment"  # type: ignore[union-attr]
    assert memory_keyring.reads == 0


def test_a_locked_or_empty_keyring_says_what_to_do(config_file: Path,
                                                   memory_keyring: MemoryKeyring) -> None:
    stored, _ = store_secrets("default", {"client_secret": SECRET}, config_file=str(config_file))
    save_profile("default", {"client_id": CLIENT_ID, **stored})
    memory_keyring.locked = True
    with pytest.raises(ConfigurationError, match="unlock the keyring") as locked:
        load_settings()
    assert SECRET not in str(locked.value)
    memory_keyring.locked = False
    memory_keyring.entries.clear()
    with pytest.raises(ConfigurationError, match="no entry for keyring:sellerkit/default/"
                                                 "client_secret.*sellerkit config set"):
        load_settings()
    # on the command line: one line, exit status 2, no traceback
    memory_keyring.locked = True
    code, out = run("call", "sellers_v1.getMarketplaceParticipations", "--rate-limiter", "off")
    assert code == 2, out
    assert out.startswith("error:") and "unlock the keyring" in out


def test_remove_without_the_keyring_says_what_was_left(config_file: Path,
                                                        no_keyring: None) -> None:
    save_profile("x", {"client_secret": "keyring:sellerkit/x/client_secret"})
    code, out = run("profiles", "remove", "x", "--yes")
    assert code == 0, out
    assert "1 keyring entry could not be deleted here (keyring:sellerkit/x/client_secret)" in out


def test_a_marker_without_any_keyring_names_the_way_out(config_file: Path, no_keyring: None) -> None:
    save_profile("default", {"client_id": CLIENT_ID,
                             "client_secret": "keyring:sellerkit/default/client_secret"})
    with pytest.raises(ConfigurationError, match="kept in the OS keyring, but no OS keyring is "
                                                 "available.*SELLERKIT_KEYRING=off"):
        load_settings()


def test_onboarding_keys_are_checked_and_do_not_break_load_settings(config_file: Path) -> None:
    save_profile("default", {"client_id": CLIENT_ID, "app_type": "Public",
                             "marketplaces": ["de", "FR"], "business_name": "Acme",
                             "use_case": "orders to ERP", "roles": ["Pricing"]})
    table = read(config_file)["default"]
    assert table["app_type"] == "public" and table["marketplaces"] == ["DE", "FR"]
    assert load_settings().client_id == CLIENT_ID
    with pytest.raises(ConfigurationError, match="'private' or 'public'"):
        save_profile("default", {"app_type": "secret-ish"})
    code, out = run("config", "set", "app_type", "hybrid")
    assert code == 2 and "'private' or 'public'" in out
