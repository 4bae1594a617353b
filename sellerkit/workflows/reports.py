"""Workflows on sp.reports: create, poll and download a report as rows.

The generated resource class of this API inherits these mixins (tools/gen_catalog.py,
WORKFLOW_MIXINS), so the workflow methods sit beside the operations on the same resource. The
module stays light to import: anything heavy is imported inside the methods.
"""

from __future__ import annotations


class ReportsMixin:
    """Workflow methods of the sync reports resource."""


class AsyncReportsMixin:
    """Workflow methods of the async reports resource."""


__all__ = ["AsyncReportsMixin", "ReportsMixin"]
