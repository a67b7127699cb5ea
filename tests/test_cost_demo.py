"""The demo's cost world holds the truth the digest must find: +12 % compute cost and double GPU utilisation
after each move, read back through the FOCUS reader, the generic parser and the panel builders."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from integrations import generic
from service.app.demo.cost import COST_RISE, GPU_SERVICES, generate_cost
from service.app.demo.generate import generate
from service.core.records import MeasurementRecord
from service.figures.cost.currency import Currencies
from service.figures.cost.focus import FocusPolicy, read_focus
from service.figures.cost.panel import cold_start_p95_panel, compute_cost_panel, gpu_utilisation_panel
from tests.helpers import records_of

END = datetime(2026, 11, 30, 12, tzinfo=UTC)
WEEKS = 16


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    data = generate(seed=7, weeks=WEEKS, end=END)
    monday = (END - timedelta(days=END.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    story = generate_cost(data.services, seed=7, start=monday - timedelta(weeks=WEEKS), end=END)
    summary = read_focus(iter(story.focus_rows), FocusPolicy())
    costs = pd.DataFrame(
        [
            {
                "source": "focus",
                "service": k[2],
                "platform": k[3],
                "category": k[4],
                "currency": k[5],
                "period_start": k[6],
                "period_end": k[7],
                "amount": amount,
            }
            for k, amount in summary.lines.items()
        ]
    )
    records = [
        r for event in story.measurements for r in records_of(generic.parse(event)) if isinstance(r, MeasurementRecord)
    ]
    measures = pd.DataFrame(
        [
            {
                "service": r.service,
                "platform": None,
                "metric": r.metric,
                "value": r.value,
                "period_start": r.period_start,
                "period_end": r.period_end,
            }
            for r in records
        ]
    )
    for frame in (costs, measures):
        for name in ("period_start", "period_end"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
    moves = {
        s["slug"]: datetime.fromisoformat(s["platforms"][-1]["effective_from"].replace("Z", "+00:00")).date()
        for s in data.services
        if len(s["platforms"]) > 1
    }
    return {"costs": costs, "measures": measures, "moves": moves, "services": data.services}


def before_after(panel: pd.DataFrame, moves: dict[str, date], service: str) -> tuple[float, float]:
    rows = panel[panel["service"] == service]
    move_week = moves[service] - timedelta(days=moves[service].weekday())
    before = rows[rows["week_start"] < move_week]["value"]
    after = rows[rows["week_start"] > move_week]["value"]  # the move week is mixed: left out
    return statistics.mean(before), statistics.mean(after)


def test_moved_services_cost_twelve_percent_more(world: dict[str, Any]) -> None:
    panel = compute_cost_panel(world["costs"], tz="UTC", currencies=Currencies(), complete_before=date(2026, 11, 30))
    ratios = [after / before for before, after in (before_after(panel, world["moves"], s) for s in world["moves"])]
    assert len(ratios) == 8
    assert statistics.mean(ratios) == pytest.approx(1 + COST_RISE, abs=0.02)
    unmoved = {s["slug"] for s in world["services"]} - set(world["moves"])
    for service in unmoved:  # no move, no rise: first half against second half
        values = panel[panel["service"] == service]["value"].tolist()
        half = len(values) // 2
        assert statistics.mean(values[half:]) / statistics.mean(values[:half]) == pytest.approx(1.0, abs=0.03)


def test_moved_gpu_services_double_their_utilisation_and_start_faster(world: dict[str, Any]) -> None:
    gpu = gpu_utilisation_panel(world["measures"], tz="UTC")
    cold = cold_start_p95_panel(world["measures"], tz="UTC")
    for service in set(GPU_SERVICES) & set(world["moves"]):  # the moved ones (one GPU service never moves)
        before, after = before_after(gpu, world["moves"], service)
        assert after / before == pytest.approx(2.0, abs=0.15)
        assert before < 0.3  # the symptom that justified the move
        assert set(gpu[gpu["service"] == service]["weight"]) == {24.0 * 7 * GPU_SERVICES[service]}
        slow, fast = before_after(cold, world["moves"], service)
        assert slow > 10 > fast  # cold starts over 10 s before, under after
