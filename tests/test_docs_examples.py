"""The Python examples of README.md and the docs run as written against the emulator.

Each document's ```python blocks run in order, in one fresh interpreter, with no profile and no
credentials in the environment. Examples written for `sellerkit emulator` on its default port
talk to a real loopback emulator started here with the same defaults (the port is the only thing
changed: 8787 may be taken on the machine running the tests). A line `expr  # 'value'` also checks
that the expression gives that value.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sellerkit.emulator import EmulatorConfig, EmulatorServer
from sellerkit.emulator.simulation.data import MARKETPLACES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADDRESS = "127.0.0.1:8787"
_BLOCK = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```", re.S | re.M)
_EXPECT = re.compile(r"^(?P<expr>\S.*?)\s+#\s+(?P<lit>'[^']*')\s*$")


def blocks(doc: str, lang: str = "python") -> list[str]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    return [m["code"] for m in _BLOCK.finditer(text) if m["lang"] == lang]


def with_checks(code: str) -> str:
    """``code`` with an assert after each ``expr  # 'value'`` line."""
    out = []
    for line in code.splitlines():
        out.append(line)
        m = _EXPECT.match(line)
        if m:
            try:
                ast.parse(m["expr"], mode="eval")
            except SyntaxError:
                continue
            out.append(f"assert ({m['expr']}) == {m['lit']}, ({m['expr']})")
    return "\n".join(out) + "\n"


