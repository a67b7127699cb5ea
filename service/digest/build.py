"""Building and keeping digests: the database side. One row per (week, audience), so a restarted or
doubled scheduler never posts twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from service.core.db import upsert_insert
from service.core.errors import InvalidInput
from service.core.models import Digest, Service
from service.core.settings import Settings
from service.core.timeutil import as_utc, utcnow
from service.core.weeks import week_window
from service.criteria import service as criteria
from service.criteria.judge import Criterion
from service.criteria.metrics import user_metrics
from service.digest import assumptions
from service.digest.content import build_content
from service.digest.inputs import DigestInput, MigratedService
from service.digest.models import DigestContent
from service.effects import resource_panels as resources
from service.figures import catalogue, rollups_db
from service.figures.cohort import with_cohort
from service.figures.cost import gpu
from service.figures.cost import panel as cost_panel
from service.figures.cost.currency import Currencies
from service.figures.cost.frames import focus_detail_frame
from service.figures.filters import Filters, migrated_platforms
from service.figures.friction.categorise import configured_taxonomy
from service.figures.metrics.compute import Frames
from service.figures.metrics.service import (
    deployments_frame,
    environments,
    friction_frame,
    incidents_frame,
    shipped_frame,
)
from service.figures.work import compute as work_compute
from service.figures.work import service as work_service

CLAIM_FOR = timedelta(minutes=10)
"""A post claimed longer ago than this without being marked posted is claimed again (a dead worker)."""


def audiences(settings: Settings, teams: list[str]) -> list[str]:
    """Every audience a digest is kept for: leaders, the configured ones, and each catalogue team."""
    return list(dict.fromkeys(["leaders", *settings.digest_audiences, *(f"team:{t}" for t in sorted(teams))]))


def _audience_filters(audience: str) -> Filters:
    if audience == "leaders":
        return Filters()
    if audience.startswith("team:") and audience[5:]:
        return Filters(team=audience[5:])
    raise InvalidInput("audience is 'leaders' or 'team:<name>'", field="audience")


def check_request(week: str, audience: str, tz: str, now: datetime | None = None) -> None:
    """InvalidInput (a 4xx) for a week or an audience no digest can have — a week that has not started yet
    included: checked where it is asked for, before any build (a build in the background cannot answer the
    request), and by every build."""
    start, _ = week_window(week, tz)
    if start > (now or utcnow()):
        raise InvalidInput(
            f"week {week.upper()} has not started yet: a digest covers a past or the current week", field="week"
        )
    _audience_filters(audience)


def _services(session: Session, filters: Filters, target: str | None, now: datetime) -> list[MigratedService]:
    statement = select(Service).order_by(col(Service.slug))
    if filters.team:
        statement = statement.where(Service.team == filters.team)
    moved = {} if target is None else catalogue.move_dates(session, target, as_of=now)
    return [MigratedService(slug=s.slug, team=s.team, moved_at=moved.get(s.slug)) for s in session.exec(statement)]


def resource_frames(
    session: Session,
    settings: Settings,
    *,
    filters: Filters,
    services: list[str],
    environments: frozenset[str],
    start: datetime,
    end: datetime,
) -> dict[str, pd.DataFrame]:
    """The cost, measurement and work-item frames the effects' panels read (``resource_panels``), through
    the loaders ``/metrics/weekly`` and ``/metrics/work`` use. Costs are converted to the reporting
    currency here (a currency without a rate is refused, never summed as it is). The panels keep only
    complete weeks (``PanelInputs.end``)."""
    loaded = cost_panel.load_inputs(session, filters=filters, start=start, end=end)
    currencies = Currencies.from_settings(settings)
    costs = loaded.costs
    if not costs.empty:
        costs = costs.assign(
            amount=currencies.convert(costs["amount"], costs["currency"]), currency=currencies.reporting
        )
    work = work_service.load_work(session, environments=environments)
    names = set(services)

    def mine(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["service"].isin(names)].reset_index(drop=True)

    focus_gpu = gpu.focus_gpu_weekly(
        focus_detail_frame(session, filters, start, end),
        gpu.GpuRule.from_settings(settings),
        tz=settings.timezone,
        currencies=currencies,
    )
    return {
        resources.COSTS: costs,
        resources.FOCUS_GPU: focus_gpu,
        resources.MEASUREMENTS: loaded.measurements,
        resources.WORK_SAMPLES: mine(
            work_compute.time_to_ship(work.items, work.history, work.shipments, work.references)
        ),
        resources.SUPPORT_TICKETS: mine(work_compute.support_tickets(work.items, work.history)),
        resources.CLASSIFIED_INCIDENTS: mine(work_service.load_incidents(session)),
    }


def week_rows(session: Session, filters: Filters, start: datetime, end: datetime) -> Frames:
    """The raw rows ``DigestInput.week_rows`` holds: the week's deployments, shipped ids and incidents, and
    friction from four weeks before it (a few thousand rows, never the history)."""
    targets = migrated_platforms(session)
    return Frames(
        deployments=with_cohort(deployments_frame(session, filters, start, end), targets),
        lead_times=shipped_frame(session, filters, start, end),
        incidents=with_cohort(incidents_frame(session, filters, start, end), targets),
        friction=with_cohort(friction_frame(session, filters, start - timedelta(weeks=4), end), targets),
    )


def digest_input(
    session: Session,
    settings: Settings,
    *,
    week: str,
    audience: str,
    now: datetime | None = None,
    migration_name: str | None = None,
) -> DigestInput:
    """What a digest is built from. ``migration_name``: that migration instead of the followed one
    (NotFound naming it when there is none)."""
    now = now or utcnow()
    check_request(week, audience, settings.timezone, now)
    start, end = week_window(week, settings.timezone)
    filters = _audience_filters(audience)
    followed = (
        catalogue.followed_migration(session)
        if migration_name is None
        else catalogue.migration_named(session, migration_name)
    )
    earliest = start - timedelta(weeks=16)
    if followed is not None:
        earliest = min(earliest, followed.started_at - timedelta(weeks=followed.baseline_weeks + 8))
    migration = None
    specs: tuple[Criterion, ...] = ()
    changes: tuple[dict[str, Any], ...] = ()
    if followed is not None:
        assert followed.id is not None
        migration = {
            "name": followed.name,
            "started_at": as_utc(followed.started_at),
            "baseline_weeks": followed.baseline_weeks,
            "to_platform": followed.to_platform,
            "target_date": None if followed.target_date is None else as_utc(followed.target_date),
            "design": followed.design or {},
        }
        specs = tuple(criteria.as_criterion(row) for row in criteria.criteria_of(session, followed.id))
        changes = tuple(
            {**row.model_dump(), "changed_at": as_utc(row.changed_at)}
            for row in criteria.changes_of(session, followed.id)
        )
    services = _services(session, filters, followed.to_platform if followed else None, now)
    envs = environments(settings, filters)
    return DigestInput(
        week=week.upper(),
        start=start,
        end=end,
        audience=audience,
        week_rows=week_rows(session, filters, start, end),
        rollups=rollups_db.read_fresh(session, settings, filters, earliest, end),
        services=services,
        migration=migration,
        taxonomy=configured_taxonomy(settings),
        environments=envs,
        tz=settings.timezone,
        min_sample=settings.min_sample,
        quote_min_reporters=settings.quote_min_reporters,
        now=now,
        history_start=earliest,
        criteria=specs,
        criteria_changes=changes,
        resource_frames=resource_frames(
            session,
            settings,
            filters=filters,
            services=[s.slug for s in services],
            environments=envs,
            start=earliest,
            end=end,
        ),
        reporting_currency=settings.reporting_currency,
        user_metrics=user_metrics(session),
        assumptions=assumptions.current(session, settings),
    )


def build(
    session: Session, settings: Settings, *, week: str, audience: str, now: datetime | None = None
) -> DigestContent:
    """The digest: what is rendered, served (``response_model=DigestContent``) and kept (``keep`` stores
    its JSON form, ``DigestContent.as_json``)."""
    return build_content(digest_input(session, settings, week=week, audience=audience, now=now))


def keep(
    session: Session, *, week: str, audience: str, channel: str | None, content: DigestContent, html: str
) -> Digest:
    """Store (or refresh, until it is posted) the digest of a week for an audience, in its JSON form
    (``DigestContent.as_json``; read back with ``service.digest.models.read_stored``). Commits."""
    stored = content.as_json()
    session.exec(
        upsert_insert(session, Digest)
        .values(week=week, audience=audience, channel=channel, content=stored, html=html, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["week", "audience"])
    )
    row = session.exec(select(Digest).where(Digest.week == week, Digest.audience == audience)).one()
    if row.posted_at is None:
        row.content, row.html, row.channel, row.created_at = stored, html, channel, utcnow()
    session.commit()
    session.refresh(row)
    return row


def claim_post(session: Session, digest_id: int) -> bool:
    """Take the right to post this digest; False if it is posted, or another worker is posting it now."""
    now = utcnow()
    result = session.exec(
        update(Digest)
        .where(
            col(Digest.id) == digest_id,
            col(Digest.posted_at).is_(None),
            (col(Digest.claimed_at).is_(None)) | (col(Digest.claimed_at) < now - CLAIM_FOR),
        )
        .values(claimed_at=now)
    )
    session.commit()
    return bool(result.rowcount == 1)


def mark_posted(session: Session, digest_id: int, *, slack_ts: str | None) -> None:
    session.exec(update(Digest).where(col(Digest.id) == digest_id).values(posted_at=utcnow(), slack_ts=slack_ts))
    session.commit()


def release(session: Session, digest_id: int) -> None:
    """Give up a claim after a failed post, so a retry may post."""
    session.exec(
        update(Digest).where(col(Digest.id) == digest_id, col(Digest.posted_at).is_(None)).values(claimed_at=None)
    )
    session.commit()
