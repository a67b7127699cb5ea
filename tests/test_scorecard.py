"""The scorecard and its net line as pure functions: tiles read the effects' fields; the net in money comes
with intervals from the effects' own, valued at the stated assumptions; an effect without an estimate is
named as not counted, never counted as zero."""

from __future__ import annotations

import math
import time

import pytest
from sqlmodel import Session

from service.core.errors import InvalidInput
from service.core.models import ScorecardAssumption
from service.core.settings import Settings
from service.core.vocab import Verdict, metric
from service.digest import assumptions as stored_assumptions
from service.digest.colour import SLACK, effect_tone
from service.digest.models import (
    BeforeAfter,
    CostPart,
    CriterionResult,
    DigestContent,
    Estimate,
    MigrationPart,
    PlatformCost,
)
from service.digest.net import Assumptions, total
from service.digest.scorecard import FRICTION_MINUTES, TILES, rescore, scorecard

RATE = Assumptions(loaded_hourly_cost=80.0, support_ticket_hours=1.5, incident_hours=2.0, incident_responders=4.0)


def effect(
    key: str,
    relative: float | None,
    low: float | None,
    high: float | None,
    *,
    counterfactual: float | None = 10.0,
    verdict: Verdict = "changed",
    higher_is_better: bool | None = None,
) -> BeforeAfter:
    words = metric(key) if key != FRICTION_MINUTES else None
    return BeforeAfter(
        metric=key,
        label=words.label if words else "Friction minutes",
        before=None,
        after=None,
        relative=relative,
        low=low,
        high=high,
        services=4,
        verdict=verdict,
        sentence=f"{key} sentence",
        method="staggered_did",
        controls=4,
        higher_is_better=words.higher_is_better if words else (higher_is_better or False),
        counterfactual=counterfactual,
    )


def part(items: list[BeforeAfter], criteria: list[CriterionResult] | None = None, moved: int = 5) -> MigrationPart:
    return MigrationPart(
        name="to k8s",
        services_total=10,
        services_migrated=moved,
        cohorts_over="the last 4 weeks",
        cohorts={},
        before_after=items,
        criteria=criteria or [],
    )


COST = CostPart(
    currency="EUR",
    this_week=None,
    four_week_average=None,
    by_platform=[PlatformCost(platform="vm", this_week=900.0, four_week_average=1000.0)],
    hybrid=True,
)


def spanned(figure: Estimate | None) -> tuple[float | None, float | None, float | None]:
    """(estimate, low, high) of a figure that must be there."""
    assert figure is not None
    return figure.estimate, figure.low, figure.high


def test_the_net_line_is_each_effect_times_its_counterfactual_valued_at_the_assumptions() -> None:
    items = [
        effect("compute_cost", 0.10, 0.02, 0.20, counterfactual=200.0),  # +20 EUR per service-week
        effect("support_tickets", -0.5, -0.8, -0.2, counterfactual=2.0),  # -1 ticket per service-week
        effect("infra_incidents", -0.25, -0.5, 0.1, counterfactual=0.4, verdict="no_clear_change"),
    ]
    friction = effect(FRICTION_MINUTES, -0.3, -0.45, -0.15, counterfactual=120.0)  # -36 min per service-week
    card = scorecard(part(items), extra=[friction], cost=COST, assumptions=RATE, currency="EUR")
    net = card.net
    assert net is not None
    assert net.currency == "EUR"
    assert net.hybrid
    assert net.platforms[0].platform == "vm"
    # 5 moved services: cost +0.10 × 200 × 5 = +100 EUR a week (interval +20 to +200)
    assert spanned(net.cost_change) == pytest.approx((100, 20, 200))
    parts = {c.key: c for c in net.components}
    # friction: 0.3 × 120 min × 5 / 60 = 3 h bought back (1.5 to 4.5)
    assert spanned(parts["friction"].quantity) == pytest.approx((3.0, 1.5, 4.5))
    # support: 0.5 × 2 tickets × 5 = 5 tickets a week × 1.5 h = 7.5 h (3 to 12)
    assert spanned(parts["support"].quantity) == pytest.approx((7.5, 3.0, 12.0))
    # incidents: 0.25 × 0.4 × 5 = 0.5 a week × 2 h × 4 responders = 4 h (-0.8 to 8): no clear change, counted
    assert spanned(parts["incidents"].quantity) == pytest.approx((4.0, -1.6, 8.0))
    assert spanned(net.hours_bought_back)[0] == pytest.approx(14.5)
    assert spanned(net.time_value)[0] == pytest.approx(14.5 * 80)
    estimate, low, high = spanned(net.net)
    assert estimate == pytest.approx(14.5 * 80 - 100)
    # the sum's interval: each side's half-widths in quadrature (approximate)
    below = math.sqrt(100**2 + (1.5 * 80) ** 2 + (4.5 * 80) ** 2 + (5.6 * 80) ** 2)
    assert low == pytest.approx(14.5 * 80 - 100 - below)
    assert (low or 0) < (estimate or 0) < (high or 0)
    assert {a.key: a.value for a in net.assumptions} == {
        "loaded_hourly_cost": 80.0,
        "support_ticket_hours": 1.5,
        "incident_hours": 2.0,
        "incident_responders": 4.0,
    }
    assert "80 EUR an hour" in net.sentence
    assert "90 % interval" in net.sentence
    assert net.not_counted == []


