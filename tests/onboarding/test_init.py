"""`sellerkit init`: through a real pseudo-terminal (pexpect spawns the CLI on a pty, answers
its prompts, including wrong-format answers that are explained and asked again), and through
flags alone (no terminal: missing answers name their flags). Against the emulator, the profile
it writes works for a real call. No secret is ever echoed or printed."""

from __future__ import annotations

import io
import os
import stat
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from sellerkit.onboarding.init import check_client_id, check_client_secret, check_refresh_token

from . import keyring_memory
from .keyring_memory import MemoryKeyring

# the shared fixtures (a config file of the test's own; an in-memory keyring or none)
config_file = keyring_memory.config_file
memory_keyring = keyring_memory.memory_keyring
no_keyring = keyring_memory.no_keyring

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "amzn1.application-oa2-client.6f0a1b2c3d4e5f60718293a4b5c6d7e8"
SECRET = "amzn1.oa2-cs.v1.9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c"
TOKEN = "Atzr|IwEBIA-selfauthorized-refresh-token-0123456789abcdefghijklmnop"
APP_ID = "amzn1.sp.solution.0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"

runner = CliRunner()


def _no_secret_in(text: str) -> None:
    for secret in (SECRET, TOKEN, SECRET[16:48], TOKEN[5:40]):
        assert secret not in text, text


def _spawn(args: list[str], tmp_path: Path) -> tuple[object, io.StringIO]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    env.update({"PYTHONPATH": str(ROOT), "SELLERKIT_CONFIG": str(tmp_path / "config.toml"),
                "SELLERKIT_STATE_DIR": str(tmp_path / "state"), "SELLERKIT_KEYRING": "off",
                "COLUMNS": "200", "TERM": "dumb", "HOME": str(tmp_path)})
    transcript = io.StringIO()
    child = pexpect.spawn(sys.executable, ["-m", "sellerkit.cli", "init", *args], env=env,
                          encoding="utf-8", timeout=30, cwd=str(tmp_path),
                          dimensions=(50, 200))
    child.logfile_read = transcript
    # getpass turns echo off with TCSAFLUSH, which drops what was typed before: wait a moment
    # after each prompt, as a person does
    child.delaybeforesend = 0.1
    return child, transcript


@pytest.fixture
def closing() -> Iterator[list[object]]:
    children: list[object] = []
    yield children
    for c in children:
        c.close(force=True)  # type: ignore[attr-defined]


