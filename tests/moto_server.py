"""A moto server on a loopback port, for the tests that talk to SQS, KMS, IAM or EventBridge the
way sellerkit does in production: over HTTP with boto3, never through an in-process mock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# moto accepts any credentials; these keep boto3 away from a developer's real ones
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
         "region_name": "us-east-1"}


@contextmanager
def running_moto() -> Iterator[str]:
    """Start moto's server on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
