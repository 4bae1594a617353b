"""Generate sellerkit/workflows/data/listings_feed_schema.json from Amazon's JSON_LISTINGS_FEED
schema, so the listings feed builder validates messages without the models checkout.

    python3 tools/gen_feed_schema.py            # regenerate
    python3 tools/gen_feed_schema.py --check    # fail if the checked-in file is stale

Source: ``schemas/feeds/listings-feed-schema-v2.json`` of the models (``--models`` or
``../shared/sp-api-models``). What is kept is the schema's structure (types, enums, limits,
required members, the per-operation ``oneOf``); the prose (``title``, ``description``,
``examples``, ``$comment``) is dropped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "schemas/feeds/listings-feed-schema-v2.json"
OUTPUT = ROOT / "sellerkit" / "workflows" / "data" / "listings_feed_schema.json"
PROSE = frozenset({"title", "description", "examples", "example", "$comment"})


def strip(node: Any, *, in_properties: bool = False) -> Any:
    """``node`` without its prose keywords (a property that happens to be called ``title`` is
    kept: inside ``properties`` the keys are names, not keywords)."""
    if isinstance(node, dict):
        return {k: strip(v, in_properties=(k == "properties" and not in_properties))
                for k, v in node.items() if in_properties or k not in PROSE}
    if isinstance(node, list):
        return [strip(x) for x in node]
    return node


def render(models: Path) -> str:
    path = models / SOURCE
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SystemExit(f"cannot read {path}: {exc.strerror}; pass --models DIR") from None
    doc = {"generated_by": "tools/gen_feed_schema.py", "source": SOURCE,
           "schema": strip(schema)}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    import models_source  # tools/models_source.py: --models, SELLERKIT_MODELS_DIR, ../shared

    return models_source.data_file_main(
        "gen_feed_schema", OUTPUT, render, argv,
        description=__doc__.splitlines()[0] if __doc__ else None)


if __name__ == "__main__":
    sys.exit(main())
