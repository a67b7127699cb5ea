"""The metric rules on small hand-made frames, edge cases included (docs/metrics.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from service.figures.metrics import compute, dora
from service.figures.metrics.dora import Window

PROD = frozenset({"production"})
MONDAY = datetime(2026, 10, 5, tzinfo=UTC)
WEEK = Window(MONDAY, MONDAY + timedelta(weeks=1))


def deployments(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {
        "service": "api",
        "team": "core",
        "environment": "production",
        "status": "success",
        "platform": "new",
        "cohort": "migrated",
        "is_rollback": False,
        "rollback_of_id": None,
    }
    frame = pd.DataFrame([{**base, **row} for row in rows], columns=["id", *base.keys(), "finished_at"])
    frame["finished_at"] = pd.to_datetime(frame["finished_at"], utc=True)
    return frame


def lead_times(*rows: tuple[int, datetime, datetime, str | None]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["deployment_id", "committed_at", "finished_at", "excluded"])
    for column in ("committed_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def incidents(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {
        "service": "api",
        "team": "core",
        "severity": "sev2",
        "platform": "new",
        "cohort": "migrated",
        "caused_by_deployment_id": None,
        "resolved_at": None,
    }
    frame = pd.DataFrame([{**base, **row} for row in rows], columns=["id", *base.keys(), "started_at"])
    for column in ("started_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def no_friction() -> pd.DataFrame:
    frame = pd.DataFrame(
        columns=["id", "service", "team", "platform", "cohort", "created_at", "category", "minutes_lost", "status"]
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def summary(deploys: pd.DataFrame, leads: pd.DataFrame, incs: pd.DataFrame, min_sample: int = 1) -> dict[str, Any]:
    return dora.dora(
        deploys,
        leads,
        incs,
        window=WEEK,
        environments=PROD,
        tz="UTC",
        min_sample=min_sample,
        follow_up=timedelta(hours=24),
    )


def test_no_deployments_gives_zeros_and_no_bands_not_errors() -> None:
    result = summary(deployments(), lead_times(), incidents(), min_sample=1)

    assert result["deployment_frequency"] == {
        "deployments": 0,
        "per_week": 0.0,
        "deploy_days": 0,
        "window_days": 7.0,
        "short_window": False,
        "band": None,
        "low_sample": True,
    }
    assert result["change_failure_rate"]["rate"] is None
    assert result["lead_time"]["median_seconds"] is None
    assert result["time_to_restore"]["n"] == 0
    assert result["incidents"]["count"] == 0


def test_a_week_with_only_failures() -> None:
    deploys = deployments(
        {"id": 1, "status": "failure", "finished_at": MONDAY + timedelta(hours=1)},
        {"id": 2, "status": "error", "finished_at": MONDAY + timedelta(hours=2)},
    )

    result = summary(deploys, lead_times(), incidents())

    assert result["deployment_frequency"]["deployments"] == 0
    assert result["change_failure_rate"] == {
        "rate": 1.0,
        "failed": 2,
        "deployments": 2,
        "band": "low",
        "low_sample": False,
    }


def test_failures_count_by_status_rollback_and_linked_incident_once_each() -> None:
    deploys = deployments(
        {"id": 1, "finished_at": MONDAY + timedelta(hours=1)},  # rolled back by 3
        {"id": 2, "finished_at": MONDAY + timedelta(hours=2)},  # caused an incident
        {"id": 3, "finished_at": MONDAY + timedelta(hours=3), "is_rollback": True, "rollback_of_id": 1},
        {"id": 4, "status": "failure", "finished_at": MONDAY + timedelta(hours=4)},
        {"id": 5, "finished_at": MONDAY + timedelta(hours=5)},
        {"id": 6, "environment": "staging", "status": "failure", "finished_at": MONDAY + timedelta(hours=6)},
    )
    incs = incidents({"id": 1, "started_at": MONDAY + timedelta(hours=2, minutes=30), "caused_by_deployment_id": 2})

    cfr = summary(deploys, lead_times(), incs)["change_failure_rate"]

    assert (cfr["failed"], cfr["deployments"], cfr["rate"]) == (3, 5, 0.6)


def test_an_incident_with_no_resolve_yet_is_left_out_of_time_to_restore_and_counted() -> None:
    incs = incidents(
        {"id": 1, "started_at": MONDAY, "resolved_at": MONDAY + timedelta(minutes=30)},
        {"id": 2, "started_at": MONDAY + timedelta(hours=1), "resolved_at": MONDAY + timedelta(hours=3)},
        {"id": 3, "started_at": MONDAY + timedelta(hours=5)},
    )

    restore = summary(deployments(), lead_times(), incs)["time_to_restore"]

    assert (restore["n"], restore["unresolved"], restore["median_seconds"]) == (2, 1, 4500.0)
    assert restore["band"] == "high"


def test_commits_after_their_deploy_are_excluded_and_counted() -> None:
    finished = MONDAY + timedelta(hours=10)
    deploys = deployments({"id": 1, "finished_at": finished})
    leads = lead_times(
        (1, finished - timedelta(hours=2), finished, None),
        (1, finished - timedelta(hours=4), finished, None),
        (1, finished + timedelta(minutes=5), finished, None),  # clock skew: after the deploy
        (1, finished - timedelta(days=40), finished, "first_deployment"),
    )

    lead = summary(deploys, leads, incidents())["lead_time"]

    assert (lead["n"], lead["median_seconds"], lead["excluded"]) == (2, 3 * 3600.0, 2)
    assert lead["excluded_by_reason"] == {"non_positive": 1, "first_deployment": 1}
    assert lead["band"] == "elite"


def test_a_deployment_with_no_linked_commits_raises_a_warning() -> None:
    deploys = deployments({"id": 1, "finished_at": MONDAY}, {"id": 2, "finished_at": MONDAY + timedelta(hours=1)})
    leads = lead_times((1, MONDAY - timedelta(hours=1), MONDAY, None))
    incs = incidents({"id": 9, "service": "worker", "team": None, "started_at": MONDAY})

    codes = {w["code"]: w["count"] for w in compute.data_quality(deploys, leads, incs, environments=PROD)}

    assert codes == {
        "deployments_without_commits": 1,
        "incidents_unlinked": 1,
        "incidents_unresolved": 1,
        "services_without_deployments": 1,
        "services_not_in_catalogue": 1,
    }


def test_thin_data_is_flagged_and_gets_no_band() -> None:
    deploys = deployments({"id": 1, "finished_at": MONDAY}, {"id": 2, "finished_at": MONDAY + timedelta(hours=1)})

    result = summary(deploys, lead_times(), incidents(), min_sample=5)

    assert result["deployment_frequency"]["low_sample"] is True
    assert result["deployment_frequency"]["band"] is None
    assert result["change_failure_rate"]["band"] is None


@pytest.mark.parametrize(
    ("per_week", "band"),
    [
        (14, "on-demand"),
        (7, "on-demand"),
        (3, "daily"),
        (1, "daily"),
        (0.5, "weekly"),
        (0.1, "monthly"),
        (0.02, "fewer"),
    ],
)
def test_deployment_frequency_bands(per_week: float, band: str) -> None:
    weeks = 52
    window = Window(MONDAY, MONDAY + timedelta(weeks=weeks))
    count = round(per_week * weeks)
    deploys = deployments(*({"id": i, "finished_at": MONDAY + timedelta(hours=i)} for i in range(count)))

    result = dora.deployment_frequency(compute.production(deploys, PROD), window, "UTC", min_sample=1)

    assert result["band"] == band


def test_week_boundaries_follow_the_configured_time_zone() -> None:
    sunday_late_utc = datetime(2026, 10, 11, 23, 30, tzinfo=UTC)  # Monday 01:30 in Berlin
    deploys = deployments({"id": 1, "finished_at": sunday_late_utc})

    utc = compute.weekly(compute.Frames(deploys, lead_times(), incidents(), no_friction()), tz="UTC", environments=PROD)
    berlin = compute.weekly(
        compute.Frames(deploys, lead_times(), incidents(), no_friction()), tz="Europe/Berlin", environments=PROD
    )

    assert utc["week"].tolist() == ["2026-W41"]
    assert berlin["week"].tolist() == ["2026-W42"]


def test_a_dst_change_does_not_split_or_shift_a_week() -> None:
    # Berlin leaves summer time on Sunday 2026-10-25 at 03:00; that Sunday is still in W43.
    before = datetime(2026, 10, 19, 0, 30, tzinfo=UTC) - timedelta(hours=2)  # Monday 00:30 CEST (UTC+2)
    after = datetime(2026, 10, 25, 22, 30, tzinfo=UTC)  # Sunday 23:30 CET (UTC+1)
    next_week = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)  # Monday 00:30 CET
    deploys = deployments(
        {"id": 1, "finished_at": before}, {"id": 2, "finished_at": after}, {"id": 3, "finished_at": next_week}
    )

    table = compute.weekly(
        compute.Frames(deploys, lead_times(), incidents(), no_friction()), tz="Europe/Berlin", environments=PROD
    )

    assert dict(zip(table["week"], table["deployments"], strict=True)) == {"2026-W43": 2, "2026-W44": 1}


def test_weekly_groups_and_counts_match_the_window_summary() -> None:
    deploys = deployments(
        {"id": 1, "finished_at": MONDAY + timedelta(hours=1)},
        {"id": 2, "finished_at": MONDAY + timedelta(days=1), "platform": "legacy", "cohort": "not_migrated"},
        {"id": 3, "status": "failure", "finished_at": MONDAY + timedelta(days=2)},
    )
    leads = lead_times((1, MONDAY - timedelta(hours=3), MONDAY + timedelta(hours=1), None))

    table = compute.weekly(
        compute.Frames(deploys, leads, incidents(), no_friction()), tz="UTC", environments=PROD, group_by="cohort"
    )
    rows = {row["group"]: row for row in table.to_dict(orient="records")}

    assert rows["migrated"]["deployments"] == 1
    assert rows["migrated"]["completed_deployments"] == 2
    assert rows["migrated"]["change_failure_rate"] == 0.5
    assert rows["migrated"]["lead_time_median_seconds"] == 4 * 3600
    assert rows["not_migrated"]["deployments"] == 1


def test_rework_counts_rollbacks_and_fixes_forward() -> None:
    deploys = deployments(
        {"id": 1, "status": "failure", "finished_at": MONDAY + timedelta(hours=1)},
        {"id": 2, "finished_at": MONDAY + timedelta(hours=2)},  # fix forward, 1 h after a failure
        {"id": 3, "finished_at": MONDAY + timedelta(days=3)},  # planned
        {"id": 4, "finished_at": MONDAY + timedelta(days=3, hours=1), "is_rollback": True, "rollback_of_id": 3},
    )

    rework = dora.rework_rate(compute.production(deploys, PROD), WEEK, timedelta(hours=24), min_sample=1)

    assert (rework["unplanned"], rework["n"], rework["rate"]) == (2, 4, 0.5)
