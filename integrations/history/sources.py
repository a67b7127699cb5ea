"""Every history source by name: its credential and base URL from the settings, and its scopes from the
targets asked for (repositories, services, projects, teams). The CLI, the API and the schedule all start
an import through :func:`run`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from integrations.config import IntegrationConfig
from integrations.history import github, gitlab, jira, linear, opsgenie, pagerduty
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential
from integrations.history.runner import ImportSummary, Progress, Scope, run_import
from service.core.errors import InvalidInput
from service.core.settings import Settings


def _secret(value: SecretStr | None, setting: str) -> str:
    if value is None or not value.get_secret_value():
        raise InvalidInput(f"{setting} is not set: the import reads the vendor's API with it", field=setting)
    return value.get_secret_value()


def _required(value: str | None, setting: str) -> str:
    if not value:
        raise InvalidInput(f"{setting} is not set: the import needs it", field=setting)
    return value


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    target: str
    """What a scope is named by (``--repo``, ``--service-id``, …), as the CLI and the API take it."""
    credential: Callable[[Settings], Credential]
    base_url: Callable[[Settings], str]
    scopes: Callable[[list[str], IntegrationConfig], list[Scope]]


SOURCES: dict[str, Source] = {
    "github": Source(
        "github",
        "repo",
        lambda s: github.credential(_secret(s.github_token, "FRICTIONLOG_GITHUB_TOKEN")),
        lambda s: s.github_api_url,
        lambda targets, config: github.scopes(targets, config),
    ),
    "pagerduty": Source(
        "pagerduty",
        "service_id",
        lambda s: pagerduty.credential(_secret(s.pagerduty_api_key, "FRICTIONLOG_PAGERDUTY_API_KEY")),
        lambda s: s.pagerduty_api_url,
        lambda targets, config: pagerduty.scopes(targets, config),
    ),
    "gitlab": Source(
        "gitlab",
        "project",
        lambda s: gitlab.credential(_secret(s.gitlab_token, "FRICTIONLOG_GITLAB_TOKEN")),
        lambda s: s.gitlab_api_url,
        lambda targets, config: gitlab.scopes(targets, config),
    ),
    "opsgenie": Source(
        "opsgenie",
        "query",
        lambda s: opsgenie.credential(_secret(s.opsgenie_api_key, "FRICTIONLOG_OPSGENIE_API_KEY")),
        lambda s: s.opsgenie_api_url,
        lambda targets, config: opsgenie.scopes(targets, config),
    ),
    "jira": Source(
        "jira",
        "project",
        lambda s: jira.credential(
            _required(s.jira_email, "FRICTIONLOG_JIRA_EMAIL"), _secret(s.jira_api_token, "FRICTIONLOG_JIRA_API_TOKEN")
        ),
        lambda s: _required(s.jira_api_url, "FRICTIONLOG_JIRA_API_URL"),
        lambda targets, config: jira.scopes(targets, config),
    ),
    "linear": Source(
        "linear",
        "team",
        lambda s: linear.credential(_secret(s.linear_api_key, "FRICTIONLOG_LINEAR_API_KEY")),
        lambda s: s.linear_api_url,
        lambda targets, config: linear.scopes(targets, config),
    ),
}


def source(name: str) -> Source:
    found = SOURCES.get(name)
    if found is None:
        raise InvalidInput(f"{name!r} is not a history source: one of {', '.join(SOURCES)}", field="source")
    return found


def run(
    settings: Settings,
    name: str,
    targets: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    api_url: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    client_options: dict[str, Any] | None = None,
) -> ImportSummary:
    """Import ``targets`` of source ``name`` over [since, until) into the inbox (the workers then make
    records of it as of any webhook). Raises InvalidInput for a missing credential or target."""
    spec = source(name)
    if not targets:
        raise InvalidInput(f"name at least one {spec.target.replace('_', '-')} to import", field=spec.target)
    if since >= until:
        raise InvalidInput("since must be before until", field="since")
    credential = spec.credential(settings)
    config = IntegrationConfig.from_settings(settings)
    options: dict[str, Any] = {
        "timeout": settings.import_timeout_seconds,
        "attempts": settings.import_attempts,
        "max_wait_seconds": settings.import_max_wait_seconds,
        **(client_options or {}),
    }

    def make_client(on_wait: Callable[[float], None]) -> ApiClient:
        base = api_url or spec.base_url(settings)
        return ApiClient(base, credential, transport=transport, on_wait=on_wait, **options)

    return run_import(
        settings.database_url,
        name,
        make_client,
        spec.scopes(list(targets), config),
        Window(since, until),
        config,
        progress=progress,
        dry_run=dry_run,
    )