def run_doc(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    clean.update({"HOME": str(tmp_path), "SELLERKIT_CONFIG": os.devnull,
                  "SELLERKIT_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(ROOT), **env})
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=clean,
                          cwd=str(tmp_path), timeout=300, check=False)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """Like `sellerkit emulator`: default config (rate limits on), real HTTP on loopback."""
    with EmulatorServer(EmulatorConfig(port=0)) as server:
        yield server


def _for(server: EmulatorServer, code: str) -> str:
    return code.replace(DEFAULT_ADDRESS, server.base_url.removeprefix("http://"))


def test_the_readme_client_example_runs_against_the_emulator(emulator: EmulatorServer, tmp_path: Path) -> None:
    code = blocks("README.md")
    assert len(code) == 1 and DEFAULT_ADDRESS in code[0]
    r = run_doc(with_checks(_for(emulator, "\n".join(code))) + "print('done', order_id)\n", tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stdout.startswith("done ")


def test_the_emulator_doc_examples_run(emulator: EmulatorServer, tmp_path: Path) -> None:
    code = blocks("docs/emulator.md")
    assert len(code) >= 2
    r = run_doc(with_checks(_for(emulator, "\n".join(code))) + "print('done')\n", tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stdout.strip() == "done"


def test_the_configuration_doc_examples_run(tmp_path: Path) -> None:
    """With the config file the document shows (its first TOML block) as the user's file."""
    toml = [b for b in blocks("docs/configuration.md", "toml") if "[profiles." in b][0]
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    config.chmod(0o600)
    code = "\n".join(blocks("docs/configuration.md"))
    r = run_doc(with_checks(code) + "print('done')\n", tmp_path, SELLERKIT_CONFIG=str(config))
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stdout.strip().endswith("done")
    assert "assert" in with_checks(code)  # the documented values were checked, not just printed


def _sellers_documented() -> dict[str, list[str]]:
    """refresh token -> marketplace country codes, from the sellers tables of docs/emulator.md."""
    text = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    section = text.split("## Emulated sellers, marketplaces and credentials", 1)[1].split("\n## ", 1)[0]
    out = {}
    for row in re.findall(r"^\|.*`(Atzr\|[^`]+)`\s*\|\s*([^|]+)\|\s*$", section, re.M):
        token, markets = row
        out[token] = re.findall(r"\b([A-Z]{2})\b(?: `[A-Z0-9]+`)?", markets)
    return out


def test_the_documented_sellers_are_the_emulated_ones() -> None:
    documented = _sellers_documented()
    assert "Atzr|emulator-refresh-token" in documented and len(documented) == 4
    with EmulatorServer(EmulatorConfig(port=0, sellers=4, rate_limits=False)) as server, \
            httpx.Client(base_url=server.base_url) as c:
        for token, countries in documented.items():
            lwa = c.post("/auth/o2/token", data={
                "grant_type": "refresh_token", "refresh_token": token,
                "client_id": "amzn1.application-oa2-client.emulator",
                "client_secret": "amzn1.oa2-cs.v1.emulator-secret"})
            assert lwa.status_code == 200, lwa.text
            r = c.get("/sellers/v1/marketplaceParticipations",
                      headers={"x-amz-access-token": lwa.json()["access_token"]})
            got = [p["marketplace"]["countryCode"] for p in r.json()["payload"]]
            assert got == countries, token
        assert c.get("/_emulator/health").json()["sellers"] == [f"A2SIMSELLER000{i}" for i in range(1, 5)]


def test_the_documented_marketplace_ids_are_the_real_ones() -> None:
    text = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    pairs = re.findall(r"\b([A-Z]{2}) `([A-Z0-9]{9,14})`", text)
    assert len(pairs) >= 3
    for country, mid in pairs:
        assert MARKETPLACES[mid]["countryCode"] == country
    assert "eleven marketplaces" in text and len(MARKETPLACES) == 11


def test_the_readme_only_uses_marketplaces_the_emulated_seller_sells_in() -> None:
    code = "\n".join(blocks("README.md"))
    seller_markets = {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"}
    assert set(re.findall(r'"(A[0-9A-Z]{8,13})"', code)) <= seller_markets
    codes = re.findall(r'marketplace="([A-Z]{2})"', code)
    assert codes and all(c in {"US", "CA", "MX"} for c in codes)


def _run_readme_sh(emulator: EmulatorServer, tmp_path: Path, marker: str,
                   env: dict[str, str] | None = None,
                   replace: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Every line of the README's ``sh`` block containing ``marker``, in one shell (continuation
    lines joined); each ``sellerkit`` line's stdout goes to ``$OUT/N.out``. The emulator such a
    block starts in the background is the one of the fixture (same defaults), so that line only
    has to parse."""
    (script,) = [b for b in blocks("README.md", "sh") if marker in b]
    script = _for(emulator, script).replace("\\\n", " ")
    for old, new in (replace or {}).items():
        assert old in script, old
        script = script.replace(old, new)
    lines = []
    for line in script.splitlines():
        line = re.sub(r"\s+#.*$", "", line)  # the comments
        if line.startswith("sellerkit emulator ") and line.endswith("&"):
            lines.append("sellerkit emulator --help > /dev/null")  # the fixture serves instead
        elif line.startswith("sellerkit "):
            lines.append(f'{line} > "$OUT/{len(lines)}.out"')
        else:
            lines.append(line)
    assert not [line for line in lines if line.endswith("&")]
    prelude = (f'set -euo pipefail\nsellerkit() {{ "{sys.executable}" -c '
               '"from sellerkit.cli.main import main; main()" "$@"; }\n')
    out = tmp_path / "out"
    out.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    clean.update({"HOME": str(tmp_path), "SELLERKIT_CONFIG": os.devnull, "OUT": str(out),
                  "SELLERKIT_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)})
    clean.update(env or {})
    r = subprocess.run(["bash", "-c", prelude + "\n".join(lines)], capture_output=True, text=True,
                       env=clean, cwd=str(tmp_path), timeout=300, check=False)
    return r, out


def test_the_readme_first_call_on_the_emulator_runs(emulator: EmulatorServer, tmp_path: Path) -> None:
    r, out = _run_readme_sh(emulator, tmp_path, "sellerkit doctor --profile emu", env={
        "SELLERKIT_CONFIG": str(tmp_path / "config.toml"), "SELLERKIT_KEYRING": "off"})
    assert r.returncode == 0, r.stderr[-4000:]
    doctor = max(out.glob("*.out"), key=lambda p: int(p.stem)).read_text()
    assert "First call" in doctor and "0 failed" in doctor, doctor
    assert "emulator-secret" not in r.stdout + r.stderr + doctor  # secrets masked


def test_the_readme_vault_example_runs(emulator: EmulatorServer, tmp_path: Path) -> None:
    """The vault block against the emulator: init, sync, an audited PII read, purge, audit
    verification, evidence."""
    env = {"SELLERKIT_ENDPOINT": emulator.base_url,
           "SELLERKIT_LWA_ENDPOINT": f"{emulator.base_url}/auth/o2/token",
           "SELLERKIT_CLIENT_ID": emulator.config.client_id,
           "SELLERKIT_CLIENT_SECRET": emulator.config.client_secret,
           "SELLERKIT_REFRESH_TOKEN": emulator.emulator.refresh_token(), "SELLERKIT_MARKETPLACE": "US",
           "SELLERKIT_VAULT_URL": f"sqlite:///{tmp_path / 'vault.sqlite3'}",
           "SELLERKIT_VAULT_KEY": f"file:{tmp_path / 'vault.key'}"}
    picker = tmp_path / "pick_order.py"  # an order id the sync stored, for `vault show`
    picker.write_text("import sqlite3, sys\nrow = sqlite3.connect(sys.argv[1]).execute("
                      "'SELECT amazon_order_id FROM orders LIMIT 1').fetchone()\nprint(row[0])\n")
    pick = f'$("{sys.executable}" {picker} {tmp_path / "vault.sqlite3"})'
    r, out = _run_readme_sh(emulator, tmp_path, "sellerkit vault init", env=env,
                            replace={"113-1234567-1234567": pick})
    assert r.returncode == 0, r.stderr[-4000:]
    assert (tmp_path / "evidence").is_dir() and any((tmp_path / "evidence").iterdir())


def test_the_readme_command_line_example_runs_against_the_emulator(emulator: EmulatorServer,
                                                                   tmp_path: Path) -> None:
    """Every line of the README's command-line block, in one shell."""
    r, out = _run_readme_sh(emulator, tmp_path, "sellerkit call")
    assert r.returncode == 0, r.stderr[-4000:]

    def unwrapped(x: object) -> object:  # the API's result, whether --json prints the body or the payload
        return x["payload"] if isinstance(x, dict) and "payload" in x else x

    results = [json.loads(p.read_text()) for p in sorted(out.glob("*.out"), key=lambda p: int(p.stem))
               if p.read_text().lstrip().startswith(("{", "["))]
    participations = next(unwrapped(x) for x in results if isinstance(unwrapped(x), list)
                          and all(isinstance(i, dict) and "marketplace" in i for i in unwrapped(x)))
    assert [p["marketplace"]["countryCode"] for p in participations] == ["US", "CA", "MX"]
    orders = next(unwrapped(x) for x in results if isinstance(unwrapped(x), dict) and "Orders" in unwrapped(x))
    assert orders["Orders"]
    limits = next(x for x in results if isinstance(x, dict) and "buckets" in x)
    assert any(b["operation"] == "orders_v0.getOrders" for b in limits["buckets"])


def _console_commands(doc: str) -> list[tuple[str, list[str]]]:
    """The ``$ command`` lines of a page's console blocks (continuations joined), each with the
    output lines the page shows under it."""
    out: list[tuple[str, list[str]]] = []
    for block in blocks(doc, "console"):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("$ "):
                cmd = line[2:]
                while cmd.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    cmd = cmd[:-1] + " " + lines[i].strip()
                out.append((re.sub(r"\s+#.*$", "", cmd), []))
            elif out:
                out[-1][1].append(line)
            i += 1
    return out


def test_the_cli_doc_commands_run_as_shown(emulator: EmulatorServer, tmp_path: Path) -> None:
    """docs/cli.md: each command runs against the emulator without a traceback, and where the
    page shows what it prints, the start of each shown line is what it prints (`...` ends what
    is shown). The emulator itself and `--install-completion` (it edits the user's shell
    profile) are not run."""
    (exports,) = [b for b in blocks("docs/cli.md", "sh") if "SELLERKIT_CLIENT_ID" in b]
    prelude = (f'sellerkit() {{ "{sys.executable}" -c '
               '"from sellerkit.cli.main import main; main()" "$@"; }\n' + _for(emulator, exports))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    clean.update({"HOME": str(tmp_path), "SELLERKIT_CONFIG": os.devnull, "COLUMNS": "100",
                  "SELLERKIT_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)})
    ran = 0
    for cmd, shown in _console_commands("docs/cli.md"):
        if cmd.startswith("sellerkit emulator") or "--install-completion" in cmd:
            continue
        if cmd.startswith("for "):  # the 25-call loop: its body once is what can fail here
            cmd = re.sub(r"^for .*?; do (.*); done$", r"\1", cmd)
        r = subprocess.run(["bash", "-c", prelude + _for(emulator, cmd)], capture_output=True,
                           text=True, env=clean, cwd=str(tmp_path), timeout=120, check=False)
        ran += 1
        printed = r.stdout + r.stderr
        assert "Traceback" not in printed, (cmd, printed[-3000:])
        shows_error = any(x.startswith(("error:", '{"error"')) for x in shown)
        if cmd != "echo $?":
            assert (r.returncode != 0) == shows_error, (cmd, r.returncode, printed[-2000:])
        for line in shown:
            if line.strip().isdigit():  # `echo $?` shows the previous command's exit status
                continue
            start = line.split("...", 1)[0].replace("~/.config/sellerkit/config.toml", "")
            start = start.split(" of ", 1)[0] if "profile of" in start else start
            assert start.strip()[:60] in printed, (cmd, line, printed[-2000:])
    assert ran >= 8
