"""Generate the sync client from the async one (httpcore's unasync idea, in a few lines).

    python3 tools/unasync.py          # rewrite sellerkit/client/_client.py
    python3 tools/unasync.py --check  # fail if it is stale (CI)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "sellerkit" / "client" / "_aclient.py"
TARGET = ROOT / "sellerkit" / "client" / "_client.py"

# Order matters: longer, more specific patterns first.
SUBS = [
    (r'"""``AsyncSellingPartner``: the asyncio client\.', '"""``SellingPartner``: the synchronous client.'),
    (r"This file is the source of truth for the request loop; ``_client\.py`` \(the sync client\) is\n"
     r"generated from it by ``tools/unasync\.py`` and checked in CI, so the two never drift\.",
     "GENERATED from ``_aclient.py`` by ``tools/unasync.py``; edit that file, not this one."),
    (r"The asyncio SP-API client\. Same surface as ``SellingPartner``, with ``await``\.",
     "The synchronous SP-API client. Same surface as the asyncio client, without ``await``."),
    (r"from collections\.abc import AsyncIterator, Callable, Mapping",
     "from collections.abc import Callable, Iterator, Mapping"),
    (r"\basync with AsyncSellingPartner\b", "with SellingPartner"),
    (r"\bawait\s+", ""),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncSellingPartner\b", "SellingPartner"),
    (r"\bAsyncResourceAttributes\b", "SyncResourceAttributes"),
    (r"\bASYNC_RESOURCES\b", "SYNC_RESOURCES"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\bsellerkit\.client\._wire_async\b", "sellerkit.client._wire"),
    (r"\bAsyncPool\b", "SyncPool"),
    (r"\bAsyncHttpxWire\b", "HttpxWire"),
    (r"\bAsyncDownloadStream\b", "DownloadStream"),
    (r"\bAsyncHttpxStream\b", "HttpxStream"),
    (r"\bAsyncStream\b", "SyncStream"),
    (r"\bacquire_async\b", "acquire"),
    (r"\brecord_async\b", "record"),
    (r"\baccess_token_async\b", "access_token"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\basyncio\.Lock\b", "threading.Lock"),
    (r"^import asyncio\n", "import threading\n"),
    (r"\baclose\b", "close"),
    (r"\basynchronous=True\b", "asynchronous=False"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
]


def render() -> str:
    text = SOURCE.read_text(encoding="utf-8")
    for pattern, repl in SUBS:
        text = re.sub(pattern, repl, text, flags=re.M)
    # keep imports sorted after the rename (threading sorts after logging/json)
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("import "))
    end = start
    while lines[end].startswith("import "):
        end += 1
    lines[start:end] = sorted(lines[start:end])
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print("sellerkit/client/_client.py is stale: run python3 tools/unasync.py",
                  file=sys.stderr)
            return 1
        print("sync client up to date")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
