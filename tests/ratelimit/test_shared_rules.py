"""The limiter's rules, pinned with a fake clock, run against both backends (in-process and the
Lua scripts in a real Redis): bursts then steady rate, every layer taking a token, waits bounded
by the timeout, learning from x-amzn-RateLimit-Limit, and what a 429 does."""

from __future__ import annotations

import pickle

import pytest

from sellerkit.errors import RateLimitWaitError
from sellerkit.ratelimit import CapacityWaitError
from tests.ratelimit.helpers import FakeClock, ctx

GET_ORDER = "orders_v0.getOrder"        # 0.5/s, burst 30
GET_ORDERS = "orders_v0.getOrders"      # 0.0167/s, burst 20
CATALOG = "catalog_items_2022_04_01.getCatalogItem"  # 2/s burst 2; 250/s per application
CREATE_REPORT = "reports_2021_06_30.createReport"    # 0.0167/s, burst 15


def answer(limiter, c, n: int = 1, status: int = 200, header: str | None = None) -> None:
    """The server answers ``n`` calls (as the client records each response)."""
    for _ in range(n):
        limiter.record(c, status=status, rate_limit_header=header)


def bucket(limiter, layer: str = "seller", operation: str = GET_ORDER, seller: str = "seller-a"):
    found = [b for b in limiter.snapshot() if b.layer == layer and b.operation == operation
             and (layer != "seller" or b.seller == seller)]
    assert len(found) == 1, limiter.snapshot()
    return found[0]