def test_the_wizard_on_a_terminal_explains_and_asks_again(tmp_path: Path,
                                                          closing: list[object]) -> None:
    child, transcript = _spawn(["--profile", "shop", "--skip-doctor"], tmp_path)
    closing.append(child)
    c: object = child
    expect, send = c.expect, c.sendline  # type: ignore[attr-defined]
    expect("never|no IAM")
    expect(r"private.*public.*\(private\)")
    send("")  # the default: private
    expect(r"Region \[NA/EU/FE\]")
    send("Europe")  # not a region: explained, asked again
    expect("Europe")
    expect(r"Region \[NA/EU/FE\]")
    send("eu")
    expect(r"Marketplaces .*\(DE\)")
    send("de, US")  # US is not in EU
    expect("US is in region NA, not EU")
    expect("Marketplaces")
    send("de fr")
    expect("Solution Provider Portal")  # where the credentials are
    expect("LWA client id")
    send(APP_ID)  # the app id, pasted for the client id
    expect(r"that is the app id \(amzn1\.sp\.solution\.…\), not the LWA client id")
    expect("LWA client id")
    send(CLIENT_ID)
    expect(r"client secret \(input hidden\)")
    send(CLIENT_ID)  # the client id again, pasted for the secret
    expect("that is the client id, not the client secret")
    expect(r"client secret \(input hidden\)")
    send(SECRET)
    expect("Authorize app")  # how to self-authorize
    expect(r"Refresh token \(input hidden\)")
    send("Atza|an-access-token-not-a-refresh-token")
    expect("access token")
    expect("Refresh token")
    send(TOKEN)
    expect("road draft-profile")
    send("y")
    expect("Business name")
    send("Acme Trading GmbH")
    expect("use case")
    send("Pull orders into our ERP every hour")
    expect("Roles the app needs")
    send("pricng")  # a typo: a suggestion, asked again
    expect("did you mean 'Pricing'")
    expect("Roles the app needs")
    send("pricing, inventory and order tracking")
    expect("wrote profile 'shop'")
    expect("sellerkit doctor --profile shop")
    expect(pexpect.EOF)
    child.close()  # type: ignore[attr-defined]
    assert child.exitstatus == 0, transcript.getvalue()  # type: ignore[attr-defined]
    text = transcript.getvalue()
    _no_secret_in(text)  # hidden input: never echoed, and the summary is masked
    assert f"amzn1.oa2-cs.v1.…({len(SECRET)} chars)" in text
    assert "IAM" in text and "aws_access_key" not in text.lower()

    path = tmp_path / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    table = tomllib.loads(path.read_text())["profiles"]["shop"]
    assert table == {
        "app_type": "private", "region": "EU", "marketplace": "DE", "marketplaces": ["DE", "FR"],
        "client_id": CLIENT_ID, "client_secret": SECRET, "refresh_token": TOKEN,
        "business_name": "Acme Trading GmbH", "use_case": "Pull orders into our ERP every hour",
        "roles": ["Pricing", "Inventory and Order Tracking"]}
    assert "config file" in text  # it says where the secrets went (no keyring here)


def test_a_public_app_may_skip_the_token_and_is_pointed_at_serve(tmp_path: Path,
                                                                 closing: list[object]) -> None:
    child, transcript = _spawn(["--skip-doctor", "--region", "NA"], tmp_path)
    closing.append(child)
    c: object = child
    expect, send = c.expect, c.sendline  # type: ignore[attr-defined]
    expect("private.*public")
    send("public")
    expect("Marketplaces")  # the region came from its flag
    send("")  # default US
    expect("LWA client id")
    send(CLIENT_ID)
    expect("client secret")
    send(SECRET)
    expect("sellerkit serve")
    expect("Refresh token")
    send("")  # skipped
    expect("road draft-profile")
    send("n")
    expect("no refresh token yet")
    expect(pexpect.EOF)
    child.close()  # type: ignore[attr-defined]
    assert child.exitstatus == 0, transcript.getvalue()  # type: ignore[attr-defined]
    table = tomllib.loads((tmp_path / "config.toml").read_text())["profiles"]["default"]
    assert table["app_type"] == "public" and table["marketplace"] == "US"
    assert "refresh_token" not in table and "business_name" not in table
    _no_secret_in(transcript.getvalue())


def test_ctrl_c_or_keeping_an_existing_profile_writes_nothing(tmp_path: Path,
                                                               closing: list[object]) -> None:
    child, transcript = _spawn(["--skip-doctor"], tmp_path)
    closing.append(child)
    child.expect("private.*public")  # type: ignore[attr-defined]
    time.sleep(0.1)  # sendintr skips delaybeforesend: press Ctrl-C once the prompt waits, as a person does
    child.sendintr()  # type: ignore[attr-defined]
    child.expect(pexpect.EOF)  # type: ignore[attr-defined]
    child.close()  # type: ignore[attr-defined]
    assert child.exitstatus == 130, transcript.getvalue()  # type: ignore[attr-defined]
    assert "Traceback" not in transcript.getvalue()
    assert not (tmp_path / "config.toml").exists()

    path = tmp_path / "config.toml"
    path.write_text('[profiles.default]\nregion = "FE"\n')
    before = path.read_text()
    child, transcript = _spawn(["--skip-doctor"], tmp_path)
    closing.append(child)
    child.expect(r"Profile 'default' exists in .*Replace it\?")  # type: ignore[attr-defined]
    child.sendline("n")  # type: ignore[attr-defined]
    child.expect("--force")  # type: ignore[attr-defined]
    child.expect(pexpect.EOF)  # type: ignore[attr-defined]
    child.close()  # type: ignore[attr-defined]
    assert child.exitstatus == 2, transcript.getvalue()  # type: ignore[attr-defined]
    assert path.read_text() == before


