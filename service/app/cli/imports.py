"""``frictionlog import SOURCE``: read a tool's history through its API into the inbox (docs/import.md).

Credentials come from the settings only (``FRICTIONLOG_GITHUB_TOKEN``, …), never from the command line.
Progress goes to stderr (a bar per scope with pages, records and the rate-limit wait); the summary to stdout.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from service.app.cli.session import cli_session, process_now
from service.core.settings import get_settings

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from integrations.history.runner import ImportSummary

# The importers (httpx, the parsers) and rich are imported inside the command: `frictionlog --help` stays fast.

TARGETS = {
    "github": ("--repo", "OWNER/NAME", "A repository to import (repeat for more)"),
    "pagerduty": ("--service-id", "ID", "A PagerDuty service id to import, or `all` (repeat for more)"),
    "gitlab": ("--project", "GROUP/NAME", "A project path to import (repeat for more)"),
    "opsgenie": ("--query", "QUERY", "An alert search query (`teams:payments`), or `all` (repeat for more)"),
    "jira": ("--project", "KEY", "A project key to import (repeat for more)"),
    "linear": ("--team", "KEY", "A team key to import (repeat for more)"),
}
"""Each source's command and the option naming what it imports (integrations.history.sources.SOURCES)."""


class RichProgress:
    """A bar per scope: pages, records, and the time spent waiting for the rate limit."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}
        self.current = ""
        self.waited_total = 0.0

    def begin(self, scope: str, /) -> None:
        self.current = scope
        self.tasks[scope] = self.bar.add_task(scope, total=None, pages=0, records=0, wait="0 s")

    def page(self, scope: str, records: int, /) -> None:
        task = self.tasks[scope]
        fields = self.bar.tasks[task].fields
        self.bar.update(task, pages=fields["pages"] + 1, records=fields["records"] + records, advance=1)

    def waited(self, seconds: float, /) -> None:
        self.waited_total += seconds
        if self.current in self.tasks:
            self.bar.update(self.tasks[self.current], wait=f"{self.waited_total:.0f} s")

    def end(self, scope: str, /) -> None:
        self.bar.update(self.tasks[scope], total=self.bar.tasks[self.tasks[scope]].completed)


def _moment(value: str | None, name: str) -> datetime | None:
    from service.core.timeutil import parse_timestamp

    if value is None:
        return None
    text = value if "T" in value else f"{value}T00:00:00Z"
    return parse_timestamp(text, field=name)


def summary_lines(summary: ImportSummary) -> list[str]:
    """The final summary: records by kind, deliveries stored and already there, skips with reasons."""
    records = summary.records()
    stored = sum(s.stored for s in summary.scopes)
    already = sum(s.already for s in summary.scopes)
    verb = "would import" if summary.dry_run else "imported"
    lines = [
        f"{summary.source}: {verb} " + (", ".join(f"{n} {kind}" for kind, n in sorted(records.items())) or "nothing"),
        f"  {stored} new inbox deliveries, {already} already there (merged, not doubled)",
        f"  {summary.requests} requests, {summary.retried} retried, {summary.refused} refused by the rate limit, "
        f"{summary.waited_seconds:.0f} s waiting for it",
    ]
    for scope in summary.scopes:
        if scope.up_to_date:
            lines.append(f"  {scope.scope}: already imported for this window")
        elif scope.resumed:
            lines.append(f"  {scope.scope}: resumed from its checkpoint")
    lines.extend(f"  skipped {n}: {reason}" for reason, n in summary.skipped().most_common())
    return lines


def _run(source: str, targets: tuple[str, ...], since: str, until: str | None, api_url: str | None, dry: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from integrations.history import sources
    from service.core.timeutil import utcnow

    settings = get_settings()
    with cli_session():  # the schema is up to date (embedded: the SQLite file is migrated)
        pass
    start = _moment(since, "since")
    assert start is not None
    end = _moment(until, "until") or utcnow()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[pages]} pages · {task.fields[records]} records · rate-limit wait {task.fields[wait]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        summary = sources.run(
            settings,
            source,
            list(targets),
            since=start,
            until=end,
            api_url=api_url,
            dry_run=dry,
            progress=RichProgress(bar),
        )
    for line in summary_lines(summary):
        click.echo(line)
    if not dry:
        process_now()


def _command(source: str) -> click.Command:
    flag, metavar, help_text = TARGETS[source]

    @click.command(source, help=f"Import {source}'s history (docs/import.md); credentials from the settings only.")
    @click.option(flag, "targets", multiple=True, required=True, metavar=metavar, help=help_text)
    @click.option("--since", required=True, help="Start: a date (2026-01-01) or an RFC 3339 time")
    @click.option("--until", default=None, help="End (exclusive; default: now)")
    @click.option("--api-url", default=None, help="The API's base URL (GitHub Enterprise, self-managed, a proxy)")
    @click.option("--dry-run", is_flag=True, help="Count what would be imported; store nothing")
    def command(targets: tuple[str, ...], since: str, until: str | None, api_url: str | None, dry_run: bool) -> None:
        _run(source, targets, since, until, api_url, dry_run)

    return command


@click.group("import")
def import_group() -> None:
    """Read a tool's history through its API (a baseline from before Frictionlog was installed)."""


for _source in TARGETS:
    import_group.add_command(_command(_source))
