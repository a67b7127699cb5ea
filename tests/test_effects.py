"""The effect estimator on hand-built panels (exact answers) and on generated worlds (known truths)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from service.core import vocab, weeks
from service.core.vocab import PANEL_COLUMNS
from service.core.weeks import week_start
from service.effects import did, matrix, panel, sensitivity, words
from service.effects.registry import METRICS, metric
from tests.worlds import world

MONDAY = date(2026, 3, 2)


def _panel(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        (service, MONDAY + timedelta(weeks=t), float(v), 1.0)
        for service, series in values.items()
        for t, v in enumerate(series)
    ]
    return pd.DataFrame(rows, columns=PANEL_COLUMNS)


def _week(t: int) -> date:
    return MONDAY + timedelta(weeks=t)


def test_att_gt_matches_the_hand_computed_callaway_santanna_cells() -> None:
    rng = np.random.default_rng(3)
    values = {s: list(rng.normal(10, 3, 7).round(2)) for s in ("a", "b", "c", "d", "e")}
    moves = {"a": _week(2), "b": _week(4), "c": None, "d": None, "e": None}
    cells = did.att_gt(_panel(values), moves, did.Options(base_weeks=1)).set_index(["cohort", "week"])
    y = {s: np.array(v) for s, v in values.items()}

    # g = week 2, t = week 3: base week 1; controls not yet moved at 3: b (moves at 4), c, d, e.
    hand = (y["a"][3] - y["a"][1]) - np.mean([y[s][3] - y[s][1] for s in "bcde"])
    assert cells.loc[(_week(2), _week(3)), "att"] == pytest.approx(hand)
    assert cells.loc[(_week(2), _week(3)), "controls"] == 4
    # g = week 2, t = week 5: b has moved, so only c, d, e compare.
    hand = (y["a"][5] - y["a"][1]) - np.mean([y[s][5] - y[s][1] for s in "cde"])
    assert cells.loc[(_week(2), _week(5)), "att"] == pytest.approx(hand)
    assert cells.loc[(_week(2), _week(5)), "controls"] == 3
    # g = week 4, t = week 4: base week 3; a moved already and is never a control.
    hand = (y["b"][4] - y["b"][3]) - np.mean([y[s][4] - y[s][3] for s in "cde"])
    assert cells.loc[(_week(4), _week(4)), "att"] == pytest.approx(hand)


def _additive_world(effect: dict[str, float], *, diverge: float = 0.0) -> tuple[pd.DataFrame, dict[str, date | None]]:
    """Noise-free: a service level, a bumpy calendar every service shares, and the effect after a move."""
    calendar = np.array([0, 1, 3, 2, 5, 8, 7, 9, 12, 11, 14, 18, 17, 20], dtype=float)
    moves = {"a": 5, "b": 7, "c": 9, "d": None, "e": None, "f": None}
    values, first = {}, {}
    for i, (service, moved) in enumerate(moves.items()):
        t = np.arange(len(calendar))
        series = 10 * (i + 1) + calendar
        if moved is not None:
            series = series + diverge * t + np.where(t >= moved, effect[service], 0.0)
        values[service] = list(series)
        first[service] = None if moved is None else _week(moved)
    return _panel(values), first


def test_a_known_effect_is_recovered_exactly_on_noise_free_data() -> None:
    data, first = _additive_world({"a": 6.0, "b": 6.0, "c": 6.0})
    effect = did.estimate(data, first, did.Options(resamples=200))
    assert effect.method == "staggered_did"
    assert effect.att == pytest.approx(6.0)
    assert effect.counterfactual is not None
    assert effect.relative == pytest.approx(6.0 / effect.counterfactual)
    assert effect.att_low == pytest.approx(6.0)
    assert effect.att_high == pytest.approx(6.0)
    assert effect.verdict == "changed"
    assert effect.pre_trend.status == "parallel"
    cells = did.att_gt(data, first)
    post = cells[cells["week"] >= cells["cohort"]]
    assert np.allclose(post["att"], 6.0)
    assert np.allclose(cells.loc[cells["week"] < cells["cohort"], "att"].groupby(cells["cohort"]).sum(), 0.0)


def test_a_pure_calendar_trend_gives_an_effect_of_zero() -> None:
    data, first = _additive_world({"a": 0.0, "b": 0.0, "c": 0.0})
    effect = did.estimate(data, first, did.Options(resamples=200))
    assert effect.att == pytest.approx(0.0, abs=1e-9)
    assert effect.relative == pytest.approx(0.0, abs=1e-9)
    assert effect.verdict == "no_clear_change"
    # The services that moved did rise: a before/after would have claimed it.
    assert effect.after is not None
    assert effect.before is not None
    assert effect.after > effect.before * 1.2
    assert did.before_after(data, first).verdict == "changed"


def test_a_pre_trend_that_would_explain_the_change_blocks_the_claim() -> None:
    """No effect, but the moved services drift 1.5 a week before and after the move: the drift continuing
    (extrapolated linearly, M̄ = 0) explains the apparent change, so no claim; the breakdown value is 0."""
    data, first = _additive_world({"a": 0.0, "b": 0.0, "c": 0.0}, diverge=1.5)
    effect = did.estimate(data, first, did.Options(resamples=200))
    assert effect.pre_trend.status == "diverging"
    assert effect.low is not None
    assert effect.low > 0  # the plain interval alone would have claimed it
    assert effect.verdict == "not_enough_data"
    assert effect.reason == "pre_trend_diverging"
    assert effect.breakdown == 0


def test_a_large_effect_over_a_mild_pre_trend_is_claimed_with_its_breakdown() -> None:
    """The same drift under an effect of 6: the claim survives the drift going on after the move, so it is
    made, with the sensitivity caveat's number (how much more the trend may bend; not withheld by a gate)."""
    data, first = _additive_world({"a": 6.0, "b": 6.0, "c": 6.0}, diverge=1.5)
    effect = did.estimate(data, first, did.Options(resamples=200))
    assert effect.pre_trend.status == "diverging"
    assert effect.verdict == "changed"
    assert effect.caveated
    assert effect.breakdown is not None
    assert effect.breakdown > 0
    assert effect.sensitivity_low is not None
    assert effect.low is not None
    assert 0 < effect.sensitivity_low < effect.low