def test_what_has_no_estimate_is_named_and_not_counted_and_no_net_without_the_cost() -> None:
    items = [
        effect("compute_cost", None, None, None, verdict="not_enough_data"),
        effect("support_tickets", -0.5, -0.8, -0.2, counterfactual=2.0),
    ]
    card = scorecard(part(items), extra=[], cost=None, assumptions=RATE, currency="USD")
    net = card.net
    assert net is not None
    assert net.cost_change is None
    assert net.net is None
    assert net.hours_bought_back is not None
    assert net.hours_bought_back.estimate == pytest.approx(7.5)
    assert "Compute cost: not enough data" in net.not_counted
    assert any(n.startswith("Time lost to friction: no data") for n in net.not_counted)
    assert "cannot be stated yet" in net.sentence
    assert "Net of both" not in net.sentence


def test_a_cheaper_move_is_a_gain_in_the_net() -> None:
    items = [effect("compute_cost", -0.2, -0.3, -0.1, counterfactual=100.0)]
    friction = effect(FRICTION_MINUTES, 0.0, -0.1, 0.1, counterfactual=60.0, verdict="no_clear_change")
    card = scorecard(part(items, moved=2), extra=[friction], cost=None, assumptions=RATE, currency="USD")
    assert card.net is not None
    assert card.net.net is not None
    assert card.net.net.estimate == pytest.approx(40.0)  # 0.2 × 100 × 2 saved, no time either way
    assert card.net.net.low == pytest.approx(40 - math.sqrt(20**2 + (0.1 * 60 * 2 / 60 * 80) ** 2))


def test_tiles_follow_the_mapping_and_read_the_effects_fields() -> None:
    items = [
        effect("deploys", 0.9, 0.5, 1.4),
        effect("lead_time", -0.67, -0.8, -0.5),
        effect("change_failure_rate", 0.3, 0.1, 0.5),
        effect("gpu_utilisation", None, None, None, verdict="not_enough_data"),
    ]
    criteria = [
        CriterionResult(
            metric="lead_time",
            label="Lead time",
            goal="Lead time at most -50%",
            direction="at_most",
            kind="relative",
            target=-0.5,
            deadline=None,
            status="met",
            estimate=-0.67,
            low=-0.8,
            high=-0.5,
            sentence="met",
        )
    ]
    card = scorecard(part(items, criteria), extra=[], cost=None, assumptions=RATE, currency="USD")
    tiles = {t.key: t for t in card.tiles}
    assert [t.key for t in card.tiles] == [spec.key for spec in TILES]
    assert [t.key for t in card.tiles] == ["velocity", "utilisation", "productivity", "delivery", "cost", "stability"]
    velocity = tiles["velocity"]
    assert (velocity.metric, velocity.estimate, velocity.low, velocity.high) == ("deploys", 0.9, 0.5, 1.4)
    assert velocity.tone == "better"
    assert velocity.others[0].metric == "lead_time"
    assert velocity.criterion_status == "met"
    assert velocity.criterion_goal == "Lead time at most -50%"
    assert velocity.evidence == "#claim-deploys"
    assert velocity.sensitivity is None
    assert tiles["stability"].tone == "worse"  # more failed changes: worse, whatever the sign
    assert tiles["utilisation"].verdict == "not_enough_data"
    assert tiles["utilisation"].tone == "neutral"
    assert tiles["delivery"].sentence == "No data yet for this category."
    assert card.legend.startswith("Colours compare with the baseline")


