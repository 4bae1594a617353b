"""Workflows on sp.notifications: idempotent destinations and subscriptions.

The generated resource class of this API inherits these mixins (tools/gen_catalog.py,
WORKFLOW_MIXINS), so the workflow methods sit beside the operations on the same resource. The
module stays light to import: anything heavy is imported inside the methods.
"""

from __future__ import annotations


class NotificationsMixin:
    """Workflow methods of the sync notifications resource."""


class AsyncNotificationsMixin:
    """Workflow methods of the async notifications resource."""


__all__ = ["AsyncNotificationsMixin", "NotificationsMixin"]
