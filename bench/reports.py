"""How fast does a big gzip TSV report turn into rows, and how much memory does it take?

    python3 bench/reports.py                       # 1 GiB uncompressed (generated once)
    python3 bench/reports.py --size-mb 100         # a smaller document while developing
    python3 bench/reports.py --json                # figures as JSON on stdout
    python3 bench/reports.py --keep /tmp/r.tsv.gz  # reuse (or keep) the generated document

The document is an orders-style flat file (32 columns, ~330 bytes a row, UTF-8), generated in
this process chunk by chunk and gzip-compressed (level 6) to a temporary file. Each path then
runs in its own process, so peak RSS (``resource.getrusage``) is that path's alone:

    rows        sellerkit ``Document.from_file(...).rows()``: dict rows, streaming from disk
    rows-http   the same rows, downloaded with httpx from a loopback HTTP server (no
                Content-Encoding, so sellerkit finds the gzip by its magic bytes)
    fetch       the whole client path: ``SellingPartner.reports.fetch_existing(document_id=)``
                against the same loopback server, which also stands in for LWA and
                getReportDocument (whose ``url`` points at the document); the body streams
                through the client's keep-alive pool (``sp.stream_download``) into ``rows()``
    fetch-async the same with ``AsyncSellingPartner`` (asyncio pool, ``async for``)
    arrow       sellerkit ``Document.to_arrow()`` (pyarrow's CSV reader), if pyarrow is installed
    arrow-batches  ``Document.arrow_batches()``: pyarrow's streaming CSV reader, bounded memory
    spapi       python-amazon-sp-api 2.1.35's download path on the same loopback URL: httpx
                ``get`` -> ``decompress_bytes`` -> ``decode_document`` (what
                ``get_report_document(download=True)`` does), then ``csv.DictReader`` for rows.
                It runs in a private venv (``--spapi-python``, else created under
                ``$TMPDIR/sellerkit-bench-spapi``); it is never a sellerkit dependency.

MB/s are of uncompressed data (MB = 10^6 bytes) on one core; the issue's targets are >= 45 MB/s
for dict rows with peak RSS under 100 MB whatever the size, and >= 200 MB/s for columnar.
Timings are never asserted anywhere; the host may be loaded.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

REPORT_TYPE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
CONTENT_TYPE = "text/tab-separated-values; charset=UTF-8"
WORDS = ("Organic", "Cotton", "Tea", "Towel", "Set", "Blue", "Large", "Kit", "Steel", "Lamp",
         "Café", "Bottle", "Pack", "Premium", "Mini", "Garden", "Hose", "Cable", "USB-C", "Mug")
CITIES = (("Seattle", "WA", "98101"), ("Austin", "TX", "73301"), ("Denver", "CO", "80202"),
          ("Miami", "FL", "33101"), ("Boston", "MA", "02108"), ("Portland", "OR", "97201"))


def _row(rng: random.Random, n: int) -> str:
    oid = f"{rng.randrange(100, 999)}-{rng.randrange(10**6, 10**7)}-{rng.randrange(10**6, 10**7)}"
    day = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    ts = f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+00:00"
    qty = rng.randrange(1, 5)
    price = rng.randrange(199, 99999) / 100
    city, state, zipc = rng.choice(CITIES)
    name = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 12)))
    business = rng.random() < 0.1
    return "\t".join((
        oid, f"M-{n:09d}", ts, ts, rng.choice(("Shipped", "Pending", "Shipping", "Cancelled")),
        rng.choice(("Amazon", "Merchant")), "Amazon.com", "", "Standard", name,
        f"SKU-{rng.randrange(10**5):05d}", f"B0{rng.randrange(10**8):08d}",
        "Shipped", str(qty), "USD", f"{price * qty:.2f}", f"{price * qty * 0.08:.2f}",
        f"{rng.choice((0, 4.99, 7.5)):.2f}", "0.00", "", "", "", "", city, state, zipc, "US",
        "", "true" if business else "false", f"PO-{n:07d}" if business else "", "", "false",
    ))


def generate(path: Path, size_mb: int) -> int:
    """Write a gzip TSV of at least ``size_mb`` MB uncompressed; returns its size."""
    target = size_mb * 10**6
    rng = random.Random(8)  # noqa: S311 - test data
    pool = [_row(rng, n) for n in range(20000)]  # 6+ MB of distinct rows: beyond gzip's window
    # the emulator's orders flat-file columns (imported here: the workers measure RSS)
    from sellerkit.emulator.simulation.reports import ORDER_COLUMNS

    header = "\t".join(ORDER_COLUMNS) + "\n"
    written = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6,
                                                 mtime=0) as gz:
        gz.write(header.encode())
        written += len(header)
        n = 0
        while written < target:
            block = "\n".join(pool[(n + i) % len(pool)] for i in range(2000)) + "\n"
            n += 2000
            data = block.encode()
            gz.write(data)
            written += len(data)
    return written


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


DOCUMENT_ID = "amzn1.spdoc.1.4.na.bench"


class _Handler(http.server.BaseHTTPRequestHandler):
    path_on_disk = ""

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - LWA, for the fetch paths
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._json({"access_token": "Atza|bench", "token_type": "bearer", "expires_in": 3600})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/reports/2021-06-30/documents/"):  # getReportDocument
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            self._json({"reportDocumentId": DOCUMENT_ID, "compressionAlgorithm": "GZIP",
                        "url": f"{host}/document?X-Amz-Signature=bench"})
            return
        size = os.path.getsize(self.path_on_disk)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(self.path_on_disk, "rb") as fh:
            while chunk := fh.read(1 << 20):
                self.wfile.write(chunk)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def serve(path: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type("H", (_Handler,), {"path_on_disk": str(path)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/document"


# workers: each runs in its own process and prints one JSON line ---------------------------------


def worker_rows(path: str, url: str | None) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from sellerkit.workflows.documents import Document

    start = time.perf_counter()
    cpu = time.process_time()
    if url:
        import httpx
        with httpx.Client(timeout=60) as client, client.stream("GET", url) as resp:
            doc = Document(resp.iter_raw(1 << 18), document_id="bench",
                           content_type=resp.headers.get("content-type"),
                           content_encoding=resp.headers.get("content-encoding"),
                           compression_algorithm="GZIP", report_type=REPORT_TYPE)
            rows = sum(1 for _ in doc.rows())
    else:
        doc = Document.from_file(path, document_id="bench", content_type=CONTENT_TYPE,
                                 compression_algorithm="GZIP", report_type=REPORT_TYPE)
        rows = sum(1 for _ in doc.rows())
    return {"rows": rows, "bytes": doc.stats.bytes_out, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu, "rss_mb": _rss_mb()}


def worker_fetch(url: str, asynchronous: bool) -> dict[str, Any]:
    """reports.fetch_existing(document_id=...) through the client: getReportDocument, then the
    streamed download into rows()."""
    sys.path.insert(0, str(ROOT))
    import asyncio

    from sellerkit import AsyncSellingPartner, SellingPartner

    base = url.rsplit("/", 1)[0]
    kw: dict[str, Any] = dict(client_id="amzn1.application-oa2-client.bench",
                              client_secret="bench", refresh_token="Atzr|bench", endpoint=base,
                              lwa_endpoint=base + "/auth/o2/token", rate_limiter=False)
    start = time.perf_counter()
    cpu = time.process_time()
    if asynchronous:
        async def run() -> tuple[int, Any]:
            async with AsyncSellingPartner(**kw) as sp:
                report = await sp.reports.fetch_existing(document_id=DOCUMENT_ID,
                                                         report_type=REPORT_TYPE)
                n = 0
                async for _ in report.rows():
                    n += 1
                return n, report
        rows, report = asyncio.run(run())
    else:
        with SellingPartner(**kw) as sp:
            report = sp.reports.fetch_existing(document_id=DOCUMENT_ID, report_type=REPORT_TYPE)
            rows = sum(1 for _ in report.rows())
    return {"rows": rows, "bytes": report.stats.bytes_out,
            "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "rss_mb": _rss_mb()}


def worker_arrow(path: str, batches: bool = False) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return {"skipped": "pyarrow is not installed (pip install 'sellerkit[columnar]')"}
    from sellerkit.workflows.documents import Document

    start = time.perf_counter()
    cpu = time.process_time()
    doc = Document.from_file(path, document_id="bench", content_type=CONTENT_TYPE,
                             report_type=REPORT_TYPE)
    if batches:
        rows = sum(b.num_rows for b in doc.arrow_batches())
    else:
        rows = doc.to_arrow().num_rows
    return {"rows": rows, "bytes": doc.stats.bytes_out,
            "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "rss_mb": _rss_mb()}


SPAPI_WORKER = r'''
import csv, io, json, resource, sys, time
import httpx
from sp_api.util.report_document import decompress_bytes, decode_document, resolve_character_code
url = sys.argv[1]
start = time.perf_counter(); cpu = time.process_time()
# what Reports.get_report_document(download=True) does once it has the document URL
with httpx.Client(timeout=120) as client:
    response = client.get(url)
    code = resolve_character_code(response.encoding, fallback="iso-8859-1",
                                  response_charset_encoding=getattr(response, "charset_encoding", None))
    document = decompress_bytes(response.content, "GZIP")
    text = decode_document(document, code)
decoded = time.perf_counter() - start
rows = sum(1 for _ in csv.DictReader(io.StringIO(text), delimiter="\t"))
print(json.dumps({"rows": rows, "bytes": len(document), "seconds": time.perf_counter() - start,
                  "decode_seconds": decoded, "cpu_seconds": time.process_time() - cpu,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "charset": code}))
'''


def spapi_python(arg: str | None) -> str | None:
    if arg:
        return arg
    venv = Path(tempfile.gettempdir()) / "sellerkit-bench-spapi"
    py = venv / "bin" / "python"
    if not py.exists():
        try:
            subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
            subprocess.check_call([str(py), "-m", "pip", "install", "-q",
                                   "python-amazon-sp-api==2.1.35"])
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"python-amazon-sp-api unavailable: {exc}", file=sys.stderr)
            return None
    return str(py)


def _run(cmd: list[str]) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                f"exit {proc.returncode}"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--size-mb", type=int, default=1024, help="uncompressed size (10^6 bytes)")
    ap.add_argument("--keep", type=Path, help="generated document path (reused if it exists)")
    ap.add_argument("--paths",
                    default="rows,rows-http,fetch,fetch-async,arrow,arrow-batches,spapi")
    ap.add_argument("--spapi-python", help="a python with python-amazon-sp-api 2.1.35")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        if args.worker == "rows":
            result = worker_rows(args.file, args.url)
        elif args.worker in ("fetch", "fetch-async"):
            result = worker_fetch(args.url, asynchronous=args.worker == "fetch-async")
        else:
            result = worker_arrow(args.file, batches=args.worker == "arrow-batches")
        print(json.dumps(result))
        return 0

    tmp = None
    if args.keep and args.keep.exists():
        path = args.keep
        with gzip.open(path, "rb") as fh:
            size = sum(len(b) for b in iter(lambda: fh.read(1 << 20), b""))
    else:
        if args.keep:
            path = args.keep
        else:
            tmp = tempfile.TemporaryDirectory(prefix="sellerkit-bench-reports-")
            path = Path(tmp.name) / "report.tsv.gz"
        t0 = time.perf_counter()
        size = generate(path, args.size_mb)
        if not args.json:
            print(f"generated {size / 1e6:,.0f} MB ({path.stat().st_size / 1e6:,.0f} MB gzip) "
                  f"in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    server, url = serve(path)
    results: dict[str, Any] = {"uncompressed_mb": size / 1e6,
                               "gzip_mb": path.stat().st_size / 1e6}
    me = [sys.executable, str(Path(__file__).resolve())]
    try:
        for name in args.paths.split(","):
            if name == "rows":
                results[name] = _run([*me, "--worker", "rows", "--file", str(path)])
            elif name == "rows-http":
                results[name] = _run([*me, "--worker", "rows", "--file", str(path), "--url", url])
            elif name in ("fetch", "fetch-async"):
                results[name] = _run([*me, "--worker", name, "--url", url])
            elif name in ("arrow", "arrow-batches"):
                results[name] = _run([*me, "--worker", name, "--file", str(path)])
            elif name == "spapi":
                py = spapi_python(args.spapi_python)
                results[name] = (_run([py, "-c", SPAPI_WORKER, url]) if py else
                                 {"skipped": "python-amazon-sp-api could not be installed"})
            else:
                raise SystemExit(f"unknown path {name!r}")
            r = results[name]
            if "seconds" in r:
                r["mb_per_s"] = r["bytes"] / 1e6 / r["seconds"]
                r["mb_per_cpu_s"] = r["bytes"] / 1e6 / r["cpu_seconds"]
                r["rss_x_document"] = r["rss_mb"] * 2**20 / r["bytes"]
            if not args.json:
                if "seconds" in r:
                    print(f"{name:10} {r['mb_per_s']:7.1f} MB/s wall  {r['mb_per_cpu_s']:7.1f} "
                          f"MB/s cpu  peak RSS {r['rss_mb']:7.1f} MB "
                          f"({r['rss_x_document']:.2f}x document)  {r['rows']:,} rows",
                          flush=True)
                else:
                    print(f"{name:10} {r}", flush=True)
    finally:
        server.shutdown()
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
