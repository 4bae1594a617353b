"""The marked examples of docs/auth.md and docs/client.md run as written against the emulator
(README.md, docs/emulator.md and docs/configuration.md: tests/test_docs_examples.py).

A Python block preceded by ``<!-- docs-example: emulator -->`` must run on its own against an
emulator on ``http://127.0.0.1:8787`` (here a real server on a free loopback port, whose URL
replaces that one); ``<!-- docs-example: emulator, sp -->`` blocks get ``sp``, a
``SellingPartner`` connected to it, as the page says.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from sellerkit import SellingPartner  # noqa: E402
from sellerkit.emulator import EmulatorConfig  # noqa: E402
from sellerkit.emulator.server import EmulatorServer  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
MARK = re.compile(r"<!-- docs-example: emulator(, sp)? -->\n```python\n(.*?)\n```", re.S)
PAGES = ("auth.md", "client.md")


def _examples() -> list[tuple[str, bool, str]]:
    out = []
    for page in PAGES:
        text = (DOCS / page).read_text()
        for i, m in enumerate(MARK.finditer(text)):
            out.append((f"{page}#{i + 1}", bool(m.group(1)), m.group(2)))
    return out


EXAMPLES = _examples()


def test_the_pages_have_examples() -> None:
    assert {name.split("#")[0] for name, _, _ in EXAMPLES} == set(PAGES)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(orders=40, seed=1, rate_scale=1000)) as srv:
        yield srv


@pytest.mark.parametrize(("name", "needs_sp", "code"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs(server: EmulatorServer, name: str, needs_sp: bool, code: str) -> None:
    code = code.replace("http://127.0.0.1:8787", server.base_url)
    namespace: dict[str, object] = {"__name__": f"docs_example_{name}"}
    out = io.StringIO()
    with contextlib.ExitStack() as stack:
        if needs_sp:
            cfg = server.emulator.config
            namespace["sp"] = stack.enter_context(SellingPartner(
                client_id=cfg.client_id, client_secret=cfg.client_secret,
                refresh_token=cfg.refresh_token, endpoint=server.base_url,
                lwa_endpoint=server.base_url + "/auth/o2/token", region="NA"))
        with contextlib.redirect_stdout(out):
            exec(compile(code, name, "exec"), namespace)  # noqa: S102 - our own docs
    printed = out.getvalue().strip()
    assert printed, f"{name} printed nothing"
    # the restricted data really arrived: a street (a number first) or an e-mail address
    if "AddressLine1" in code:
        assert re.search(r"\b\d+ \w", printed), printed
    if "BuyerEmail" in code:
        assert "@" in printed, printed