def test_a_drift_against_the_change_cannot_explain_it_away() -> None:
    """The moved services drift down 0.3 a week while the move adds 6: the drift can only have hidden part of
    the rise, so the claim holds whatever it does after the move, and the caveat says so."""
    data, first = _additive_world({"a": 6.0, "b": 6.0, "c": 6.0}, diverge=-0.3)
    effect = did.estimate(data, first, did.Options(resamples=200))
    assert effect.pre_trend.status == "diverging"
    assert effect.verdict == "changed"
    assert effect.relative is not None
    assert effect.relative > 0
    assert effect.breakdown == sensitivity.BREAKDOWN_MAX
    assert words.caveat(effect) == vocab.SENSITIVITY_AGAINST
    data, first = _additive_world({"a": 6.0, "b": 6.0, "c": 6.0}, diverge=1.5)
    along = did.estimate(data, first, did.Options(resamples=200))
    assert along.breakdown is not None
    assert words.caveat(along) == vocab.SENSITIVITY_CAVEAT.format(bound=along.breakdown)


def test_diverging_generated_worlds_are_never_claimed_silently_most_of_the_time() -> None:
    """Movers drifting 8 % a week, before and after the move, no effect: a claim is either withheld or made
    with the drift seen (and so held to the sensitivity bound), in at least 15 of 20 worlds."""
    diverging = world.World("count", 3.0, trend=0.02, diverging=0.08)
    seen = 0
    for seed in range(20):
        effect = did.estimate(*world.generate(diverging, seed))
        seen += effect.verdict != "changed" or (effect.caveated and effect.pre_trend.status == "diverging")
    assert seen >= 15


