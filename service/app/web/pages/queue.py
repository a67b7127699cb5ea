"""The triage queue: open reports as one sortable, searchable, paged list, with bulk actions for admins
(acknowledge, recategorise, merge into one report) and keyboard shortcuts (``static/queue.js``).

Bulk actions go through ``service.app.api.triage.apply_bulk``, the one triage path. A refused action (a
wrong merge number, no report chosen) shows the queue again with the error on the form and what was
entered kept: the chosen reports stay ticked, the number stays typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from service.app.api.deps import DbSession, WakerDep, WriteSession
from service.app.api.errors import status_of
from service.app.api.state import app_state
from service.app.api.triage import apply_bulk
from service.app.web import cache
from service.app.web.auth import Admin, Csrf, Viewer, Viewing
from service.app.web.pages.friction import TITLES, current_themes, report_number
from service.app.web.reads import service_facts
from service.app.web.render import page
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.vocab import ReportStatus
from service.figures.friction import reports, themes
from service.figures.friction.reports import QUEUE_SORTS, QueueSort
from service.figures.friction.triage import STATUSES

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SORT_TITLES = {"votes": "most votes", "minutes": "most minutes lost", "age": "oldest"}
BulkAction = Literal["acknowledge", "category", "merge"]
DONE = {"acknowledge": "acknowledged", "category": "recategorised", "merge": "merged"}


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """What the queue shows: the same fields in the page's URL and in the bulk form (to come back to)."""

    status: str = "open"
    sort: QueueSort = "votes"
    q: str = ""
    category: str = ""
    offset: int = 0

    def url(self, **changes: Any) -> str:
        values = {k: v for k, v in {**self.fields(), **changes}.items() if v not in ("", 0, None)}
        return "/friction/queue" + (f"?{urlencode(values)}" if values else "")

    def fields(self) -> dict[str, Any]:
        return {"status": self.status, "sort": self.sort, "q": self.q, "category": self.category, "offset": self.offset}


@dataclass(slots=True)
class Entered:
    """What an admin entered in the bulk form, shown again with an error."""

    ids: set[int] = field(default_factory=set)
    category: str = ""
    merge_into: str = ""
    error: str | None = None
    error_field: str | None = None


@router.get("/friction/queue")
def queue_page(
    request: Request,
    viewer: Viewing,
    session: DbSession,
    status: Annotated[ReportStatus, Query()] = ReportStatus.OPEN,
    sort: Annotated[QueueSort, Query()] = "votes",
    q: Annotated[str, Query(max_length=128)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    query = QueueQuery(status=str(status), sort=sort, q=q.strip(), category=category, offset=offset)
    done = request.query_params.get("done")
    return _render(request, session, viewer, query, Entered(), done=done if done in DONE.values() else None)


def _render(
    request: Request,
    session: Session,
    viewer: Viewer | None,
    query: QueueQuery,
    entered: Entered,
    *,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    taxonomy = app_state(request).taxonomy
    found = reports.queue(
        session,
        status=query.status,
        sort=query.sort,
        search=query.q or None,
        category=query.category or None,
        limit=PAGE_SIZE,
        offset=query.offset,
    )
    settings = app_state(request).settings
    across = themes.costliest(_across_services(settings, request, session))
    teams = {f.slug: f.team for f in service_facts(session)}
    return page(
        request,
        "queue.html",
        title="Triage queue",
        viewer=viewer,
        found=found,
        query=query,
        entered=entered,
        done=done,
        now=utcnow(),
        teams=teams,
        statuses=[(s, TITLES[s]) for s in STATUSES],
        sorts=[(s, SORT_TITLES[s]) for s in QUEUE_SORTS],
        categories=[(c, taxonomy.title(c)) for c in taxonomy.ids()],
        taxonomy=taxonomy,
        themes=across[:10],
        status_code=status_code,
    )


def _across_services(settings: Settings, request: Request, session: Session) -> list[themes.Theme]:
    """The themes of the board regrouped across services: one problem, whichever services report it."""
    return current_themes(settings, cache.of(request), session, per_service=False)


def bulk_changes(action: str, *, category: str, merge_into: str) -> dict[str, Any]:
    """The bulk form's fields → ``apply_bulk``'s changes (a merge marks the others duplicates of one)."""
    if action == "acknowledge":
        return {"status": "acknowledged"}
    if action == "category":
        if not category:
            raise InvalidInput("choose the category to set", field="category")
        return {"category": category}
    if action == "merge":
        return {
            "duplicate_of": report_number(merge_into, "give the number of the report to merge the chosen ones into")
        }
    raise InvalidInput("unknown action", field="action")


@router.post("/friction/queue/bulk", dependencies=[Csrf])
def bulk(
    request: Request,
    admin: Admin,
    session: WriteSession,
    waker: WakerDep,
    action: Annotated[BulkAction, Form()],
    ids: Annotated[list[int] | None, Form(max_length=PAGE_SIZE)] = None,
    category: Annotated[str, Form(max_length=64)] = "",
    merge_into: Annotated[str, Form(max_length=16)] = "",
    status: Annotated[ReportStatus, Form()] = ReportStatus.OPEN,
    sort: Annotated[QueueSort, Form()] = "votes",
    q: Annotated[str, Form(max_length=128)] = "",
    category_filter: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    query = QueueQuery(status=str(status), sort=sort, q=q.strip(), category=category_filter)
    chosen = list(ids or [])
    try:
        changes = bulk_changes(action, category=category, merge_into=merge_into)
        apply_bulk(session, chosen, taxonomy=app_state(request).taxonomy, waker=waker, **changes)
    except (InvalidInput, Conflict, NotFound) as error:
        session.rollback()
        entered = Entered(
            ids=set(chosen), category=category, merge_into=merge_into, error=error.message, error_field=error.field
        )
        return _render(request, session, admin, query, entered, status_code=status_of(error))
    cache.of(request).clear()
    return RedirectResponse(query.url(done=DONE[action]), status_code=303)
