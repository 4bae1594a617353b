"""The emulator's Reports API driven by hand with httpx, as Amazon's docs describe it
(sp-api-facts.md §7-8): every report type of the metadata gets a document in its format,
restricted types need an RDT for their document, FATAL and CANCELLED come on demand, and flat
files carry their marketplace's charset in Content-Type."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.workflows.report_types import report_types
from tools.catalog_overlay import RESTRICTED_REPORT_TYPES

BASE = "http://127.0.0.1:8787"
US, GB, DE, JP = "ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A1VC38T7YXB528"
SCHEMAS = Path(__file__).resolve().parents[3] / ".." / "shared" / "sp-api-models" / "schemas" / \
    "reports"
EU_SELLER, JP_SELLER = 11, 2  # seed 0, 12 sellers: GB/DE/IT/ES and JP/AU (docs/emulator.md)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Emulator, Clock, httpx.Client]]:
    clock = Clock()
    emu = Emulator(EmulatorConfig(rate_limits=False, seed=0, sellers=12, orders=100,
                                  report_seconds=3.0, clock=clock))
    with httpx.Client(transport=emu.sync_transport(), base_url=BASE) as http:
        yield emu, clock, http


def token(emu: Emulator, seller: int = 0) -> dict[str, str]:
    return {"x-amz-access-token": emu.access_token(seller)}


def run_report(world: Any, rtype: str, mps: list[str], seller: int = 0,
               options: dict[str, str] | None = None) -> dict[str, Any]:
    emu, clock, http = world
    body: dict[str, Any] = {"reportType": rtype, "marketplaceIds": mps}
    if options:
        body["reportOptions"] = options
    r = http.post("/reports/2021-06-30/reports", json=body, headers=token(emu, seller))
    assert r.status_code == 202, r.text
    rid = r.json()["reportId"]
    clock.now += 5  # past the emulator's report_seconds
    r = http.get(f"/reports/2021-06-30/reports/{rid}", headers=token(emu, seller))
    assert r.status_code == 200, r.text
    return dict(r.json())


def rdt_for(world: Any, doc_id: str, seller: int = 0) -> str:
    emu, _, http = world
    r = http.post("/tokens/2021-03-01/restrictedDataToken", headers=token(emu, seller),
                  json={"restrictedResources": [
                      {"method": "GET", "path": f"/reports/2021-06-30/documents/{doc_id}"}]})
    assert r.status_code == 200, r.text
    return str(r.json()["restrictedDataToken"])


def document(world: Any, report: dict[str, Any], seller: int = 0) -> httpx.Response:
    emu, _, http = world
    doc_id = report["reportDocumentId"]
    headers = token(emu, seller)
    if report["reportType"] in RESTRICTED_REPORT_TYPES:
        headers = {"x-amz-access-token": rdt_for(world, doc_id, seller)}
    r = http.get(f"/reports/2021-06-30/documents/{doc_id}", headers=headers)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    got = http.get(url)
    assert got.status_code == 200
    return got


def test_every_report_type_of_the_metadata_is_done_with_a_document_in_its_format(world: Any
                                                                                 ) -> None:
    for name, meta in sorted(report_types().items()):
        report = run_report(world, name, [US])
        assert report["processingStatus"] == "DONE", name
        got = document(world, report)
        data = gzip.decompress(got.content)
        ctype = got.headers["content-type"]
        if meta.format in ("tsv", "csv"):
            assert ctype.startswith("text/csv" if meta.format == "csv"
                                    else "text/tab-separated-values"), (name, ctype)
            text = data.decode("utf-8")
            if meta.format == "csv":
                rows = list(csv.reader(io.StringIO(text)))
            elif meta.quoting == "quoted":
                rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
            else:
                rows = [line.split("\t") for line in text.splitlines()]
            assert len(rows) >= 2, name  # a header and data
            assert all(len(r) == len(rows[0]) for r in rows), name
            assert len(rows[0]) >= 5 and all(rows[0]), name
            filled = sum(1 for v in rows[1] if v)
            assert filled >= len(rows[0]) // 3, (name, rows[0], rows[1])
        elif meta.format == "json":
            assert ctype.startswith("application/json"), name
            doc = json.loads(data)
            for schema_file in meta.schemas:
                path = SCHEMAS / schema_file
                if path.exists():
                    required = json.loads(path.read_text(encoding="utf-8")).get("required", [])
                    # vendor and seller schemas of one type differ; one of them must fit
                    if set(required) <= set(doc):
                        break
            else:
                if meta.schemas and (SCHEMAS / meta.schemas[0]).exists():
                    pytest.fail(f"{name}: {sorted(doc)} lacks the schema's required keys")
            assert any(isinstance(v, list) and v for v in doc.values()), name
        elif meta.format == "xml":
            assert ctype.startswith("text/xml"), name
            root = ET.fromstring(data)  # noqa: S314 - our own emulator's output
            assert len(root) >= 1, name
        elif meta.format == "pdf":
            assert ctype == "application/pdf" and data.startswith(b"%PDF-"), name


def test_the_restricted_types_are_the_sixteen_of_the_tokens_guide(world: Any) -> None:
    restricted = {n for n, t in report_types().items() if t.restricted}
    assert restricted == set(RESTRICTED_REPORT_TYPES) and len(restricted) == 16
    emu, _, http = world
    for name in ("GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING", "GET_VAT_TRANSACTION_DATA"):
        report = run_report(world, name, [US])
        doc_id = report["reportDocumentId"]
        plain = http.get(f"/reports/2021-06-30/documents/{doc_id}", headers=token(emu))
        assert plain.status_code == 403, name
        generic = http.post("/tokens/2021-03-01/restrictedDataToken", headers=token(emu),
                            json={"restrictedResources": [{
                                "method": "GET",
                                "path": "/reports/2021-06-30/documents/{reportDocumentId}"}]})
        assert generic.status_code == 400  # getReportDocument needs the specific path
        assert document(world, report).status_code == 200
    plain_type = run_report(world, "GET_MERCHANT_LISTINGS_ALL_DATA", [US])
    r = http.get(f"/reports/2021-06-30/documents/{plain_type['reportDocumentId']}",
                 headers=token(emu))
    assert r.status_code == 200


def test_fatal_on_demand_with_an_error_document(world: Any) -> None:
    report = run_report(world, "GET_SALES_AND_TRAFFIC_REPORT", [US],
                        options={"emulatorOutcome": "FATAL"})
    assert report["processingStatus"] == "FATAL" and report["reportDocumentId"]
    body = json.loads(gzip.decompress(document(world, report).content))
    assert report["reportId"] in body["errorDetails"]


def test_fatal_without_document_and_cancelled_on_demand(world: Any) -> None:
    fatal = run_report(world, "GET_MERCHANT_LISTINGS_ALL_DATA", [US],
                       options={"emulatorOutcome": "FATAL_NO_DOCUMENT"})
    assert fatal["processingStatus"] == "FATAL" and "reportDocumentId" not in fatal
    cancelled = run_report(world, "GET_MERCHANT_LISTINGS_ALL_DATA", [US],
                           options={"emulatorOutcome": "CANCELLED"})
    assert cancelled["processingStatus"] == "CANCELLED" and "reportDocumentId" not in cancelled


def test_eu_flat_files_are_cp1252_and_say_so(world: Any) -> None:
    report = run_report(world, "GET_MERCHANT_LISTINGS_ALL_DATA", [DE], seller=EU_SELLER)
    got = document(world, report, seller=EU_SELLER)
    assert got.headers["content-type"] == "text/tab-separated-values; charset=Cp1252"
    data = gzip.decompress(got.content)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert "Größe M, 5 € Rabatt" in text and b"\x80" in data  # the euro sign is 0x80


def test_jp_flat_files_are_windows_31j(world: Any) -> None:
    report = run_report(world, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", [JP],
                        seller=JP_SELLER)
    assert report["processingStatus"] == "DONE"
    got = document(world, report, seller=JP_SELLER)
    assert got.headers["content-type"] == "text/tab-separated-values; charset=Windows-31J"
    text = gzip.decompress(got.content).decode("cp932")
    assert "限定版 ①" in text  # ① exists in cp932, not in plain Shift_JIS


def test_other_marketplaces_and_json_reports_are_utf8(world: Any) -> None:
    got = document(world, run_report(world, "GET_MERCHANT_LISTINGS_ALL_DATA", [US]))
    assert got.headers["content-type"] == "text/tab-separated-values; charset=UTF-8"
    got = document(world, run_report(world, "GET_SALES_AND_TRAFFIC_REPORT", [GB],
                                     seller=EU_SELLER), seller=EU_SELLER)
    assert got.headers["content-type"] == "application/json; charset=UTF-8"
    doc = json.loads(gzip.decompress(got.content).decode("utf-8"))
    assert doc["reportSpecification"]["marketplaceIds"] == [GB]
