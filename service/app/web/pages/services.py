"""Services: a sortable, filterable table with before/after per metric; per service its timeline across
platform periods, DORA figures with warnings, open friction, and (admins) its catalogue entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from service.app.api.deps import DbSession, WriteSession
from service.app.api.state import app_state
from service.app.web import cache, tables
from service.app.web.auth import Admin, Csrf, Viewing
from service.app.web.filters import PageFilters, Text
from service.app.web.reads import digest_content, service_facts
from service.app.web.render import page
from service.core.db import found, session_scope
from service.core.errors import InvalidInput
from service.core.models import PlatformAssignment, Service
from service.core.settings import Settings
from service.core.timeutil import parse_timestamp, utcnow
from service.core.weeks import last_full_week, week_label, week_window
from service.digest import charts
from service.figures import catalogue
from service.figures.filters import Filters
from service.figures.friction import reports
from service.figures.metrics import dora
from service.figures.metrics.service import dora_metrics
from service.figures.weekly import weekly_metrics

router = APIRouter(include_in_schema=False)
Slug = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
TIMELINE_WEEKS = 16


def _window(tz: str, weeks: int) -> tuple[Any, Any, list[str]]:
    """[start, end) of the last ``weeks`` complete weeks, and their labels, oldest first."""
    now = utcnow()
    labels = [last_full_week(now - timedelta(weeks=i), tz) for i in range(weeks)][::-1]
    start, _ = week_window(labels[0], tz)
    _, end = week_window(labels[-1], tz)
    return start, end, labels


def services_table(
    settings: Settings, memo: cache.PageMemo, session: Session
) -> tuple[list[tables.ServiceFacts], list[dict[str, Any]], bool]:
    """The catalogue and every moved service's before/after, from the last complete week's leaders digest
    (kept by the digest jobs; the same figures as its per-service table), and whether that digest is still
    being computed (the page says so rather than show dashes as if there were no figures)."""
    facts = service_facts(session)
    content = digest_content(
        session, settings, week=last_full_week(utcnow(), settings.timezone), audience="leaders", memo=memo
    )
    return facts, tables.service_rows(facts, tables.changes_from_digest(content)), content is None


class ServiceFilters(PageFilters):
    team: Text = None
    platform: Text = None
    q: Text = None


@router.get("/services")
def services_list(
    request: Request,
    viewer: Viewing,
    session: DbSession,
    filters: Annotated[ServiceFilters, Query()],
    sort: Annotated[str, Query(max_length=16)] = "service",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> Response:
    facts, rows, computing = services_table(app_state(request).settings, cache.of(request), session)
    shown = tables.filter_rows(rows, team=filters.team or None, platform=filters.platform or None, q=filters.q or None)
    shown = tables.sort_rows(shown, sort if sort in tables.SORTS else "service", order == "desc")
    return page(
        request,
        "services.html",
        title="Services",
        viewer=viewer,
        rows=shown,
        total=len(rows),
        teams=sorted({f.team for f in facts if f.team}),
        platforms=sorted({f.platform for f in facts if f.platform}),
        filters=filters.shown(),
        sort=sort,
        order=order,
        metrics=tables.METRICS,
        computing=computing,
    )


def _figures(settings: Any, slug: str) -> tuple[dict[str, Any], tuple[str, str], tuple[list[Any], list[Any]]]:
    """(DORA figures of the last four whole weeks with warnings, their first and last week, timeline charts)."""
    start, end, labels = _window(settings.timezone, 4)
    with session_scope(settings.database_url) as session:
        figures = dora_metrics(session, settings, Filters(service=slug), dora.Window(start, end))
        timeline = _timeline(session, settings, slug)
    return figures, (labels[0], labels[-1]), timeline


def _timeline(session: Session, settings: Any, slug: str) -> tuple[list[Any], list[Any]]:
    start, end, labels = _window(settings.timezone, TIMELINE_WEEKS)
    weekly = weekly_metrics(
        session, settings, group_by="platform", filters=Filters(service=slug), start=start, end=end, work=False
    )
    platforms = sorted(set(weekly["group"])) if len(weekly) else []
    css = {
        p: ("s-migrated" if i == len(platforms) - 1 and len(platforms) > 1 else "s-legacy")
        for i, p in enumerate(platforms)
    }
    move, axes = _move(session, slug, labels, settings.timezone)
    out = []
    for column, title, unit in (
        ("deployments", "Deploys per week", "deploy"),
        ("incidents", "Incidents per week", "incident"),
        ("friction", "Friction reports per week", "report"),
    ):
        series = []
        for p in platforms:
            mine = weekly[weekly["group"] == p].set_index("week")[column]
            series.append(charts.Series(f"on {p}", [float(mine.get(w, 0) or 0) for w in labels], css[p]))
        out.append(
            charts.weekly(title, labels, series, unit=unit, chart_id=f"timeline-{column}", axes=axes, move_before=move)
        )
    return out, _cost_timeline(weekly, labels, platforms, css, settings.reporting_currency)


def _move(session: Session, slug: str, labels: list[str], tz: str) -> tuple[int | None, str]:
    """(the index of the service's move week in ``labels``, the charts' axes in words, naming the move)."""
    target = catalogue.followed_migration(session)
    moved = None if target is None else catalogue.move_dates(session, target.to_platform, as_of=utcnow()).get(slug)
    axes = "Vertical: a week's count; horizontal: ISO week (last two digits)"
    if moved is None or target is None:
        return None, axes + "."
    week = str(week_label(pd.Series([pd.Timestamp(moved)]), tz).iloc[0])
    if week not in labels:
        return None, axes + f"; moved to {target.to_platform} in {week}, outside these weeks."
    return labels.index(week), axes + f"; dashed line: the move to {target.to_platform} ({week})."


def _cost_timeline(
    weekly: Any, labels: list[str], platforms: list[str], css: dict[str, str], currency: str
) -> list[Any]:
    """Weekly compute cost by platform (the cost rollups, through ``weekly_metrics``) and GPU utilisation
    where GPUs were provisioned; nothing when no cost was ever recorded for the service."""

    def column(name: str, platform: str) -> list[float | None]:
        mine = weekly[weekly["group"] == platform].set_index("week")[name] if name in weekly else {}
        values = [mine.get(w) if hasattr(mine, "get") else None for w in labels]
        return [None if v is None or v != v else float(v) for v in values]  # NaN: no value

    out = []
    cost = [charts.Series(f"on {p}", column("compute_cost", p), css[p]) for p in platforms]
    if any(v is not None for s in cost for v in s.values):
        out.append(
            charts.weekly(
                f"Compute cost per week ({currency})", labels, cost, unit="", chart_id="timeline-compute_cost"
            )
        )
    gpu = [
        charts.Series(f"on {p}", [None if v is None else v * 100 for v in column("gpu_utilisation", p)], css[p])
        for p in platforms
    ]
    if any(v is not None for s in gpu for v in s.values):
        out.append(
            charts.weekly(
                "GPU utilisation (% of provisioned hours used)",
                labels,
                gpu,
                unit="",
                chart_id="timeline-gpu",
                style="lines",
            )
        )
    return out


def service_figures(
    settings: Settings,
    memo: cache.PageMemo,
    session: Session,
    slug: str,
    history: list[PlatformAssignment] | None = None,
) -> tuple[dict[str, Any], tuple[str, str], tuple[list[Any], list[Any]]]:
    """``_figures`` through the page memo, keyed by the service's platform history and the last whole week."""
    history = catalogue.platform_history(session, slug) if history is None else history
    key = ("service", settings.database_url, slug, tuple((p.platform, p.effective_from) for p in history))
    week = last_full_week(utcnow(), settings.timezone)
    return memo.remember((*key, week), cache.data_version(session), lambda: _figures(settings, slug))


