"""Helpers for the sync tests: a shared clock, an emulator whose orders stand still, and the
emulator's truth to compare the vault with."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sellerkit.emulator.simulation.data import iso
from sellerkit.emulator.simulation.state import last_update, status_of


class Clock:
    """Real time plus an offset tests move forward (the emulator's rate buckets keep refilling
    in real time, and the orders' clock jumps when a test says so)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def state(emu: Any) -> Any:
    return emu.simulation._state


def settle(emu: Any) -> None:
    """Freeze the simulated orders: drop the ones created in the future and the status changes
    still to come, so an order changes only when a test changes it."""
    st = state(emu)
    with st.lock:
        now = st.now()
        for lst in st.d["orders"].values():
            lst[:] = [o for o in lst if o["created"] <= now - 1]
            for o in lst:
                for k in ("unshipped", "shipped", "canceled"):
                    if o[k] is not None and o[k] > now - 1:
                        o[k] = None
        st._reindex()


def orders_of(emu: Any, seller: str | None = None) -> list[dict[str, Any]]:
    st = state(emu)
    return list(st.d["orders"][seller or emu.seller_ids[0]])


def truth(emu: Any, until: str | None = None) -> dict[str, str]:
    """{order id: LastUpdateDate} of the seller's orders as they are now, updated at or before
    ``until`` (a sync's high water: what it promises to hold)."""
    st = state(emu)
    with st.lock:
        now = st.now()
        hi = datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp() if until else now
        return {o["id"]: iso(last_update(o, now)) for o in orders_of(emu)
                if o["created"] <= now and last_update(o, now) <= hi}


def status(emu: Any, order_id: str) -> str:
    st = state(emu)
    with st.lock:
        return status_of(st.order_index[order_id][1], st.now())


def stored(vault: Any) -> dict[str, str]:
    """{order id: last update} of every order in the vault (one seller in these tests)."""
    from sqlalchemy import func, select

    from sellerkit.vault.schema import orders

    with vault.read() as conn:
        rows = conn.execute(select(orders.c.amazon_order_id, orders.c.last_update_date)).all()
        distinct = conn.execute(select(func.count(func.distinct(orders.c.amazon_order_id)))
                                ).scalar_one()
    assert distinct == len(rows), "an order is stored twice"
    return {r[0]: r[1].strftime("%Y-%m-%dT%H:%M:%SZ") for r in rows}


def item_counts(vault: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from sellerkit.vault.schema import order_items, orders

    with vault.read() as conn:
        rows = conn.execute(select(orders.c.amazon_order_id, func.count(order_items.c.id))
                            .join(order_items, order_items.c.order_id == orders.c.id)
                            .group_by(orders.c.amazon_order_id)).all()
    return {r[0]: int(r[1]) for r in rows}
