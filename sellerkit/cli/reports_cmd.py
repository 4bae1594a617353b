"""``sellerkit reports get TYPE`` and ``sellerkit reports list``: reports from the command line.

``get`` runs ``sp.reports.fetch`` (reuse of a recent identical report, polling within the rate
limit, RDT for restricted types, typed outcomes) and writes the document to ``-o FILE``
(atomically, mode 0600) or stdout, as ``tsv`` (UTF-8), ``csv``, ``jsonl`` (one row, or one JSON
document, per line) or ``parquet`` (needs ``sellerkit[columnar]`` and ``-o``). Progress (queued,
in progress, downloading; rate-limit waits come from the group's status handler) goes to stderr;
with ``--json`` stdout carries one summary object and errors leave as the one JSON error
object on stderr, like every command.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from sellerkit.cli._options import EndpointOpt, LwaEndpointOpt, ProfileOpt, RateLimiterOpt, RegionOpt
from sellerkit.cli._status import StatusLines
from sellerkit.errors import ConfigurationError

__all__ = ["parse_since", "register"]

FORMATS = ("tsv", "csv", "jsonl", "parquet")
_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.I)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_STAGES = {"IN_QUEUE": "queued", "IN_PROGRESS": "in progress", "DONE": "done",
           "CANCELLED": "cancelled", "FATAL": "failed (FATAL)", "downloading": "downloading",
           "refetching": "the document URL expired; downloading again with a fresh one",
           "created": "created", "reused": "reusing a recent identical report"}


def parse_since(text: str, flag: str = "--since", now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``90m``, ``2w`` ago, or an ISO 8601 date / date-time."""
    now = now or datetime.now(UTC)
    m = _SINCE.match(text)
    if m:
        return (now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
                ).replace(microsecond=0)
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"{flag} {text!r} is neither a duration (30d, 12h, 90m, 2w) "
                                 "nor an ISO 8601 date (2026-11-01)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _options(pairs: list[str] | None) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--option {pair!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out or None


class _Progress(StatusLines):
    """The job's stages as status lines (see StatusLines)."""

    def __call__(self, p: Any) -> None:
        if p.stage == "slow-call":
            self.say(f"report {p.report_id or ''}: a call took {p.waited:.0f} s "
                     "(rate limit or network)")
            return
        what = _STAGES.get(p.stage, p.stage.lower())
        self.say(f"report {p.report_id}: {what} ({p.elapsed:.0f} s)")


def _client(profile: str | None, marketplace: str | None, region: str | None,
            endpoint: str | None, lwa_endpoint: str | None, rate_limiter: str) -> Any:
    from sellerkit import SellingPartner
    from sellerkit.cli.call_cmd import make_limiter
    from sellerkit.config import load_settings

    values = {"marketplace": marketplace, "region": region, "endpoint": endpoint,
              "lwa_endpoint": lwa_endpoint}
    given: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    labels = {"profile": "--profile", "marketplace": "--marketplace", "region": "--region",
              "endpoint": "--endpoint", "lwa_endpoint": "--lwa-endpoint"}
    settings = load_settings(profile=profile, labels=labels, **given)
    limiter, save = make_limiter(rate_limiter)
    sp = SellingPartner(settings=settings, rate_limiter=limiter if limiter is not None else False)
    return sp, limiter, save


def _write(report: Any, fmt: str, out: Path | None) -> int:
    """Write the report; returns the number of rows (or JSON documents / XML elements)."""
    from sellerkit.workflows.documents import _AtomicFile

    native = report.format
    if fmt == "parquet":
        if out is None:
            raise ConfigurationError("--format parquet writes a file: pass -o FILE")
        from sellerkit.workflows.documents import _require

        pq = _require("pyarrow.parquet", "--format parquet", "pip install 'sellerkit[columnar]'")
        import io

        table = report.to_arrow()
        buf = io.BytesIO()
        pq.write_table(table, buf)
        with _AtomicFile(out) as fh:
            fh.write(buf.getvalue())
        return int(table.num_rows)
    sink: Any
    if out is not None:
        sink = _AtomicFile(out)
    else:
        sink = _Stdout()
    count = 0
    with sink as fh:
        if native in ("tsv", "csv", None) and fmt in ("tsv", "csv"):
            header: list[str] | None = None
            for row in report.rows():
                if header is None:
                    header = list(row)
                    fh.write(_line(header, fmt))
                fh.write(_line([row[k] for k in header], fmt))
                count += 1
        elif native in ("tsv", "csv", None):  # jsonl of rows
            for row in report.rows():
                fh.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
                count += 1
        elif native == "json" and fmt == "jsonl":
            fh.write((json.dumps(report.json(), ensure_ascii=False) + "\n").encode("utf-8"))
            count = 1
        elif native in ("json", "xml", "jsonl", "binary"):
            if fmt not in ("tsv", "jsonl"):
                raise ConfigurationError(f"this report is {native}; --format {fmt} is for flat "
                                         "files: leave --format out to write it as it is")
            for piece in report.iter_bytes():
                fh.write(piece)
            count = 1
    return count