def test_no_comparison_group_falls_back_to_a_labelled_before_after() -> None:
    values = {s: [10.0, 11, 12, 13, 20, 21, 22] for s in "abcd"}
    effect = did.estimate(_panel(values), dict.fromkeys("abcd", _week(4)))
    assert effect.method == "before_after"
    assert effect.controls == 0
    assert effect.relative == pytest.approx(21 / 11.5 - 1)


def test_too_few_moved_services_or_weeks_is_not_enough_data() -> None:
    data, first = _additive_world({"a": 6.0, "b": 6.0, "c": 6.0})
    two_moved = {**first, "c": None}
    assert did.estimate(data, two_moved).reason == "few_treated"
    one_week_before = {**first, "a": _week(1), "b": _week(1), "c": _week(1)}
    assert did.estimate(data, one_week_before).reason == "few_treated"  # a service needs 2 weeks before its move
    three_weeks_before = {**first, "a": _week(3), "b": _week(3), "c": _week(3)}
    untested = did.estimate(data, three_weeks_before)
    assert untested.reason == "pre_trend_untested"  # too short to check parallel trends: no claim
    assert untested.verdict == "not_enough_data"


def test_the_event_study_runs_from_minus_eight_to_plus_eight_and_shows_when_it_started() -> None:
    data, first = world.generate(world.EFFECT_WORLDS["deploys"], 1)
    effect = did.estimate(data, first)
    assert [p.week for p in effect.event_study] == list(range(-8, 9))
    after = [p.relative for p in effect.event_study if p.week >= 0 and p.relative is not None]
    before = [p.relative for p in effect.event_study if p.week < 0 and p.relative is not None]
    assert np.mean(after) > 0.6
    assert abs(np.mean(before)) < 0.2
    assert effect.mde_relative is not None
    assert 0 < effect.mde_relative < 1


@pytest.mark.parametrize("key", sorted(world.NULL_WORLDS))
def test_calendar_trend_without_effect_says_no_clear_change_in_most_worlds(key: str) -> None:
    spec = world.NULL_WORLDS[key]
    options = did.Options(scale=metric(key).effect_scale)
    claims = [did.estimate(*world.generate(spec, seed), options).verdict for seed in range(50)]
    # 90 % intervals: 10 % false claims expected; 9 of 50 would happen by chance 1 time in 9 (binomial), 10 of
    # 50 1 time in 40. bench/effects.py measures the rate over 200 worlds.
    assert sum(v != "changed" for v in claims) >= 41


@pytest.mark.parametrize("key", sorted(world.EFFECT_WORLDS))
def test_a_known_effect_lies_in_the_interval_in_most_worlds(key: str) -> None:
    spec = world.EFFECT_WORLDS[key]
    hits = 0
    options = did.Options(scale=metric(key).effect_scale)
    for seed in range(50):
        effect = did.estimate(*world.generate(spec, seed), options)
        assert effect.low is not None
        assert effect.high is not None
        hits += effect.low <= spec.true_relative <= effect.high
    assert hits >= 43


def test_week_starts_agrees_with_timeutil_across_a_daylight_saving_change() -> None:
    moments = pd.Series(
        pd.to_datetime(["2026-03-29 00:30", "2026-03-29 23:30", "2026-10-25 22:59", "2026-10-26 00:01"], utc=True)
    )
    zone = "Europe/Berlin"
    expected = [week_start(m.to_pydatetime(), ZoneInfo(zone)) for m in moments]
    assert list(weeks.week_start_dates(moments, zone)) == expected


