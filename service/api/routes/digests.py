"""The weekly digest as JSON for tools. People read it in the web app (``service.web``, ``/digests``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlmodel import select

from service.api.auth import require_scope
from service.api.deps import DbSession
from service.digest.build import build
from service.models import Digest

router = APIRouter(tags=["digests"])

Week = Annotated[str, Path(pattern=r"^\d{4}-[Ww]\d{2}$", description="An ISO week, e.g. 2026-W47")]
Audience = Annotated[str, Query(max_length=140, description="leaders, or team:<name>")]


def _content(session: Any, request: Request, week: str, audience: str) -> dict[str, Any]:
    """What was posted for that week and audience, if it was; else built now from the data."""
    posted = session.exec(
        select(Digest).where(Digest.week == week.upper(), Digest.audience == audience, Digest.posted_at.is_not(None))  # type: ignore[union-attr]
    ).first()
    if posted is not None:
        stored: dict[str, Any] = posted.content
        return stored
    return build(session, request.app.state.settings, week=week.upper(), audience=audience)


@router.get("/api/v1/digests/{week}", dependencies=[Depends(require_scope("read"))])
def digest_json(week: Week, request: Request, session: DbSession, audience: Audience = "leaders") -> dict[str, Any]:
    return _content(session, request, week, audience)
