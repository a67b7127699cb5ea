"""The shape every importer's scope shares (the ``runner.Scope`` protocol): the inbox source it stores under,
its checkpoint key written from its own fields, the integration's config, and, for a scope read as one of
several kinds of event, the dispatch to that kind's fetcher. A vendor's scope adds only what it is read by
and how a page is fetched."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol

from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient
from integrations.history.runner import Batch, Scope


@dataclass(slots=True)
class VendorScope:
    """One thing a vendor is read by (a repository, a service, a project, a team, a query)."""

    source: ClassVar[str]
    """The inbox source: the vendor's webhook source (``github``, ``pagerduty``, …)."""
    key_format: ClassVar[str]
    """The checkpoint's key from the scope's fields: ``"{repository.full_name}:{kind}"`` → ``acme/api:pulls``."""
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