def test_one_colour_rule_for_every_renderer() -> None:
    assert effect_tone("changed", -0.5, False) == "better"
    assert effect_tone("changed", -0.5, True) == "worse"
    assert effect_tone("no_clear_change", -0.5, False) == "neutral"
    assert set(SLACK) == {"better", "worse", "neutral"}


def test_rescore_values_the_kept_effects_at_new_assumptions() -> None:
    items = [effect("compute_cost", 0.1, 0.0, 0.2, counterfactual=100.0)]
    friction = effect(FRICTION_MINUTES, -0.5, -0.6, -0.4, counterfactual=60.0)
    card = scorecard(part(items, moved=1), extra=[friction], cost=None, assumptions=RATE, currency="USD")
    content = DigestContent.model_validate(
        {
            "week": "2026-W47",
            "audience": "leaders",
            "from": "2026-11-16T00:00:00+00:00",
            "to": "2026-11-23T00:00:00+00:00",
            "empty": False,
            "summary": "",
            "headline": [],
            "migration": part(items, moved=1).model_dump(),
            "friction": {
                "new": 0,
                "last_week": 0,
                "hours_lost": 0,
                "top_categories": [],
                "rising_themes": [],
                "quotes": [],
                "you_said_we_did": [],
            },
            "charts": {"weeks": [], "deploys": {}, "incidents": {}, "friction_by_category": {}},
            "definitions_version": "1",
            "scorecard": card.model_dump(),
        }
    )
    dearer = Assumptions(loaded_hourly_cost=160.0, support_ticket_hours=1.5, incident_hours=2.0, incident_responders=4)
    again = rescore(DigestContent.model_validate(content.as_json()), dearer, "USD")
    assert again.scorecard is not None
    assert again.scorecard.net is not None
    assert card.net is not None
    assert card.net.time_value is not None
    assert again.scorecard.net.time_value is not None
    assert again.scorecard.net.time_value.estimate == pytest.approx(2 * (card.net.time_value.estimate or 0))
    assert again.scorecard.net.time_value.estimate == pytest.approx(0.5 * 60 / 60 * 160)


