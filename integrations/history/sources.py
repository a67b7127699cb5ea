"""Every history source by name: its credential and base URL from the settings, and its scopes from the
targets asked for (repositories, services, projects, teams). The CLI, the API and the schedule all start
an import through :func:`run`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from integrations.config import IntegrationConfig
from integrations.history import github, gitlab, jira, linear, opsgenie, pagerduty
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential
from integrations.history.runner import ImportSummary, Progress, Scope, run_import
from service.core.errors import InvalidInput
from service.core.settings import Settings, env_variable


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


class _KeyedVendor(Protocol):
    """A history module that signs in with one secret (a token or an API key)."""

    def credential(self, secret: str, /) -> Credential: ...

    def scopes(self, targets: list[str], config: IntegrationConfig, /) -> list[Scope]: ...


def _keyed(name: str, target: str, vendor: _KeyedVendor, *, secret: str, api_url: str) -> Source:
    """A source whose credential is the setting ``secret`` and whose API is at the setting ``api_url`` (both
    ``Settings`` fields; the error names the environment variable)."""
    assert {secret, api_url} <= set(Settings.model_fields), (secret, api_url)
    variable = env_variable(secret)
    return Source(
        name,
        target,
        lambda s: vendor.credential(_secret(getattr(s, secret), variable)),
        lambda s: str(getattr(s, api_url)),
        vendor.scopes,
    )


SOURCES: dict[str, Source] = {
    "github": _keyed("github", "repo", github, secret="github_token", api_url="github_api_url"),
    "pagerduty": _keyed("pagerduty", "service_id", pagerduty, secret="pagerduty_api_key", api_url="pagerduty_api_url"),
    "gitlab": _keyed("gitlab", "project", gitlab, secret="gitlab_token", api_url="gitlab_api_url"),
    "opsgenie": _keyed("opsgenie", "query", opsgenie, secret="opsgenie_api_key", api_url="opsgenie_api_url"),
    "jira": Source(
        "jira",
        "project",
        lambda s: jira.credential(
            _required(s.jira_email, "FRICTIONLOG_JIRA_EMAIL"), _secret(s.jira_api_token, "FRICTIONLOG_JIRA_API_TOKEN")
        ),
        lambda s: _required(s.jira_api_url, "FRICTIONLOG_JIRA_API_URL"),
        jira.scopes,
    ),
    "linear": _keyed("linear", "team", linear, secret="linear_api_key", api_url="linear_api_url"),
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