def test_a_mid_week_move_starts_the_next_week_and_its_mixed_week_is_left_out() -> None:
    tz = "UTC"
    wednesday = datetime(2026, 3, 4, 12, tzinfo=UTC)
    assert panel.first_treated_week(wednesday, tz) == date(2026, 3, 9)
    assert panel.first_treated_week(datetime(2026, 3, 9, tzinfo=UTC), tz) == date(2026, 3, 9)
    data = _panel({"a": [1.0, 2.0, 3.0]})
    masked = panel.mask_move_weeks(data, {"a": wednesday}, tz)
    assert masked["value"].isna().tolist() == [True, False, False]
    assert masked["weight"].tolist() == [0.0, 1.0, 1.0]


def test_the_panel_contract_is_checked() -> None:
    good = _panel({"a": [1.0, 2.0]})
    assert panel.validate(good).dtypes["value"] == np.float64
    with pytest.raises(ValueError, match="Monday"):
        panel.validate(good.assign(week_start=[date(2026, 3, 3), date(2026, 3, 10)]))
    with pytest.raises(ValueError, match="more than one row"):
        panel.validate(pd.concat([good, good]))
    with pytest.raises(ValueError, match="≥ 0"):
        panel.validate(good.assign(weight=[-1.0, 1.0]))


def test_every_registered_metric_builds_a_valid_panel_from_frames() -> None:
    t0 = pd.Timestamp("2026-03-02 10:00", tz="UTC")
    deployments = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "service": ["a", "a", "b"],
            "team": ["t", "t", "t"],
            "platform": ["legacy"] * 3,
            "cohort": ["not_migrated"] * 3,
            "environment": ["production"] * 3,
            "status": ["success", "failure", "success"],
            "finished_at": [t0 + pd.Timedelta(weeks=1), t0 + pd.Timedelta(weeks=1, days=1), t0 + pd.Timedelta(weeks=2)],
            "is_rollback": [False] * 3,
            "rollback_of_id": [None] * 3,
        }
    )
    lead_times = pd.DataFrame(
        {
            "deployment_id": [1, 3],
            "committed_at": [t0 + pd.Timedelta(weeks=1, hours=-5), t0 + pd.Timedelta(weeks=2, hours=-2)],
            "finished_at": [t0 + pd.Timedelta(weeks=1), t0 + pd.Timedelta(weeks=2)],
            "excluded": [None, None],
        }
    )
    incidents = pd.DataFrame(
        {
            "id": [9],
            "service": ["a"],
            "team": ["t"],
            "platform": ["legacy"],
            "cohort": ["not_migrated"],
            "severity": ["sev2"],
            "started_at": [t0 + pd.Timedelta(weeks=2)],
            "resolved_at": [t0 + pd.Timedelta(weeks=2, hours=3)],
            "caused_by_deployment_id": [None],
        }
    )
    friction = pd.DataFrame(
        {
            "id": pd.Series(dtype=int),
            "created_at": pd.Series(dtype="datetime64[ns, UTC]"),
            **{c: pd.Series(dtype=object) for c in ("category", "status", "service", "team", "platform", "cohort")},
            "minutes_lost": pd.Series(dtype=float),
        }
    )
    inputs = panel.PanelInputs(
        frames={"deployments": deployments, "lead_times": lead_times, "incidents": incidents, "friction": friction},
        services=("a", "b"),
        tz="UTC",
        start=date(2026, 3, 2),
        end=date(2026, 3, 23),
    )
    built = {m.key: panel.validate(m.build(inputs)).set_index(["service", "week_start"]) for m in METRICS}
    w0, w1, w2 = date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)
    deploys = built["deploys"]["value"]
    assert np.isnan(deploys[("a", w0)])  # before a's first event: not a zero
    assert deploys[("a", w1)] == 1
    assert deploys[("a", w2)] == 0
    assert built["lead_time"].loc[("a", w1), "value"] == pytest.approx(5.0)
    assert built["lead_time"]["value"].isna()[("a", w2)]
    assert built["change_failure_rate"].loc[("a", w1), "value"] == pytest.approx(0.5)
    assert built["change_failure_rate"].loc[("a", w1), "weight"] == 2
    assert built["time_to_restore"].loc[("a", w2), "value"] == pytest.approx(3.0)
    assert built["incidents"].loc[("a", w2), "value"] == 1
    assert built["incidents"].loc[("b", w2), "value"] == 0
    assert metric("lead_time").higher_is_better is False


