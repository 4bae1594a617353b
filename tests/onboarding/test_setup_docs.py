"""docs/onboarding-setup.md: every `$ command` of its console blocks runs as shown, in order,
against a real emulator and a real SQS server (moto) on loopback ports that replace the page's
8787 and 5000. `sellerkit emulator` itself is started here with the flags the page gives; the
`sellerkit` commands run in-process (typer's CliRunner, the same app the console script runs:
a process per command would cost seconds each), others in a shell. Where the page shows output,
the start of each shown line is printed; a shown `error:` line means the command fails, any
other command succeeds. No secret is ever printed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from sellerkit.emulator import EmulatorConfig
from sellerkit.emulator.server import EmulatorServer

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "onboarding-setup.md"
_BLOCK = re.compile(r"^```console\n(?P<code>.*?)^```", re.S | re.M)


def _commands() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for m in _BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        for line in m["code"].splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif out:
                out[-1][1].append(line)
    return out


def test_the_setup_page_runs_as_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from sellerkit.cli.main import app

    commands = _commands()
    (emulator_cmd,) = [c for c, _ in commands if c.startswith("sellerkit emulator")]
    arn = re.search(r"--secret-queue (\S+)", emulator_cmd)[1]  # type: ignore[index]
    days = float(re.search(r"--secret-expires-in (\S+)", emulator_cmd)[1])  # type: ignore[index]
    moto = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    sqs_url = f"http://{host}:{port}"
    for name in ("SELLERKIT_CONFIG", "SELLERKIT_STATE_DIR", "SELLERKIT_KEYRING"):
        monkeypatch.setenv(name, {"SELLERKIT_CONFIG": str(tmp_path / "config.toml"),
                                  "SELLERKIT_STATE_DIR": str(tmp_path / "state"),
                                  "SELLERKIT_KEYRING": "off"}[name])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_", "AWS_"))}
    env.update({"HOME": str(tmp_path), "SELLERKIT_CONFIG": str(tmp_path / "config.toml"),
                "SELLERKIT_STATE_DIR": str(tmp_path / "state"), "SELLERKIT_KEYRING": "off",
                "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    prelude = f'sellerkit() {{ "{sys.executable}" -m sellerkit.cli "$@"; }}\n'
    sqs = boto3.client("sqs", endpoint_url=sqs_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    sqs.create_queue(QueueName=arn.rsplit(":", 1)[1])
    config = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_url,
                            secret_queue_arn=arn,
                            client_secret_expires_at=time.time() + days * 86400)
    secrets = [config.client_secret, config.refresh_token]
    ran = 0
    try:
        with EmulatorServer(config) as server:
            for cmd, shown in commands:
                if cmd.startswith("sellerkit emulator"):
                    continue
                cmd = cmd.replace("http://127.0.0.1:8787", server.base_url).replace(
                    "http://127.0.0.1:5000", sqs_url)
                if cmd.startswith("export "):
                    prelude += cmd + "\n"
                    for pair in shlex.split(cmd)[1:]:
                        name, _, value = pair.partition("=")
                        env[name] = value
                        monkeypatch.setenv(name, value)
                    continue
                argv = shlex.split(cmd)
                if argv[0] == "sellerkit":
                    result = CliRunner().invoke(app, argv[1:])
                    code, printed = result.exit_code, result.stdout + result.stderr
                    assert result.exception is None or isinstance(result.exception,
                                                                  SystemExit), (cmd, printed)
                elif argv[:2] == ["python3", "-c"]:
                    exec(compile(argv[2], "docs", "exec"), {})  # noqa: S102 - our own page
                    code, printed = 0, ""
                else:
                    r = subprocess.run(["bash", "-c", prelude + cmd], capture_output=True,
                                       text=True, env=env, cwd=str(tmp_path), timeout=120,
                                       check=False)
                    code, printed = r.returncode, r.stdout + r.stderr
                ran += 1
                assert "Traceback" not in printed, (cmd, printed[-3000:])
                fails = any(x.startswith("error:") for x in shown)
                assert (code != 0) == fails, (cmd, code, printed[-2000:])
                for line in shown:
                    start = line.split("...", 1)[0].split("…", 1)[0].strip()
                    assert start[:60] in printed, (cmd, line, printed[-2000:])
                cfg = tmp_path / "config.toml"
                if cfg.exists():
                    for table in tomllib.loads(cfg.read_text()).get("profiles", {}).values():
                        secrets += [v for k, v in table.items() if k == "client_secret"]
                for secret in secrets:
                    assert secret not in printed, (cmd, printed[-2000:])
    finally:
        moto.stop()
    assert ran >= 10
    # the rotation happened: the emulator's configured secret is no longer the current one
    assert len(set(secrets)) > 2
