"""Issue 7, 8.6: a presigned document URL is a bearer credential; no log record of a download
holds its query string, at any level, while the application's own httpx logging is untouched."""

from __future__ import annotations

import asyncio
import gzip
import logging
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.errors import ApiError, ValidationError

from .fake import BASE, LWA

CREDS = dict(client_id="amzn1.application-oa2-client.test",
             client_secret="amzn1.oa2-cs.v1.topsecret", refresh_token="Atzr|refresh-secret")
SIGNATURE = "X-Amz-Signature=5ecre7c0ffee"
QUERY = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&{SIGNATURE}"


class _Docs(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path.startswith("/denied"):
            # What S3 answers to a bad signature: it echoes what it was sent.
            body = (b"<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAEXAMPLE"
                    b"</AWSAccessKeyId><SignatureProvided>5ecre7c0ffee</SignatureProvided>"
                    b"</Error>")
            self.send_response(403)
        elif self.path.startswith("/plain"):
            body = b"sku\tqty\n"
            self.send_response(200)
        else:
            body = gzip.compress(b"sku\tqty\nA-1\t3\n")
            self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def doc_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Docs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _no_query_in(caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "5ecre7c0ffee" not in text and "AKIAEXAMPLE" not in text, text


def test_sync_download_logs_no_url_query(doc_server: str, caplog: pytest.LogCaptureFixture
                                         ) -> None:
    caplog.set_level(logging.DEBUG)
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, rate_limiter=False) as sp:
        data = sp.download(f"{doc_server}/doc-1?{QUERY}", compression="GZIP")
        with pytest.raises(ApiError) as info:
            sp.download(f"{doc_server}/denied?{QUERY}")
        with pytest.raises(ValidationError, match="not valid GZIP"):
            sp.download(f"{doc_server}/plain?{QUERY}", compression="GZIP")
    assert data == b"sku\tqty\nA-1\t3\n"
    # The default client downloads through its own pool (httpx is not even loaded): nothing
    # anywhere holds the query, neither the records nor the error.
    _no_query_in(caplog)
    err = info.value
    assert err.status == 403 and b"SignatureDoesNotMatch" in err.body
    for text in (str(err), repr(err), repr(pickle.loads(pickle.dumps(err))), repr(err.body)):
        assert "5ecre7c0ffee" not in text and "AKIAEXAMPLE" not in text


def test_async_download_logs_no_url_query(doc_server: str, caplog: pytest.LogCaptureFixture
                                          ) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> bytes:
        async with AsyncSellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                       rate_limiter=False) as sp:
            results = await asyncio.gather(*(
                sp.download(f"{doc_server}/doc-{i}?{QUERY}", compression="GZIP")
                for i in range(5)))
            return results[0]

    assert asyncio.run(main()) == b"sku\tqty\nA-1\t3\n"
    _no_query_in(caplog)


def test_download_through_httpx_logs_the_request_without_the_query(
        doc_server: str, caplog: pytest.LogCaptureFixture) -> None:
    """With transport= (or a proxy) downloads go through httpx, which logs each request at
    INFO: the record stays (we hide the credential, not the fact of the request)."""
    caplog.set_level(logging.DEBUG)
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, rate_limiter=False,
                        transport=httpx.HTTPTransport()) as sp:
        assert sp.download(f"{doc_server}/doc-1?{QUERY}", compression="GZIP") == \
            b"sku\tqty\nA-1\t3\n"
    httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/doc-1?<redacted>" in line for line in httpx_lines), httpx_lines
    _no_query_in(caplog)


def test_download_through_a_custom_transport_logs_no_url_query(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"doc"))
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=transport,
                        rate_limiter=False) as sp:
        assert sp.download(f"https://bucket.s3.amazonaws.com/doc?{QUERY}") == b"doc"
    _no_query_in(caplog)


def test_the_applications_own_httpx_logging_is_left_alone(
        doc_server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    root_handlers = list(logging.getLogger().handlers)
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, rate_limiter=False) as sp:
        sp.download(f"{doc_server}/doc-1?{QUERY}")
    httpx.get(f"{doc_server}/mine?page=2")  # the application's request, after ours
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/mine?page=2" in line for line in lines), lines
    assert logging.getLogger("httpx").level == logging.NOTSET  # no level forced on httpx
    assert logging.getLogger().handlers == root_handlers  # the root logger is not configured
