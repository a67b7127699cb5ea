"""Warm the page memo when the app starts, in a background thread: the first reader after a start gets
the overview, the services table, the themes, the data page's warnings and the cost page without waiting for them
(they read rollups and raw rows: up to a second or more on a large install, see BENCHMARKS.md). One
service's page is computed too, the first in the catalogue: that warms the per-service read path (its
queries' compiled statements, the pandas code it runs), which the first visit of any other service then
finds ready."""

from __future__ import annotations

import logging
import threading

from sqlmodel import select

from service.app.web.cache import PageMemo
from service.app.web.pages.cost import WEEKS as COST_WEEKS
from service.app.web.pages.cost import cost_figures
from service.app.web.pages.cost import weeks_shown as cost_weeks
from service.app.web.pages.data import quality_figures
from service.app.web.pages.friction import current_themes
from service.app.web.pages.services import service_figures, services_table
from service.app.web.reads import digest_content
from service.core.db import session_scope
from service.core.models import Service
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week

log = logging.getLogger("frictionlog.web")
JOIN_SECONDS = 30.0


def warm(settings: Settings, memo: PageMemo) -> None:
    """Compute what the main pages show; a failure is logged and leaves the pages to compute it themselves."""
    try:
        with session_scope(settings.database_url) as session:
            week = last_full_week(utcnow(), settings.timezone)
            digest_content(session, settings, week=week, audience="leaders", memo=memo)
            services_table(settings, memo, session)
            current_themes(settings, memo, session)
            quality_figures(settings, memo, session)
            cost_figures(settings, memo, session, cost_weeks(settings, COST_WEEKS))
            first = session.exec(select(Service.slug).order_by(Service.slug).limit(1)).first()
            if first is not None:
                service_figures(settings, memo, session, first)
    except Exception:  # a cold page is slower, never wrong: the page computes it on its first request
        log.warning("web.warm_failed", exc_info=True)


def start(settings: Settings, memo: PageMemo) -> threading.Thread:
    thread = threading.Thread(target=warm, args=(settings, memo), name="frictionlog-web-warm", daemon=True)
    thread.start()
    return thread
