"""``sellerkit profiles list|show|remove`` and ``sellerkit config get|set|unset``: the profiles
of the config file (``$SELLERKIT_CONFIG`` or the user config dir), secrets always masked.

- ``profiles list [--json]``: each profile with its client id, region or marketplace and where
  its secrets live (``keyring`` or ``file``).
- ``profiles show [NAME] [--json]``: every key of one profile; a secret shows as
  ``amzn1.oa2-cs.v1.…(80 chars)`` (a public prefix and the length, never the value) and says
  whether it sits in the OS keyring.
- ``profiles remove NAME [--yes]``: deletes the profile and its keyring entries.
- ``config get KEY [--profile NAME] [--json]``, ``config set KEY VALUE [--profile NAME]``,
  ``config unset KEY [--profile NAME]``: one key, checked by the converters ``load_settings``
  uses (an unknown key gets a suggestion). ``set`` of a secret keeps it in the OS keyring when
  there is one (``--secrets file`` to keep it in the file) and says which; ``set KEY -`` reads
  the value from stdin, so it stays out of the shell history.

The logic is ``sellerkit.config`` (reading, checking, writing) and
``sellerkit.onboarding.secrets`` (keyring, masking).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

__all__ = ["profile_summary", "register", "shown_value"]

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ProfileOpt = Annotated[str, typer.Option("--profile", metavar="NAME", envvar="SELLERKIT_PROFILE",
                                         help="Config profile.")]
SecretsMode = Annotated[str, typer.Option(
    "--secrets", metavar="WHERE",
    help="Where a secret goes: auto (the OS keyring when there is one), keyring or file.")]


def _say(text: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def _is_secret(key: str) -> bool:
    from sellerkit.config import setting_kind

    return setting_kind(key) == "secret"


def shown_value(key: str, value: Any) -> Any:
    """What a command may print for ``key``: secrets masked, everything else as stored."""
    from sellerkit.onboarding.secrets import is_marker, mask

    if _is_secret(key):
        return "(in the OS keyring)" if is_marker(value) else mask(str(value))
    return value


def _storage_of(table: dict[str, Any]) -> str:
    from sellerkit.onboarding.secrets import SECRET_KEYS, is_marker

    kinds = {"keyring" if is_marker(table[k]) else "file" for k in SECRET_KEYS if k in table}
    return "+".join(sorted(kinds)) if kinds else "-"


def profile_summary(name: str, table: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "client_id": table.get("client_id"),
            "app_type": table.get("app_type"),
            "region": table.get("region"), "marketplace": table.get("marketplace"),
            "endpoint": table.get("endpoint"), "secrets": _storage_of(table),
            "has_refresh_token": "refresh_token" in table}


def _profiles() -> tuple[Any, dict[str, dict[str, Any]]]:
    from sellerkit.config import read_profiles

    return read_profiles()


def _table(name: str) -> tuple[Any, dict[str, Any]]:
    from sellerkit.config import _suggest
    from sellerkit.errors import ConfigurationError

    path, profiles = _profiles()
    if name not in profiles:
        raise ConfigurationError(
            f"profile {name!r} is not in {path}{_suggest(name, list(profiles))}; profiles "
            f"there: {', '.join(sorted(profiles)) or 'none'} (create one with 'sellerkit init')")
    return path, profiles[name]


def _write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _check_credential_shape(key: str, value: str) -> None:
    """init's format checks for the three LWA credentials: a value that is clearly another
    credential (the app id for the client id, the client id for the secret) is refused, any
    other unusual shape only warned about (stored anyway)."""
    from sellerkit.errors import ConfigurationError
    from sellerkit.onboarding import init as checks

    check = {"client_id": checks.check_client_id, "client_secret": checks.check_client_secret,
             "refresh_token": checks.check_refresh_token}.get(key)
    if check is None:
        return
    try:
        check(value)
    except ConfigurationError as exc:
        if str(exc).startswith("that is "):
            raise ConfigurationError(f"{key}: {exc}") from None
        _say(f"warning: {key}: {exc} (stored anyway)")


def register(app: typer.Typer) -> None:
    from sellerkit.cli.main import SellerkitGroup

    profiles = typer.Typer(name="profiles", no_args_is_help=True, cls=SellerkitGroup,
                           help="List, show and remove config profiles (secrets masked).")
    app.add_typer(profiles, name="profiles")
    config = typer.Typer(name="config", no_args_is_help=True, cls=SellerkitGroup,
                         help="Read and change one key of a profile (secrets masked).")
    app.add_typer(config, name="config")

    @profiles.command("list")
    def list_cmd(as_json: AsJson = False) -> None:
        """The profiles of the config file, and where each keeps its secrets."""
        path, found = _profiles()
        rows = [profile_summary(n, t) for n, t in sorted(found.items())]
        if as_json:
            _write_json({"config_file": str(path), "profiles": rows})
            return
        if not rows:
            _say(f"no profiles in {path}; create one with 'sellerkit init'")
            return
        from rich import box
        from rich.console import Console
        from rich.table import Table

        table = Table(box=box.SIMPLE, title=str(path), title_justify="left")
        for col in ("profile", "client id", "app", "region", "marketplace", "secrets"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["name"], r["client_id"] or "-", r["app_type"] or "-",
                          r["region"] or "-", r["marketplace"] or "-", r["secrets"])
        Console(highlight=False, soft_wrap=True).print(table)

    @profiles.command("show")
    def show_cmd(name: Annotated[str, typer.Argument(metavar="[NAME]", help="Profile name.",
                                                     envvar="SELLERKIT_PROFILE")] = "default",
                 as_json: AsJson = False) -> None:
        """Every key of one profile; secrets masked."""
        path, table = _table(name)
        shown = {k: shown_value(k, v) for k, v in table.items()}
        if as_json:
            _write_json({"name": name, "config_file": str(path), "values": shown,
                         "secrets": _storage_of(table)})
            return
        from rich import box
        from rich.console import Console
        from rich.table import Table

        out = Table(box=box.SIMPLE, title=f"profile {name} ({path})", title_justify="left")
        out.add_column("key")
        out.add_column("value")
        for k, v in shown.items():
            out.add_row(k, ", ".join(map(str, v)) if isinstance(v, list) else str(v))
        Console(highlight=False, soft_wrap=True).print(out)

    @profiles.command("remove")
    def remove_cmd(name: Annotated[str, typer.Argument(help="Profile name.")],
                   yes: Annotated[bool, typer.Option("--yes", "-y",
                                                     help="Do not ask for confirmation.")
                                  ] = False) -> None:
        """Delete a profile and its keyring entries."""
        from sellerkit.config import remove_profile
        from sellerkit.errors import ConfigurationError
        from sellerkit.onboarding.secrets import delete_secrets

        path, _ = _table(name)
        if not yes:
            if not sys.stdin.isatty():
                raise ConfigurationError(f"removing profile {name!r} needs --yes when there is "
                                         "no terminal to confirm on")
            if not typer.confirm(f"Remove profile {name!r} from {path}?", default=False):
                raise typer.Abort()
        from sellerkit.onboarding.secrets import is_marker

        table = remove_profile(name)
        deleted = delete_secrets(table)
        extra = f" and {len(deleted)} keyring entr{'y' if len(deleted) == 1 else 'ies'}" \
            if deleted else ""
        _say(f"removed profile {name!r} from {path}{extra}")
        left = [v for v in table.values() if is_marker(v) and v not in deleted]
        if left:
            _say(f"warning: {len(left)} keyring entr{'y' if len(left) == 1 else 'ies'} could "
                 f"not be deleted here ({', '.join(left)}): no usable OS keyring; delete "
                 "them where the keyring is")

    @config.command("get")
    def get_cmd(key: Annotated[str, typer.Argument(help="A setting, e.g. region.")],
                profile: ProfileOpt = "default", as_json: AsJson = False) -> None:
        """One key of a profile (a secret masked); exit status 1 when it is not set."""
        from sellerkit.config import check_profile_value

        check_profile_value(key, None)  # unknown keys fail here, with a suggestion
        _, table = _table(profile)
        if key not in table:
            if as_json:
                _write_json({"profile": profile, "key": key, "set": False})
            else:
                _say(f"{key} is not set in profile {profile!r}")
            raise typer.Exit(1)
        value = shown_value(key, table[key])
        if as_json:
            _write_json({"profile": profile, "key": key, "set": True, "value": value,
                         "secret": _is_secret(key)})
        else:
            typer.echo(", ".join(map(str, value)) if isinstance(value, list) else str(value))

    @config.command("set")
    def set_cmd(key: Annotated[str, typer.Argument(help="A setting, e.g. region.")],
                value: Annotated[str, typer.Argument(help="Its value ('-': read stdin).")],
                profile: ProfileOpt = "default", secrets: SecretsMode = "auto") -> None:
        """Set one key of a profile (created if missing), checked like a loaded value."""
        from sellerkit.config import check_profile_value, default_config_file, save_profile
        from sellerkit.errors import ConfigurationError
        from sellerkit.onboarding.secrets import store_secrets

        if value == "-":
            value = sys.stdin.readline().strip()
            if not value:
                raise ConfigurationError(f"no value for {key} on stdin")
        converted = check_profile_value(key, value)
        _check_credential_shape(key, value)
        if converted is None:
            raise ConfigurationError(f"{key}: the value is empty; use 'sellerkit config unset "
                                     f"{key}' to remove it")
        path = default_config_file()
        if _is_secret(key):
            from sellerkit.config import read_profiles
            from sellerkit.onboarding.secrets import delete_secrets

            old = read_profiles()[1].get(profile, {}).get(key)
            stored, storage = store_secrets(profile, {key: converted}, config_file=str(path),
                                            mode=secrets)
            if storage.kind == "file" and old is not None:
                delete_secrets({key: old})  # an older keyring copy would be stale
            save_profile(profile, stored)
            _say(f"set {key} = {shown_value(key, value)} in profile {profile!r}, kept "
                 f"{storage.describe()}")
            return
        save_profile(profile, {key: converted})
        _say(f"set {key} = {converted!r} in profile {profile!r} ({path})")

    @config.command("unset")
    def unset_cmd(key: Annotated[str, typer.Argument(help="A setting, e.g. region.")],
                  profile: ProfileOpt = "default") -> None:
        """Remove one key from a profile (and its keyring entry)."""
        from sellerkit.config import check_profile_value, save_profile
        from sellerkit.onboarding.secrets import delete_secrets

        check_profile_value(key, None)
        path, table = _table(profile)
        if key not in table:
            _say(f"{key} was not set in profile {profile!r}")
            return
        save_profile(profile, {key: None})
        delete_secrets({key: table[key]})
        _say(f"removed {key} from profile {profile!r} ({path})")