def test_total_of_nothing_is_none_and_of_one_is_itself() -> None:
    assert total([]) is None
    one = Estimate(estimate=2.0, low=-1.0, high=3.5)
    assert total([one]) == one


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"loaded_hourly_cost": "lots"}, "loaded_hourly_cost"),
        ({"loaded_hourly_cost": "0"}, "loaded_hourly_cost"),
        ({"incident_responders": "-1"}, "incident_responders"),
        ({"support_ticket_hours": "nan"}, "support_ticket_hours"),
    ],
)
def test_a_bad_assumption_is_refused_naming_its_field(form: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        stored_assumptions.parse(form)
    assert caught.value.field == field


def test_assumptions_parse_keeps_what_is_left_blank() -> None:
    assert stored_assumptions.parse({"loaded_hourly_cost": " 1,250 ", "incident_hours": ""}) == {
        "loaded_hourly_cost": 1250.0
    }


def test_stored_assumptions_override_the_configured_defaults(session: Session, settings: Settings) -> None:
    assert stored_assumptions.current(session, settings).loaded_hourly_cost == settings.loaded_hourly_cost
    stored_assumptions.save(session, {"loaded_hourly_cost": 140.0}, changed_by="lead")
    stored_assumptions.save(session, {"loaded_hourly_cost": 150.0, "incident_responders": 2.0}, changed_by="ada")
    now = stored_assumptions.current(session, settings)
    assert (now.loaded_hourly_cost, now.incident_responders) == (150.0, 2.0)
    assert now.support_ticket_hours == settings.support_ticket_hours
    row = session.get(ScorecardAssumption, "loaded_hourly_cost")
    assert row is not None
    assert row.changed_by == "ada"


def test_the_app_and_the_html_digest_use_the_one_palette() -> None:
    from pathlib import Path

    from service.digest.colour import PALETTE
    from service.digest.html import STYLE

    css = (Path(__file__).resolve().parent.parent / "service/app/web/static/app.css").read_text(encoding="utf-8")
    for scheme in ("light", "dark"):
        good, bad = PALETTE[scheme]["better"], PALETTE[scheme]["worse"]
        assert f"--good: {good}; --bad: {bad};" in css, scheme
        assert f".better{{color:{good}}} .worse{{color:{bad}}}" in STYLE or f".worse{{color:{bad}}}" in STYLE, scheme
        assert f".tone-better{{border-left-color:{good}}} .tone-worse{{border-left-color:{bad}}}" in STYLE, scheme


def test_a_stale_answer_the_caller_refuses_is_not_served_for_newer_data() -> None:
    """The overview's memo: a digest computed before the data came in ("a quiet week") is never served once
    the data version moved on; the page says it is computing until the new one is ready."""
    import threading

    from service.app.web.cache import PageMemo

    memo = PageMemo()
    release = threading.Event()
    quiet, busy = {"empty": True}, {"empty": False}
    assert memo.peek("k", 1, lambda: quiet) == quiet

    def slow() -> dict[str, bool]:
        release.wait(5)
        return busy

    assert memo.peek("k", 2, slow, wait=0.05, stale_ok=lambda v: not v["empty"]) is None
    release.set()
    deadline = time.monotonic() + 5
    while (answer := memo.peek("k", 2, slow, wait=0.05, stale_ok=lambda v: not v["empty"])) is None:
        assert time.monotonic() < deadline
    assert answer == busy
    # a stale answer the caller accepts is still served at once while the new one is computed
    assert memo.peek("k", 3, slow, wait=0.0, stale_ok=lambda v: not v["empty"]) == busy


def test_a_tile_led_by_an_effect_the_migration_section_does_not_list_points_at_the_net_line() -> None:
    friction = effect(FRICTION_MINUTES, -0.3, -0.5, -0.1, counterfactual=60.0)
    items = [effect("support_tickets", None, None, None, verdict="not_enough_data")]
    card = scorecard(part(items), extra=[friction], cost=None, assumptions=RATE, currency="USD")
    productivity = next(t for t in card.tiles if t.key == "productivity")
    assert productivity.metric == FRICTION_MINUTES
    assert productivity.evidence == "#net-line"
    assert productivity.tone == "better"
    assert [m.metric for m in productivity.others] == ["support_tickets"]


def test_the_events_behind_a_figure_a_page_at_a_time(session: Session) -> None:
    from datetime import UTC, datetime, timedelta

    from service.core.models import Deployment, Service
    from service.figures.filters import Filters
    from service.figures.metrics import events

    session.add(Service(slug="api", team="core"))
    session.add(Service(slug="web", team="growth"))
    start = datetime(2026, 11, 2, tzinfo=UTC)
    for i in range(7):
        for slug in ("api", "web"):
            session.add(
                Deployment(
                    source="test",
                    external_id=f"{slug}-{i}",
                    service=slug,
                    environment="production",
                    status="success",
                    finished_at=start + timedelta(days=i),
                )
            )
    session.add(
        Deployment(source="test", external_id="late", service="api", environment="production", status="success",
                   finished_at=start + timedelta(days=20))
    )  # fmt: skip
    session.commit()
    kind = events.KINDS["deployments"]
    end = start + timedelta(days=7)
    first, total = events.rows(session, kind, Filters(team="core"), start, end, limit=3)
    assert total == 7  # counted, not loaded: the late one is outside the window, web is another team
    assert list(first["service"]) == ["api"] * 3
    assert list(first["finished_at"]) == sorted(first["finished_at"], reverse=True)
    assert list(first.columns) == list(kind.columns)
    everything, total = events.rows(session, kind, Filters(service="web"), start, end, limit=None)
    assert (len(everything), total) == (7, 7)
    assert set(everything["team"]) == {"growth"}


def test_a_tile_carries_its_lead_effects_sensitivity_caveat_to_every_renderer() -> None:
    from integrations.slack.digest_blocks import scorecard_line
    from service.digest.scorecard_html import scorecard_html

    caveat = "holds unless the trend after the move bends 2.3× more than any week before it"
    lead = effect("deploys", 0.9, 0.5, 1.4).model_copy(update={"caveat": caveat})
    card = scorecard(part([lead]), extra=[], cost=None, assumptions=RATE, currency="USD")
    velocity = next(t for t in card.tiles if t.key == "velocity")
    assert velocity.sensitivity == caveat
    assert caveat in scorecard_html(card, evidence=lambda tile: tile.evidence)
    assert "bends 2.3×" in str(scorecard_line(velocity))
