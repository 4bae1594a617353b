"""``sellerkit datakiosk query FILE.graphql``: a Data Kiosk query from the command line.

Runs ``sp.data_kiosk.query`` (createQuery, polling within the rate limit, every page of
documents) and writes the records as JSON Lines to ``-o FILE`` (atomically, mode 0600: a query
that fails on a later page leaves no file) or to stdout (lines flushed as they come). Progress
goes to stderr; with ``--json`` stdout carries one summary object instead (then ``-o`` is
required) and errors leave as the one JSON error object on stderr, like every command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sellerkit.cli._options import EndpointOpt, LwaEndpointOpt, ProfileOpt, RateLimiterOpt, RegionOpt
from sellerkit.cli._status import StatusLines
from sellerkit.errors import ConfigurationError

__all__ = ["register"]

_STAGES = {"IN_QUEUE": "queued", "IN_PROGRESS": "in progress", "DONE": "done",
           "CANCELLED": "cancelled", "FATAL": "failed (FATAL)", "downloading": "downloading",
           "refetching": "the document URL expired; downloading again with a fresh one",
           "created": "created"}


class _Progress(StatusLines):
    """The job's stages as status lines (see StatusLines)."""

    def __call__(self, p: Any) -> None:
        if p.stage == "slow-call":
            self.say(f"query {p.query_id or ''}: a call took {p.waited:.0f} s "
                     "(rate limit or network)")
            return
        what = _STAGES.get(p.stage, p.stage.lower())
        self.say(f"query {p.query_id} (page {p.page}): {what} ({p.elapsed:.0f} s)")


def _read_query(path: Path) -> str:
    if str(path) == "-":
        text = sys.stdin.read()
    else:
        if not path.is_file():
            raise ConfigurationError(f"{path} is not a file: name the .graphql file that holds "
                                     "the query (or - for stdin)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError(f"{path} is not UTF-8 text: save the query as UTF-8"
                                     ) from None
    if not text.strip():
        raise ConfigurationError(f"{path} is empty: it should hold a GraphQL query")
    return text


class _Stdout:
    def __enter__(self) -> _Stdout:
        return self

    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    dk = typer.Typer(help="Run Data Kiosk GraphQL queries.", no_args_is_help=True)
    app.add_typer(dk, name="datakiosk")

    @dk.command("query")
    def query(
        file: Annotated[Path, typer.Argument(
            metavar="FILE.graphql", help="The GraphQL query (- reads stdin).")],
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", metavar="FILE",
            help="Write the records here as JSON Lines (atomically, mode 0600).")] = None,
        wait: Annotated[float | None, typer.Option(
            "--wait", metavar="SECONDS", help="Give up waiting for a page after this long.")
        ] = None,
        poll_interval: Annotated[float, typer.Option(
            "--poll-interval", metavar="SECONDS",
            help="First wait between getQuery calls (it grows by half up to 60 s).")] = 2.0,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print a JSON summary on stdout (the records go to -o FILE).")
        ] = False,
        profile: ProfileOpt = None,
        marketplace: Annotated[str | None, typer.Option(
            "--marketplace", metavar="CODE", help="Picks the region (the query names its "
            "marketplaces itself).")] = None,
        region: RegionOpt = None,
        endpoint: EndpointOpt = None,
        lwa_endpoint: LwaEndpointOpt = None,
        rate_limiter: RateLimiterOpt = "sqlite",
    ) -> None:
        """Run a Data Kiosk query, wait for it and write its records as JSON Lines."""
        from sellerkit.cli.call_cmd import _close_limiter
        from sellerkit.cli.reports_cmd import _client
        from sellerkit.workflows.documents import _AtomicFile

        if as_json and output is None:
            raise ConfigurationError("--json prints a summary on stdout: pass -o FILE for the "
                                     "records themselves")
        if output is not None and output.is_dir():
            raise ConfigurationError(f"-o {output} is a directory; name the file to write")
        text = _read_query(file)
        progress = _Progress(as_json)
        sp, limiter, save = _client(profile, marketplace, region, endpoint, lwa_endpoint,
                                    rate_limiter)
        count = 0
        try:
            with sp:
                result = sp.data_kiosk.query(text, timeout=wait, poll_interval=poll_interval,
                                             progress=progress)
                sink: Any = _AtomicFile(output) if output is not None else _Stdout()
                if not result.empty:  # no data: nothing written, no file made
                    with sink as fh:
                        for record in result:
                            fh.write((json.dumps(record, ensure_ascii=False) + "\n"
                                      ).encode("utf-8"))
                            count += 1
        finally:
            _close_limiter(limiter, save)
        if result.cancelled:
            progress.say(f"query {result.query_id} was CANCELLED: no records, nothing written")
        elif result.empty:
            progress.say(f"query {result.query_id} is DONE with no data: no records, nothing "
                         "written")
        else:
            where = f" to {output}" if output is not None else ""
            progress.say(f"query {result.query_id}: {count} records from {result.documents} "
                         f"document(s) written{where}")
        if as_json:
            summary = {"query_id": result.query_id, "query_ids": result.query_ids,
                       "status": result.status, "documents": result.documents,
                       "records": count, "output": str(output) if output else None}
            sys.stdout.write(json.dumps(summary) + "\n")
