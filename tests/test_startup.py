"""What importing sellerkit loads, checked in fresh interpreters (``sys.modules``), not timed.

httpx costs about 100 ms to import and only ``transport=``, proxies and failures need it; asyncio
and h11 only the asyncio client; the generated resources only the first ``sp.<api>``. Timings
are measured by ``bench/startup.py``; these tests pin the behaviour that makes them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.client.trickle import LWA_PATH, trickle_server

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("httpx", "httpcore", "asyncio", "h11", "rich", "typer",
         "sellerkit.client._generated.resources")


def _loaded_after(code: str) -> list[str]:
    probe = code + textwrap.dedent(f"""
        import json, sys
        print("LOADED " + json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=False, stdin=subprocess.DEVNULL)
    line = next((x for x in out.stdout.splitlines() if x.startswith("LOADED ")), None)
    assert line is not None, out.stdout + out.stderr
    return list(json.loads(line[7:]))


def test_import_sellerkit_loads_nothing_heavy() -> None:
    assert _loaded_after("import sellerkit") == []


def test_importing_the_sync_client_loads_neither_httpx_nor_asyncio() -> None:
    assert _loaded_after("from sellerkit import SellingPartner, CallOptions, SellerkitError\n"
                         "from sellerkit.client import ApiResponse, UNSET") == []


def test_the_async_client_needs_asyncio_but_not_httpx() -> None:
    loaded = _loaded_after("from sellerkit import AsyncSellingPartner")
    assert "asyncio" in loaded
    assert "httpx" not in loaded and "httpcore" not in loaded


def test_a_client_and_its_calls_never_load_httpx() -> None:
    """Building a client, fetching an LWA token, calling the API and downloading a document
    (all through the keep-alive pool) never load httpx."""
    with trickle_server() as srv:
        code = textwrap.dedent(f"""
            from sellerkit import SellingPartner
            with SellingPartner(client_id="amzn1.application-oa2-client.x",
                                client_secret="s", refresh_token="Atzr|r",
                                endpoint={srv.url!r}, lwa_endpoint={srv.url + LWA_PATH!r},
                                rate_limiter=False) as sp:
                assert sp.sellers_v1.get_marketplace_participations().status == 200
                assert sp.download({srv.url + "/doc/1"!r}) == b'{{"payload": {{}}}}'
        """)
        loaded = _loaded_after(code)
        assert [t for t, _ in srv.seen] == [LWA_PATH, "/sellers/v1/marketplaceParticipations",
                                            "/doc/1"]
    assert "httpx" not in loaded and "httpcore" not in loaded and "h11" not in loaded
    assert "sellerkit.client._generated.resources" in loaded  # sp.sellers_v1 was used


def test_a_transport_still_goes_through_httpx() -> None:
    code = textwrap.dedent("""
        import httpx
        from sellerkit import SellingPartner
        seen = []
        def handler(request):
            seen.append(request.url.path)
            if request.url.path.endswith("/token"):
                return httpx.Response(200, json={"access_token": "Atza|t", "expires_in": 3600})
            return httpx.Response(200, json={"payload": []})
        sp = SellingPartner(client_id="amzn1.application-oa2-client.x", client_secret="s",
                            refresh_token="Atzr|r", region="NA", rate_limiter=False,
                            transport=httpx.MockTransport(handler))
        assert sp.sellers_v1.get_marketplace_participations().status == 200
        assert seen == ["/auth/o2/token", "/sellers/v1/marketplaceParticipations"], seen
    """)
    assert "httpx" in _loaded_after(code)


def test_the_top_level_help_loads_no_rich_and_lists_every_command() -> None:
    code = textwrap.dedent("""
        import contextlib, io
        from sellerkit.cli.main import app, main
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
            main(["--help"])
        import typer.main
        names = [c.name for c in typer.main.get_command(app).commands.values()]
        assert names and all(n in buf.getvalue() for n in names), (names, buf.getvalue())
    """)
    loaded = _loaded_after(code)
    assert "rich" not in loaded and "httpx" not in loaded
