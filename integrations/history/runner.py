"""The one import loop: for each scope, page after page, check the page's deliveries with the webhook
parser, store them in the inbox with the checkpoint, report progress.

A vendor module offers :class:`Scope` objects; each ``fetch`` turns one vendor page into inbox deliveries
shaped as that vendor's webhook payloads (its module in ``integrations/`` parses them), keyed
``import:…`` by what they say, so a page stored twice is a duplicate and the records they become merge
with the webhook's by natural key in ``service.ingest.apply``.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrations.config import IntegrationConfig
from integrations.history import checkpoint
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient
from integrations.registry import parse_inbox_body
from service.core.errors import InvalidInput
from service.core.records import Ignored, InboxMeta
from service.core.timeutil import utcnow
from service.ingest.inbox import Delivery, content_key

log = logging.getLogger("frictionlog.import")

IMPORT_HEADERS = {"user-agent": "frictionlog-import"}


@dataclass(frozen=True, slots=True)
class Batch:
    """One vendor page as deliveries, and where the next page is (None: the scope is finished)."""

    deliveries: list[Delivery]
    cursor: str | None
    skipped: list[str] = field(default_factory=list)
    """Items of the page not turned into deliveries, each with its reason."""


class Scope(Protocol):
    """What one importer reads for one repository, service or project, page by page."""

    @property
    def source(self) -> str:
        """The inbox source: the vendor's webhook source (``github``, ``pagerduty``, …)."""

    @property
    def key(self) -> str:
        """The checkpoint's scope, e.g. ``owner/repo:deployments``."""

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        """The page at ``cursor`` (None: the first page of ``window``)."""


class Progress(Protocol):
    def begin(self, scope: str, /) -> None: ...

    def page(self, scope: str, records: int, /) -> None: ...

    def waited(self, seconds: float, /) -> None: ...

    def end(self, scope: str, /) -> None: ...


class NoProgress:
    def begin(self, _scope: str, /) -> None:
        return None

    def page(self, _scope: str, _records: int, /) -> None:
        return None

    def waited(self, _seconds: float, /) -> None:
        return None

    def end(self, _scope: str, /) -> None:
        return None


@dataclass(slots=True)
class ScopeSummary:
    scope: str
    pages: int = 0
    stored: int = 0
    already: int = 0
    """Deliveries the inbox already held (an earlier import of the same events)."""
    records: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    resumed: bool = False
    up_to_date: bool = False


@dataclass(slots=True)
class ImportSummary:
    source: str
    scopes: list[ScopeSummary] = field(default_factory=list)
    requests: int = 0
    refused: int = 0
    retried: int = 0
    waited_seconds: float = 0.0
    retry_reasons: list[str] = field(default_factory=list)
    """Why each retried request was retried (``HTTP 502``, ``truncated page …``, ``timed out``)."""
    dry_run: bool = False

    def records(self) -> Counter[str]:
        return sum((s.records for s in self.scopes), Counter())

    def skipped(self) -> Counter[str]:
        return sum((s.skipped for s in self.scopes), Counter())

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "requests": self.requests,
            "refused": self.refused,
            "retried": self.retried,
            "retry_reasons": dict(Counter(self.retry_reasons)),
            "waited_seconds": round(self.waited_seconds, 1),
            "records": dict(self.records()),
            "skipped": dict(self.skipped()),
            "scopes": [
                {
                    "scope": s.scope,
                    "pages": s.pages,
                    "stored": s.stored,
                    "already": s.already,
                    "resumed": s.resumed,
                    "up_to_date": s.up_to_date,
                }
                for s in self.scopes
            ],
        }


def delivery(source: str, event_type: str, body: dict[str, Any], name: str | None = None) -> Delivery:
    """An imported event as an inbox delivery. Its key is ``import:`` and ``name`` when the item has a
    stable identity that never changes, else a hash of what it says (an item that changed is new)."""
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    key = f"import:{name}" if name else "import:" + content_key(source, event_type, text.encode())
    return Delivery(source, event_type, key[:128], text, IMPORT_HEADERS)


