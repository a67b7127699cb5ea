"""The demo's cost and utilisation story, beside ``generate.py``'s deployments (pure, seeded).

Every service has a daily compute bill; GPU services (model serving) also provision GPUs and report cold
starts. After a service moves to the new platform its compute cost rises by ``COST_RISE`` (+12 %), its GPU
utilisation doubles (used ÷ provisioned), CPU utilisation improves and cold starts shorten. In the week
of the move a share of the bill still runs on the old platform (the hybrid period: the bill is split, the
total is the same), so cost per platform shows both running at once.

Out: FOCUS rows (written to a CSV and sent to ``POST /api/v1/cost/imports``) and generic-form
``measurement`` events (sent to ``/webhooks/generic``): the same paths a real bill and real metrics take.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

COST_RISE = 0.12
GPU_SERVICES = {"ml-api": 4, "recommendations": 2, "search-api": 2, "gateway": 1, "reporting": 1}
"""Service → GPUs it provisions. Four of them move and one (``reporting``) never does: the effect estimator
needs GPU services not yet moved to compare with, or the digest can only say "not enough data yet"."""
GPU_UTILISATION = (0.22, 0.44)
CPU_UTILISATION = (0.30, 0.55)
COLD_START_MEDIAN_S = (14.0, 4.0)
HYBRID_SHARE = 0.3
"""Of the bill in the week after the move, the part still on the old platform."""


@dataclass(frozen=True, slots=True)
class CostDemo:
    focus_rows: list[dict[str, str]]
    measurements: list[dict[str, Any]]


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moved_at(service: dict[str, Any]) -> datetime | None:
    if len(service["platforms"]) < 2:
        return None
    return datetime.fromisoformat(service["platforms"][-1]["effective_from"].replace("Z", "+00:00"))


def _focus_row(day: datetime, amount: float, tags: dict[str, str], category: str = "Usage") -> dict[str, str]:
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return {
        "BillingPeriodStart": _z(month),
        "BillingPeriodEnd": _z(next_month),
        "ChargePeriodStart": _z(day),
        "ChargePeriodEnd": _z(day + timedelta(days=1)),
        "BilledCost": f"{amount:.4f}",
        "EffectiveCost": f"{amount:.4f}",
        "BillingCurrency": "USD",
        "ChargeCategory": category,
        "ProviderName": "DemoCloud",
        "ServiceName": "Compute",
        "ResourceId": "",
        "Tags": json.dumps(tags, sort_keys=True),
    }


def generate_cost(services: list[dict[str, Any]], *, seed: int, start: datetime, end: datetime) -> CostDemo:
    """Daily bills and measurements for each whole day from ``start`` to the last day before ``end``."""
    rng = random.Random(seed * 7919 + 14)
    last_day = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[dict[str, str]] = []
    events: list[dict[str, Any]] = []
    for service in services:
        slug = service["slug"]
        moved = _moved_at(service)
        base = rng.uniform(60, 180) * (3 if slug in GPU_SERVICES else 1)
        day = start
        while day < last_day:
            after = moved is not None and day >= moved
            amount = base * (1 + COST_RISE if after else 1.0) * rng.gauss(1.0, 0.04)
            tags = {"service": slug, "team": service["team"]}
            if after and moved is not None and day < moved + timedelta(days=7):
                rows.append(_focus_row(day, amount * HYBRID_SHARE, {**tags, "platform": "legacy"}))
                rows.append(_focus_row(day, amount * (1 - HYBRID_SHARE), {**tags, "platform": "new"}))
            else:
                rows.append(_focus_row(day, amount, tags))
            events.extend(_measurements(rng, slug, day, after))
            day += timedelta(days=1)
    day = start
    while day < last_day:  # shared networking nobody tagged: unallocated, reported as a share
        rows.append(_focus_row(day, rng.uniform(40, 60), {}))
        if day.day == 1:  # a monthly credit, negative as FOCUS writes credits
            rows.append(_focus_row(day, -rng.uniform(20, 40), {"service": services[0]["slug"]}, "Credit"))
        day += timedelta(days=1)
    return CostDemo(focus_rows=rows, measurements=events)


def _measurements(rng: random.Random, slug: str, day: datetime, after: bool) -> list[dict[str, Any]]:
    stage = 1 if after else 0
    key = f"{slug}-{day:%Y%m%d}"
    window = {"period_start": _z(day), "period_end": _z(day + timedelta(days=1))}
    cpu = min(1.0, max(0.02, rng.gauss(CPU_UTILISATION[stage], 0.04)))
    events: list[dict[str, Any]] = [
        {
            "type": "measurement",
            "id": f"{key}-cpu",
            "service": slug,
            "metric": "cpu_utilisation",
            "value": round(cpu, 4),
            "unit": "ratio",
            **window,
        },
    ]
    gpus = GPU_SERVICES.get(slug)
    if gpus:
        provisioned = 24.0 * gpus
        used = provisioned * min(1.0, max(0.01, rng.gauss(GPU_UTILISATION[stage], 0.03)))
        events += [
            {
                "type": "measurement",
                "id": f"{key}-gpu-prov",
                "service": slug,
                "metric": "gpu_hours_provisioned",
                "value": provisioned,
                "unit": "gpu_hours",
                **window,
            },
            {
                "type": "measurement",
                "id": f"{key}-gpu-used",
                "service": slug,
                "metric": "gpu_hours_used",
                "value": round(used, 3),
                "unit": "gpu_hours",
                **window,
            },
        ]
        for n in range(6):
            seconds = rng.lognormvariate(0, 0.35) * COLD_START_MEDIAN_S[stage]
            at = day + timedelta(hours=2 + 3 * n, minutes=rng.randint(0, 59))
            events.append(
                {
                    "type": "measurement",
                    "id": f"{key}-cold-{n}",
                    "service": slug,
                    "metric": "cold_start_seconds",
                    "value": round(seconds, 2),
                    "unit": "seconds",
                    "at": _z(at),
                }
            )
    return events
