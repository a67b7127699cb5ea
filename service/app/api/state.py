"""What the app holds for its whole life, as one typed object, and the typed dependencies that read it.

``request.app.state`` is an untyped bag; this module is the only place that reads it. Routes declare
what they need (``SettingsDep``, ``TaxonomyDep``, …), so the types are checked and the needs are visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from integrations.config import IntegrationConfig
from service.core.settings import Settings
from service.figures.friction.categorise import Taxonomy
from service.ingest.spool import Spool

if TYPE_CHECKING:
    from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

    from service.app.api.inbox_writer import InboxWriter
    from service.app.api.observability import Metrics
    from service.app.api.principal import TokenCache
    from workers.enqueue import Waker


@dataclass(slots=True)
class AppState:
    settings: Settings
    token_cache: TokenCache
    integration_config: IntegrationConfig
    spool: Spool
    inbox_writer: InboxWriter
    taxonomy: Taxonomy
    metrics: Metrics
    waker: Waker | None = None
    """Set when the app starts (the embedded worker, or the Celery waker)."""
    slack_handler: AsyncSlackRequestHandler | None = None
    """Set when the app starts, if Slack is configured."""


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.frictionlog
    return state


def get_settings_dep(request: Request) -> Settings:
    return app_state(request).settings


def get_taxonomy(request: Request) -> Taxonomy:
    return app_state(request).taxonomy


def get_integration_config(request: Request) -> IntegrationConfig:
    return app_state(request).integration_config


StateDep = Annotated[AppState, Depends(app_state)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]
IntegrationConfigDep = Annotated[IntegrationConfig, Depends(get_integration_config)]
