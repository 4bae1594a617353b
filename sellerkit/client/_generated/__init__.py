"""Generated code; see tools/gen_catalog.py."""