def _line(values: list[str], fmt: str) -> bytes:
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        return buf.getvalue().encode("utf-8")
    if any("\t" in v or "\n" in v for v in values):
        raise ConfigurationError("a field holds a tab or a line break, which TSV cannot carry: "
                                 "use --format csv or --format jsonl")
    return ("\t".join(values) + "\n").encode("utf-8")


class _Stdout:
    def __enter__(self) -> _Stdout:
        return self

    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    reports = typer.Typer(help="Request, download and list reports.", no_args_is_help=True)
    app.add_typer(reports, name="reports")

    @reports.command("get")
    def get(
        report_type: Annotated[str, typer.Argument(metavar="TYPE",
                                                   help="e.g. GET_MERCHANT_LISTINGS_ALL_DATA")],
        marketplace: Annotated[str | None, typer.Option(
            "--marketplace", metavar="CODE", help="e.g. US, DE, JP (or a marketplace id).")
        ] = None,
        since: Annotated[str | None, typer.Option(
            "--since", metavar="WHEN", help="Data start: 30d, 12h, 2w ago, or an ISO date.")
        ] = None,
        until: Annotated[str | None, typer.Option(
            "--until", metavar="WHEN", help="Data end (same forms as --since).")] = None,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", metavar="FILE", help="Write here (atomically, mode 0600).")
        ] = None,
        fmt: Annotated[str | None, typer.Option(
            "--format", metavar="FORMAT", help="tsv, csv, jsonl or parquet (flat files); "
            "other reports are written as they are.")] = None,
        option: Annotated[list[str] | None, typer.Option(
            "--option", metavar="KEY=VALUE", help="A reportOptions entry (repeatable).")
        ] = None,
        reuse_within: Annotated[float, typer.Option(
            "--reuse-within", metavar="SECONDS",
            help="Reuse an identical report made this recently (0: always create).")] = 900.0,
        charset: Annotated[str | None, typer.Option(
            "--charset", metavar="CODEC", help="Override the document's charset.")] = None,
        wait: Annotated[float | None, typer.Option(
            "--wait", metavar="SECONDS", help="Give up waiting for the report after this long.")
        ] = None,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print a JSON summary on stdout (the data goes to -o FILE).")
        ] = False,
        profile: ProfileOpt = None,
        region: RegionOpt = None,
        endpoint: EndpointOpt = None,
        lwa_endpoint: LwaEndpointOpt = None,
        rate_limiter: RateLimiterOpt = "sqlite",
    ) -> None:
        """Request a report (or reuse a recent identical one), wait for it and write it."""
        from sellerkit.cli.call_cmd import _close_limiter

        if fmt is not None and fmt not in FORMATS:
            raise ConfigurationError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        if fmt == "parquet" and output is None:
            raise ConfigurationError("--format parquet writes a file: pass -o FILE")
        if as_json and output is None:
            raise ConfigurationError("--json prints a summary on stdout: pass -o FILE for the "
                                     "report itself")
        if output is not None and output.is_dir():
            raise ConfigurationError(f"-o {output} is a directory; name the file to write")
        start = parse_since(since, "--since") if since else None
        end = parse_since(until, "--until") if until else None
        progress = _Progress(as_json)
        sp, limiter, save = _client(profile, marketplace, region, endpoint, lwa_endpoint,
                                    rate_limiter)
        try:
            with sp:
                report = sp.reports.fetch(report_type, None, start, end, _options(option),
                                          reuse_within=reuse_within, timeout=wait,
                                          charset=charset, progress=progress)
                count = 0
                if not report.cancelled:
                    count = _write(report, fmt or "tsv", output)
        finally:
            _close_limiter(limiter, save)
        if report.cancelled:
            progress.say(f"report {report.report_id} was CANCELLED: Amazon has no data for it "
                         "(or it duplicated another); nothing was written")
        elif output is not None:
            progress.say(f"report {report.report_id}: {count} rows written to {output}")
        if as_json:
            summary = {"report_id": report.report_id, "report_type": report_type,
                       "status": report.status, "reused": report.reused,
                       "document_id": report.document_id, "format": report.format,
                       "rows": count, "output": str(output) if output and not report.cancelled
                       else None}
            sys.stdout.write(json.dumps(summary) + "\n")

    @reports.command("list")
    def list_(
        types: Annotated[list[str] | None, typer.Option(
            "--type", metavar="TYPE", help="Report type (repeatable, up to 10).")] = None,
        status: Annotated[list[str] | None, typer.Option(
            "--status", metavar="STATUS",
            help="IN_QUEUE, IN_PROGRESS, DONE, CANCELLED or FATAL (repeatable).")] = None,
        marketplace: Annotated[str | None, typer.Option(
            "--marketplace", metavar="CODE", help="Only reports for this marketplace.")] = None,
        since: Annotated[str | None, typer.Option(
            "--since", metavar="WHEN", help="Created since (30d, 12h, ISO date); default 90d.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout.")] = False,
        profile: ProfileOpt = None,
        region: RegionOpt = None,
        endpoint: EndpointOpt = None,
        lwa_endpoint: LwaEndpointOpt = None,
        rate_limiter: RateLimiterOpt = "sqlite",
    ) -> None:
        """List recent reports (getReports, every page)."""
        from sellerkit.cli.call_cmd import _close_limiter

        if not types:
            raise ConfigurationError("name the report types: --type TYPE (repeatable; Amazon "
                                     "lists reports by type)")
        if len(types) > 10:
            raise ConfigurationError("at most 10 --type values per listing (Amazon's limit)")
        statuses = [s.upper() for s in status or []]
        bad = [s for s in statuses if s not in ("IN_QUEUE", "IN_PROGRESS", "DONE", "CANCELLED",
                                                "FATAL")]
        if bad:
            raise ConfigurationError(f"--status {bad[0]!r}: use IN_QUEUE, IN_PROGRESS, DONE, "
                                     "CANCELLED or FATAL")
        created = parse_since(since or "89d", "--since")
        sp, limiter, save = _client(profile, None, region, endpoint, lwa_endpoint, rate_limiter)
        params: dict[str, Any] = {"report_types": types, "page_size": 100,
                                  "created_since": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if statuses:
            params["processing_statuses"] = statuses
        if marketplace:
            from sellerkit.regions import marketplace_id

            try:
                params["marketplace_ids"] = [marketplace_id(marketplace)]
            except ValueError as exc:
                raise ConfigurationError(f"--marketplace: {exc}") from None
        rows: list[dict[str, Any]] = []
        try:
            with sp:
                for item in sp.paginate(sp.reports.get_reports, items="reports", **params):
                    rows.append(dict(item))
                    if as_json:
                        sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
                        sys.stdout.flush()
        finally:
            _close_limiter(limiter, save)
        if not as_json:
            from rich import box
            from rich.console import Console
            from rich.table import Table

            from sellerkit.cli._text import break_identifier

            console = Console(soft_wrap=True)
            # ids, statuses and times never wrap; a report type breaks only after a "_"
            type_width = max(16, console.width - 11 - 11 - 16 - 15 - 8)
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column("report id", no_wrap=True)
            table.add_column("type")
            table.add_column("status", no_wrap=True)
            table.add_column("created (UTC)", no_wrap=True)
            table.add_column("marketplaces")
            for r in rows:
                created_at = str(r.get("createdTime", ""))
                table.add_row(str(r.get("reportId", "")),
                              break_identifier(str(r.get("reportType", "")), type_width),
                              str(r.get("processingStatus", "")),
                              created_at[:16].replace("T", " "),
                              "\n".join(r.get("marketplaceIds") or []))
            console.print(table)
