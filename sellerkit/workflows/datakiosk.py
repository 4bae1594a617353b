"""Workflows on sp.data_kiosk: run a GraphQL query and read its documents.

The generated resource class of this API inherits these mixins (tools/gen_catalog.py,
WORKFLOW_MIXINS), so the workflow methods sit beside the operations on the same resource. The
module stays light to import: anything heavy is imported inside the methods.
"""

from __future__ import annotations


class DataKioskMixin:
    """Workflow methods of the sync Data Kiosk resource."""


class AsyncDataKioskMixin:
    """Workflow methods of the async Data Kiosk resource."""


__all__ = ["AsyncDataKioskMixin", "DataKioskMixin"]