def test_flags_alone_without_a_terminal(config_file: Path, memory_keyring: MemoryKeyring) -> None:
    result = runner.invoke(app, [
        "init", "--profile", "eu", "--app-type", "private", "--marketplace", "DE",
        "--marketplace", "it", "--client-id", CLIENT_ID, "--client-secret", SECRET,
        "--refresh-token", TOKEN, "--business-name", "Acme", "--role", "Pricing",
        "--skip-doctor"])
    out = result.stdout + result.stderr
    assert result.exit_code == 0, out
    _no_secret_in(out)
    assert "kept in the OS keyring (" in out and "MemoryKeyring)" in out
    table = tomllib.loads(config_file.read_text())["profiles"]["eu"]
    assert table["region"] == "EU"  # from the first marketplace
    assert table["marketplaces"] == ["DE", "IT"]
    assert table["client_secret"] == "keyring:sellerkit/eu/client_secret"
    assert table["refresh_token"] == "keyring:sellerkit/eu/refresh_token"
    assert memory_keyring.entries == {("sellerkit", "eu/client_secret"): SECRET,
                                      ("sellerkit", "eu/refresh_token"): TOKEN}
    assert SECRET not in config_file.read_text()


def test_missing_answers_name_their_flags_and_nothing_is_written(config_file: Path,
                                                                 no_keyring: None) -> None:
    result = runner.invoke(app, ["init", "--client-id", CLIENT_ID, "--skip-doctor"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --region, --marketplace, --client-secret and "
                                    "--refresh-token are required"), result.stderr
    assert not config_file.exists()
    # --no-input never prompts, even where it could
    result = runner.invoke(app, ["init", "--no-input", "--app-type", "public", "--region",
                                 "FE", "--client-id", CLIENT_ID, "--client-secret", SECRET,
                                 "--skip-doctor"])
    assert result.exit_code == 0, result.stderr
    table = tomllib.loads(config_file.read_text())["profiles"]["default"]
    assert table["marketplace"] == "JP" and "refresh_token" not in table


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--client-id", APP_ID, "--client-id: that is the app id (amzn1.sp.solution.…), not the "
                            "LWA client id"),
    ("--client-id", "amzn1.sellerapps.app.1234", "that is the app id (amzn1.sellerapps.app.…)"),
    ("--client-id", SECRET, "--client-id: that is the client secret, not the client id"),
    ("--client-secret", CLIENT_ID, "--client-secret: that is the client id, not the client "
                                   "secret"),
    ("--client-secret", "abc123", "--client-secret: an LWA client secret starts "
                                  "amzn1.oa2-cs.v1."),
    ("--refresh-token", "Atza|xyz", "--refresh-token: that is an access token"),
    ("--marketplace", "ZZ", "--marketplace"),
    ("--role", "Pricingg", "did you mean 'Pricing'"),
    ("--app-type", "hybrid", "--app-type: answer 'private'"),
])
def test_bad_flag_values_say_what_is_wrong_without_echoing_secrets(
        config_file: Path, no_keyring: None, flag: str, value: str, message: str) -> None:
    given = {"--region": "NA", "--client-id": CLIENT_ID, "--client-secret": SECRET,
             "--refresh-token": TOKEN, flag: value}
    args = ["init", "--skip-doctor"] + [x for kv in given.items() for x in kv]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr, result.stderr
    _no_secret_in(result.stdout + result.stderr)
    assert not config_file.exists()


