"""The shape every importer's scope shares (the ``runner.Scope`` protocol): the inbox source it stores under,
its checkpoint key written from its own fields, the integration's config, and, for a scope read as one of
several kinds of event, the dispatch to that kind's fetcher, or, for a scope read in date ranges each paged by
offset, that walk. A vendor's scope adds only what it is read by and how a page is fetched."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, ClassVar, Protocol

from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, ImportFailed
from integrations.history.paging import next_window, state_cursor, window_state, windows
from integrations.history.runner import Batch, Scope
from service.ingest.inbox import Delivery


@dataclass(slots=True)
class VendorScope:
    """One thing a vendor is read by (a repository, a service, a project, a team, a query)."""

    source: ClassVar[str]
    """The inbox source: the vendor's webhook source (``github``, ``pagerduty``, …)."""
    key_format: ClassVar[str]
    """The checkpoint's key from the scope's fields: ``"{subject.full_name}:{kind}"`` → ``acme/api:pulls``."""
    config: IntegrationConfig = field(default_factory=IntegrationConfig, kw_only=True)

    @property
    def key(self) -> str:
        return self.key_format.format_map({f.name: getattr(self, f.name) for f in fields(self)})

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        """The page at ``cursor`` (None: the first page of ``window``)."""
        raise NotImplementedError


Fetcher = Callable[[Any, ApiClient, dict[str, Any], str | None, Window], Batch]
"""One kind's page reader: (scope, client, the subject's payload, cursor, window) → the page's deliveries."""


class Subject(Protocol):
    """What a :class:`KindScope` reads (a repository, a project): its metadata, fetched once for all kinds."""

    def payload(self, client: ApiClient) -> dict[str, Any]:
        """The subject as every page's payload names it."""
        ...


@dataclass(slots=True)
class KindScope(VendorScope):
    """A scope read as one of several kinds of event (``kind``), each by its fetcher, all given the subject's
    payload (the repository's or project's metadata, read once)."""

    fetchers: ClassVar[Mapping[str, Fetcher]]
    subject: Subject
    kind: str = field(kw_only=True)

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        return self.fetchers[self.kind](self, client, self.subject.payload(client), cursor, window)


def kind_scopes(
    scope: Callable[..., KindScope], subjects: Iterable[Subject], config: IntegrationConfig, kinds: Iterable[str]
) -> list[Scope]:
    """A scope of each kind for every subject, the kinds of one subject sharing it (read once for all)."""
    kinds = tuple(kinds)
    return [scope(subject, kind=kind, config=config) for subject in subjects for kind in kinds]


@dataclass(slots=True)
class WindowedScope(VendorScope):
    """A scope read in ranges of at most ``longest`` (a vendor that caps a query's range: PagerDuty, Opsgenie),
    each paged by offset. Its cursor is the state ``{"window": the range, "offset": …}`` (with whatever else
    the vendor keeps beside the offset) as JSON. A vendor gives the page's request, the answer's list, each
    item as deliveries, and where the range's next page starts."""

    longest: ClassVar[timedelta]
    path: ClassVar[str]
    listed: ClassVar[str]
    """The answer's key of the page's items (``incidents``, ``data``)."""

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        state = window_state(cursor)
        ranges = windows(window, self.longest)
        if not ranges:
            return Batch([], None)
        page = client.get(self.path, self.params(ranges[state["window"]], state), scope=self.key)
        items = page.data.get(self.listed) if isinstance(page.data, dict) else None
        if not isinstance(items, list):
            raise ImportFailed(f"{self.key}: the answer has no {self.listed} list")
        out, skipped = [], []
        for item in items:
            events = self.events(client, item)
            if isinstance(events, str):
                skipped.append(events)
            else:
                out.extend(events)
        more = self.following(page.data, items, state)
        next_state = {"window": state["window"], **more} if more is not None else next_window(state, ranges)
        return Batch(out, state_cursor(next_state), skipped)

    def params(self, current: Window, state: dict[str, Any], /) -> dict[str, str | int]:
        """The query of the page at ``state["offset"]`` of the range ``current``."""
        raise NotImplementedError

    def events(self, client: ApiClient, item: Any, /) -> list[Delivery] | str:
        """The item's deliveries, or why it is skipped."""
        raise NotImplementedError

    def following(self, data: Any, items: list[Any], state: dict[str, Any], /) -> dict[str, Any] | None:
        """The next page of the range as the state beside its range (``{"offset": …}``), or None after its last
        page (the next range's first page follows)."""
        raise NotImplementedError
