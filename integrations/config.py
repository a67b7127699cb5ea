"""What the parsers need from Settings, as one frozen value (parsers stay pure and easy to test)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service.core.identity import service_slug
from service.core.settings import Settings
from service.figures.work.mapping import WorkMapping, load_mapping


@dataclass(frozen=True, slots=True)
class IntegrationConfig:
    production_environments: frozenset[str] = frozenset({"production", "prod"})
    workflow_environments: Mapping[str, str] = field(default_factory=dict)
    """CI workflow (GitHub) or pipeline (GitLab) name → the environment its successful runs deploy to."""
    incident_label: str = "incident"
    service_aliases: Mapping[str, str] = field(default_factory=dict)
    """An outside name → our service slug: ``owner/repo``, a GitLab project path, a PagerDuty service
    name or id, an Opsgenie entity."""
    monorepo_paths: Mapping[str, str] = field(default_factory=dict)
    """``owner/repo:path/prefix`` → service: commits touching files under the prefix belong to it."""
    work_mapping: WorkMapping = field(default_factory=load_mapping)
    """Which tracker items are features, bugs, support; which statuses start and finish; incident categories."""

    @classmethod
    def from_settings(cls, settings: Settings) -> IntegrationConfig:
        return cls(
            production_environments=frozenset(settings.production_environments),
            workflow_environments=dict(settings.workflow_environments),
            incident_label=settings.incident_label,
            service_aliases=dict(settings.service_aliases),
            monorepo_paths=dict(settings.monorepo_paths),
            work_mapping=load_mapping(str(settings.work_mapping_path) if settings.work_mapping_path else None),
        )

    def service_for(self, *names: str | None, fallback: str, field: str = "service") -> str:
        """The first name with an alias wins; otherwise the fallback (a repository or service name).
        Either way the result is the catalogue slug (service.core.identity); ``field`` names it in a 422."""
        for name in names:
            if name and name in self.service_aliases:
                return service_slug(self.service_aliases[name], field=field)
        return service_slug(fallback, field=field)

    def is_monorepo(self, repository: str) -> bool:
        return any(key.partition(":")[0] == repository for key in self.monorepo_paths)

    def services_for_paths(self, repository: str, paths: list[str]) -> set[str]:
        """Services of a monorepo whose path prefixes these files fall under (empty: not a monorepo)."""
        found = set()
        for key, service in self.monorepo_paths.items():
            repo, _, prefix = key.partition(":")
            if repo == repository and any(path.startswith(prefix) for path in paths):
                found.add(service_slug(service, field="monorepo_paths"))
        return found