def test_an_existing_profile_needs_force_and_is_replaced_whole(
        config_file: Path, memory_keyring: MemoryKeyring) -> None:
    base = ["init", "--region", "NA", "--client-id", CLIENT_ID, "--client-secret", SECRET,
            "--skip-doctor"]
    assert runner.invoke(app, [*base, "--refresh-token", TOKEN, "--use-case", "x"]
                         ).exit_code == 0
    again = runner.invoke(app, [*base, "--app-type", "public"])
    assert again.exit_code == 2 and "--force" in again.stderr
    replaced = runner.invoke(app, [*base, "--app-type", "public", "--force"])
    assert replaced.exit_code == 0, replaced.stderr
    assert "replaced profile 'default'" in replaced.stderr
    table = tomllib.loads(config_file.read_text())["profiles"]["default"]
    assert "use_case" not in table and "refresh_token" not in table
    # the old refresh token's keyring entry went with it
    assert set(memory_keyring.entries) == {("sellerkit", "default/client_secret")}


def test_secrets_from_stdin_stay_out_of_the_command_line(config_file: Path,
                                                         no_keyring: None) -> None:
    result = runner.invoke(app, ["init", "--region", "NA", "--client-id", CLIENT_ID,
                                 "--client-secret", "-", "--refresh-token", TOKEN,
                                 "--skip-doctor"], input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    table = tomllib.loads(config_file.read_text())["profiles"]["default"]
    assert table["client_secret"] == SECRET


def test_init_against_the_emulator_then_doctor(config_file: Path, no_keyring: None) -> None:
    from sellerkit import SellingPartner
    from sellerkit.config import load_settings
    from sellerkit.emulator import EmulatorConfig
    from sellerkit.emulator.server import EmulatorServer

    with EmulatorServer(EmulatorConfig(orders=3, rate_scale=100)) as server:
        cfg = server.emulator.config
        result = runner.invoke(app, ["init", "--marketplace", "US", "--client-id", cfg.client_id,
                                     "--client-secret", cfg.client_secret, "--refresh-token",
                                     cfg.refresh_token, "--endpoint", server.base_url])
        out = result.stdout + result.stderr
        assert result.exit_code == 0, out
        # init ends by running doctor on the new profile
        assert "running 'sellerkit doctor --profile default'" in out, out
        assert "PASS  2. LWA" in out and "PASS  5. First call" in out, out
        assert cfg.client_secret not in out and cfg.refresh_token not in out
        assert "Traceback" not in out
        table = tomllib.loads(config_file.read_text())["profiles"]["default"]
        # a loopback endpoint brings the emulator's LWA endpoint along
        assert table["lwa_endpoint"] == server.base_url + "/auth/o2/token"
        with SellingPartner(settings=load_settings(), rate_limiter=False) as sp:
            got = sp.call("sellers_v1.getMarketplaceParticipations")
        assert got.status == 200


def test_a_failing_doctor_fails_init_but_keeps_the_profile(config_file: Path,
                                                            no_keyring: None) -> None:
    from sellerkit.emulator import EmulatorConfig
    from sellerkit.emulator.server import EmulatorServer

    with EmulatorServer(EmulatorConfig(orders=3, lwa_fault="invalid_client")) as server:
        cfg = server.emulator.config
        result = runner.invoke(app, ["init", "--marketplace", "US", "--client-id", cfg.client_id,
                                     "--client-secret", cfg.client_secret, "--refresh-token",
                                     cfg.refresh_token, "--endpoint", server.base_url])
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert "FAIL  2. LWA" in out and "the profile is saved" in out, out
    assert "default" in tomllib.loads(config_file.read_text())["profiles"]
    _no_secret_in(out)
    assert cfg.client_secret not in out


def test_format_checks() -> None:
    assert check_client_id(f"  '{CLIENT_ID}' ") == CLIENT_ID
    assert check_client_secret(SECRET).reveal() == SECRET
    assert check_refresh_token(TOKEN).reveal() == TOKEN
    with pytest.raises(Exception, match="app id"):
        check_client_id(APP_ID)
    with pytest.raises(Exception, match="no spaces"):
        check_client_secret(SECRET + " " + SECRET)
