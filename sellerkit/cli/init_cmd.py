"""``sellerkit init [--profile NAME]``: set up a profile, interactively or from flags.

In a terminal it asks (``sellerkit.onboarding.init``): private or public app, region and
marketplaces, the LWA client id and secret (format-checked, the app id recognised), a refresh
token from self-authorization (a public app may skip it for ``sellerkit serve``), optionally the
business name, use case and roles. Every answer has a flag; with ``--no-input``, or when stdin
is not a terminal, only the flags count and a missing required one is an error naming it.

It writes the profile (secrets in the OS keyring when there is one, else in the 0600 config
file, and says which) and ends by running ``sellerkit doctor`` for it (``--skip-doctor``).
``--endpoint URL`` points the profile at a local emulator (its LWA endpoint follows).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

__all__ = ["RichPrompter", "register", "run_doctor_for"]


class RichPrompter:
    """The terminal the wizard asks on: rich prompts on stdout, hidden input for secrets."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)

    def ask(self, prompt: str, *, default: str | None, secret: bool) -> str:
        from rich.prompt import Prompt
        from rich.text import Text

        shown = Text(f"{prompt} ({default})" if default else prompt, style="bold")
        answer = Prompt.ask(shown, console=self.console, password=secret, default="",
                            show_default=False)
        return str(answer)

    def say(self, text: str, *, style: str = "") -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style))

    def confirm(self, prompt: str, *, default: bool) -> bool:
        from rich.prompt import Confirm
        from rich.text import Text

        return bool(Confirm.ask(Text(prompt, style="bold"), console=self.console,
                                default=default))


def run_doctor_for(profile: str, say: Any) -> int | None:
    """Run ``sellerkit doctor`` for the new profile when that module is installed; returns its
    exit status, or None after printing the command when it is not."""
    import importlib

    try:
        doctor: Any = importlib.import_module("sellerkit.onboarding.doctor")
    except ImportError:
        doctor = None
    runner = getattr(doctor, "run_doctor", None)
    if runner is None:
        say(f"next: check the profile with 'sellerkit doctor --profile {profile}'")
        return None
    return _call_doctor(runner, profile, say)


