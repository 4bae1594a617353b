"""The Data Kiosk schema data the emulator checks queries against is fresh, and holds what
Amazon's GraphQL schemas say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sellerkit.emulator.simulation import datakiosk

from ...conftest import models_file

ROOT = Path(__file__).resolve().parents[3]


def test_the_schema_data_is_fresh() -> None:
    source = models_file("schemas/data-kiosk/analytics_salesAndTraffic_2024_04_24.graphql")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_datakiosk_schema.py"),
                           "--check", "--models", str(source.parents[2])],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_the_datasets_and_their_types() -> None:
    ds = datakiosk.schema()
    assert sorted(ds) == ["analytics_economics_2024_03_15",
                          "analytics_salesAndTraffic_2024_04_24",
                          "analytics_vendorAnalytics_2024_09_30"]
    st = ds["analytics_salesAndTraffic_2024_04_24"]
    assert st["types"][st["root"]]["salesAndTrafficByDate"] == ["SalesAndTrafficByDate", True]
    assert st["types"]["Amount"] == {"amount": ["Float", False],
                                     "currencyCode": ["String", False]}
    assert st["enums"]["DateGranularity"] == ["DAY", "MONTH", "WEEK"]
    assert "Long" in st["scalars"]


def test_a_query_plan_names_the_bad_field_and_its_path() -> None:
    ok = datakiosk.plan('query Q { analytics_economics_2024_03_15 { economics(startDate: '
                        '"2026-01-01", endDate: "2026-01-02") { sales { unitsOrdered } } } }')
    assert ok[0] == "analytics_economics_2024_03_15" and ok[1]["name"] == "economics"
    with pytest.raises(datakiosk.QueryError, match="'nope' in type 'Sales' is undefined @ "
                       "'analytics_economics_2024_03_15/economics/sales/nope'"):
        datakiosk.plan("{ analytics_economics_2024_03_15 { economics { sales { nope } } } }")


def test_every_answer_matches_the_model_and_sellers_are_apart(call: Any, sim: Any,
                                                             sim_clock: Any) -> None:
    """The ``call`` fixture checks each JSON answer against the operation's response schema."""
    q = ('{ analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate(startDate: '
         '"2026-01-01", endDate: "2026-01-03", aggregateBy: DAY, marketplaceIds: '
         '["ATVPDKIKX0DER"]) { startDate } } }')
    qid = call("data_kiosk_2023_11_15.createQuery", body={"query": q}).body["queryId"]
    bad = call("data_kiosk_2023_11_15.createQuery", body={"query": "{ nope }"}).body["queryId"]
    assert call("data_kiosk_2023_11_15.getQuery", queryId=qid).body["processingStatus"] == \
        "IN_QUEUE"
    sim_clock.advance(5)
    done = call("data_kiosk_2023_11_15.getQuery", queryId=qid).body
    assert done["processingStatus"] == "DONE"
    fatal = call("data_kiosk_2023_11_15.getQuery", queryId=bad).body
    assert fatal["processingStatus"] == "FATAL" and fatal["errorDocumentId"]
    listed = call("data_kiosk_2023_11_15.getQueries", processingStatuses=["DONE", "FATAL"]).body
    assert {x["queryId"] for x in listed["queries"]} == {qid, bad}
    doc = call("data_kiosk_2023_11_15.getDocument", documentId=done["dataDocumentId"]).body
    assert doc["documentUrl"].startswith("http://127.0.0.1:8787/_emulator/documents/")
    assert call("data_kiosk_2023_11_15.cancelQuery", queryId=qid).status == 400
    other = sim.seller_ids[1]
    assert call("data_kiosk_2023_11_15.getQuery", queryId=qid, seller=other).status == 404
    assert call("data_kiosk_2023_11_15.getDocument", documentId=done["dataDocumentId"],
                seller=other).status == 404
    assert call("data_kiosk_2023_11_15.getQueries", seller=other).body["queries"] == []
    # a report document id is not a Data Kiosk document, nor the reverse
    assert call("reports_2021_06_30.getReportDocument",
                reportDocumentId=done["dataDocumentId"]).status == 404
