"""Download the copy of Amazon's models that sellerkit's catalog was generated from.

    python3 tools/fetch_models.py                 # into the user data dir; prints what to export
    python3 tools/fetch_models.py --dest DIR      # somewhere else
    export SELLERKIT_MODELS_DIR=...               # then tools/check.py runs the model checks too

It fetches the GitHub tarball of amzn/selling-partner-api-models at the commit recorded in
``sellerkit/catalog/data/source.json`` and keeps only the files recorded there (``models/`` and
``schemas/``), each checked against its recorded SHA-256. Nothing is written where the models go
until every file has been checked: the tree is assembled in a temporary directory beside the
destination and renamed into place, so a failed or interrupted fetch leaves nothing behind.

Why files and not the tarball: GitHub builds commit tarballs on the fly and does not promise
byte-identical archives over time, and the tarball's hash cannot be derived from an unpacked
copy, so no tarball hash was available to pin offline. The per-file SHA-256 manifest was
computed by ``tools/gen_catalog.py`` from the very files the catalog was generated from, which
makes the check exact. ``--tarball-sha256`` additionally pins the archive when you know its hash;
the archive's hash is printed on every fetch.

``--url`` (or ``SELLERKIT_MODELS_URL``) fetches from somewhere else, such as a mirror.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from models_source import ENV, SOURCE_JSON, recorded_source, sha256_file  # noqa: E402

URL_ENV = "SELLERKIT_MODELS_URL"
URL_TEMPLATE = "https://codeload.github.com/{repository}/tar.gz/{commit}"
MAX_BYTES = 512 * 1024 * 1024  # the whole repository's tarball is far smaller
TOP_LEVEL_EXTRAS = ("LICENSE", "LICENSE.txt", "NOTICE", "NOTICE.txt")  # kept when present


class FetchError(Exception):
    """A fetch that could not complete; the message says what to do."""


def default_dest(commit: str) -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("sellerkit")) / f"sp-api-models-{commit[:12]}"


def _safe_relative(name: str) -> str | None:
    """``name`` without the archive's top directory, or None for anything odd."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or any(p in ("", ".", "..") for p in parts) or name.startswith("/"):
        return None
    return "/".join(parts[1:])


def download(url: str, into: Path, timeout: float) -> str:
    """Stream ``url`` to the file ``into``; return the SHA-256 of what arrived."""
    import httpx

    h = hashlib.sha256()
    size = 0
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as r:
            if r.status_code != 200:
                raise FetchError(f"the download answered HTTP {r.status_code} for {url}")
            with into.open("wb") as f:
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise FetchError(f"the download from {url} is larger than {MAX_BYTES} bytes")
                    h.update(chunk)
                    f.write(chunk)
    except httpx.HTTPError as exc:
        raise FetchError(f"could not download {url}: {exc}") from None
    return h.hexdigest()


def unpack(archive: Path, files: dict[str, str], into: Path) -> None:
    """Write the recorded ``files`` from ``archive`` under ``into``, each checked by SHA-256."""
    found: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                rel = _safe_relative(member.name)
                if rel is None or not member.isfile():
                    continue
                if rel not in files and rel not in TOP_LEVEL_EXTRAS:
                    continue
                src = tar.extractfile(member)
                if src is None:
                    continue
                data = src.read()
                if rel in files:
                    got = hashlib.sha256(data).hexdigest()
                    if got != files[rel]:
                        raise FetchError(f"{rel} does not match the catalog's record (SHA-256 {got}, "
                                         f"expected {files[rel]}); nothing was installed")
                    found.add(rel)
                target = into / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchError(f"the download is not a readable .tar.gz ({exc}); nothing was installed") from None
    missing = sorted(set(files) - found)
    if missing:
        raise FetchError(f"the download lacks {len(missing)} of the recorded files (first: {missing[0]}); "
                         "nothing was installed")


def verify_tree(root: Path, files: dict[str, str]) -> bool:
    """True when ``root`` holds every recorded file with its recorded hash."""
    return all((root / rel).is_file() and sha256_file(root / rel) == sha for rel, sha in files.items())


def fetch(source: dict[str, Any], dest: Path, url: str, *, tarball_sha256: str | None = None,
          force: bool = False, timeout: float = 60.0) -> Path:
    files: dict[str, str] = source["files"]
    commit: str = source["commit"]
    if dest.exists() and not force:
        if verify_tree(dest, files):
            print(f"already there and verified: {dest}", file=sys.stderr)
            return dest
        raise FetchError(f"{dest} exists and does not match the catalog's record; "
                         "pass --force to replace it, or --dest elsewhere")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.fetch-", dir=dest.parent))
    try:
        archive = work / "download.tar.gz"
        print(f"downloading {url}", file=sys.stderr)
        digest = download(url, archive, timeout)
        print(f"archive SHA-256 {digest}", file=sys.stderr)
        if tarball_sha256 and digest != tarball_sha256.lower():
            raise FetchError(f"the archive's SHA-256 is {digest}, not the pinned {tarball_sha256}; "
                             "nothing was installed")
        tree = work / "tree"
        tree.mkdir()
        unpack(archive, files, tree)
        (tree / "SOURCE.txt").write_text(
            f"Amazon Selling Partner API models, from the public repository {source['repository']}, "
            f"commit {commit},\nfetched by sellerkit's tools/fetch_models.py from {url}; every file under "
            "models/ and schemas/\nchecked against sellerkit/catalog/data/source.json. "
            "Apache License 2.0 (see LICENSE).\n", encoding="utf-8")
        old = work / "old"
        if dest.exists():  # --force: swap the old tree out, then remove it
            dest.rename(old)
        try:
            tree.rename(dest)
        except OSError as exc:
            if old.exists():
                old.rename(dest)
            raise FetchError(f"could not move the models into {dest}: {exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, metavar="DIR",
                    help="where to put the models (default: sellerkit's user data directory)")
    ap.add_argument("--url", help=f"download from here instead of GitHub (also ${URL_ENV})")
    ap.add_argument("--tarball-sha256", metavar="HEX", help="also require this SHA-256 of the archive")
    ap.add_argument("--source", type=Path, default=SOURCE_JSON, metavar="FILE",
                    help="the source record to fetch and verify (default: the catalog's)")
    ap.add_argument("--force", action="store_true", help="replace DIR when it exists and differs")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds without progress before giving up")
    args = ap.parse_args(argv)
    try:
        try:
            source = recorded_source(args.source)
            source["files"], source["commit"], source["repository"]  # noqa: B018
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FetchError(f"cannot read the source record {args.source}: {exc}") from None
        url = args.url or os.environ.get(URL_ENV) or URL_TEMPLATE.format(**source)
        dest = args.dest or default_dest(source["commit"])
        dest = fetch(source, dest.expanduser().absolute(), url, tarball_sha256=args.tarball_sha256,
                     force=args.force, timeout=args.timeout)
    except FetchError as exc:
        print(f"fetch_models: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fetch_models: interrupted; nothing was installed", file=sys.stderr)
        return 130
    print(f"{len(source['files'])} files of {source['repository']} at {source['commit'][:12]} in {dest}",
          file=sys.stderr)
    print(f"export {ENV}={dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
