"""Data Kiosk 2023-11-15 in the simulation, through plain httpx against the in-process app:
the lifecycle, documents built from the dataset's schema, pagination, FATAL and CANCELLED."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig

from .conftest import Clock

BASE = "/dataKiosk/2023-11-15"
BY_DATE = """
query ByDate {
  analytics_salesAndTraffic_2024_04_24 {
    salesAndTrafficByDate(startDate: "2026-01-01", endDate: "%s", aggregateBy: DAY,
                          marketplaceIds: ["ATVPDKIKX0DER"]) {
      startDate
      endDate
      marketplaceId
      sales { orderedProductSales { amount currencyCode } unitsOrdered }
      traffic { pageViews }
    }
  }
}
"""


@pytest.fixture
def sim_clock() -> Clock:
    return Clock()


@pytest.fixture
def app(sim_clock: Clock) -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=10, seed=3, clock=sim_clock))


@pytest.fixture
def http(app: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=app.sync_transport(), base_url="http://emulator",
                      headers={"x-amz-access-token": app.access_token()}) as c:
        yield c


def create(http: httpx.Client, query: str, token: str | None = None) -> str:
    body: dict[str, Any] = {"query": query}
    if token:
        body["paginationToken"] = token
    r = http.post(f"{BASE}/queries", json=body)
    assert r.status_code == 202, r.text
    return str(r.json()["queryId"])


def finished(http: httpx.Client, clock: Clock, qid: str) -> dict[str, Any]:
    clock.advance(5)
    r = http.get(f"{BASE}/queries/{qid}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def document(http: httpx.Client, doc_id: str) -> str:
    r = http.get(f"{BASE}/documents/{doc_id}")
    assert r.status_code == 200, r.text
    assert r.json()["documentId"] == doc_id
    d = httpx.Client(transport=http._transport).get(r.json()["documentUrl"])
    assert d.status_code == 200
    return d.content.decode("utf-8")


def test_lifecycle_and_a_document_of_the_selected_fields(http: httpx.Client,
                                                         sim_clock: Clock) -> None:
    qid = create(http, BY_DATE % "2026-01-07")
    first = http.get(f"{BASE}/queries/{qid}").json()
    assert first["processingStatus"] == "IN_QUEUE" and first["query"].strip().startswith("query")
    sim_clock.advance(1.5)
    assert http.get(f"{BASE}/queries/{qid}").json()["processingStatus"] == "IN_PROGRESS"
    done = finished(http, sim_clock, qid)
    assert done["processingStatus"] == "DONE"
    assert "pagination" not in done and "errorDocumentId" not in done
    lines = document(http, done["dataDocumentId"]).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["startDate"] for r in records] == [f"2026-01-0{d}" for d in range(1, 8)]
    for r in records:
        assert set(r) == {"startDate", "endDate", "marketplaceId", "sales", "traffic"}
        assert r["startDate"] == r["endDate"] and r["marketplaceId"] == "ATVPDKIKX0DER"
        assert set(r["sales"]) == {"orderedProductSales", "unitsOrdered"}
        assert r["sales"]["orderedProductSales"]["currencyCode"] == "USD"
        assert isinstance(r["sales"]["orderedProductSales"]["amount"], float)
        assert isinstance(r["sales"]["unitsOrdered"], int)
        assert set(r["traffic"]) == {"pageViews"}


def test_pagination_across_documents(http: httpx.Client, sim_clock: Clock) -> None:
    query = "# emulatorPageSize: 10\n" + BY_DATE % "2026-01-25"
    token = None
    pages = []
    while True:
        q = finished(http, sim_clock, create(http, query, token))
        assert q["processingStatus"] == "DONE"
        pages.append([json.loads(x) for x in document(http, q["dataDocumentId"]).splitlines()])
        token = (q.get("pagination") or {}).get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    days = [r["startDate"] for p in pages for r in p]
    assert days == sorted(set(days)) and len(days) == 25
    # the token belongs to its query
    q = finished(http, sim_clock, create(http, query))
    r = http.post(f"{BASE}/queries", json={"query": BY_DATE % "2026-01-25",
                                          "paginationToken": q["pagination"]["nextToken"]})
    assert r.status_code == 400 and "paginationToken" in r.text


def test_by_asin_records_name_the_sellers_listings(app: Emulator, http: httpx.Client,
                                                   sim_clock: Clock) -> None:
    query = """{ analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByAsin(
        startDate: "2026-01-01" endDate: "2026-01-31" aggregateBy: CHILD
        marketplaceIds: ["ATVPDKIKX0DER"]) { childAsin sku sales { unitsOrdered } } } }"""
    q = finished(http, sim_clock, create(http, query))
    rows = [json.loads(x) for x in document(http, q["dataDocumentId"]).splitlines()]
    listings = app.simulation._state.d["listings"][app.simulation.seller_ids[0]].values()
    assert {r["sku"] for r in rows} <= {x["sku"] for x in listings}
    assert rows and all(set(r) == {"childAsin", "sku", "sales"} for r in rows)


@pytest.mark.parametrize(("query", "says"), [
    ("{ analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate(startDate: \"2026-01-01\""
     " endDate: \"2026-01-02\" aggregateBy: DAY marketplaceIds: [\"ATVPDKIKX0DER\"]) "
     "{ startDate colour } } }", "Field 'colour' in type 'SalesAndTrafficByDate' is undefined"),
    ("{ analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate { startDate }",
     "Syntax error"),
    ("{ analytics_nothing_2020 { x } }", "Field 'analytics_nothing_2020' in type 'Query'"),
    ("{ analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate { sales } } }",
     "must have a selection of subfields"),
])
def test_a_bad_query_ends_fatal_with_an_error_document(http: httpx.Client, sim_clock: Clock,
                                                       query: str, says: str) -> None:
    q = finished(http, sim_clock, create(http, query))
    assert q["processingStatus"] == "FATAL" and "dataDocumentId" not in q
    error = json.loads(document(http, q["errorDocumentId"]))
    assert says in error["errorMessage"]


@pytest.mark.parametrize(("outcome", "status", "error_doc"), [
    ("FATAL", "FATAL", True), ("FATAL_NO_DOCUMENT", "FATAL", False),
    ("CANCELLED", "CANCELLED", False), ("NO_DATA", "DONE", False)])
def test_forced_outcomes(http: httpx.Client, sim_clock: Clock, outcome: str, status: str,
                         error_doc: bool) -> None:
    q = finished(http, sim_clock, create(http, f"# emulatorOutcome: {outcome}\n"
                                         + BY_DATE % "2026-01-03"))
    assert q["processingStatus"] == status
    assert "dataDocumentId" not in q
    assert ("errorDocumentId" in q) is error_doc


def test_cancel_list_and_errors(http: httpx.Client, sim_clock: Clock) -> None:
    qid = create(http, BY_DATE % "2026-01-03")
    assert http.delete(f"{BASE}/queries/{qid}").status_code == 204
    assert http.delete(f"{BASE}/queries/{qid}").status_code == 204  # a no-op
    sim_clock.advance(5)
    assert http.get(f"{BASE}/queries/{qid}").json()["processingStatus"] == "CANCELLED"
    done = finished(http, sim_clock, create(http, BY_DATE % "2026-01-03"))
    assert http.delete(f"{BASE}/queries/{done['queryId']}").status_code == 400
    listed = http.get(f"{BASE}/queries", params={"processingStatuses": "CANCELLED"}).json()
    assert [q["queryId"] for q in listed["queries"]] == [qid]
    page = http.get(f"{BASE}/queries", params={"pageSize": 1}).json()
    assert len(page["queries"]) == 1 and page["pagination"]["nextToken"]
    assert http.get(f"{BASE}/queries/999").status_code == 404
    assert http.get(f"{BASE}/documents/amzn1.tortuga.4.na.nope").status_code == 404
    assert http.post(f"{BASE}/queries", json={"query": ""}).status_code == 400
    assert http.post(f"{BASE}/queries", json={"query": "x" * 8001}).status_code == 400
