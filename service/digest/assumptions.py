"""The net line's assumptions: their defaults from ``Settings``, overridden by what an admin stored
(``ScorecardAssumption``). Read by the digest build and the overview; written from the overview's form."""

from __future__ import annotations

import math
from collections.abc import Mapping

from sqlmodel import Session, select

from service.core.errors import InvalidInput
from service.core.models import ScorecardAssumption
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.digest.net import ASSUMPTION_WORDS, Assumptions

LIMITS: dict[str, tuple[float, float]] = {
    "loaded_hourly_cost": (0.01, 100_000.0),
    "support_ticket_hours": (0.0, 1_000.0),
    "incident_hours": (0.0, 1_000.0),
    "incident_responders": (0.0, 1_000.0),
}
"""What each assumption may be set to (inclusive)."""


def defaults(settings: Settings) -> dict[str, float]:
    return {key: float(getattr(settings, key)) for key in ASSUMPTION_WORDS}


def current(session: Session, settings: Settings) -> Assumptions:
    """The assumptions in force: the stored ones over the configured defaults."""
    values = defaults(settings)
    for row in session.exec(select(ScorecardAssumption)):
        if row.key in values:
            values[row.key] = row.value
    return Assumptions(**values)


def parse(form: Mapping[str, str]) -> dict[str, float]:
    """The assumptions a form sets, checked: InvalidInput naming the field for a value that is not a
    number within its limits. Fields left out (or blank) are left as they are."""
    values: dict[str, float] = {}
    for key, (low, high) in LIMITS.items():
        raw = (form.get(key) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            raise InvalidInput(f"{key} must be a number; got {raw[:40]!r}", field=key) from None
        if not math.isfinite(value) or not low <= value <= high:
            raise InvalidInput(f"{key} must be between {low:g} and {high:g}; got {raw[:40]}", field=key)
        values[key] = value
    return values


def save(session: Session, values: Mapping[str, float], *, changed_by: str) -> None:
    """Store ``values`` (already ``parse``d) as the assumptions in force. Commits."""
    for key, value in values.items():
        row = session.get(ScorecardAssumption, key)
        if row is None:
            session.add(ScorecardAssumption(key=key, value=value, changed_by=changed_by, changed_at=utcnow()))
        else:
            row.value, row.changed_by, row.changed_at = value, changed_by, utcnow()
            session.add(row)
    session.commit()
