"""The daily workflows on top of the client: reports, feeds, Data Kiosk, notifications.

What exists so far (issue 8, first part):

- ``sellerkit.workflows.documents``: a downloaded report or feed document as a stream: gzip found
  by its magic bytes, the charset from Content-Type with Amazon's known mislabels corrected, and
  rows (TSV/CSV), JSON, JSON Lines or XML elements out, plus ``save()`` and columnar exports.
- ``sellerkit.workflows.report_types``: what sellerkit knows about each report type (format,
  restricted, requestable, schedulable, quoting), as checked-in data.

``sp.reports.fetch(...)`` (create, poll, download) is coming and builds on both. Importing this
package imports nothing else and has no side effects.
"""

from __future__ import annotations

__all__: list[str] = []
