"""The friction board: columns by status with filters, a report's page with the triage forms (admins),
and themes. Triage goes through ``service.app.api.triage.apply_triage``, the path of the API and the Slack
buttons, so resolving here DMs the reporter exactly as Slack's Resolve does."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from service.app.api.deps import DbSession, ReportId, WakerDep, WriteSession
from service.app.api.errors import status_of
from service.app.api.state import app_state
from service.app.api.triage import apply_triage
from service.app.web import cache
from service.app.web.auth import Admin, Csrf, Viewer, Viewing
from service.app.web.filters import PageFilters, Text
from service.app.web.reads import service_facts
from service.app.web.render import page
from service.app.web.tables import ServiceFacts
from service.core.db import found, session_scope
from service.core.errors import AppError, Conflict, InvalidInput
from service.core.models import FrictionReport, Service
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.vocab import CLOSED
from service.figures.friction import reports, themes
from service.figures.friction.categorise import Taxonomy
from service.figures.friction.triage import STATUSES

router = APIRouter(include_in_schema=False)
THEME_DAYS = 28
TITLES = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved", "wont_fix": "Won't fix"}


def theme_key(theme: themes.Theme, *, across: bool = False) -> str:
    """A theme's key in URLs: ``t`` and its first report per service, ``x`` and it across services."""
    return f"{'x' if across else 't'}{min(theme.report_ids)}"


def current_themes(
    settings: Settings, memo: cache.PageMemo, session: Session, *, per_service: bool = True
) -> list[themes.Theme]:
    """Themes of the last THEME_DAYS days, per service or across services (grouping compares reports
    pairwise: remembered per data version)."""
    database_url = settings.database_url

    def compute() -> list[themes.Theme]:
        with session_scope(database_url) as own:
            frame = reports.theme_frame(own, since=utcnow() - timedelta(days=THEME_DAYS))
        return themes.group(frame, per_service=per_service)

    day = utcnow().date().isoformat()
    return memo.remember(("themes", database_url, day, per_service), cache.data_version(session), compute)


class BoardFilters(PageFilters):
    category: Text = None
    service: Text = None
    team: Text = None
    theme: Text = None


@router.get("/friction")
def board(request: Request, viewer: Viewing, session: DbSession, filters: Annotated[BoardFilters, Query()]) -> Response:
    taxonomy = app_state(request).taxonomy
    facts = service_facts(session)
    settings, memo = app_state(request).settings, cache.of(request)
    found = current_themes(settings, memo, session)
    theme = filters.theme
    across = current_themes(settings, memo, session, per_service=False) if theme and theme[:1] == "x" else []
    columns = _columns(
        session,
        category=filters.category or None,
        services=_chosen_services(facts, filters.service, filters.team),
        ids=_theme_ids(found, theme) if not across else _theme_ids(across, theme, across=True),
    )
    any_report = session.exec(select(FrictionReport.id).limit(1)).first() is not None
    return page(
        request,
        "board.html",
        title="Friction",
        viewer=viewer,
        columns=columns,
        any_report=any_report,
        categories=[(c, taxonomy.title(c)) for c in taxonomy.ids()],
        services=sorted(f.slug for f in facts),
        teams=sorted({f.team for f in facts if f.team}),
        themes=_theme_choices(found, taxonomy),
        filters=filters.shown(),
        taxonomy=taxonomy,
    )


def _chosen_services(facts: list[ServiceFacts], service: str | None, team: str | None) -> list[str] | None:
    """The services the filters narrow the board to: the team's, then only ``service`` among them (or
    alone); None when neither filter is set."""
    services: list[str] | None = None
    if team:
        services = [f.slug for f in facts if f.team == team]
    if service:
        services = [s for s in (services if services is not None else [service]) if s == service]
    return services


def _theme_ids(found: list[themes.Theme], theme: str | None, *, across: bool = False) -> list[int] | None:
    """The reports of the chosen theme (none when it is no longer a theme); None when no theme is chosen."""
    if not theme:
        return None
    chosen = next((t for t in found if theme_key(t, across=across) == theme), None)
    return [] if chosen is None else chosen.report_ids


def _columns(
    session: Session, *, category: str | None, services: list[str] | None, ids: list[int] | None
) -> list[dict[str, Any]]:
    """One column per status: its title, its newest 30 matching reports and how many match in all."""
    columns = []
    for status in STATUSES:
        rows, total = reports.board(session, status=status, category=category, services=services, ids=ids, limit=30)
        columns.append({"status": status, "title": TITLES[status], "rows": rows, "total": total})
    return columns


