"""Generated TypedDicts, one module per API version."""
