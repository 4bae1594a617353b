"""load_settings precedence, environment names, profiles, conversions, secrets and save_profile.

Every test passes its own ``env`` mapping and a config file under tmp_path, so nothing here reads
the developer's real environment or ~/.config.
"""

from __future__ import annotations

import logging
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from sellerkit._secret import Secret
from sellerkit.config import Settings, dumps_toml, env_names, load_settings, save_profile
from sellerkit.errors import ConfigurationError

CLIENT_SECRET = "amzn1.oa2-cs.v1.d3adb33fd3adb33f"
REFRESH = "Atzr|IwEBIRefreshTokenValue"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """An empty config file: a file named by config_file= must exist."""
    path = tmp_path / "config.toml"
    path.write_text("")
    return path


def write(cfg: Path, text: str) -> Path:
    cfg.write_text(text)
    cfg.chmod(0o600)
    return cfg


def load(cfg: Path, env: dict[str, str] | None = None, **kw: Any) -> Settings:
    return load_settings(config_file=cfg, env=env or {}, **kw)


# -- one test per precedence pair ----------------------------------------------------------------


def test_explicit_beats_env(cfg: Path) -> None:
    s = load(cfg, {"SELLERKIT_TIMEOUT": "5"}, timeout=7)
    assert s.timeout == 7.0
    assert s.sources["timeout"] == "argument"


def test_env_beats_profile(cfg: Path) -> None:
    write(cfg, "[profiles.default]\ntimeout = 12\nclient_id = 'from-file'\n")
    s = load(cfg, {"SELLERKIT_TIMEOUT": "5"})
    assert s.timeout == 5.0
    assert s.sources["timeout"] == "env SELLERKIT_TIMEOUT"
    assert s.client_id == "from-file"  # fields merge one by one


