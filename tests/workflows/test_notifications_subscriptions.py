"""sp.notifications.ensure_destination / ensure_subscription against the in-process emulator,
sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.errors import ConfigurationError
from sellerkit.workflows.notifications import Destination

SQS = "arn:aws:sqs:us-east-1:123456789012:sp-notifications"
OTHER_SQS = "arn:aws:sqs:us-east-1:123456789012:sp-other"
EB = ("us-east-1", "123456789012")


class Counting(httpx.BaseTransport):
    """Counts the SP-API requests by method and path, then hands them to the emulator."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/notifications/" in request.url.path:
            token = request.headers.get("x-amz-access-token", "")
            self.seen.append((request.method, request.url.path, token))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=5, seed=11))


@pytest.fixture
def counting(emu: Emulator) -> Counting:
    return Counting(emu.sync_transport())


def _kwargs(emu: Emulator) -> dict[str, Any]:
    return dict(client_id=emu.config.client_id, client_secret=emu.config.client_secret,
                refresh_token=emu.refresh_token(), marketplace="US",
                endpoint="http://127.0.0.1:8787",
                lwa_endpoint="http://127.0.0.1:8787/auth/o2/token", rate_limiter=False)


@pytest.fixture
def sp(emu: Emulator, counting: Counting) -> Iterator[SellingPartner]:
    with SellingPartner(transport=counting, **_kwargs(emu)) as client:
        yield client