def _kind(name: str) -> str:
    """``PullRequestRecord`` → ``pull request``: how the summary names a kind of record."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Record")).lower()


def checked(
    batch: Batch, config: IntegrationConfig, summary: ScopeSummary
) -> tuple[list[Delivery], Counter[str], Counter[str]]:
    """The deliveries the webhook parser turns into records (counted by kind); the others skipped with
    the parser's reason (an Ignored event, or the field it found missing or wrong)."""
    kept: list[Delivery] = []
    records: Counter[str] = Counter()
    skipped: Counter[str] = Counter(batch.skipped)
    for item in batch.deliveries:
        meta = InboxMeta(id=0, event_type=item.event_type, delivery_key=item.delivery_key, received_at=utcnow())
        try:
            result = parse_inbox_body(item.source, meta, item.body, config)
        except InvalidInput as exc:
            skipped[f"invalid {item.event_type}: {exc.message}"[:200]] += 1
            continue
        if isinstance(result, Ignored):
            skipped[result.reason[:200]] += 1
            continue
        kept.append(item)
        records.update(_kind(type(record).__name__) for record in result)
    return kept, records, skipped


def run_scope(
    database_url: str,
    client: ApiClient,
    scope: Scope,
    window: Window,
    config: IntegrationConfig,
    *,
    progress: Progress,
    dry_run: bool = False,
) -> ScopeSummary:
    """Import one scope from its checkpoint to its end (or count it, ``dry_run``, storing nothing)."""
    summary = ScopeSummary(scope.key)
    if dry_run:
        _fetch_window(
            database_url,
            client,
            scope,
            checkpoint.Start(None, False, False, window),
            config,
            summary,
            progress,
            dry_run=True,
        )
        return summary
    start = checkpoint.begin(database_url, scope.source, scope.key, window)
    summary.up_to_date = start.done
    while not start.done:
        summary.resumed = summary.resumed or start.resumed
        _fetch_window(database_url, client, scope, start, config, summary, progress, dry_run=False)
        start = checkpoint.begin(database_url, scope.source, scope.key, window)
    return summary


def _fetch_window(
    database_url: str,
    client: ApiClient,
    scope: Scope,
    start: checkpoint.Start,
    config: IntegrationConfig,
    summary: ScopeSummary,
    progress: Progress,
    *,
    dry_run: bool,
) -> None:
    """Every page of ``start.window`` from ``start.cursor``, each stored with the checkpoint's next cursor."""
    progress.begin(scope.key)
    cursor = start.cursor
    while True:
        batch = scope.fetch(client, cursor, start.window)
        kept, records, skipped = checked(batch, config, summary)
        if not dry_run:
            accepted = checkpoint.store_page(database_url, scope.source, scope.key, kept, batch.cursor)
            summary.stored += sum(not a.duplicate for a in accepted)
            summary.already += sum(a.duplicate for a in accepted)
        summary.pages += 1
        summary.records.update(records)
        summary.skipped.update(skipped)
        progress.page(scope.key, sum(records.values()))
        log.info("import.page source=%s scope=%s deliveries=%s", scope.source, scope.key, len(kept))
        if batch.cursor is None:
            break
        cursor = batch.cursor
    progress.end(scope.key)


ClientFactory = Callable[[Callable[[float], None]], ApiClient]
"""Makes the source's client; the callable it takes is told every rate-limit wait (progress)."""


def run_import(
    database_url: str,
    source: str,
    make_client: ClientFactory,
    scopes: Sequence[Scope],
    window: Window,
    config: IntegrationConfig,
    *,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Every scope in turn with one client (one rate limit); the summary adds up what each did."""
    shown = progress or NoProgress()
    summary = ImportSummary(source, dry_run=dry_run)
    with make_client(shown.waited) as client:
        try:
            for scope in scopes:
                summary.scopes.append(
                    run_scope(database_url, client, scope, window, config, progress=shown, dry_run=dry_run)
                )
        finally:
            meter = client.meter
            summary.requests, summary.refused = meter.requests, meter.refused
            summary.retried, summary.waited_seconds = meter.retried, meter.waited_seconds
            summary.retry_reasons = list(meter.retry_reasons)
    return summary
