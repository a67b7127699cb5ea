"""History imports over HTTP (admin): ask for one, then follow its progress. The import itself runs in a
worker job (workers.jobs.requested_imports), never on the request: a year of a vendor's API takes hours."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from integrations.history import runs
from service.app.api.auth import require_scope
from service.app.api.principal import Principal
from service.app.api.state import app_state
from service.core.errors import NotFound
from service.core.models import ImportRun
from service.core.timeutil import as_utc
from workers.names import IMPORT_RUNS_TASK

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])

AwareUTC = Annotated[datetime, AfterValidator(as_utc)]
SourceName = Literal["github", "gitlab", "pagerduty", "opsgenie", "jira", "linear"]
"""integrations.history.sources.SOURCES (tests/test_import_api.py checks they agree)."""
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ImportIn(BaseModel):
    source: SourceName
    targets: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        min_length=1, max_length=200, description="Repositories, projects, service ids, queries or team keys"
    )
    since: AwareUTC
    until: AwareUTC | None = Field(default=None, description="Exclusive end; omitted: when the import runs")


class ImportRunOut(BaseModel):
    id: int
    source: str
    targets: list[str]
    since: str
    until: str | None
    state: str = Field(description="queued, running, finished or failed")
    progress: dict[str, Any] = Field(description="Per scope: pages and records; at the end, the summary")
    error: str | None
    requested_by: str
    created_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None = Field(
        description=f"When a running import last said it was alive (every {runs.HEARTBEAT_SECONDS:.0f} s); one "
        f"silent for {runs.SILENT_FOR.total_seconds() / 60:.0f} minutes was cut off and is taken up again"
    )


def _out(run: ImportRun) -> ImportRunOut:
    assert run.id is not None
    asked = run.asked()
    return ImportRunOut(
        id=run.id,
        source=run.source,
        targets=list(asked.targets),
        since=asked.since.isoformat(),
        until=asked.until.isoformat() if asked.until else None,
        state=run.state,
        progress=run.progress,
        error=run.error,
        requested_by=run.requested_by,
        created_at=run.created_at,
        finished_at=run.finished_at,
        heartbeat_at=run.heartbeat_at,
    )


@router.post("", status_code=202)
async def create_import(
    body: ImportIn, request: Request, principal: Annotated[Principal, Depends(require_scope("admin"))]
) -> ImportRunOut:
    """Queue an import of a source's history; 422 names a missing credential setting (they are read from
    the server's settings only, never sent here)."""
    state = app_state(request)

    def queue() -> ImportRun:
        return runs.request_run(
            state.settings,
            source=body.source,
            targets=body.targets,
            since=body.since,
            until=body.until,
            requested_by=f"api:{principal.name}",
        )

    run = await run_in_threadpool(queue)
    if state.waker is not None:
        state.waker.wake(IMPORT_RUNS_TASK)
    return _out(run)


@router.get("/{run_id}", dependencies=[Depends(require_scope("admin"))])
async def get_import(run_id: RunId, request: Request) -> ImportRunOut:
    settings = app_state(request).settings
    run = await run_in_threadpool(runs.get_run, settings, run_id)
    if run is None:
        raise NotFound(f"no import {run_id}")
    return _out(run)
