"""Generate sellerkit/workflows/data/datakiosk_schema.json from Amazon's Data Kiosk GraphQL
schemas, so the emulator can check a submitted query and build its documents without the models
checkout.

    python3 tools/gen_datakiosk_schema.py            # regenerate
    python3 tools/gen_datakiosk_schema.py --check    # fail if the checked-in file is stale

Source: ``schemas/data-kiosk/*.graphql`` of the models (``--models`` or
``../shared/sp-api-models``). What is kept per dataset (the field of ``type Query``, e.g.
``analytics_salesAndTraffic_2024_04_24``): its root type, every object type with its fields
(``[type name, is a list]``), the enums with their values and the scalars. Descriptions,
arguments and directives are dropped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "schemas/data-kiosk"
OUTPUT = ROOT / "sellerkit" / "workflows" / "data" / "datakiosk_schema.json"

_BLOCK = re.compile(r"^(type|enum|input|scalar)\s+(\w+)\s*(\{(.*?)^\})?", re.S | re.M)
_FIELD = re.compile(r"^\s*(\w+)\s*:\s*(\[?)\s*(\w+)", re.M)


def _strip(text: str) -> str:
    text = re.sub(r'"""(.*?)"""', "", text, flags=re.S)  # block descriptions
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)  # one-line descriptions and strings
    text = re.sub(r"#[^\n]*", "", text)
    # field arguments: drop what is in parentheses (no nesting in these schemas)
    return re.sub(r"\([^()]*\)", "", text, flags=re.S)


def parse(text: str) -> dict[str, Any]:
    types: dict[str, dict[str, list[Any]]] = {}
    enums: dict[str, list[str]] = {}
    scalars: list[str] = []
    for kind, name, _, body in _BLOCK.findall(_strip(text)):
        if kind == "scalar":
            scalars.append(name)
        elif kind == "enum":
            enums[name] = re.findall(r"^\s*(\w+)\s*$", body, re.M)
        elif kind == "type":
            types[name] = {f: [t, bool(lst)] for f, lst, t in _FIELD.findall(body)}
    query = types.pop("Query", {})
    if len(query) != 1:
        raise SystemExit(f"expected one dataset field in type Query, found {sorted(query)}")
    dataset, (root, _) = next(iter(query.items()))
    return {"dataset": dataset, "root": root, "types": dict(sorted(types.items())),
            "enums": dict(sorted(enums.items())), "scalars": sorted(scalars)}


def render(models: Path) -> str:
    files = sorted((models / SOURCE).glob("*.graphql"))
    if not files:
        raise SystemExit(f"no Data Kiosk schemas in {models / SOURCE}")
    datasets = {}
    for f in files:
        info = parse(f.read_text(encoding="utf-8"))
        datasets[info.pop("dataset")] = {"file": f.name, **info}
    return json.dumps({"format": 1, "datasets": datasets}, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    import models_source  # tools/models_source.py: --models, SELLERKIT_MODELS_DIR, ../shared

    return models_source.data_file_main(
        "gen_datakiosk_schema", OUTPUT, render, argv,
        description=__doc__.splitlines()[0] if __doc__ else None)


if __name__ == "__main__":
    sys.exit(main())
