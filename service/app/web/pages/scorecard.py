"""The scorecard's assumptions, changed by an admin from the overview's form: stored, then every page
values the kept effects at them (``service.digest.scorecard.rescore``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service.app.api.deps import WriteSession
from service.app.web.auth import Admin, Csrf
from service.digest import assumptions

router = APIRouter(include_in_schema=False)
Value = Annotated[str, Form(max_length=40)]


@router.post("/scorecard/assumptions", dependencies=[Csrf])
def save_assumptions(
    _request: Request,
    admin: Admin,
    session: WriteSession,
    loaded_hourly_cost: Value = "",
    support_ticket_hours: Value = "",
    incident_hours: Value = "",
    incident_responders: Value = "",
) -> Response:
    """A value that is not a number within its limits is refused with a 4xx naming its field."""
    values = assumptions.parse(
        {
            "loaded_hourly_cost": loaded_hourly_cost,
            "support_ticket_hours": support_ticket_hours,
            "incident_hours": incident_hours,
            "incident_responders": incident_responders,
        }
    )
    assumptions.save(session, values, changed_by=admin.name)
    # No memo to clear: every page values the kept effects at the stored assumptions when it renders.
    return RedirectResponse("/?saved=assumptions#net", status_code=303)