def _service_or_404(session: Session, slug: str) -> Service:
    return found(session, Service, slug, f"There is no service called {slug!r} in the catalogue.")


@router.get("/services/{slug}")
def service_detail(request: Request, slug: Slug, viewer: Viewing, session: DbSession) -> Response:
    settings = app_state(request).settings
    service = _service_or_404(session, slug)
    history = catalogue.platform_history(session, slug)
    figures, window, (timeline, cost) = service_figures(settings, cache.of(request), session, slug, history)
    open_reports = [
        r
        for status in ("open", "acknowledged")
        for r in reports.list_reports(session, status=status, service=slug, limit=20)
    ]
    return page(
        request,
        "service.html",
        title=slug,
        viewer=viewer,
        service=service,
        history=history,
        figures=figures,
        window=window,
        timeline=timeline,
        cost=cost,
        open_reports=sorted(open_reports, key=lambda r: r.id, reverse=True),
        history_text="\n".join(f"{p.platform} {p.effective_from.date().isoformat()}" for p in history),
        saved=request.query_params.get("saved") == "1",
    )


def parse_history(text: str) -> list[catalogue.PlatformPeriod]:
    """One period a line: ``platform YYYY-MM-DD`` (or a full RFC 3339 time)."""
    periods = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise InvalidInput(f"line {number}: write 'platform 2026-09-01'", field="platforms")
        moment = parts[1] if "T" in parts[1] else f"{parts[1]}T00:00:00Z"
        periods.append(catalogue.PlatformPeriod(parts[0][:64], parse_timestamp(moment, field="platforms")))
    return periods


@router.post("/services/{slug}", dependencies=[Csrf])
def service_edit(
    request: Request,
    slug: Slug,
    _admin: Admin,
    session: WriteSession,
    team: Annotated[str, Form(max_length=128)] = "",
    tier: Annotated[str, Form(max_length=32)] = "",
    platforms: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The same catalogue function as ``PUT /api/v1/services/{slug}``."""
    _service_or_404(session, slug)
    spec = catalogue.ServiceSpec(
        slug=slug, team=team.strip() or None, tier=tier.strip() or None, platforms=parse_history(platforms)
    )
    catalogue.put_service(session, spec)
    cache.of(request).clear()
    return RedirectResponse(f"/services/{slug}?saved=1", status_code=303)