def test_ensure_destination_reuses_by_resource(sp: SellingPartner, counting: Counting) -> None:
    first = sp.notifications.ensure_destination("orders", sqs_arn=SQS)
    assert first.created and first.kind == "sqs" and first.arn == SQS
    again = sp.notifications.ensure_destination("a different label", sqs_arn=SQS)
    assert not again.created
    assert again.destination_id == first.destination_id and again.name == "orders"
    bus = sp.notifications.ensure_destination("bus", event_bridge=EB)
    assert bus.created and bus.kind == "eventBridge"
    assert bus.event_source is not None
    assert bus.event_source.startswith("aws.partner/sellingpartnerapi.amazon.com/123456789012/")
    assert not sp.notifications.ensure_destination("bus", event_bridge=EB).created
    assert {d.destination_id for d in sp.notifications.destinations()} == {
        first.destination_id, bus.destination_id}
    # nothing was ever deleted
    assert not [s for s in counting.seen if s[0] == "DELETE"]
    # destinations are grantless: every call carried the same (client-credentials) token,
    # which is not the seller's
    tokens = {t for _, path, t in counting.seen if path.endswith("/destinations")}
    assert len(tokens) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one of sqs_arn"),
    ({"sqs_arn": SQS, "event_bridge": EB}, "exactly one of sqs_arn"),
    ({"sqs_arn": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}, "not an SQS queue ARN"),
    ({"sqs_arn": SQS + ".fifo"}, "FIFO"),
    ({"event_bridge": ("123456789012", "us-east-1")}, "12-digit"),
    ({"event_bridge": "us-east-1"}, "pair"),
])
def test_ensure_destination_refuses_bad_arguments_before_calling(
        sp: SellingPartner, counting: Counting, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        sp.notifications.ensure_destination("x", **kwargs)
    assert counting.seen == []


def test_ensure_subscription_creates_then_returns_the_existing_one_on_409(
        sp: SellingPartner, counting: Counting) -> None:
    dest = sp.notifications.ensure_destination("orders", sqs_arn=SQS)
    sub = sp.notifications.ensure_subscription("ORDER_CHANGE", dest, processing_directive={
        "eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["ATVPDKIKX0DER"]}})
    assert sub.created and sub.payload_version == "1.0"
    assert sub.destination_id == dest.destination_id
    counting.seen.clear()
    same = sp.notifications.ensure_subscription("ORDER_CHANGE", dest.destination_id)
    assert not same.created and same.subscription_id == sub.subscription_id
    assert same.processing_directive == sub.processing_directive
    calls = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in counting.seen]
    assert calls == [("GET", dest.destination_id), ("POST", "ORDER_CHANGE"),
                     ("GET", "ORDER_CHANGE")]
    # getDestination went with the grantless token, the subscription calls with the seller's
    assert counting.seen[0][2] != counting.seen[1][2] == counting.seen[2][2]


def test_a_subscription_elsewhere_is_an_error_unless_replace(sp: SellingPartner) -> None:
    first = sp.notifications.ensure_destination("one", sqs_arn=SQS)
    second = sp.notifications.ensure_destination("two", sqs_arn=OTHER_SQS)
    sub = sp.notifications.ensure_subscription("REPORT_PROCESSING_FINISHED", first)
    assert sub.payload_version == "2020-09-04"
    with pytest.raises(ConfigurationError, match=f"already subscribed to destination "
                                                 f"{first.destination_id}.*replace=True"):
        sp.notifications.ensure_subscription("REPORT_PROCESSING_FINISHED", second)
    moved = sp.notifications.ensure_subscription("REPORT_PROCESSING_FINISHED", second,
                                                 replace=True)
    assert moved.created and moved.destination_id == second.destination_id
    got = sp.notifications.get_subscription(notification_type="REPORT_PROCESSING_FINISHED")
    assert got.payload["destinationId"] == second.destination_id


def test_payload_versions_subscribe_side_by_side(sp: SellingPartner) -> None:
    bus = sp.notifications.ensure_destination("bus", event_bridge=EB)
    newest = sp.notifications.ensure_subscription("LISTINGS_ITEM_ISSUES_CHANGE", bus)
    assert newest.payload_version == "2023-12-13" and newest.created
    old = sp.notifications.ensure_subscription("LISTINGS_ITEM_ISSUES_CHANGE", bus,
                                               payload_version="1.0")
    assert old.created and old.subscription_id != newest.subscription_id


@pytest.mark.parametrize(("ntype", "kind", "needs"), [
    ("LISTINGS_ITEM_STATUS_CHANGE", "sqs", "EventBridge destinations only"),
    ("BRANDED_ITEM_CONTENT_CHANGE", "sqs", "EventBridge destinations only"),
    ("ORDER_CHANGE", "eventBridge", "SQS destinations only"),
])
def test_the_wrong_destination_kind_is_refused_before_subscribing(
        sp: SellingPartner, counting: Counting, ntype: str, kind: str, needs: str) -> None:
    dest = (sp.notifications.ensure_destination("q", sqs_arn=SQS) if kind == "sqs"
            else sp.notifications.ensure_destination("b", event_bridge=EB))
    counting.seen.clear()
    with pytest.raises(ConfigurationError, match=needs):
        sp.notifications.ensure_subscription(ntype, dest)
    assert counting.seen == []  # a Destination object: not even getDestination
    with pytest.raises(ConfigurationError, match=needs):
        sp.notifications.ensure_subscription(ntype, dest.destination_id)
    assert [m for m, _, _ in counting.seen] == ["GET"]  # getDestination only, no POST


def test_other_mistakes(sp: SellingPartner, counting: Counting) -> None:
    with pytest.raises(ConfigurationError, match="developer console"):
        sp.notifications.ensure_subscription("APPLICATION_OAUTH_CLIENT_NEW_SECRET", "x")
    with pytest.raises(ConfigurationError, match="pass payload_version"):
        sp.notifications.ensure_subscription("SOMETHING_NEW", "x")
    assert counting.seen == []
    with pytest.raises(ConfigurationError, match="destination 'nope' does not exist"):
        sp.notifications.ensure_subscription("ORDER_CHANGE", "nope")


def test_async_faces(emu: Emulator) -> None:
    async def run() -> tuple[Destination, Any, Any]:
        async with AsyncSellingPartner(transport=emu.async_transport(), **_kwargs(emu)) as sp:
            dest = await sp.notifications.ensure_destination("q", sqs_arn=SQS)
            again = await sp.notifications.ensure_destination("q", sqs_arn=SQS)
            assert again.destination_id == dest.destination_id and not again.created
            sub = await sp.notifications.ensure_subscription("FEED_PROCESSING_FINISHED", dest)
            same = await sp.notifications.ensure_subscription("FEED_PROCESSING_FINISHED",
                                                              dest.destination_id)
            with pytest.raises(ConfigurationError, match="EventBridge destinations only"):
                await sp.notifications.ensure_subscription("ITEM_PRODUCT_TYPE_CHANGE", dest)
            listed = await sp.notifications.destinations()
            assert [d.destination_id for d in listed] == [dest.destination_id]
            return dest, sub, same

    dest, sub, same = asyncio.run(run())
    assert sub.created and not same.created and same.subscription_id == sub.subscription_id
    assert dest.created
