"""Friction reports over the API: file one from any tool (Slack has its own route)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from integrations import friction_api
from service.api.auth import require_scope
from service.api.body import JsonBody, json_body
from service.api.deps import WakerDep, WriteSession
from service.api.routes.webhooks import AcceptedOut, kept_headers, store

router = APIRouter(prefix="/api/v1", tags=["friction"])


@router.post(
    "/friction",
    status_code=202,
    responses={200: {"description": "Already received (a resend): nothing new stored"}},
    dependencies=[Depends(require_scope("ingest"))],
)
def file_friction(
    request: Request,
    response: Response,
    body: Annotated[JsonBody, Depends(json_body)],
    session: WriteSession,
    waker: WakerDep,
) -> AcceptedOut:
    """File a friction report; ``id`` is its report number. Categorised by a worker moments later."""
    result = store(session, waker, [friction_api.delivery(body.value, headers=kept_headers(request))])[0]
    response.status_code = 200 if result.duplicate else 202
    return AcceptedOut(id=result.id, duplicate=result.duplicate)
