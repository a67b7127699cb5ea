"""The overview's scorecard re-estimated for a team, a service or a range (issue 29 #7): the treated set is
the chosen services, every other service stays a comparison (a moved one only before its move), and the
post-move weeks before ``?from=`` are left out — checked against the estimator called directly on the
panel restricted that way. Too few chosen services: "not enough data yet"; an unknown service: 404."""

from __future__ import annotations

import re
import time
from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from service.core.db import session_scope
from service.core.settings import Settings
from service.core.vocab import VERDICT_WORDS
from service.core.weeks import complete_weeks_end, week_start, week_window
from service.digest.build import digest_input
from service.effects import did, dora_panels, registry
from service.effects.panel import PanelInputs, first_treated_week, mask_move_weeks, treatment_weeks
from service.figures.metrics.rollup import weekly_from_rollups
from tests.factories import issue_token
from tests.test_digest import STAYERS, WEEK, story
from tests.test_web import sign_in
from workers.process import drain

PAYMENTS = {f"pay-{i}": 5 + i % 3 for i in range(5)}
CORE = {f"svc-{i}": 6 + i % 2 for i in range(4)}


def _tile(client: TestClient, query: str, key: str) -> dict[str, str]:
    """The ``key`` tile's data attributes once the re-estimate is ready."""
    deadline = time.monotonic() + 120
    while True:
        page = client.get(f"/?week={WEEK}&{query}")
        assert page.status_code == 200, page.text
        if 'data-rescoped="yes"' in page.text or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert 'data-rescoped="yes"' in page.text
    (tag,) = re.findall(rf"<article[^>]*data-scorecard='{key}'[^>]*>", page.text)
    return dict(re.findall(r"data-([a-z]+)='([^']*)'", tag))


def _direct(settings: Settings, chosen: set[str], first: str | None) -> did.Effect:
    """The estimator on the deploys panel, restricted by hand: moved services outside ``chosen`` lose their
    weeks from the move's week on, chosen ones their post-move weeks before ``first``."""
    tz = settings.timezone
    with session_scope(settings.database_url) as session:
        data = digest_input(session, settings, week=WEEK, audience="leaders")
    services = tuple(sorted(s.slug for s in data.services))
    inputs = PanelInputs(
        frames={dora_panels.WEEKLY: weekly_from_rollups(data.rollups, group_by="service")},
        services=services,
        tz=tz,
        start=first_treated_week(data.history_start, tz),
        end=complete_weeks_end(data.end, data.now, tz),
        environments=data.environments,
    )
    panel = dora_panels.deploys(inputs)
    moved = {s.slug: s.moved_at for s in data.services}
    weeks = pd.to_datetime(panel["week_start"]).dt.date
    since: date | None = None if first is None else week_window(first, tz)[0].date()
    drop = pd.Series(False, index=panel.index)
    for slug, at in moved.items():
        if at is None:
            continue
        mine = panel["service"] == slug
        if slug not in chosen:
            drop |= mine & (weeks >= week_start(at, ZoneInfo(tz)))
        elif since is not None:
            drop |= mine & (weeks >= first_treated_week(at, tz)) & (weeks < since)
    panel = panel.assign(value=panel["value"].where(~drop), weight=panel["weight"].where(~drop, 0.0))
    treated = {s: (at if s in chosen else None) for s, at in moved.items()}
    panel = mask_move_weeks(panel, treated, tz)
    options = did.Options(cells=True, scale=registry.metric("deploys").effect_scale)
    return did.estimate(panel, treatment_weeks(treated, tz), options)


@pytest.fixture
def signed(client: TestClient, admin_headers: dict[str, str], settings: Settings) -> TestClient:
    story(client, admin_headers, moves={**PAYMENTS, **CORE, **STAYERS}, before=2, after=6, noise=0.6)
    drain(settings)
    assert sign_in(client, issue_token(settings, "leader", ["read"]), "/").status_code == 303
    return client


def test_a_team_and_range_scorecard_is_the_estimator_on_the_restricted_panel(
    signed: TestClient, settings: Settings
) -> None:
    for query, first in (("team=payments", None), ("team=payments&from=2026-W42", "2026-W42")):
        tile = _tile(signed, query, "velocity")
        assert tile["metric"] == "deploys"
        effect = _direct(settings, set(PAYMENTS), first)
        assert effect.verdict == tile["verdict"] == "changed"
        assert effect.relative is not None
        assert float(tile["estimate"]) == pytest.approx(effect.relative, abs=1e-4)
        assert float(tile["low"]) == pytest.approx(effect.low, abs=1e-4)
    whole = _direct(settings, set(PAYMENTS) | set(CORE), None)
    assert whole.relative != pytest.approx(effect.relative, abs=1e-4)  # the range changed the estimate


def test_one_service_is_not_enough_data_and_an_unknown_one_is_404(signed: TestClient) -> None:
    tile = _tile(signed, "service=pay-0", "velocity")
    assert tile["verdict"] == "not_enough_data"
    page = signed.get(f"/?week={WEEK}&service=pay-0").text
    (article,) = re.findall(r"<article[^>]*data-scorecard='velocity'.*?</article>", page, re.S)
    assert f"verdict-not_enough_data'>{VERDICT_WORDS['not_enough_data']}</span>" in article
    assert signed.get(f"/?week={WEEK}&service=no-such-service").status_code == 404
