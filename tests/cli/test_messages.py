"""Every message the CLI shows names what a CLI user can change (flags, environment variables,
profile keys), never Python keyword arguments or CallOptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sellerkit.cli.main import SellerkitGroup, app
from sellerkit.errors import ConfigurationError, ForbiddenError, RateLimitWaitError

runner = CliRunner()
PYTHON_ISMS = ("client_id=", "client_secret=", "refresh_token=", "CallOptions", "options=",
               "profile=", "items=")


def python_free(text: str) -> None:
    for phrase in PYTHON_ISMS:
        assert phrase not in text, (phrase, text)


def invoke(args: list[str], **env: str) -> tuple[int, str]:
    result = runner.invoke(app, args, env=env or None)
    return result.exit_code, result.stderr


def test_missing_credentials_name_env_and_profile_keys() -> None:
    code, err = invoke(["call", "orders_v0.getOrders", "--marketplace", "US"])
    assert code == 2
    assert err.startswith("error: no LWA credentials: set SELLERKIT_CLIENT_ID and "
                          "SELLERKIT_CLIENT_SECRET (or LWA_APP_ID and LWA_CLIENT_SECRET)")
    assert "client_id and client_secret in a profile of" in err and "--profile" in err
    python_free(err)


def test_missing_refresh_token() -> None:
    code, err = invoke(["call", "orders_v0.getOrders", "-p", "MarketplaceIds=US",
                        "-p", "CreatedAfter=2026-01-01", "--endpoint", "http://127.0.0.1:9"],
                       SELLERKIT_CLIENT_ID="id", SELLERKIT_CLIENT_SECRET="secret")
    assert code == 2
    assert "orders_v0.getOrders acts for a selling partner and needs their refresh token: set " \
           "SELLERKIT_REFRESH_TOKEN (or SP_API_REFRESH_TOKEN)" in err
    assert "refresh_token in a profile" in err
    python_free(err)


def test_missing_region_names_the_flags() -> None:
    code, err = invoke(["call", "orders_v0.getOrders"], SELLERKIT_CLIENT_ID="id",
                       SELLERKIT_CLIENT_SECRET="secret")
    assert code == 2
    assert "no SP-API region: pass --marketplace (or --region), set SELLERKIT_MARKETPLACE" in err
    python_free(err)


def test_bad_flag_values_are_named_as_flags() -> None:
    code, err = invoke(["call", "orders_v0.getOrders", "--marketplace", "XX"])
    assert code == 2 and err.startswith("error: --marketplace='XX' is not valid")
    code, err = invoke(["call", "orders_v0.getOrders", "--region", "MARS"])
    assert code == 2 and err.startswith("error: --region='MARS' is not valid")
    code, err = invoke(["call", "orders_v0.getOrders", "--endpoint", "http://example.com"])
    assert code == 2 and "--endpoint=" in err


def test_unknown_profile_names_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.work]\nmarketplace = "US"\n')
    code, err = invoke(["call", "orders_v0.getOrders", "--profile", "wrok"],
                       SELLERKIT_CONFIG=str(config))
    assert code == 2 and "profile 'wrok' (--profile)" in err and "did you mean 'work'" in err
    python_free(err)


def test_parameter_values_and_names() -> None:
    code, err = invoke(["call", "orders_v0.getOrders", "-p", "MaxResultsPerPage=ten"])
    assert code == 2 and "--param MaxResultsPerPage='ten' is not an integer" in err
    code, err = invoke(["call", "orders_v0.getOrders", "-p", "CreatedAftr=2026"])
    assert code == 2 and "did you mean 'CreatedAfter'" in err
    code, err = invoke(["call", "orders_v0.getOrders", "-p", "created_after=2026",
                        "-p", "MarketplaceId=US"])
    assert code == 2 and "did you mean 'MarketplaceIds'" in err


def _raising(exc: BaseException) -> typer.Typer:
    demo = typer.Typer(cls=SellerkitGroup)

    @demo.command("boom")
    def boom(as_json: bool = typer.Option(False, "--json")) -> None:
        raise exc

    @demo.command("other")
    def other() -> None:
        pass

    return demo


def test_rate_limit_waits_name_max_wait() -> None:
    from sellerkit.ratelimit import CapacityWaitError

    for exc in (CapacityWaitError("orders_v0.getOrders", 58.2, 0.0,
                                  "per-seller limit of orders_v0.getOrders (1 request per 60s, "
                                  "burst 20)"),
                RateLimitWaitError("orders_v0.getOrders", 58.2, 0.0)):
        result = runner.invoke(_raising(exc), ["boom"])
        assert result.exit_code == 2
        assert "58.2 s away" in result.stderr and "raise --max-wait" in result.stderr
        python_free(result.stderr)
        result = runner.invoke(_raising(exc), ["boom", "--json"])
        assert "raise --max-wait" in json.loads(result.stderr)["error"]["message"]


def test_remaining_python_phrases_are_rewritten() -> None:
    err = ForbiddenError(403, code="Unauthorized", message=(
        "Access denied (getting a Restricted Data Token for GET /orders/v0/orders/{orderId}/address "
        "with data elements []; does the app have the roles for them? Pass "
        "options=CallOptions(rdt=False) to call without buyer data)"))
    result = runner.invoke(_raising(err), ["boom"])
    assert result.exit_code == 1
    assert "Pass --no-rdt to call without buyer data" in result.stderr
    python_free(result.stderr)
    err2 = ConfigurationError("cannot tell which list holds the items; pass items='<field name>'")
    result = runner.invoke(_raising(err2), ["boom"])
    assert "pass --items FIELD" in result.stderr


def test_json_error_object_carries_the_cli_message() -> None:
    exc = ConfigurationError("no LWA credentials: pass client_id= ...", problem="no LWA credentials",
                             missing=("client_id", "client_secret"))
    result = runner.invoke(_raising(exc), ["boom", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    doc = json.loads(result.stderr)
    assert doc["error"]["type"] == "ConfigurationError"
    assert doc["error"]["message"].startswith("no LWA credentials: set SELLERKIT_CLIENT_ID")


@pytest.mark.parametrize("setting,flag", [("marketplace", "--marketplace"),
                                          ("timeout", "--timeout")])
def test_how_to_set_lists_flag_env_and_profile(setting: str, flag: str) -> None:
    from sellerkit.cli._errors import how_to_set

    text = how_to_set([setting])
    assert text.startswith(f"pass {flag}")
    assert f"set SELLERKIT_{setting.upper()}" in text and f"{setting} in a profile" in text


def test_json_errors_never_carry_tokens() -> None:
    err = ForbiddenError(403, code="Unauthorized", message="token Atza|IwEBsecretvalue rejected",
                         details="refresh Atzr|IwEBother and amzn1.oa2-cs.v1.s3cr3t")
    result = runner.invoke(_raising(err), ["boom", "--json"])
    doc = json.loads(result.stderr)["error"]
    assert "secretvalue" not in result.stderr and "IwEBother" not in result.stderr
    assert "s3cr3t" not in result.stderr
    assert doc["status"] == 403 and "Atza|***" in doc["message"]


def test_an_unusable_state_dir_points_to_another_backend(tmp_path: Path) -> None:
    from sellerkit.cli.call_cmd import make_limiter
    from tests.ratelimit.helpers import ctx

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    limiter, _ = make_limiter(f"sqlite:{blocker}/ratelimit.sqlite3")
    assert limiter is not None
    try:
        limiter.acquire(ctx("orders_v0.getOrders"), max_wait=0)
    except Exception as exc:  # noqa: BLE001 - rendered below
        error = exc
    result = runner.invoke(_raising(error), ["boom"])
    assert result.exit_code == 2
    assert f"the rate-limit state file {blocker}/ratelimit.sqlite3 cannot be used" in result.stderr
    assert "or pass --rate-limiter memory" in result.stderr
