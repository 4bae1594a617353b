"""Workflows on sp.feeds: upload, submit and read the processing report.

The generated resource class of this API inherits these mixins (tools/gen_catalog.py,
WORKFLOW_MIXINS), so the workflow methods sit beside the operations on the same resource. The
module stays light to import: anything heavy is imported inside the methods.
"""

from __future__ import annotations


class FeedsMixin:
    """Workflow methods of the sync feeds resource."""


class AsyncFeedsMixin:
    """Workflow methods of the async feeds resource."""


__all__ = ["AsyncFeedsMixin", "FeedsMixin"]