def test_the_worked_example_in_docs_metrics_md() -> None:
    values = {"a": [2, 2, 6, 7, 7], "b": [3, 3, 4, 5, 9], "c": [1, 1, 2, 3, 3], "d": [4, 4, 5, 6, 6]}
    data = _panel({s: [float(v) for v in series] for s, series in values.items()})
    cells = did.att_gt(data, {"a": _week(2), "b": _week(4), "c": None, "d": None}, did.Options(base_weeks=1))
    cells = cells.set_index(["cohort", "week"])
    assert cells.loc[(_week(2), _week(3)), "att"] == pytest.approx(3.0)
    assert cells.loc[(_week(4), _week(4)), "att"] == pytest.approx(4.0)
    assert cells.loc[(_week(2), _week(4)), "controls"] == 2  # b has moved: no longer a control


def _replicate(
    data: pd.DataFrame, first: dict[str, date | None], counts: np.ndarray, services: list[str]
) -> tuple[pd.DataFrame, dict[str, date | None]]:
    """The panel one bootstrap replicate stands for: each service repeated as often as it was drawn."""
    parts: list[pd.DataFrame] = []
    moves: dict[str, date | None] = {}
    for service, times in zip(services, counts, strict=True):
        for copy in range(int(times)):
            name = f"{service}~{copy}"
            parts.append(data[data["service"] == service].assign(service=name))
            moves[name] = first.get(service)
    return pd.concat(parts, ignore_index=True), moves


@pytest.mark.parametrize("sparse", [False, True])
def test_every_bootstrap_replicate_is_the_estimate_on_its_resampled_services(sparse: bool) -> None:
    """The estimator computes all replicates at once, as sums over the cells (and, where every replicate drew
    a comparison service for every cell, reduced before multiplying). Each replicate must still equal the
    plain estimate on its resampled services, so the interval is the one of those estimates. ``sparse``:
    comparison services with weeks missing, so that some replicates draw none for some weeks."""
    rng = np.random.default_rng(7)
    weeks = 20
    values, first = {}, {}
    for i in range(10):
        moved = None if i >= 6 else 6 + i
        series = (
            10 + 0.3 * np.arange(weeks) + rng.normal(0, 1, weeks) + (3 * (np.arange(weeks) >= moved) if moved else 0)
        )
        if sparse and moved is None:
            series[rng.choice(weeks, 8, replace=False)] = np.nan
        values[f"s{i}"] = list(series)
        first[f"s{i}"] = None if moved is None else _week(moved)
    data = _panel(values).dropna()
    options = did.Options(resamples=40, seed=3)
    effect = did.estimate(data, first, options)
    assert effect.method == "staggered_did"
    assert effect.att is not None
    services = sorted(first)
    k = matrix.draws(matrix.matrices(data, first).g, options.resamples, options.seed)
    replicates = []
    for row in k[1:]:
        # the plain estimate on the resampled services, from its group-time cells: every week from the move
        # on, each cell weighted by its moved services
        cells = did.att_gt(*_replicate(data, first, row, services))
        post = cells[cells["week"] >= cells["cohort"]]
        replicates.append((post["att"] * post["treated"]).sum() / post["treated"].sum() if len(post) else np.nan)
    widen = matrix.few_cluster_factor(max(min(effect.treated, effect.controls), 2), options.confidence, fitted=1)
    low, high = matrix.interval(np.array(replicates), effect.att, options.confidence, widen)
    assert effect.att_low == pytest.approx(low, rel=1e-9)
    assert effect.att_high == pytest.approx(high, rel=1e-9)
