"""What `pip install sellerkit` brings: every package the code imports is declared, the emulator
runs on the base install, and each optional part fails with a one-line install hint when its
package is missing (simulated by blocking the module in a fresh interpreter)."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sellerkit"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Imports with a working fallback when the package is absent (inside try/except ImportError):
# not dependencies. The test checks that each really is guarded that way.
FALLBACK_IMPORTS = {"tomli_w"}  # sellerkit.config.dumps_toml writes TOML itself otherwise
# Optional packages and the extra a user installs for them.
OPTIONAL = {"botocore": "aws", "boto3": "aws", "redis": "redis", "psycopg": "postgres",
            "pyarrow": "columnar", "polars": "columnar", "isal": "fast"}


def _req_name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    base = {_req_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {name: {_req_name(r) for r in reqs}
              for name, reqs in PYPROJECT["project"]["optional-dependencies"].items()}
    return base, extras


class _Imports(ast.NodeVisitor):
    """Third-party top-level imports of one file: (module, line, at module level, in a try that
    handles ImportError)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int, bool, bool]] = []
        self._depth = 0
        self._guarded = 0

    def _add(self, name: str, line: int) -> None:
        top = name.split(".")[0]
        if top not in sys.stdlib_module_names and top != "sellerkit":
            self.found.append((top, line, self._depth == 0, self._guarded > 0))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: N802
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]  # noqa: N815

    def visit_Try(self, node: ast.Try) -> None:  # noqa: N802
        handles = any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                      for h in node.handlers)
        self._guarded += handles
        for stmt in node.body:
            self.visit(stmt)
        self._guarded -= handles
        for stmt in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(stmt)

    def visit_If(self, node: ast.If) -> None:  # noqa: N802
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return  # not imported at run time
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        if node.level == 0 and node.module:
            self._add(node.module, node.lineno)


def _all_imports() -> list[tuple[str, str, int, bool, bool]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        out += [(m, f"{path.relative_to(ROOT)}:{line}", top, guarded) for m, line, top, guarded in visitor.found]
    return out


def test_every_imported_package_is_declared() -> None:
    base, extras = _declared()
    dists = importlib.metadata.packages_distributions()
    problems = []
    imports = _all_imports()
    assert {m for m, *_ in imports} >= {"httpx", "h11", "starlette", "uvicorn", "botocore", "redis"}
    for module, where, top_level, guarded in imports:
        if module in FALLBACK_IMPORTS:
            if not guarded:
                problems.append(f"{where}: {module} must stay inside try/except ImportError")
            continue
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if names & base:
            continue
        in_extras = [e for e, reqs in extras.items() if names & reqs]
        if not in_extras:
            problems.append(f"{where}: {module} is imported but not declared in pyproject.toml")
        elif top_level:
            problems.append(f"{where}: {module} (extra {in_extras[0]}) is imported at module level, "
                            "so the base install cannot import this module")
        elif OPTIONAL.get(module) not in in_extras:
            problems.append(f"{where}: {module} is optional but its extra is not listed in OPTIONAL")
    assert not problems, "\n".join(problems)


def test_the_emulator_needs_no_extra() -> None:
    base, extras = _declared()
    assert {"starlette", "uvicorn", "jsonschema", "h11", "httpx"} <= base
    assert extras["server"] == set()  # kept so `pip install 'sellerkit[server]'` still works
    assert PYPROJECT["project"]["optional-dependencies"]["all"] == ["sellerkit[aws,postgres,redis]"]


def _run(code: str, *blocked: str, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where the ``blocked`` packages cannot be imported."""
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["SELLERKIT_CONFIG"] = os.devnull
    return subprocess.run([sys.executable, "-c", prelude + code, *args], capture_output=True, text=True,
                          env=env, cwd=str(ROOT), timeout=120, check=False)


def test_every_module_imports_without_the_optional_packages() -> None:
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in PACKAGE.rglob("*.py")
                     if p.name != "__main__.py"  # runs the CLI
                     and "migrations" not in p.parts)  # Alembic scripts, run by Alembic only
    r = _run("import importlib\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nprint('ok')",
             *OPTIONAL, *FALLBACK_IMPORTS, args=tuple(modules))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]


HINT_CASES = {
    "sigv4 signing": ("botocore", "aws", """
from sellerkit import SellingPartner
from sellerkit.emulator import Emulator, EmulatorConfig, config as c
emu = Emulator(EmulatorConfig(rate_limits=False))
sp = SellingPartner(client_id=c.DEFAULT_CLIENT_ID, client_secret=c.DEFAULT_CLIENT_SECRET,
                    refresh_token=c.DEFAULT_REFRESH_TOKEN, endpoint="http://127.0.0.1:8787", lwa_endpoint="http://127.0.0.1:8787/auth/o2/token",
                    transport=emu.sync_transport(), rate_limiter=False, sigv4=True,
                    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secretsecretsecret")
sp.sellers_v1.get_marketplace_participations()
"""),
    "sts assume role": ("botocore", "aws", """
from sellerkit.auth.sigv4 import AssumeRoleCredentials
AssumeRoleCredentials("arn:aws:iam::123456789012:role/r").get_credentials()
"""),
    "emulator --require-sigv4": ("botocore", "aws", """
from sellerkit.emulator import Emulator, EmulatorConfig
Emulator(EmulatorConfig(require_sigv4=True))
"""),
    "redis token store": ("redis", "redis", """
from sellerkit.auth.stores import RedisTokenStore
RedisTokenStore("redis://127.0.0.1:6379/0")
"""),
    "redis rate limiter": ("redis", "redis", """
from sellerkit.ratelimit.redis_backend import RedisRateLimiter
RedisRateLimiter("redis://127.0.0.1:6379/0")
"""),
}


@pytest.mark.parametrize("case", sorted(HINT_CASES))
def test_a_missing_optional_package_is_a_sellerkit_error_with_the_install_hint(case: str) -> None:
    blocked, extra, code = HINT_CASES[case]
    r = _run("from sellerkit.errors import SellerkitError\ntry:\n"
             + "".join(f"    {line}\n" for line in code.strip().splitlines())
             + "except SellerkitError as exc:\n    print(type(exc).__name__, exc)\n", blocked)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"pip install 'sellerkit[{extra}]'" in r.stdout, r.stdout


@pytest.mark.parametrize(("blocked", "extra", "args"), [
    ("botocore", "aws", ("emulator", "--require-sigv4", "--port", "0")),
    ("redis", "redis", ("limits", "--redis", "redis://127.0.0.1:6379/0")),
    ("boto3", "aws", ("aws", "setup-iam", "--user", "sp-api")),
    ("boto3", "aws", ("aws", "setup-notifications", "--queue", "q", "--dry-run")),
])
def test_the_cli_says_what_to_install_in_one_line(blocked: str, extra: str, args: tuple[str, ...]) -> None:
    r = _run("from sellerkit.cli.main import main\nsys.argv[0] = 'sellerkit'\nmain(sys.argv[1:])", blocked,
             args=args)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and f"pip install 'sellerkit[{extra}]'" in lines[0], r.stdout + r.stderr
