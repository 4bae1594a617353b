"""The sellerkit clients on the emulator's in-process transports (no sockets)."""

from __future__ import annotations

import pytest

pytest.importorskip("sellerkit.client")

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner  # noqa: E402
from sellerkit.emulator import Emulator, EmulatorConfig  # noqa: E402
from sellerkit.errors import BadRequestError, ServerError  # noqa: E402

ENDPOINT = "http://127.0.0.1:8787"


def _kw(emu: Emulator) -> dict[str, object]:
    cfg = emu.config
    return {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
            "refresh_token": cfg.refresh_token, "endpoint": ENDPOINT,
            "lwa_endpoint": ENDPOINT + "/auth/o2/token", "region": "NA"}


def test_sync_client_on_the_sync_transport() -> None:
    emu = Emulator(EmulatorConfig(orders=30, rate_scale=1000))
    with SellingPartner(transport=emu.sync_transport(), **_kw(emu)) as sp:  # type: ignore[arg-type]
        r = sp.sellers_v1.get_marketplace_participations()
        assert r.status == 200 and r.request_id
        assert r.rate_limit == pytest.approx(16.0)
        orders = list(sp.paginate("orders_v0.getOrders", items="Orders",
                                  MarketplaceIds=["ATVPDKIKX0DER"],
                                  CreatedAfter="2000-01-01T00:00:00Z", MaxResultsPerPage=5,
                                  options=CallOptions(rdt_data_elements=["buyerInfo"])))
        assert orders and all(o["BuyerInfo"].get("BuyerEmail") for o in orders)
        with pytest.raises(BadRequestError) as info:
            sp.request("GET", "/orders/v0/orders", params={"CreatedAfter": "2026-01-01"})
        assert info.value.code == "InvalidInput"


def test_client_sees_injected_faults() -> None:
    emu = Emulator(EmulatorConfig(orders=1, rate_limits=False, faults="500:1"))
    with SellingPartner(transport=emu.sync_transport(), rate_limiter=False,
                        **_kw(emu)) as sp:  # type: ignore[arg-type]
        with pytest.raises(ServerError) as info:
            sp.call("sellers_v1.getMarketplaceParticipations",
                    options=CallOptions(max_attempts=2))
        assert info.value.code == "InternalFailure"


async def test_async_client_on_the_async_transport() -> None:
    emu = Emulator(EmulatorConfig(orders=10, rate_scale=1000))
    async with AsyncSellingPartner(transport=emu.async_transport(),
                                   **_kw(emu)) as sp:  # type: ignore[arg-type]
        r = await sp.sellers_v1.get_marketplace_participations()
        assert r.status == 200
        grantless = await sp.notifications_v1.get_destinations()
        assert grantless.status == 200
