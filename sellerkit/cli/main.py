"""``sellerkit``: the command-line entry point (console script ``sellerkit.cli.main:main``).

``app`` is the Typer application. Commands live in their own modules, each exposing
``register(app)``; this module registers a fixed list of them (the optional ones only when they
exist in this installation). Command modules import heavy things inside the command functions,
so ``sellerkit --help`` only costs Typer and rich.

Errors the user can fix (every ``SellerkitError``, unknown operation keys, bad arguments) end as one
red line on stderr and exit status 2; a traceback means a bug in sellerkit.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sellerkit._version import __version__

__all__ = ["app", "main"]

# Each module's register(app) adds its commands; the order is the order of `sellerkit --help`.
COMMAND_MODULES = (
    "sellerkit.cli.catalog_cmds",
    "sellerkit.cli.call_cmd",
    "sellerkit.cli.emulator_cmd",
    "sellerkit.cli.demo_cmd",
    "sellerkit.cli.limits_cmd",
    "sellerkit.cli.reports_cmd",
    "sellerkit.cli.feeds_cmd",
    "sellerkit.cli.notifications_cmd",
    "sellerkit.cli.datakiosk_cmd",
    "sellerkit.cli.vault_cmd",  # the `vault` group: before the modules that add to it
    "sellerkit.cli.aws_cmd",
    "sellerkit.cli.doctor_cmd",
    "sellerkit.cli.road_cmd",
    "sellerkit.cli.init_cmd",
    "sellerkit.cli.profiles_cmd",
    "sellerkit.cli.secrets_cmd",
    "sellerkit.cli.users_cmd",
    "sellerkit.cli.vault_audit_cmd",
    "sellerkit.cli.vault_retention_cmd",
    "sellerkit.cli.incident_cmd",
    "sellerkit.cli.sync_cmd",
    "sellerkit.cli.serve_cmd",
)


# Recent Typer releases vendor their own copy of click (typer._click), older ones use click
# itself; take the exception classes from Typer's public BadParameter so both work.
_CLICK_BASES = {cls.__name__: cls for cls in typer.BadParameter.__mro__}
_UsageError: type[Exception] = _CLICK_BASES["UsageError"]
_ClickException: type[Exception] = _CLICK_BASES["ClickException"]
_NoArgsIsHelpError: type[Exception] | None = getattr(
    sys.modules[_UsageError.__module__], "NoArgsIsHelpError", None)


def _error_line(message: str, hint: str = "") -> None:
    from rich.console import Console
    from rich.text import Text

    from sellerkit._log import redact

    # Errors never carry secrets by design; redacting here is a second line of defence for
    # messages that quote server responses.
    first, _, rest = redact(message).strip().partition("\n")
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    line = Text("error: ", style="bold red")
    line.append(first, style="red")
    if hint:
        line.append(f" ({hint})", style="dim")
    console.print(line)
    if rest:  # e.g. the list of problems of a ValidationError
        console.print(Text(rest))


def _error_json(exc: BaseException, message: str, exit_code: int) -> None:
    import json

    from sellerkit._log import redact
    from sellerkit.cli._errors import error_document

    doc = error_document(exc, message.strip(), exit_code)
    # the token patterns redact() replaces never span a quote or backslash, so the JSON stays
    # valid; the server's details and errors are covered as well as the message
    sys.stderr.write(redact(json.dumps(doc, ensure_ascii=False, default=str)) + "\n")
    sys.stderr.flush()


def _is_user_error(exc: BaseException) -> bool:
    from sellerkit.errors import SellerkitError

    if isinstance(exc, SellerkitError):
        return True
    if "sellerkit.catalog" in sys.modules:
        from sellerkit.catalog import UnknownOperationError

        return isinstance(exc, UnknownOperationError)
    return False


def _report(exc: Exception, json_mode: bool = False) -> int:
    """Print a user error (one red line, or with --json one JSON object on stderr) and return
    the exit status; re-raise anything else."""
    ctx: Any = getattr(exc, "ctx", None)
    if _NoArgsIsHelpError is not None and isinstance(exc, _NoArgsIsHelpError):
        typer.echo(ctx.get_help() if ctx is not None else "")
        return 0
    hint = ""
    if isinstance(exc, _UsageError):
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else ""
        message, code = exc.format_message(), 2  # type: ignore[attr-defined]
    elif isinstance(exc, _ClickException):
        message = exc.format_message()  # type: ignore[attr-defined]
        code = int(getattr(exc, "exit_code", 1))
    elif _is_user_error(exc):
        from sellerkit.cli._errors import cli_message, exit_code_of

        message, code = cli_message(exc), exit_code_of(exc)
    else:
        raise exc
    if json_mode:
        _error_json(exc, message + (f" ({hint})" if hint else ""), code)
    else:
        _error_line(message, hint)
    return code


def _json_mode(args: Sequence[str]) -> bool:
    """Whether the command line asks for --json (before a ``--`` that ends the options)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


