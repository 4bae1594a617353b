"""bench/reports.py still runs: it generates the document it claims and counts every row.

Timings are the bench's business, never asserted here.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_document_is_an_orders_flat_file(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import reports as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    path = tmp_path / "r.tsv.gz"
    size = bench.generate(path, 1)
    data = gzip.decompress(path.read_bytes())
    assert len(data) == size >= 10**6
    lines = data.decode().splitlines()
    from sellerkit.emulator.simulation.reports import ORDER_COLUMNS

    assert lines[0].split("\t") == ORDER_COLUMNS
    assert all(len(line.split("\t")) == len(ORDER_COLUMNS) for line in lines[1:])


def test_bench_streams_rows_through_the_document_reader(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reports.py"), "--size-mb", "1", "--paths",
         "rows,rows-http,fetch,fetch-async", "--json", "--keep", str(tmp_path / "r.tsv.gz")],
        capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout)
    lines = gzip.decompress((tmp_path / "r.tsv.gz").read_bytes()).count(b"\n")
    for path in ("rows", "rows-http", "fetch", "fetch-async"):
        assert result[path]["rows"] == lines - 1, result
        assert result[path]["bytes"] == round(result["uncompressed_mb"] * 1e6)
        assert result[path]["mb_per_s"] > 0 and result[path]["rss_mb"] > 0