def test_profile_beats_default(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nmax_attempts = 2\n")
    s = load(cfg)
    assert s.max_attempts == 2
    assert s.max_retry_time == 120.0  # untouched field keeps its default
    assert s.profile == "default"
    assert s.sources["max_attempts"].startswith("profile 'default'")


def test_explicit_beats_profile(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nsandbox = true\n")
    assert load(cfg).sandbox is True
    assert load(cfg, sandbox=False).sandbox is False  # False is a value, not "unset"


def test_none_means_not_given(cfg: Path) -> None:
    s = load(cfg, {"SELLERKIT_CLIENT_ID": "from-env"}, client_id=None, timeout=None)
    assert s.client_id == "from-env"
    assert s.timeout == 30.0


def test_defaults(cfg: Path) -> None:
    s = load(cfg)
    assert (s.timeout, s.connect_timeout, s.max_attempts, s.max_retry_time) == (30.0, 10.0, 5, 120.0)
    assert (s.sigv4, s.sandbox, s.token_store, s.profile) == (False, False, "memory", None)
    assert s == Settings()


# -- environment names ---------------------------------------------------------------------------


def test_python_amazon_sp_api_names(cfg: Path) -> None:
    env = {
        "LWA_APP_ID": "amzn1.application-oa2-client.x",
        "LWA_CLIENT_SECRET": CLIENT_SECRET,
        "SP_API_REFRESH_TOKEN": REFRESH,
        "SP_API_ACCESS_KEY": "AKIAEXAMPLE",
        "SP_API_SECRET_KEY": AWS_SECRET,
        "SP_API_ROLE_ARN": "arn:aws:iam::123456789012:role/sp",
    }
    s = load(cfg, env)
    assert s.client_id == "amzn1.application-oa2-client.x"
    assert s.client_secret == Secret(CLIENT_SECRET)
    assert s.refresh_token is not None and s.refresh_token.reveal() == REFRESH
    assert s.aws_access_key_id == "AKIAEXAMPLE"
    assert s.aws_secret_access_key is not None and s.aws_secret_access_key.reveal() == AWS_SECRET
    assert s.role_arn == "arn:aws:iam::123456789012:role/sp"


def test_sellerkit_name_beats_pysp_name(cfg: Path) -> None:
    s = load(cfg, {"LWA_APP_ID": "pysp", "SELLERKIT_CLIENT_ID": "ours"})
    assert s.client_id == "ours"
    assert s.sources["client_id"] == "env SELLERKIT_CLIENT_ID"


def test_every_field_has_a_sellerkit_env_name(cfg: Path) -> None:
    env = {
        "SELLERKIT_REGION": "fe", "SELLERKIT_SANDBOX": "yes", "SELLERKIT_SIGV4": "1",
        "SELLERKIT_APP_NAME": "My Tool", "SELLERKIT_APP_VERSION": "2.0",
        "SELLERKIT_AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLE",
        "SELLERKIT_CONNECT_TIMEOUT": "2.5", "SELLERKIT_MAX_ATTEMPTS": "3",
        "SELLERKIT_MAX_RETRY_TIME": "0", "SELLERKIT_PROXY": "http://proxy.example:3128",
        "SELLERKIT_TOKEN_STORE": "redis://127.0.0.1:6379/1",
        "SELLERKIT_ENDPOINT": "http://127.0.0.1:8787",
        "SELLERKIT_LWA_ENDPOINT": "http://127.0.0.1:8787/auth/o2/token",
    }
    s = load(cfg, env)
    assert (s.region, s.sandbox, s.sigv4) == ("FE", True, True)
    assert (s.app_name, s.app_version) == ("My Tool", "2.0")
    assert (s.connect_timeout, s.max_attempts, s.max_retry_time) == (2.5, 3, 0.0)
    assert s.token_store == "redis://127.0.0.1:6379/1"
    assert s.resolve_endpoint().base_url == "http://127.0.0.1:8787"
    assert s.lwa_url == "http://127.0.0.1:8787/auth/o2/token"
    assert env_names("client_id") == ["SELLERKIT_CLIENT_ID", "LWA_APP_ID"]


def test_empty_env_value_is_unset(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nregion = 'EU'\n")
    assert load(cfg, {"SELLERKIT_REGION": ""}).region == "EU"


# -- profiles and the config file ----------------------------------------------------------------


def test_named_profile_from_argument_and_env(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nregion = 'NA'\n[profiles.eu-shop]\nmarketplace = 'de'\n")
    assert load(cfg, profile="eu-shop").marketplace == "DE"
    s = load(cfg, {"SELLERKIT_PROFILE": "eu-shop"})
    assert (s.profile, s.marketplace, s.region) == ("eu-shop", "DE", None)
    assert s.resolve_endpoint().region_name == "EU"


def test_sellerkit_config_env_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "elsewhere.toml", "[profiles.default]\napp_name = 'x'\n")
    assert load_settings(env={"SELLERKIT_CONFIG": str(path)}).app_name == "x"


def test_missing_asked_profile_is_an_error(cfg: Path) -> None:
    write(cfg, "[profiles.default]\n[profiles.production]\n")
    with pytest.raises(ConfigurationError, match=r"'prodution'.*did you mean 'production'"):
        load(cfg, profile="prodution")
    with pytest.raises(ConfigurationError, match="SELLERKIT_PROFILE"):
        load(cfg, {"SELLERKIT_PROFILE": "nope"})


def test_missing_default_profile_and_file_are_fine(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # No SELLERKIT_CONFIG: the file lives in the user config dir, which does not exist here.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    s = load_settings(env={"SELLERKIT_REGION": "EU"})
    assert (s.region, s.profile) == ("EU", None)
    # ...but asking for a profile by name when there is no file is an error
    with pytest.raises(ConfigurationError, match=r"'shop'.*no config file at .*xdg"):
        load_settings(profile="shop", env={})
    # an empty file is fine, the implicit default profile may be absent
    assert load(write(tmp_path / "empty.toml", "")).profile is None


def test_dev_null_disables_profiles() -> None:
    s = load_settings(env={"SELLERKIT_CONFIG": "/dev/null", "SELLERKIT_REGION": "EU"})
    assert (s.region, s.profile) == ("EU", None)


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="absent.toml does not exist"):
        load(tmp_path / "absent.toml")
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(env={"SELLERKIT_CONFIG": str(tmp_path / "absent.toml")})


def test_unknown_key_in_profile_suggests(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nclient_secert = 'x'\n")
    with pytest.raises(ConfigurationError,
                       match=r"unknown key 'client_secert'.*did you mean 'client_secret'"):
        load(cfg)


def test_unknown_top_level_table(cfg: Path) -> None:
    write(cfg, "[profile.default]\nregion = 'NA'\n")
    with pytest.raises(ConfigurationError, match=r"'profile'.*did you mean 'profiles'"):
        load(cfg)


def test_invalid_toml(cfg: Path) -> None:
    write(cfg, "[profiles.default\nregion = \n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load(cfg)


def test_unknown_explicit_argument(cfg: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"'refresh_tokn'.*did you mean 'refresh_token'"):
        load(cfg, refresh_tokn="x")


# -- conversions and validation ------------------------------------------------------------------


@pytest.mark.parametrize(("env", "message"), [
    ({"SELLERKIT_TIMEOUT": "abc"}, "SELLERKIT_TIMEOUT='abc' is not a number"),
    ({"SELLERKIT_TIMEOUT": "-1"}, "SELLERKIT_TIMEOUT='-1' must be greater than 0"),
    ({"SELLERKIT_TIMEOUT": "nan"}, "SELLERKIT_TIMEOUT='nan' is not a finite number"),
    ({"SELLERKIT_MAX_ATTEMPTS": "2.5"}, "SELLERKIT_MAX_ATTEMPTS='2.5' is not a whole number"),
    ({"SELLERKIT_MAX_ATTEMPTS": "0"}, "SELLERKIT_MAX_ATTEMPTS='0' must be at least 1"),
    ({"SELLERKIT_SANDBOX": "maybe"}, "SELLERKIT_SANDBOX='maybe' is not a boolean"),
    ({"SELLERKIT_REGION": "MARS"}, "SELLERKIT_REGION='MARS' is not valid: unknown region"),
    ({"SELLERKIT_MARKETPLACE": "XX"}, "SELLERKIT_MARKETPLACE='XX' is not valid: unknown market"),
    ({"SELLERKIT_ENDPOINT": "http://10.1.2.3:8787"}, "SELLERKIT_ENDPOINT=.*non-loopback"),
    ({"SELLERKIT_TOKEN_STORE": "sqlite:x"}, "SELLERKIT_TOKEN_STORE='sqlite:x' is not valid"),
    ({"SELLERKIT_CA_BUNDLE": "/nonexistent/ca.pem"}, "no such file"),
    ({"SP_API_ROLE_ARN": "role/sp"}, "SP_API_ROLE_ARN='role/sp' is not valid: expected an IAM"),
    ({"SELLERKIT_PROXY": "proxy:3128"}, "SELLERKIT_PROXY='proxy:3128' is not valid"),
])
def test_bad_env_values_name_their_source(cfg: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load(cfg, env)


def test_bad_profile_value_names_profile_and_file(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nsigv4 = 'sometimes'\n")
    with pytest.raises(ConfigurationError) as info:
        load(cfg)
    text = str(info.value)
    assert "sigv4='sometimes'" in text and "profile 'default'" in text and str(cfg) in text


def test_toml_native_types(cfg: Path) -> None:
    write(cfg, "[profiles.default]\ntimeout = 7\nmax_attempts = 3.0\nsigv4 = true\n"
               "app_version = 2.1\n")
    s = load(cfg)
    assert (s.timeout, s.max_attempts, s.sigv4, s.app_version) == (7.0, 3, True, "2.1")
    assert isinstance(s.timeout, float) and isinstance(s.max_attempts, int)


def test_bool_spellings(cfg: Path) -> None:
    for text, want in [("TRUE", True), ("on", True), ("1", True), ("No", False), ("0", False)]:
        assert load(cfg, {"SELLERKIT_SIGV4": text}).sigv4 is want


def test_token_store_file_expands_home(cfg: Path, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load(cfg, token_store="file:~/tokens.json").token_store == f"file:{tmp_path}/tokens.json"


def test_ca_bundle_that_exists(cfg: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load(cfg, ca_bundle=str(ca)).ca_bundle == str(ca)


# -- region and marketplace across sources -------------------------------------------------------


def test_marketplace_argument_overrides_profile_region(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nregion = 'NA'\n")
    s = load(cfg, marketplace="DE")
    assert (s.region, s.marketplace, s.marketplace_id) == ("EU", "DE", "A1PA6795UKMFR9")
    assert s.resolve_endpoint().base_url == "https://sellingpartnerapi-eu.amazon.com"


def test_region_argument_overrides_env_marketplace(cfg: Path) -> None:
    s = load(cfg, {"SELLERKIT_MARKETPLACE": "JP"}, region="NA")
    assert (s.region, s.marketplace) == ("NA", None)


def test_conflict_within_one_source_is_an_error(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nregion = 'NA'\nmarketplace = 'UK'\n")
    with pytest.raises(ConfigurationError, match="served by region EU, but region is NA"):
        load(cfg)
    with pytest.raises(ConfigurationError, match="served by region EU"):
        Settings(region="NA", marketplace="GB")


def test_gb_is_normalised_to_uk(cfg: Path) -> None:
    s = load(cfg, marketplace="gb")
    assert (s.marketplace, s.marketplace_id) == ("UK", "A1F83G8C2ARO7P")


# -- secrets -------------------------------------------------------------------------------------


def _secret_settings(cfg: Path) -> Settings:
    return load(cfg, {"SP_API_SECRET_KEY": AWS_SECRET, "SELLERKIT_AWS_SESSION_TOKEN": "FwoGSess"},
                client_id="amzn1.application-oa2-client.x", client_secret=CLIENT_SECRET,
                refresh_token=REFRESH, proxy="http://bob:hunter2@proxy.example:3128",
                token_store="redis://:redispw@127.0.0.1:6379/0")


def test_repr_and_str_mask_every_secret(cfg: Path) -> None:
    s = _secret_settings(cfg)
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        for secret in (CLIENT_SECRET, REFRESH, AWS_SECRET, "FwoGSess", "hunter2", "redispw"):
            assert secret not in text
        assert "amzn1.application-oa2-client.x" in text  # client id is not secret
        assert "bob:***@proxy.example" in text
    assert s.proxy == "http://bob:hunter2@proxy.example:3128"  # the real value is still usable
    assert isinstance(s.client_secret, Secret) and s.client_secret.reveal() == CLIENT_SECRET


def test_secrets_stay_out_of_logs(cfg: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = _secret_settings(cfg)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sellerkit.test").info("settings: %s / %r / %s", s, s, s.sources)
    assert caplog.text
    for secret in (CLIENT_SECRET, REFRESH, AWS_SECRET, "hunter2", "redispw"):
        assert secret not in caplog.text


def test_bad_secret_value_is_not_echoed(cfg: Path) -> None:
    write(cfg, "[profiles.default]\nclient_secret = 12345678\n")
    with pytest.raises(ConfigurationError) as info:
        load(cfg)
    assert "12345678" not in str(info.value)
    assert "client_secret='***'" in str(info.value)


def test_password_in_a_bad_url_is_not_echoed(cfg: Path) -> None:
    for var in ("SELLERKIT_ENDPOINT", "SELLERKIT_LWA_ENDPOINT", "SELLERKIT_PROXY",
                "SELLERKIT_TOKEN_STORE"):
        with pytest.raises(ConfigurationError) as info:
            load(cfg, {var: "ftp://bob:hunter2@10.0.0.1:21"})
        assert "hunter2" not in str(info.value)
        assert var in str(info.value)


def test_direct_construction_converts() -> None:
    s = Settings(client_secret=CLIENT_SECRET, timeout=3, region="eu")  # type: ignore[arg-type]
    assert isinstance(s.client_secret, Secret)
    assert (s.timeout, s.region) == (3.0, "EU")
    assert s.replace(timeout=9).timeout == 9.0
    with pytest.raises(ConfigurationError, match="timeout=0 must be greater than 0"):
        Settings(timeout=0)


def test_world_readable_config_with_secrets_warns(cfg: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    write(cfg, f"[profiles.default]\nclient_secret = '{CLIENT_SECRET}'\n").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="sellerkit.config"):
        load(cfg)
    assert "readable by other users" in caplog.text and "chmod 600" in caplog.text
    assert CLIENT_SECRET not in caplog.text


# -- save_profile --------------------------------------------------------------------------------


def test_save_profile_round_trip_and_mode(cfg: Path) -> None:
    path = save_profile("default", {"client_id": "cid", "client_secret": Secret(CLIENT_SECRET),
                                    "refresh_token": REFRESH, "marketplace": "gb",
                                    "timeout": 12, "sigv4": True}, config_file=cfg)
    assert path == cfg
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    s = load(cfg)
    assert s.client_secret == Secret(CLIENT_SECRET)
    assert (s.client_id, s.marketplace, s.timeout, s.sigv4) == ("cid", "UK", 12.0, True)


def test_save_profile_merges_and_removes(cfg: Path) -> None:
    write(cfg, '[profiles.other]\nregion = "FE"\n[profiles.default]\nclient_id = "a"\n'
               'app_name = "keep"\n')
    save_profile("default", {"client_id": "b", "app_name": None, "region": "eu"}, config_file=cfg)
    data = tomllib.loads(cfg.read_text())
    assert data["profiles"] == {"other": {"region": "FE"},
                                "default": {"client_id": "b", "region": "EU"}}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_save_profile_validates(cfg: Path) -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'timeout'"):
        save_profile("default", {"timout": 3}, config_file=cfg)
    with pytest.raises(ConfigurationError, match="not a number"):
        save_profile("default", {"timeout": "soon"}, config_file=cfg)
    assert cfg.read_text() == ""


def test_save_profile_awkward_names_and_strings(cfg: Path) -> None:
    tricky = 'My "Tool" \\ v2\ttab\u0001'
    save_profile("shop eu.1", {"app_name": tricky}, config_file=cfg)
    assert tomllib.loads(cfg.read_text())["profiles"]["shop eu.1"]["app_name"] == tricky
    assert load(cfg, profile="shop eu.1").app_name == tricky


def test_toml_emitter_round_trips() -> None:
    data = {"top": 1, "profiles": {"a": {"s": "x\ny", "f": 0.5, "b": False, "l": [1, "two"]},
                                   "b-2": {}}}
    assert tomllib.loads(dumps_toml(data)) == data


def test_the_documented_config_example_loads(tmp_path: Path) -> None:
    import re

    docs = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    block = re.search(r"```toml\n(.*?)```", docs.read_text(), re.S)
    assert block is not None
    path = write(tmp_path / "config.toml", block.group(1))
    bases = {name: load(path, profile=name).resolve_endpoint().base_url
             for name in ("default", "eu-shop", "emulator")}
    assert bases == {"default": "https://sellingpartnerapi-na.amazon.com",
                     "eu-shop": "https://sellingpartnerapi-eu.amazon.com",
                     "emulator": "http://127.0.0.1:8787"}
