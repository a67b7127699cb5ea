"""Data quality (``/data``): failed and ignored events with their errors and, for admins, a replay button
(``service.ingest.inbox.requeue``, the function ``frictionlog replay`` calls) and an "import history" form
(``integrations.history.runs.request_run``, what ``POST /api/v1/imports`` calls); unlinked incidents; services
seen but not catalogued; deployments with no commits; the warnings the figures carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from integrations.history import runs
from integrations.history.sources import SOURCES
from service.app.api.deps import DbSession, WakerDep, WriteSession
from service.app.api.state import app_state
from service.app.web import cache
from service.app.web.auth import Admin, Csrf, Viewing
from service.app.web.render import page
from service.core.db import session_scope
from service.core.errors import InvalidInput
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.vocab import InboxStatus
from service.figures import quality
from service.figures.filters import Filters
from service.figures.metrics import dora
from service.figures.metrics.service import dora_metrics
from service.ingest import inbox
from workers.names import IMPORT_RUNS_TASK

router = APIRouter(include_in_schema=False)
WINDOW_DAYS = 28
REPLAYABLE = (InboxStatus.FAILED, InboxStatus.IGNORED)


def quality_figures(settings: Settings, memo: cache.PageMemo, session: Session) -> dict[str, Any]:
    """What the page shows of the last WINDOW_DAYS days of data: the warnings the figures carry (a DORA pass
    over raw rows), unlinked incidents, uncatalogued services and deployments with no commits — scans of a
    month of rows, so remembered per data version (the failed and ignored events are always read afresh)."""
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    window = dora.Window(hour - timedelta(days=WINDOW_DAYS), hour)

    def compute() -> dict[str, Any]:
        with session_scope(settings.database_url) as own:
            return {
                "warnings": dora_metrics(own, settings, Filters(), window)["warnings"],
                "unlinked": quality.unlinked_incidents(own, since=window.start),
                "linking": quality.linking(own, since=window.start),
                "since": window.start,
                "uncatalogued": quality.uncatalogued_services(own, since=window.start),
                "no_commits": quality.deployments_without_commits(
                    own, since=window.start, environments=settings.production_environments
                ),
            }

    return memo.remember(("data-quality", settings.database_url, hour), cache.data_version(session), compute)


@router.get("/data")
def data_page(request: Request, viewer: Viewing, session: DbSession) -> Response:
    settings = app_state(request).settings
    found = quality_figures(settings, cache.of(request), session)
    return page(
        request,
        "data.html",
        title="Data quality",
        viewer=viewer,
        days=WINDOW_DAYS,
        counts=inbox.count_by_status(session),
        failed=inbox.list_events(session, status=InboxStatus.FAILED, limit=50),
        ignored=inbox.list_events(session, status=InboxStatus.IGNORED, limit=50),
        unlinked=found["unlinked"],
        linking=found["linking"],
        last_processed=quality.last_processed(session),
        since=found["since"],
        uncatalogued=found["uncatalogued"],
        no_commits=found["no_commits"],
        warnings=found["warnings"],
        replayed=request.query_params.get("replayed"),
        import_sources=[(name, spec.target.replace("_", " ")) for name, spec in SOURCES.items()],
        imports=runs.recent_runs(settings) if viewer.is_admin else [],
        import_queued=request.query_params.get("import"),
        import_error=request.query_params.get("import_error"),
    )


@router.post("/data/replay", dependencies=[Csrf])
def replay(
    request: Request,
    _admin: Admin,
    session: WriteSession,
    waker: WakerDep,
    event_id: Annotated[int, Form(ge=1, le=2_147_483_647)],
) -> Response:
    count = inbox.requeue(session, statuses=REPLAYABLE, ids=[event_id])
    if count:
        waker.wake()
        cache.of(request).clear()
    return RedirectResponse(f"/data?replayed={event_id if count else 'none'}", status_code=303)


@router.post("/data/import", dependencies=[Csrf])
def import_history(
    request: Request,
    admin: Admin,
    waker: WakerDep,
    source: Annotated[str, Form(max_length=32)],
    targets: Annotated[str, Form(max_length=4000)],
    since: Annotated[str, Form(max_length=32)],
) -> Response:
    """Queue an import of a source's history (the worker runs it; its progress shows here and on the API)."""
    settings = app_state(request).settings
    try:
        start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None
    except ValueError:
        start = None
    try:
        if start is None:
            raise InvalidInput("give the day to import from (YYYY-MM-DD)", field="since")
        names = [part.strip() for part in targets.replace("\n", ",").split(",")]
        run = runs.request_run(
            settings, source=source, targets=names, since=start, until=None, requested_by=f"web:{admin.name}"
        )
    except InvalidInput as exc:
        return RedirectResponse(f"/data?{urlencode({'import_error': exc.message})}", status_code=303)
    waker.wake(IMPORT_RUNS_TASK)
    return RedirectResponse(f"/data?import={run.id}", status_code=303)
