"""The weekly digest as JSON for tools. People read it in the web app (``service.app.web``, ``/digests``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlmodel import select

from service.app.api.auth import require_scope
from service.app.api.deps import DbSession
from service.app.api.formats import JsonOnly
from service.app.api.state import app_state
from service.core.models import Digest
from service.digest.build import build
from service.digest.models import DigestContent, read_stored
from service.figures import catalogue

router = APIRouter(tags=["digests"])

Week = Annotated[str, Path(pattern=r"^\d{4}-[Ww]\d{2}$", description="An ISO week, e.g. 2026-W47")]
Audience = Annotated[str, Query(max_length=140, description="leaders, or team:<name>")]


def _content(session: Any, request: Request, week: str, audience: str) -> DigestContent:
    """What was posted for that week and audience, if it was; else built now from the data. A team no
    service has is 404 naming it (its digest would read as "a quiet week")."""
    if audience.startswith("team:"):
        catalogue.known_team(session, audience.removeprefix("team:"))
    posted = session.exec(
        select(Digest).where(Digest.week == week.upper(), Digest.audience == audience, Digest.posted_at.is_not(None))  # type: ignore[union-attr]
    ).first()
    if posted is not None:
        return read_stored(posted.content)
    return build(session, app_state(request).settings, week=week.upper(), audience=audience)


@router.get(
    "/api/v1/digests/{week}", response_model=DigestContent, dependencies=[Depends(require_scope("read")), JsonOnly]
)
def digest_json(week: Week, request: Request, session: DbSession, audience: Audience = "leaders") -> DigestContent:
    """The digest as JSON (its schema: ``DigestContent``): the verdict, headline, the migration's effects
    with their intervals and checks, success criteria, friction, chart series and data warnings."""
    return _content(session, request, week, audience)
