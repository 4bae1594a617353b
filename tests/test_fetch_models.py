"""tools/fetch_models.py against a loopback HTTP server serving tarballs built here."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MODELS_ROOT, models_source, requires_models

ROOT = Path(__file__).resolve().parent.parent
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "models/orders-api-model/ordersV0.json": b'{"swagger": "2.0", "info": {"version": "v0"}}',
    "models/tokens-api-model/tokens_2021-03-01.json": b'{"swagger": "2.0"}',
    "schemas/feeds/listings-feed-schema-v2.json": b'{"type": "object"}',
}


def make_tarball(files: dict[str, bytes], top: str = f"selling-partner-api-models-{COMMIT}") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def source_record(tmp_path: Path, files: dict[str, bytes] = FILES) -> Path:
    path = tmp_path / "source.json"
    path.write_text(json.dumps({
        "repository": "amzn/selling-partner-api-models", "commit": COMMIT,
        "files": {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}}))
    return path


class Server:
    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        routes = self.routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/archive.tar.gz")
                    self.end_headers()
                    return
                body = routes.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def fetch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "127.0.0.1"
    return subprocess.run([sys.executable, str(ROOT / "tools" / "fetch_models.py"), *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_fetches_verifies_and_unpacks_only_the_recorded_files(tmp_path: Path, server: Server) -> None:
    server.routes["/archive.tar.gz"] = make_tarball({**FILES, "README.md": b"not wanted",
                                                     "LICENSE": b"Apache"})
    dest = tmp_path / "data" / "models"
    r = fetch("--source", str(source_record(tmp_path)), "--dest", str(dest),
              "--url", f"{server.url}/redirect")  # GitHub answers archive URLs with a redirect
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"export SELLERKIT_MODELS_DIR={dest}"
    for name, data in FILES.items():
        assert (dest / name).read_bytes() == data
    assert (dest / "LICENSE").read_bytes() == b"Apache"
    assert not (dest / "README.md").exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["models"]  # no work dir left over
    # what the tools then find there
    assert models_source.locate(dest).root == dest
    assert models_source.commit_of(dest) == COMMIT
    assert models_source.manifest(dest) == json.loads((tmp_path / "source.json").read_text())["files"]

    again = fetch("--source", str(source_record(tmp_path)), "--dest", str(dest), "--url", server.url + "/gone")
    assert again.returncode == 0 and "already there and verified" in again.stderr


def test_an_existing_different_copy_is_kept_unless_forced(tmp_path: Path, server: Server) -> None:
    server.routes["/archive.tar.gz"] = make_tarball(FILES)
    dest = tmp_path / "models"
    (dest / "models").mkdir(parents=True)
    (dest / "models" / "old.json").write_text("{}")
    args = ("--source", str(source_record(tmp_path)), "--dest", str(dest), "--url", f"{server.url}/archive.tar.gz")
    r = fetch(*args)
    assert r.returncode == 1 and "pass --force" in r.stderr
    assert (dest / "models" / "old.json").exists()
    r = fetch(*args, "--force")
    assert r.returncode == 0, r.stderr
    assert not (dest / "models" / "old.json").exists()
    assert models_source.manifest(dest) == json.loads((tmp_path / "source.json").read_text())["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "source.json"]


def test_a_file_that_does_not_match_leaves_nothing_behind(tmp_path: Path, server: Server) -> None:
    tampered = {**FILES, "schemas/feeds/listings-feed-schema-v2.json": b'{"type": "array"}'}
    server.routes["/archive.tar.gz"] = make_tarball(tampered)
    parent = tmp_path / "data"
    r = fetch("--source", str(source_record(tmp_path)), "--dest", str(parent / "models"),
              "--url", f"{server.url}/archive.tar.gz")
    assert r.returncode == 1
    assert "listings-feed-schema-v2.json does not match" in r.stderr and "nothing was installed" in r.stderr
    assert "Traceback" not in r.stderr
    assert list(parent.iterdir()) == []


def test_a_tarball_pin_that_does_not_match_leaves_nothing_behind(tmp_path: Path, server: Server) -> None:
    server.routes["/archive.tar.gz"] = make_tarball(FILES)
    parent = tmp_path / "data"
    r = fetch("--source", str(source_record(tmp_path)), "--dest", str(parent / "models"),
              "--url", f"{server.url}/archive.tar.gz", "--tarball-sha256", "0" * 64)
    assert r.returncode == 1 and "not the pinned" in r.stderr
    assert list(parent.iterdir()) == []


@pytest.mark.parametrize("served", ["incomplete", "not a tarball", "missing"])
def test_a_bad_download_is_one_line_and_leaves_nothing(tmp_path: Path, server: Server, served: str) -> None:
    if served == "incomplete":
        server.routes["/archive.tar.gz"] = make_tarball(dict(list(FILES.items())[:2]))
    elif served == "not a tarball":
        server.routes["/archive.tar.gz"] = b"<html>rate limited</html>"
    parent = tmp_path / "data"
    r = fetch("--source", str(source_record(tmp_path)), "--dest", str(parent / "models"),
              "--url", f"{server.url}/archive.tar.gz")
    assert r.returncode == 1
    lines = r.stderr.splitlines()  # progress lines, then one error line
    assert lines[-1].startswith("fetch_models: ") and "Traceback" not in r.stderr
    assert {"incomplete": "lacks 1 of the recorded files", "not a tarball": "not a readable .tar.gz",
            "missing": "HTTP 404"}[served] in lines[-1]
    assert list(parent.iterdir()) == []


def test_paths_outside_the_archive_root_are_never_written(tmp_path: Path, server: Server) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in {**{f"top/{k}": v for k, v in FILES.items()}, "top/../../evil.json": b"x",
                           "/abs/models/x.json": b"x"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    server.routes["/archive.tar.gz"] = buf.getvalue()
    dest = tmp_path / "a" / "b" / "models"
    r = fetch("--source", str(source_record(tmp_path)), "--dest", str(dest), "--url", f"{server.url}/archive.tar.gz")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "a" / "evil.json").exists()


def test_the_default_url_is_the_pinned_commit_on_github() -> None:
    record = models_source.recorded_source()
    assert record["repository"] == "amzn/selling-partner-api-models"
    assert len(record["commit"]) == 40 and len(record["files"]) > 100
    spec = importlib.util.spec_from_file_location("fetch_models", ROOT / "tools" / "fetch_models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.URL_TEMPLATE.format(**record) == (
        f"https://codeload.github.com/amzn/selling-partner-api-models/tar.gz/{record['commit']}")


@requires_models
def test_a_fetched_copy_of_the_recorded_models_builds_the_same_catalog(tmp_path: Path, server: Server) -> None:
    """The catalog's record matches the real models, and a copy fetched against it is one that
    gen_catalog accepts as the source of the checked-in catalog."""
    assert MODELS_ROOT is not None
    record = models_source.recorded_source()
    assert models_source.manifest(MODELS_ROOT) == record["files"]
    assert models_source.commit_of(MODELS_ROOT) == record["commit"]
    files = {rel: (MODELS_ROOT / rel).read_bytes() for rel in record["files"]}
    server.routes["/archive.tar.gz"] = make_tarball({**files, "clients/README.md": b"other parts"},
                                                    top=f"selling-partner-api-models-{record['commit']}")
    dest = tmp_path / "models-copy"
    r = fetch("--dest", str(dest), "--url", f"{server.url}/archive.tar.gz")
    assert r.returncode == 0, r.stderr
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_catalog.py"), "--check", "--models", str(dest)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert check.returncode == 0, check.stderr
