"""The sellerkit CLI skeleton: registration, --version, help, and how errors end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sellerkit._version import __version__
from sellerkit.cli import UserError
from sellerkit.cli.main import COMMAND_MODULES, REGISTERED, SellerkitGroup, app, main
from sellerkit.errors import ConfigurationError, ValidationError

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"sellerkit {__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 0
    assert "operations" in result.output and "marketplaces" in result.output


def test_every_command_module_is_registered_and_listed() -> None:
    assert list(REGISTERED) == list(COMMAND_MODULES)
    result = runner.invoke(app, ["--help"])
    for command in ("operations", "marketplaces", "call", "emulator", "demo", "limits", "reports",
                    "feeds", "notifications"):
        assert f"  {command} " in result.output, command


def test_unknown_option_is_one_red_line_exit_2() -> None:
    result = runner.invoke(app, ["operations", "--bogus"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: No such option: --bogus")
    assert "Traceback" not in result.stderr


def test_unknown_command() -> None:
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.stderr


def _app_raising(exc: BaseException) -> typer.Typer:
    demo = typer.Typer(cls=SellerkitGroup)

    @demo.command("boom")
    def boom() -> None:
        raise exc

    @demo.command("other")
    def other() -> None:
        pass

    return demo


def test_sellerkit_error_is_one_line_exit_2_without_secrets() -> None:
    err = ConfigurationError("no refresh token; body was refresh_token=Atzr|IwEBsecretvalue")
    result = runner.invoke(_app_raising(err), ["boom"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: no refresh token; body was refresh_token=Atzr|***")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_user_error_and_validation_error() -> None:
    assert runner.invoke(_app_raising(UserError("nope")), ["boom"]).exit_code == 2
    result = runner.invoke(_app_raising(ValidationError("orders_v0.getOrders",
                                                        ["MarketplaceIds is required"])), ["boom"])
    assert result.exit_code == 2
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("error: invalid request for orders_v0.getOrders (1 problem)")
    assert rest == ["  - MarketplaceIds is required"]


def test_unknown_operation_key_is_a_user_error() -> None:
    from sellerkit.catalog import get_catalog

    def lookup() -> None:
        get_catalog().operation("orders_v0.getOrdrs")

    demo = typer.Typer(cls=SellerkitGroup)
    demo.command("look")(lookup)
    demo.command("other")(lambda: None)
    result = runner.invoke(demo, ["look"])
    assert result.exit_code == 2
    assert "did you mean orders_v0.getOrders" in result.stderr


def test_bugs_still_raise() -> None:
    result = runner.invoke(_app_raising(ZeroDivisionError("bug")), ["boom"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_main_entry_point_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sellerkit {__version__}"
    with pytest.raises(SystemExit) as info:
        main(["marketplaces", "--jsn"])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("error: No such option: --jsn")


def test_console_script_help_in_a_fresh_process() -> None:
    # --help must not import the catalog data or heavy optional dependencies.
    code = ("import sys\n"
            "from sellerkit.cli.main import main\n"
            "try:\n"
            "    main(['--help'])\n"
            "except SystemExit as e:\n"
            "    heavy = [m for m in ('starlette', 'redis', 'botocore', 'jsonschema', 'uvicorn')\n"
            "             if m in sys.modules]\n"
            "    print('HEAVY', heavy, 'CODE', e.code)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, check=False)
    assert "HEAVY [] CODE 0" in out.stdout, out.stdout + out.stderr
    assert "operations" in out.stdout
