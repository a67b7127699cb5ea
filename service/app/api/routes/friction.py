"""Friction reports over the API: file one from any tool, list and triage them, see the themes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from integrations import friction_api
from service.app.api.auth import require_scope
from service.app.api.body import JsonBody, json_body
from service.app.api.deps import MAX_ID, BeforeId, DbSession, ReportId, WakerDep, WriteSession
from service.app.api.formats import Format, JsonOnly, csv_response
from service.app.api.routes.webhooks import AcceptedOut, kept_headers, store
from service.app.api.state import TaxonomyDep, app_state
from service.app.api.triage import apply_triage
from service.core.db import found
from service.core.models import FrictionReport
from service.core.timeutil import utcnow
from service.core.vocab import ReportStatus
from service.figures import catalogue
from service.figures.friction import privacy, reports, themes

router = APIRouter(prefix="/api/v1", tags=["friction"])

Status = ReportStatus


class FrictionOut(BaseModel):
    id: int
    text: str
    service: str | None
    platform: str | None
    category: str
    category_source: str
    confidence: float
    evidence: list[str]
    status: str
    reporter: str | None
    """A Slack user id Slack sent (slash command, form, shortcut); null for API and anonymous reports."""
    contact: str | None
    """The reporter an API caller named: shown as given, never messaged."""
    minutes_lost: int | None
    impact: int | None
    frequency: str | None
    votes: int
    duplicate_of: int | None
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str | None


class TriageIn(BaseModel):
    category: str | None = Field(default=None, max_length=64, description="Sets category_source to human")
    status: Status | None = None
    resolution_note: str | None = Field(default=None, max_length=4000)
    duplicate_of: int | None = Field(default=None, ge=1, le=MAX_ID)


class ForgottenOut(BaseModel):
    reports: int
    """Reports kept, now anonymous."""
    inbox_rows: int
    """Stored request bodies the identity was removed from."""
    outbox: int
    """Slack messages to them that were still waiting, deleted."""


class ThemeOut(BaseModel):
    service: str | None
    category: str
    reports: int
    reporters: int
    votes: int
    minutes_lost: int
    example: str
    report_ids: list[int]


def _out(report: FrictionReport) -> FrictionOut:
    return FrictionOut.model_validate(report, from_attributes=True)


@router.post(
    "/friction",
    status_code=202,
    responses={200: {"description": "Already received (a resend): nothing new stored"}},
    dependencies=[Depends(require_scope("ingest"))],
)
async def file_friction(
    request: Request,
    response: Response,
    body: Annotated[JsonBody, Depends(json_body)],
    waker: WakerDep,
) -> AcceptedOut:
    """File a friction report; ``id`` is its report number. Categorised by a worker moments later."""
    delivery = friction_api.delivery(body.value, headers=kept_headers(request))
    result = (await store(app_state(request), waker, [delivery]))[0]
    response.status_code = 200 if result.duplicate else 202
    return AcceptedOut(id=result.id, duplicate=result.duplicate)


@router.get("/friction", dependencies=[Depends(require_scope("read"))], response_model=list[FrictionOut])
def list_friction(
    session: DbSession,
    format: Format = "json",  # the query parameter's name
    status: Status | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: BeforeId = None,
) -> list[FrictionOut] | Response:
    service = catalogue.known_service(session, service) if service else None
    rows = reports.list_reports(
        session, status=status, category=category, service=service, limit=limit, before_id=before_id
    )
    out = [_out(row) for row in rows]
    return csv_response(out, FrictionOut, "friction") if format == "csv" else out


@router.get("/friction/themes", dependencies=[Depends(require_scope("read"))], response_model=list[ThemeOut])
def friction_themes(
    session: DbSession,
    format: Format = "json",  # the query parameter's name
    days: Annotated[int, Query(ge=1, le=366, description="Reports filed in the last N days")] = 28,
    service: Annotated[str | None, Query(max_length=128)] = None,
) -> list[ThemeOut] | Response:
    """Near-duplicate reports grouped by service and category: how many people hit the same thing."""
    service = catalogue.known_service(session, service) if service else None
    frame = reports.theme_frame(session, since=utcnow() - timedelta(days=days), service=service)
    out = [ThemeOut.model_validate(theme, from_attributes=True) for theme in themes.group(frame)]
    return csv_response(out, ThemeOut, "themes") if format == "csv" else out


@router.get("/friction/{report_id}", dependencies=[Depends(require_scope("read")), JsonOnly])
def get_friction(report_id: ReportId, session: DbSession) -> FrictionOut:
    return _out(found(session, FrictionReport, report_id, f"no friction report #{report_id}"))


@router.patch("/friction/{report_id}", dependencies=[Depends(require_scope("admin"))])
def triage_friction(
    report_id: ReportId, body: TriageIn, taxonomy: TaxonomyDep, session: WriteSession, waker: WakerDep
) -> FrictionOut:
    """Triage: correct the category (the categoriser learns from it), link a duplicate, set the status.
    Closing a report (resolved, wont_fix) tells its reporter, with the note; anonymous ones have no one."""
    result = apply_triage(
        session,
        report_id,
        taxonomy=taxonomy,
        waker=waker,
        category=body.category,
        status=body.status,
        resolution_note=body.resolution_note,
        duplicate_of=body.duplicate_of,
    )
    return _out(result.report)


@router.delete("/reporters/{identity}", dependencies=[Depends(require_scope("admin"))])
def forget_reporter(identity: Annotated[str, Path(min_length=1, max_length=64)], session: WriteSession) -> ForgottenOut:
    """Forget a reporter (``frictionlog reporters forget``): the Slack user id or API contact leaves every
    report, inbox body and outbox; the reports stay, as anonymous ones."""
    done = privacy.forget_reporter(session, identity)
    return ForgottenOut(reports=done.reports, inbox_rows=done.inbox_rows, outbox=done.outbox)