def _call_doctor(runner: Any, profile: str, say: Any) -> int | None:
    """``run_doctor(profile=...)`` and its checklist, one line per check (the texts are
    redacted by the report itself); returns its exit status."""
    say(f"running 'sellerkit doctor --profile {profile}' ...")
    report = runner(profile=profile)
    marks = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}
    for n, check in enumerate(getattr(report, "checks", []), 1):
        data = check.to_dict()
        say(f"{marks.get(data['status'], data['status']).upper()} {n:2}. {data['title']}: "
            f"{data['message']}")
        if data.get("fix") and data["status"] in ("warn", "fail"):
            say(f"         fix: {data['fix']}")
    ok = bool(getattr(report, "ok", True))
    if not ok:
        say(f"the profile is saved; fix what failed and run 'sellerkit doctor --profile "
            f"{profile}' again")
    return 0 if ok else 1


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_cmd(
        profile: Annotated[str, typer.Option("--profile", metavar="NAME",
                                             help="Profile to create.")] = "default",
        app_type: Annotated[str | None, typer.Option(
            "--app-type", metavar="private|public",
            help="A private app (your own account) or a public one.")] = None,
        region: Annotated[str | None, typer.Option("--region", metavar="REGION",
                                                   help="NA, EU or FE.")] = None,
        marketplace: Annotated[list[str] | None, typer.Option(
            "--marketplace", metavar="CODE",
            help="A marketplace (repeat for more); the first is the default one.")] = None,
        client_id: Annotated[str | None, typer.Option(
            "--client-id", metavar="ID", help="LWA client id (amzn1.application-oa2-client.…).")
        ] = None,
        client_secret: Annotated[str | None, typer.Option(
            "--client-secret", metavar="SECRET",
            help="LWA client secret (amzn1.oa2-cs.v1.…); '-' reads it from stdin.")] = None,
        refresh_token: Annotated[str | None, typer.Option(
            "--refresh-token", metavar="TOKEN",
            help="Refresh token from self-authorization (Atzr|…); '-' reads it from stdin.")
        ] = None,
        business_name: Annotated[str | None, typer.Option(
            "--business-name", metavar="TEXT", help="For 'sellerkit road draft-profile'.")
        ] = None,
        use_case: Annotated[str | None, typer.Option(
            "--use-case", metavar="TEXT", help="What the app does (for the developer profile).")
        ] = None,
        role: Annotated[list[str] | None, typer.Option(
            "--role", metavar="ROLE", help="An SP-API role the app needs (repeatable).")] = None,
        endpoint: Annotated[str | None, typer.Option(
            "--endpoint", metavar="URL",
            help="SP-API host override, e.g. the emulator's http://127.0.0.1:8787.")] = None,
        lwa_endpoint: Annotated[str | None, typer.Option(
            "--lwa-endpoint", metavar="URL",
            help="LWA token URL override (default: the emulator's, with a loopback --endpoint)."
        )] = None,
        secrets: Annotated[str, typer.Option(
            "--secrets", metavar="WHERE",
            help="auto (the OS keyring when there is one), keyring or file.")] = "auto",
        force: Annotated[bool, typer.Option("--force", help="Replace an existing profile.")
                         ] = False,
        no_input: Annotated[bool, typer.Option(
            "--no-input", help="Never prompt: take the flags only (automatic without a "
                               "terminal).")] = False,
        skip_doctor: Annotated[bool, typer.Option("--skip-doctor",
                                                  help="Do not run doctor at the end.")] = False,
    ) -> None:
        """Create a profile: app type, region, LWA credentials, refresh token; then doctor."""
        from sellerkit.config import check_profile_value, default_config_file, read_profiles
        from sellerkit.errors import SellerkitError
        from sellerkit.onboarding.init import ask_all, write_profile
        from sellerkit.onboarding.secrets import mask

        stdin_used = [v for v in (client_secret, refresh_token) if v == "-"]
        if len(stdin_used) > 1:
            raise typer.BadParameter("only one of --client-secret and --refresh-token can be "
                                     "'-' (read from stdin)")
        if client_secret == "-":  # noqa: S105 - "read stdin", not a password
            client_secret = sys.stdin.readline().strip()
        if refresh_token == "-":  # noqa: S105
            refresh_token = sys.stdin.readline().strip()
        for flag, url in (("--endpoint", endpoint), ("--lwa-endpoint", lwa_endpoint)):
            if url is not None:
                try:
                    check_profile_value("endpoint", url)
                except SellerkitError as exc:
                    raise typer.BadParameter(str(exc).replace("endpoint=", f"{flag}=")) from None
        interactive = not no_input and sys.stdin.isatty() and not stdin_used
        prompter = RichPrompter() if interactive else None
        say = prompter.say if prompter is not None else _stderr
        path = default_config_file()
        exists = profile in read_profiles(path)[1]
        if exists and not force:
            if prompter is None or not prompter.confirm(
                    f"Profile {profile!r} exists in {path}. Replace it?", default=False):
                from sellerkit.errors import ConfigurationError

                raise ConfigurationError(
                    f"profile {profile!r} already exists in {path}; pass --force to replace it "
                    "(or --profile NAME for another one)")
            force = True
        if prompter is not None:
            prompter.say(f"Setting up profile {profile!r} in {path}. SP-API needs no IAM user "
                         "or AWS keys any more: init does not ask for them.", style="bold")
        given = {"app_type": app_type, "region": region, "marketplaces": marketplace or None,
                 "client_id": client_id, "client_secret": client_secret,
                 "refresh_token": refresh_token, "business_name": business_name,
                 "use_case": use_case, "roles": role or None, "endpoint": endpoint,
                 "lwa_endpoint": lwa_endpoint}
        answers = ask_all(given, prompter)
        result = write_profile(profile, answers, config_file=path, secrets_mode=secrets,
                               replace=force)
        verb = "replaced" if result.replaced else "wrote"
        say(f"{verb} profile {profile!r} in {result.path} (mode 0600)")
        say(f"client secret {mask(answers.client_secret)}"
            + (f", refresh token {mask(answers.refresh_token)}" if answers.refresh_token
               else "") + f": kept {result.storage.describe()}")
        if answers.refresh_token is None:
            say("no refresh token yet: sellers connect through 'sellerkit serve' (OAuth), or "
                f"add your own later with 'sellerkit config set refresh_token - --profile "
                f"{profile}'")
        if skip_doctor:
            say(f"next: 'sellerkit doctor --profile {profile}'")
            return
        status = run_doctor_for(profile, say)
        if status:
            raise typer.Exit(status)


def _stderr(text: str, *, style: str = "") -> None:
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(text, style=style))