def _theme_choices(found: list[themes.Theme], taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """(key, "Category on service") of every theme, for the theme filter."""
    return [(theme_key(t), f"{taxonomy.title(t.category)}{' on ' + t.service if t.service else ''}") for t in found]


@router.get("/friction/themes")
def themes_page(request: Request, viewer: Viewing, session: DbSession) -> Response:
    found = themes.costliest(current_themes(app_state(request).settings, cache.of(request), session, per_service=False))
    ids = [i for t in found for i in t.report_ids]
    texts: dict[int, FrictionReport] = {}
    if ids:
        texts = {r.id: r for r in session.exec(select(FrictionReport).where(col(FrictionReport.id).in_(ids)))}
    return page(
        request,
        "themes.html",
        title="Friction themes",
        viewer=viewer,
        themes=[(theme_key(t, across=True), t, [texts[i] for i in t.report_ids if i in texts]) for t in found],
        days=THEME_DAYS,
        taxonomy=app_state(request).taxonomy,
    )


def _report(session: Session, report_id: int) -> FrictionReport:
    return found(session, FrictionReport, report_id, f"There is no friction report #{report_id}.")


@router.get("/friction/{report_id}")
def report_page(request: Request, report_id: ReportId, viewer: Viewing, session: DbSession) -> Response:
    return _render_report(request, session, viewer, _report(session, report_id), done=request.query_params.get("done"))


def _render_report(
    request: Request,
    session: Session,
    viewer: Viewer | None,
    report: FrictionReport,
    *,
    done: str | None = None,
    error: AppError | None = None,
    entered: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """A report's page; after a refused triage form, with the error on that form and what was typed kept."""
    duplicates = session.exec(select(FrictionReport).where(FrictionReport.duplicate_of == report.id)).all()
    team = None
    if report.service:
        entry = session.get(Service, report.service)
        team = entry.team if entry else None
    taxonomy = app_state(request).taxonomy
    open_original = report.duplicate_of is None and report.status not in CLOSED
    return page(
        request,
        "report.html",
        title=f"Friction #{report.id}",
        viewer=viewer,
        report=report,
        team=team,
        duplicates=duplicates,
        suggestions=themes.likely_duplicates(reports.duplicate_candidates(session, report), report.id)
        if open_original
        else [],
        next_report=reports.next_open(session, after=report.id) if done else None,
        categories=[(c, taxonomy.title(c)) for c in taxonomy.ids()],
        taxonomy=taxonomy,
        done=done,
        error=error,
        entered=entered or {},
        status_code=status_code,
    )


Action = Literal["category", "duplicate", "acknowledge", "resolve", "wont_fix", "reopen"]


def report_number(text: str, refusal: str) -> int:
    """The report number a form names ("12" or "#12"); InvalidInput saying ``refusal`` (on ``duplicate_of``)
    for anything else. ASCII digits only ("²".isdigit() is true, int("²") raises): a bad number is a 4xx,
    never a 500."""
    number = text.strip().lstrip("#")
    if not (number.isascii() and number.isdigit()) or len(number) > 10 or int(number) > 2**31 - 1:
        raise InvalidInput(refusal, field="duplicate_of")
    return int(number)


class TriageForm(BaseModel):
    """The report page's triage form (its CSRF token is checked apart)."""

    action: Action
    category: str = Field(default="", max_length=64)
    duplicate_of: str = Field(default="", max_length=16)
    note: str = Field(default="", max_length=4000)

    def changes(self) -> dict[str, Any]:
        """The form's fields → the triage function's arguments (the same as the API's PATCH body)."""
        action, note = self.action, self.note.strip()
        if action == "category":
            return {"category": self.category}
        if action == "duplicate":
            return {
                "duplicate_of": report_number(self.duplicate_of, "give the number of the report this one duplicates")
            }
        if action == "acknowledge":
            return {"status": "acknowledged"}
        if action == "reopen":
            return {"status": "open"}
        if not note:
            raise InvalidInput("write a note for the reporter: it is what they are told", field="resolution_note")
        return {"status": "resolved" if action == "resolve" else "wont_fix", "resolution_note": note}


TriageFormData = Annotated[TriageForm, Form()]


@router.post("/friction/{report_id}/triage", dependencies=[Csrf])
def triage_report(
    request: Request, report_id: ReportId, admin: Admin, session: WriteSession, waker: WakerDep, form: TriageFormData
) -> Response:
    try:
        apply_triage(session, report_id, taxonomy=app_state(request).taxonomy, waker=waker, **form.changes())
    except (InvalidInput, Conflict) as error:  # shown on the form, with what was typed
        session.rollback()
        report = _report(session, report_id)
        return _render_report(
            request, session, admin, report, error=error, entered=form.model_dump(), status_code=status_of(error)
        )
    cache.of(request).clear()
    return RedirectResponse(f"/friction/{report_id}?done={form.action}", status_code=303)