class SellerkitGroup(TyperGroup):
    """Runs the CLI in non-standalone mode and turns every failure a user can fix into one line
    (with ``--json``: one JSON object on stderr). While a command runs, rate-limit waits show as
    status lines on stderr (``sellerkit.cli._status``).

    Done in ``main`` rather than in ``main()`` below so that ``typer.testing.CliRunner`` (which
    calls this method) sees exactly what a user sees.

    The top-level listing (``sellerkit``, ``sellerkit --help``) is rendered in click's plain
    format: Typer's rich renderer imports rich's markdown, traceback and pretty modules, which
    cost about four times the rest of ``sellerkit --help`` (``bench/startup.py``). Each
    command's own ``--help`` keeps the rich rendering.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rich_markup_mode = None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
        argv = list(args) if args is not None else sys.argv[1:]
        json_mode = _json_mode(argv)
        from sellerkit.cli._status import wait_status

        try:
            with wait_status(json_mode):
                result = super().main(argv, prog_name, complete_var, standalone_mode=False,
                                      windows_expand_args=windows_expand_args, **extra)
        except typer.Abort as exc:
            if json_mode:
                _error_json(exc, "aborted", 1)
            else:
                _error_line("aborted")
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - filtered right below, bugs are re-raised
            sys.exit(_report(exc, json_mode))
        # Non-standalone click returns the exit code of typer.Exit / ctx.exit, or the command's
        # return value; commands return None.
        sys.exit(result if isinstance(result, int) else 0)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            _plain_flags(cmd, ctx)
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_flags(self, ctx)
        super().format_help(ctx, formatter)


def _plain_flags(cmd: Any, ctx: Any) -> None:
    """Typer's help shows a type for every option, ``<bool>`` even for plain on/off flags;
    an empty metavar leaves flags bare (their values are never typed)."""
    params = list(getattr(cmd, "params", []))
    with contextlib.suppress(Exception):  # help rendering must never fail over cosmetics
        help_option = cmd.get_help_option(ctx)
        if help_option is not None:
            params.append(help_option)
    for p in params:
        if getattr(p, "is_flag", False) and getattr(p, "metavar", "x") is None:
            p.metavar = ""


app = typer.Typer(
    name="sellerkit",
    cls=SellerkitGroup,
    help="sellerkit: Amazon's Selling Partner API from the command line.",
    add_completion=True,  # --install-completion / --show-completion [bash|zsh|fish|...]
    # Locals in a traceback could hold tokens; a bug report never needs them.
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", is_eager=True,
                                          help="Print the sellerkit version and exit.")] = False,
) -> None:
    """sellerkit: Amazon's Selling Partner API from the command line.

    Every listing command takes --json for scripts.
    """
    if version:
        typer.echo(f"sellerkit {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def _register_all(target: typer.Typer) -> list[str]:
    registered = []
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(target)
        registered.append(name)
    return registered


REGISTERED = _register_all(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; exits with the command's status."""
    app(args=list(argv) if argv is not None else None, prog_name="sellerkit")
