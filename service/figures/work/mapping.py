"""The work-item and incident mapping (service/figures/work/mapping.yaml): configuration, not code.

Pure: attributes of an item or an incident in, the mapped kind, status, service or category out, with
the evidence for an incident's category. Every parser goes through these functions, so one file
decides what a feature, a started status or an infrastructure incident is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from service.core.errors import InvalidInput
from service.core.vocab import INCIDENT_CATEGORIES

DEFAULT_MAPPING = Path(__file__).with_name("mapping.yaml")
KINDS = ("feature", "bug", "support", "task")
STATUSES = ("open", "in_progress", "done", "cancelled")


def _lower_map(value: Any, *, allowed: tuple[str, ...] | None = None, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be a mapping", field=where)
    out: dict[str, str] = {}
    for name, target in value.items():
        target_text = str(target)
        if allowed is not None and target_text not in allowed:
            raise InvalidInput(f"{where}.{name}: {target_text!r} is not one of {', '.join(allowed)}", field=where)
        out[str(name).strip().lower()] = target_text
    return out


def _first(*names: tuple[str | None, Mapping[str, str]]) -> str | None:
    """The mapped value of the first (name, table) whose name its table holds (names stripped and
    lower-cased, as ``_lower_map`` stores them); None when none does."""
    for name, table in names:
        if name and (found := table.get(name.strip().lower())):
            return found
    return None


def _pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in term.lower().split()]
    return re.compile(r"(?<![\w])" + r"[\s\-_/]+".join(words) + r"(?![\w])")


@dataclass(frozen=True, slots=True)
class WorkMapping:
    issue_types: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    projects: Mapping[str, str] = field(default_factory=dict)
    default_kind: str = "task"
    status_names: Mapping[str, str] = field(default_factory=dict)
    status_categories: Mapping[str, str] = field(default_factory=dict)
    status_types: Mapping[str, str] = field(default_factory=dict)
    service_label_prefix: str = "service:"
    service_components: Mapping[str, str] = field(default_factory=dict)
    service_teams: Mapping[str, str] = field(default_factory=dict)
    service_projects: Mapping[str, str] = field(default_factory=dict)
    service_repositories: Mapping[str, str] = field(default_factory=dict)
    incident_services: Mapping[str, str] = field(default_factory=dict)
    incident_teams: Mapping[str, str] = field(default_factory=dict)
    incident_rules: tuple[tuple[str, str, re.Pattern[str]], ...] = ()
    """(category, term, compiled pattern)."""

    def kind(self, *, issue_type: str | None, labels: Iterable[str], project: str | None) -> str:
        """Issue type, then the first mapped label, then the project; else the default kind."""
        labelled = ((label, self.labels) for label in labels)
        return _first((issue_type, self.issue_types), *labelled, (project, self.projects)) or self.default_kind

    def status(self, *, name: str | None, category: str | None = None, type_: str | None = None) -> str | None:
        """A mapped status name wins, then the Jira status category, then the Linear state type."""
        return _first((name, self.status_names), (category, self.status_categories), (type_, self.status_types))

    def service(
        self,
        *,
        labels: Iterable[str] = (),
        components: Iterable[str] = (),
        team: str | None = None,
        project: str | None = None,
        repository: str | None = None,
    ) -> str | None:
        """The name of the item's service as written in the tracker (the caller normalises it)."""
        prefix = self.service_label_prefix.lower()
        for label in labels:
            if prefix and label.lower().startswith(prefix) and label[len(prefix) :].strip():
                return label[len(prefix) :].strip()
        return _first(
            *((component, self.service_components) for component in components),
            (team, self.service_teams),
            (project, self.service_projects),
            (repository, self.service_repositories),
        )

    def incident_category(
        self,
        *,
        explicit: str | None,
        vendor_services: Iterable[str] = (),
        teams: Iterable[str] = (),
        title: str | None = None,
        service: str | None = None,
    ) -> tuple[str, str | None, tuple[str, ...]]:
        """(category, how it was decided, evidence): explicit → service map → team map → rules → unknown."""
        if explicit:
            value = explicit.strip().lower()
            if value in INCIDENT_CATEGORIES:
                return value, "explicit", (f"category={value}",)
        for name in vendor_services:
            if name and (found := self.incident_services.get(name.strip().lower())):
                return found, "service_map", (f"service {name}",)
        for name in teams:
            if name and (found := self.incident_teams.get(name.strip().lower())):
                return found, "team_map", (f"team {name}",)
        text = " ".join(part for part in (title, service) if part).lower()
        hits: dict[str, list[str]] = {}
        for category, term, pattern in self.incident_rules:
            if pattern.search(text):
                hits.setdefault(category, []).append(term)
        if not hits:
            return "unknown", None, ()
        ranked = sorted(hits.items(), key=lambda item: -len(item[1]))
        if len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
            return "unknown", "rule", tuple(f"{c}: {t}" for c, terms in ranked for t in terms)
        return ranked[0][0], "rule", tuple(ranked[0][1])


def parse_mapping(text: str) -> WorkMapping:
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise InvalidInput("a work mapping is a YAML mapping")
    kinds = data.get("kinds") or {}
    statuses = data.get("statuses") or {}
    services = data.get("services") or {}
    incidents = data.get("incidents") or {}
    rules: list[tuple[str, str, re.Pattern[str]]] = []
    for category, terms in (incidents.get("rules") or {}).items():
        if category not in INCIDENT_CATEGORIES[:2]:
            raise InvalidInput(f"incidents.rules.{category}: not infrastructure or application", field="rules")
        rules.extend((str(category), str(term), _pattern(str(term))) for term in terms or [])
    default_kind = str(kinds.get("default", "task"))
    if default_kind not in KINDS:
        raise InvalidInput(f"kinds.default: {default_kind!r} is not one of {', '.join(KINDS)}", field="kinds")
    return WorkMapping(
        issue_types=_lower_map(kinds.get("issue_types"), allowed=KINDS, where="kinds.issue_types"),
        labels=_lower_map(kinds.get("labels"), allowed=KINDS, where="kinds.labels"),
        projects=_lower_map(kinds.get("projects"), allowed=KINDS, where="kinds.projects"),
        default_kind=default_kind,
        status_names=_lower_map(statuses.get("names"), allowed=STATUSES, where="statuses.names"),
        status_categories=_lower_map(statuses.get("categories"), allowed=STATUSES, where="statuses.categories"),
        status_types=_lower_map(statuses.get("types"), allowed=STATUSES, where="statuses.types"),
        service_label_prefix=str(services.get("label_prefix", "service:")),
        service_components=_lower_map(services.get("components"), where="services.components"),
        service_teams=_lower_map(services.get("teams"), where="services.teams"),
        service_projects=_lower_map(services.get("projects"), where="services.projects"),
        service_repositories=_lower_map(services.get("repositories"), where="services.repositories"),
        incident_services=_lower_map(
            incidents.get("services"), allowed=INCIDENT_CATEGORIES, where="incidents.services"
        ),
        incident_teams=_lower_map(incidents.get("teams"), allowed=INCIDENT_CATEGORIES, where="incidents.teams"),
        incident_rules=tuple(rules),
    )


@lru_cache(maxsize=8)
def load_mapping(path: str | None = None) -> WorkMapping:
    """The mapping file (cached per path): the built-in one unless FRICTIONLOG_WORK_MAPPING_PATH is set."""
    return parse_mapping(Path(path or DEFAULT_MAPPING).read_text(encoding="utf-8"))