def test_burst_then_steady_rate(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    waits = [lim.acquire(c, max_wait=10) for _ in range(33)]
    assert waits[:30] == [0.0] * 30
    assert waits[30:] == pytest.approx([2.0, 2.0, 2.0])
    assert clock.now == pytest.approx(1006.0)
    b = bucket(lim)
    assert (b.acquired, b.waits, b.rate, b.burst) == (33, 3, 0.5, 30)
    assert b.wait_time == pytest.approx(6.0)
    assert b.tokens == pytest.approx(0.0)


def test_idle_bucket_refills_to_burst_only(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    for _ in range(30):
        lim.acquire(c, max_wait=0)
    clock.advance(10_000)
    assert bucket(lim).tokens == pytest.approx(30)
    assert [lim.acquire(c, max_wait=0) for _ in range(30)] == [0.0] * 30
    with pytest.raises(RateLimitWaitError):
        lim.acquire(c, max_wait=1.9)


def test_margin_keeps_a_little_burst_in_reserve(make_limiter) -> None:
    lim = make_limiter(margin=0.05)
    c = ctx(GET_ORDER)
    waits = [lim.acquire(c, max_wait=10) for _ in range(31)]
    assert waits[:29] == [0.0] * 29
    # the last token of the burst comes one margin late, after that the rate is untouched
    assert waits[29] == pytest.approx(0.05)
    assert waits[30] == pytest.approx(2.0)


def test_wait_longer_than_timeout_is_refused_without_taking_a_token(make_limiter,
                                                                    clock: FakeClock) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDERS)
    for _ in range(20):
        assert lim.acquire(c, max_wait=30) == 0.0
    answer(lim, c, 20)
    with pytest.raises(CapacityWaitError) as info:
        lim.acquire(c, max_wait=30)
    err = info.value
    assert isinstance(err, RateLimitWaitError)
    assert err.wait == pytest.approx(1 / 0.0167)
    assert err.budget == 30
    assert "per-seller limit of orders_v0.getOrders" in str(err)
    assert "30.0s" in str(err)
    assert "max_wait" in str(err) and "timeout" not in str(err)
    assert clock.now == 1000.0  # nothing slept
    # the refusal took nothing: the next caller who may wait gets the very next slot
    assert lim.acquire(c, max_wait=120) == pytest.approx(1 / 0.0167)
    b = bucket(lim, operation=GET_ORDERS)
    assert (b.acquired, b.rejected) == (21, 1)
    restored = pickle.loads(pickle.dumps(err))
    assert str(restored) == str(err) and restored.layer == err.layer


def test_max_wait_defaults_to_the_limiters_and_none_waits_as_long_as_needed(make_limiter
                                                                           ) -> None:
    # callers in other threads: their sleeps do not move this thread's clock (and the
    # send-time check, which would see them all leave at once, is off)
    lim = make_limiter(margin=0, max_wait=100, sleep=lambda seconds: None, send_margin=None)
    c = ctx(GET_ORDERS)
    for _ in range(20):
        assert lim.acquire(c) == 0.0
    answer(lim, c, 20)
    assert lim.acquire(c) == pytest.approx(60, rel=0.01)   # inside the limiter's max_wait
    with pytest.raises(CapacityWaitError) as info:
        lim.acquire(c)   # queued behind it: ~120s away
    assert info.value.budget == 100
    # max_wait=None: no bound, the caller queues as deep as it must
    waits = [lim.acquire(c, max_wait=None) for _ in range(10)]
    assert waits == pytest.approx([60 * k for k in range(2, 12)], rel=0.01)


def test_max_wait_zero_fails_fast(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDERS)
    assert [lim.acquire(c, max_wait=0) for _ in range(20)] == [0.0] * 20
    with pytest.raises(CapacityWaitError):   # even with all 20 calls still on the wire
        lim.acquire(c, max_wait=0)
    assert clock.now == 1000.0


def test_a_fresh_bucket_waits_for_its_first_answers_instead_of_refusing(make_limiter,
                                                                         clock: FakeClock
                                                                         ) -> None:
    """Before the server has answered, the catalog's plan is a guess: a call it would refuse
    waits for the first responses (which may raise the rate) and tries again."""
    lim = make_limiter(margin=0, confirm=3)
    c = ctx(GET_ORDERS)
    for _ in range(20):
        lim.acquire(c, max_wait=30)
    answers = iter(range(3))

    def sleep(seconds: float) -> None:   # while this caller polls, the first 3 answers land
        clock.sleep(seconds)
        if next(answers, None) is not None:
            lim.record(c, status=200, rate_limit_header="16.7")

    lim._sleep = sleep
    waited = lim.acquire(c, max_wait=30)
    assert 0 < waited < 1
    assert bucket(lim, operation=GET_ORDERS).rate == pytest.approx(16.7)


def test_sellers_regions_and_apps_have_separate_buckets(make_limiter) -> None:
    lim = make_limiter(margin=0)
    for _ in range(20):
        lim.acquire(ctx(GET_ORDERS), max_wait=0)
    lim.acquire(ctx(GET_ORDERS, seller="seller-b"), max_wait=0)
    lim.acquire(ctx(GET_ORDERS, region="EU"), max_wait=0)
    lim.acquire(ctx(GET_ORDERS, app="app-2"), max_wait=0)
    lim.acquire(ctx(GET_ORDER), max_wait=0)
    with pytest.raises(RateLimitWaitError):
        lim.acquire(ctx(GET_ORDERS), max_wait=0)
    assert len([b for b in lim.snapshot() if b.operation == GET_ORDERS]) == 4


def test_application_layer_caps_all_sellers_together(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0, app_limits={CATALOG: (5.0, 5)})
    start = clock.now
    times = []
    for i in range(20):
        lim.acquire(ctx(CATALOG, seller=f"s{i % 10}"), max_wait=60)
        times.append(clock.now - start)
    # each of 10 sellers alone could do 2 at once; the application allows 5 at once, then 5/s
    assert times[:5] == [0.0] * 5
    assert times[5:] == pytest.approx([0.2 * k for k in range(1, 16)])
    app = bucket(lim, layer="application", operation=CATALOG)
    assert (app.acquired, app.rate, app.burst) == (20, 5.0, 5)
    assert app.waits == 15
    sellers = [b for b in lim.snapshot() if b.layer == "seller"]
    assert len(sellers) == 10 and all(b.acquired == 2 for b in sellers)
    assert all(b.waits == 0 for b in sellers)


def test_a_call_takes_one_token_from_every_layer(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0, app_limits={CATALOG: (100.0, 100)})
    c = ctx(CATALOG)
    assert [lim.acquire(c, max_wait=5) for _ in range(4)] == pytest.approx([0, 0, 0.5, 0.5])
    assert bucket(lim, layer="application", operation=CATALOG).acquired == 4
    assert bucket(lim, operation=CATALOG).acquired == 4


def test_default_application_limit_for_getcatalogitem(make_limiter) -> None:
    lim = make_limiter()
    lim.acquire(ctx(CATALOG), max_wait=0)
    app = bucket(lim, layer="application", operation=CATALOG)
    assert app.rate == 250.0
    assert "application" not in {b.layer for b in lim.snapshot() if b.operation == GET_ORDER}


def test_report_type_quota_per_application(make_limiter) -> None:
    lim = make_limiter(margin=0)
    sales = {"reportType": "GET_SALES_AND_TRAFFIC_REPORT", "marketplaceIds": ["ATVPDKIKX0DER"]}
    other = {"reportType": "GET_FLAT_FILE_OPEN_LISTINGS_DATA", "marketplaceIds": ["X"]}
    assert lim.acquire(ctx(CREATE_REPORT, seller="s1", body=sales), max_wait=30) == 0.0
    # another seller of the same application: the application's quota is spent for 15 min
    with pytest.raises(CapacityWaitError) as info:
        lim.acquire(ctx(CREATE_REPORT, seller="s2", body=sales), max_wait=30)
    assert info.value.wait == pytest.approx(900)
    assert "report type GET_SALES_AND_TRAFFIC_REPORT" in str(info.value)
    assert "1 request per 900s" in str(info.value)
    # other report types and other applications are not affected
    assert lim.acquire(ctx(CREATE_REPORT, seller="s2", body=other), max_wait=0) == 0.0
    assert lim.acquire(ctx(CREATE_REPORT, seller="s2", app="app-2", body=sales),
                       max_wait=0) == 0.0
    report = [b for b in lim.snapshot() if b.layer == "report"]
    assert {(b.application, b.detail) for b in report} == {
        ("app-1", "GET_SALES_AND_TRAFFIC_REPORT"), ("app-2", "GET_SALES_AND_TRAFFIC_REPORT")}


def test_report_quotas_are_configurable(make_limiter) -> None:
    lim = make_limiter(margin=0, report_quotas={"GET_MY_REPORT": (1 / 60, 2)})
    body = {"reportType": "GET_MY_REPORT"}
    assert [lim.acquire(ctx(CREATE_REPORT, body=body), max_wait=0) for _ in range(2)] == [0, 0]
    with pytest.raises(CapacityWaitError, match="GET_MY_REPORT"):
        lim.acquire(ctx(CREATE_REPORT, body=body), max_wait=59)
    # the default quota list was replaced
    lim.acquire(ctx(CREATE_REPORT, body={"reportType": "GET_SALES_AND_TRAFFIC_REPORT"}),
                max_wait=0)
    lim.acquire(ctx(CREATE_REPORT, body={"reportType": "GET_SALES_AND_TRAFFIC_REPORT"}),
                max_wait=0)


# -- learning the real plan ------------------------------------------------------------------

def test_header_lowers_the_rate_at_once(make_limiter) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    lim.acquire(c, max_wait=0)
    lim.record(c, status=200, rate_limit_header="0.25")
    b = bucket(lim)
    assert (b.rate, b.learned_rate, b.last_header) == (0.25, 0.25, 0.25)
    for _ in range(29):
        lim.acquire(c, max_wait=0)
    assert lim.acquire(c, max_wait=10) == pytest.approx(4.0)


def test_header_raises_only_after_agreeing_responses(make_limiter) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    lim.record(c, status=200, rate_limit_header="50")        # one odd value
    lim.record(c, status=200, rate_limit_header="0.5")
    assert bucket(lim).rate == 0.5
    for _ in range(2):
        lim.record(c, status=200, rate_limit_header="2.0")
    assert bucket(lim).rate == 0.5                             # not yet: 2 of 3
    lim.record(c, status=200, rate_limit_header="1.5")
    b = bucket(lim)
    assert b.rate == 1.5 and b.learned_rate == 1.5             # the lowest of the three
    assert b.default_rate == 0.5


def test_missing_or_garbage_header_changes_nothing(make_limiter) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    for value in (None, "", "abc", "-1", "0", "nan", "inf"):
        lim.record(c, status=200, rate_limit_header=value)
    b = bucket(lim)
    assert (b.rate, b.learned_rate, b.last_header) == (0.5, None, None)


def test_429_after_a_raise_keeps_the_learned_rate_and_recovers(make_limiter,
                                                               clock: FakeClock) -> None:
    lim = make_limiter(margin=0, confirm=2)
    c = ctx(GET_ORDER)
    for _ in range(2):
        lim.record(c, status=200, rate_limit_header="2")
    assert bucket(lim).rate == 2.0
    lim.record(c, status=429, rate_limit_header=None)
    b = bucket(lim)
    # slowed down, not pinned: the learned rate stays, the back-off factor halves
    assert (b.rate, b.throttles, b.learned_rate, b.backoff_factor) == (1.0, 1, 2.0, 0.5)
    clock.advance(10)
    answer(lim, c, 8, header="2")                              # the server has capacity
    b = bucket(lim)
    assert (b.rate, b.learned_rate, b.backoff_factor) == (2.0, 2.0, 1.0)


def test_429_drains_backs_off_and_slows_then_recovers(make_limiter, clock: FakeClock,
                                                     rnd) -> None:
    lim = make_limiter(margin=0, max_backoff=60)
    c = ctx(GET_ORDER)
    lim.acquire(c, max_wait=0)                     # 29 tokens left
    lim.record(c, status=429, rate_limit_header=None)
    b = bucket(lim)
    assert b.tokens == 0.0 and b.rate == 0.25 and b.backoff_factor == 0.5
    # backoff: one interval at the halved rate (4s), no jitter with rnd=0
    assert lim.acquire(c, max_wait=10) == pytest.approx(4.0)
    lim.record(c, status=429, rate_limit_header=None)   # second in a row: 8s at rate 0.125
    assert bucket(lim).rate == 0.125
    assert lim.acquire(c, max_wait=100) == pytest.approx(16.0)
    rnd.value = 1.0
    lim.record(c, status=429, rate_limit_header=None)   # third: 4 * 16s = 64 -> capped at 60
    assert bucket(lim).rate == 0.0625
    assert lim.acquire(c, max_wait=100) == pytest.approx(60 * 1.25)
    for _ in range(8):
        lim.record(c, status=200, rate_limit_header=None)
    assert bucket(lim).backoff_factor == pytest.approx(0.125 * 1.1 ** 8)
    for _ in range(30):
        lim.record(c, status=200, rate_limit_header=None)
    b = bucket(lim)
    assert (b.backoff_factor, b.rate, b.throttles) == (1.0, 0.5, 3)


def test_backoff_never_drops_below_the_floor(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    for _ in range(10):
        lim.record(c, status=429, rate_limit_header=None)
        clock.advance(1000)
    assert bucket(lim).backoff_factor == pytest.approx(1 / 16)


def test_429s_of_requests_already_on_the_wire_slow_down_once(make_limiter,
                                                            clock: FakeClock) -> None:
    """Ten requests in flight all come back 429 at once: one slow-down, not ten (which would
    drop to the floor and leave the quota unused for a long time)."""
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    for _ in range(10):
        lim.acquire(c, max_wait=0)
    answer(lim, c, 10, status=429)
    b = bucket(lim)
    assert (b.backoff_factor, b.throttles) == (0.5, 10)
    clock.advance(5)                            # past the back-off: a new 429 counts again
    answer(lim, c, 1, status=429)
    assert bucket(lim).backoff_factor == 0.25


def test_a_slow_down_does_not_push_back_the_callers_already_queued(make_limiter,
                                                                   clock: FakeClock) -> None:
    """Callers that reserved slots sleep until them whatever happens; a 429 must not make the
    limiter believe their tokens take twice as long (that left the bucket idle for seconds:
    the "dip" of bench/quota.py)."""
    lim = make_limiter(margin=0, sleep=lambda seconds: None, send_margin=None)
    c = ctx(CATALOG)                              # 2/s, burst 2
    waits = [lim.acquire(c, max_wait=60) for _ in range(22)]
    assert waits[-1] == pytest.approx(10.0)       # 20 queued behind the burst, 0.5s apart
    answer(lim, c, 1, status=429)                 # rate halves to 1/s
    # the next caller comes after the queue (10.5s) plus the back-off at 1/s, not at 21s
    assert lim.acquire(c, max_wait=60) == pytest.approx(11.0, abs=0.6)


def test_unknown_plan_starts_conservative_and_learns(make_limiter) -> None:
    key = "customer_feedback_2024_06_01.getItemReviewTopics"
    lim = make_limiter(margin=0, confirm=2)
    c = ctx(key)
    assert lim.acquire(c, max_wait=0) == 0.0
    assert lim.acquire(c, max_wait=5) == pytest.approx(2.0)
    b = bucket(lim, operation=key)
    assert (b.rate, b.burst) == (0.5, 1)
    for _ in range(2):
        lim.record(c, status=200, rate_limit_header="1")
    assert bucket(lim, operation=key).rate == 1.0


def test_rate_scale_and_plans_override(make_limiter) -> None:
    lim = make_limiter(margin=0, rate_scale=10, plans={GET_ORDERS: (1.0, 2)})
    lim.acquire(ctx(GET_ORDER), max_wait=0)
    lim.acquire(ctx(GET_ORDERS), max_wait=0)
    assert bucket(lim).rate == 5.0
    b = bucket(lim, operation=GET_ORDERS)
    assert (b.rate, b.burst) == (10.0, 2)


def test_learned_rate_carries_over_wait_math(make_limiter) -> None:
    """Changing the rate keeps the tokens the bucket holds: a raise shortens queued debt."""
    lim = make_limiter(margin=0, confirm=1)
    c = ctx(GET_ORDER)
    for _ in range(30):
        lim.acquire(c, max_wait=0)
    lim.record(c, status=200, rate_limit_header="1.0")
    assert lim.acquire(c, max_wait=5) == pytest.approx(1.0)


async def test_acquire_async(make_limiter, clock: FakeClock) -> None:
    lim = make_limiter(margin=0)
    c = ctx(GET_ORDER)
    waits = [await lim.acquire_async(c, max_wait=10) for _ in range(31)]
    assert waits[-1] == pytest.approx(2.0) and clock.now == pytest.approx(1002.0)
    await lim.record_async(c, status=200, rate_limit_header="0.25")
    assert bucket(lim).rate == 0.25
    answer(lim, c, 30)
    with pytest.raises(CapacityWaitError):
        await lim.acquire_async(c, max_wait=1)
