"""lead-time pairs judged by one rule, whatever listed them

A commit counts once, for the first successful production deployment that shipped it: a failed or
non-production deployment listing it is ``not_shipped``, a later one ``already_shipped``, and a service's first
production deployment's commits are ``first_deployment`` (service.ingest.leadtime.judge_pairs). Before, a
deployment's own ``commits`` list was taken as it came, so a commit on a failed deployment and then on the
one that shipped it counted twice. The stored pairs are judged here once, and the weekly rollups are dropped
to be rebuilt (their lead-time samples change).

The rule is written out here rather than imported, so this migration keeps doing what it did whatever the
application's code becomes; the production environments are the configured ones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"

KEPT = ("bot", "merge_commit")


def _production() -> frozenset[str]:
    from service.core.settings import get_settings  # the configured environments, as ingest reads them

    return frozenset(get_settings().production_environments)


def _firsts(
    deployments: Sequence[sa.Row[tuple[object, ...]]], production: frozenset[str]
) -> dict[str, tuple[object, int]]:
    """Each service's first successful production deployment, as (finished_at, id)."""
    firsts: dict[str, tuple[object, int]] = {}
    for d in deployments:
        key = (d.finished_at, d.id)
        if d.environment in production and d.finished_at and (d.service not in firsts or key < firsts[d.service]):  # type: ignore[operator]
            firsts[d.service] = key
    return firsts


def _shipping(shipped: Sequence[sa.Row[tuple[object, ...]]]) -> dict[int, tuple[object, int]]:
    """Each commit's first shipping deployment, as (finished_at, id)."""
    shipping: dict[int, tuple[object, int]] = {}
    for r in shipped:
        key = (r.finished_at, r.deployment_id)
        if r.change_id not in shipping or key < shipping[r.change_id]:  # type: ignore[operator]
            shipping[r.change_id] = key
    return shipping


def _reason(
    r: sa.Row[tuple[object, ...]],
    production: frozenset[str],
    shipping: dict[int, tuple[object, int]],
    firsts: dict[str, tuple[object, int]],
) -> object:
    if not (r.status == "success" and r.environment in production and r.finished_at):
        return "not_shipped"
    if shipping[r.change_id][1] != r.deployment_id:
        return "already_shipped"
    if firsts[r.service][1] == r.deployment_id:
        return "first_deployment"
    return r.excluded if r.excluded in KEPT else None


def upgrade() -> None:
    bind = op.get_bind()
    production = _production()
    rows = bind.execute(
        sa.text(
            "SELECT p.deployment_id, p.change_id, p.excluded, d.service, d.status, d.environment, d.finished_at "
            "FROM deployment_change p JOIN deployment d ON d.id = p.deployment_id"
        )
    ).all()
    shipped = [r for r in rows if r.status == "success" and r.environment in production and r.finished_at]
    deployments = bind.execute(
        sa.text("SELECT id, service, environment, finished_at FROM deployment WHERE status = 'success'")
    ).all()
    firsts = _firsts(deployments, production)
    shipping = _shipping(shipped)
    updates = []
    for r in rows:
        reason = _reason(r, production, shipping, firsts)
        if reason != r.excluded:
            updates.append({"d": r.deployment_id, "c": r.change_id, "reason": reason})
    if updates:
        bind.execute(
            sa.text("UPDATE deployment_change SET excluded = :reason WHERE deployment_id = :d AND change_id = :c"),
            updates,
        )
    # The weekly rollups keep lead-time samples: dropped with their state, so every read computes from the
    # judged pairs until the next refresh rebuilds them (service.figures.rollups_db.refresh), as after a
    # change of time zone.
    for table in ("weekly_rollup", "rollup_dirty", "rollup_state"):
        bind.execute(sa.text(f"DELETE FROM {table}"))


def downgrade() -> None:
    """Nothing to undo: the earlier code reads the judged pairs as it read its own (a reason it does not
    know is a pair that does not count, which is what the reason says)."""
