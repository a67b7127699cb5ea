"""One migration's effect on one metric, with everything the estimator computed (level effect, interval,
counterfactual, scale, sensitivity bound, breakdown, design and the group-time table): what
``GET /api/v1/migrations/{name}/effects`` answers. The same builders as the digest's migration section, over
the complete weeks up to the last full one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from service.core.errors import InvalidInput
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.digest import migration as migration_part
from service.digest.build import digest_input
from service.digest.content import effects_of
from service.digest.models import BeforeAfter
from service.effects import registry


def migration_effect(
    session: Session, settings: Settings, *, name: str, metric: str, now: datetime | None = None
) -> BeforeAfter:
    """NotFound naming the migration; InvalidInput naming ``metric`` for one neither built in nor declared."""
    now = now or utcnow()
    week = last_full_week(now, settings.timezone)
    data = digest_input(session, settings, week=week, audience="leaders", now=now, migration_name=name)
    known = {m.key: m for m in registry.METRICS + data.user_metrics}
    if metric not in known:
        raise InvalidInput(f"unknown metric {metric!r}; known: {', '.join(known)}", field="metric")
    return migration_part.before_after(effects_of(data, (known[metric],)))[0]
