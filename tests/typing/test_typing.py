"""mypy sees the generated signatures: a wrong call is a type error, not a runtime surprise."""

from __future__ import annotations

from pathlib import Path

import pytest

BAD = '''
from sellerkit import SellingPartner, AsyncSellingPartner

def f(sp: SellingPartner) -> None:
    sp.orders.search_orders(fulfillment_statuses=["NOPE"])
    sp.orders_v0.get_orders(marketplace_id=["x"])
    sp.orders_v0.get_orders()

async def g(sp: AsyncSellingPartner) -> None:
    r = await sp.sellers_v1.get_marketplace_participations()
    r.no_such_attribute

def h(sp: SellingPartner) -> int:
    return sp.orders_v0.get_order(order_id="1").body["payload"]["OrderTotal"]

def k(sp: SellingPartner) -> int:
    return sp.orders_v0.get_orders(marketplace_ids=["x"]).payload["Orders"]

def m(sp: SellingPartner) -> None:
    sp.orders_v0.get_orders(marketplace_ids=["x"]).payload["payload"]
'''


def test_mypy_flags_wrong_calls(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    f = tmp_path / "bad.py"
    f.write_text(BAD)
    out, _err, rc = api.run([str(f), "--no-error-summary", "--cache-dir",
                             str(Path(__file__).resolve().parents[2] / ".mypy_cache")])
    assert rc == 1
    lines = [line for line in out.splitlines() if ": error:" in line]
    assert any(":5:" in x and "NOPE" in x for x in lines), out
    assert any(":6:" in x and '"marketplace_id"' in x for x in lines), out
    assert any(":7:" in x and 'Missing named argument "marketplace_ids"' in x for x in lines), out
    assert any(":11:" in x and "no_such_attribute" in x for x in lines), out
    # the payload is typed from the model: OrderTotal is a Money dict, not an int
    assert any(":14:" in x and "Money" in x for x in lines), out
    # payload is the unwrapped result: Orders is a list of Order, and there is no "payload" key
    assert any(":17:" in x and "list[Order]" in x for x in lines), out
    assert any(":20:" in x and '"OrdersList" has no key "payload"' in x for x in lines), out
