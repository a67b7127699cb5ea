"""Generate a seeded migration story: services moving from ``legacy`` to ``new`` at staggered dates.

Pure: a seed and an end date in, plain JSON-ready dicts out (catalogue, migration, generic events).
On the new platform teams deploy more often, ship faster, fail less and restore sooner. Features ship
in 11 days on average instead of 47, infrastructure support tickets and infrastructure incidents fall
by two thirds, and application incidents stay flat (issue 15; drawn from their own random stream, so
the rest of the story is the same for a seed).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TEAMS = {
    "payments": ["checkout-api", "payments-worker", "ledger"],
    "growth": ["ml-api", "recommendations", "search-api"],
    "core": ["auth", "gateway", "notifications", "reporting"],
}


@dataclass(frozen=True, slots=True)
class PlatformProfile:
    deploys_per_week: float
    lead_time_median_h: float
    failure_rate: float
    incident_per_deploy: float
    restore_median_h: float
    friction_per_week: float
    friction_themes: tuple[str, ...]
    time_to_ship_days: float = 47.0
    """Mean days from started to the production deployment that ships a feature."""
    features_per_week: float = 0.8
    support_per_week: float = 0.9
    support_resolve_days: float = 3.0
    infra_incidents_per_week: float = 0.6


# What engineers say, by theme; {service} is filled in. Written for the demo.
FRICTION_TEXTS = {
    "cold_start_latency": [
        "Cold starts take 40 s on {service} after every scale to zero",
        "p99 latency on {service} doubles for the first requests after a deploy",
    ],
    "deploy_release": [
        "Deploys of {service} to prod need three manual approvals and a change ticket",
        "Rollback of {service} took 45 minutes because the deploy script is manual",
    ],
    "build_ci": [
        "Flaky integration tests on {service} block the merge queue for hours",
        "The CI pipeline for {service} takes 50 minutes, mostly docker build without cache",
    ],
    "config_complexity": [
        "The helm values file for {service} is 600 lines of yaml copy pasted from another team",
        "Terraform for {service} drifted again and nobody knows which config is live",
    ],
    "gpu_compute_capacity": [
        "GPU quota request for {service} took 3 days",
        "Pods of {service} stay pending: the node pool is out of capacity",
    ],
    "platform_migration": [
        "Porting {service} to the new platform: no parity for cron jobs yet",
        "Running {service} on both platforms during the cutover doubles the on-call work",
    ],
    "docs_knowledge": [
        "No docs on how to set up ingress for {service} on the new platform",
        "The README for the new platform templates is outdated; had to ask in three channels",
    ],
    "observability_debugging": [
        "Can't see logs of {service} once the pod restarts; debugging is guesswork",
    ],
}
LEGACY_THEMES = ("cold_start_latency", "deploy_release", "build_ci", "config_complexity", "gpu_compute_capacity")
NEW_THEMES = ("platform_migration", "docs_knowledge", "observability_debugging", "build_ci")

LEGACY = PlatformProfile(2.5, 40.0, 0.15, 0.10, 4.0, 1.2, LEGACY_THEMES)
NEW = PlatformProfile(
    6.0,
    6.0,
    0.06,
    0.04,
    1.2,
    0.4,
    NEW_THEMES,
    time_to_ship_days=11.0,
    support_per_week=0.3,
    support_resolve_days=1.0,
    infra_incidents_per_week=0.2,
)
INFRA_TITLES = (
    "{service}: node pool out of capacity, pods pending",
    "{service}: DNS resolution failures in the cluster",
    "{service}: disk full on kubernetes nodes",
    "{service}: TLS certificate expired on the load balancer",
    "{service}: GPU quota exhausted",
)


@dataclass(frozen=True, slots=True)
class DemoData:
    services: list[dict[str, Any]]
    migration: dict[str, Any]
    events: list[dict[str, Any]]
    """Generic-form events, in the order they happened."""
    friction: list[dict[str, Any]]
    """Friction reports for ``POST /api/v1/friction``, in the order they were filed."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _poisson(rng: random.Random, lam: float) -> int:
    threshold, count, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _working_time(rng: random.Random, day: datetime) -> datetime:
    return day + timedelta(hours=rng.uniform(9, 18))


def generate(*, seed: int = 7, weeks: int = 16, end: datetime) -> DemoData:
    """``weeks`` whole ISO weeks ending at the Monday 00:00 UTC on or before ``end``."""
    rng = random.Random(seed)
    last_monday = (end - timedelta(days=end.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start = last_monday - timedelta(weeks=weeks)
    migration_start = start + timedelta(weeks=3)
    slugs = [(team, slug) for team, members in TEAMS.items() for slug in members]
    # Staggered moves from week 4 to week 13; the last two services have not moved yet.
    move_weeks = {slug: 4 + (i * 9) // max(1, len(slugs) - 3) for i, (_, slug) in enumerate(slugs[:-2])}
    services: list[dict[str, Any]] = []
    for team, slug in slugs:
        platforms = [{"platform": "legacy", "effective_from": _iso(start - timedelta(days=365))}]
        if slug in move_weeks:
            moved = start + timedelta(weeks=move_weeks[slug], days=rng.randint(0, 4))
            platforms.append({"platform": "new", "effective_from": _iso(moved)})
        services.append(
            {"slug": slug, "team": team, "tier": "1" if team == "payments" else "2", "platforms": platforms}
        )

    timed: list[tuple[datetime, dict[str, Any]]] = []
    friction: list[tuple[datetime, dict[str, Any]]] = []
    work_rng = random.Random(seed * 1_000_003 + 15)
    for spec in services:
        moved_at = datetime.fromisoformat(spec["platforms"][-1]["effective_from"].replace("Z", "+00:00"))
        for week in range(weeks):
            week_start = start + timedelta(weeks=week)
            profile = NEW if len(spec["platforms"]) > 1 and week_start >= moved_at else LEGACY
            for _ in range(_poisson(rng, profile.deploys_per_week)):
                day = week_start + timedelta(days=rng.randint(0, 4))
                timed.extend(_deployment(rng, spec["slug"], _working_time(rng, day), profile, len(timed)))
            for _ in range(_poisson(rng, profile.friction_per_week)):
                filed = _working_time(rng, week_start + timedelta(days=rng.randint(0, 4)))
                friction.append((filed, _friction(rng, spec["slug"], filed, profile)))
            timed.extend(_work_week(work_rng, spec["slug"], week_start, profile))
    timed = _ship_features(work_rng, timed, services)
    timed.sort(key=lambda pair: pair[0])
    friction.sort(key=lambda pair: pair[0])
    migration = {
        "name": "legacy-to-new",
        "from_platform": "legacy",
        "to_platform": "new",
        "started_at": _iso(migration_start),
        "target_date": _iso(last_monday + timedelta(weeks=4)),
        "baseline_weeks": 3,
        # Set before the move: what the platform team promised the leaders.
        "criteria": [
            {"metric": "deploys", "direction": "at_least", "target": 1.5},
            {"metric": "lead_time", "direction": "at_most", "target": -0.5},
            {"metric": "time_to_restore", "direction": "at_most", "target": -0.3},
        ],
    }
    return DemoData(
        services=services,
        migration=migration,
        events=[event for moment, event in timed if moment <= end],
        friction=[report for moment, report in friction if moment <= end],
    )


def _friction(rng: random.Random, service: str, filed: datetime, profile: PlatformProfile) -> dict[str, Any]:
    theme = rng.choice(profile.friction_themes)
    report: dict[str, Any] = {
        "text": rng.choice(FRICTION_TEXTS[theme]).format(service=service),
        "service": service,
        "minutes_lost": rng.choice([15, 30, 60, 90, 120, 240]),
        "impact": rng.randint(2, 5),
        "frequency": rng.choice(["once", "weekly", "daily"]),
        "occurred_at": _iso(filed),
    }
    if rng.random() < 0.2:
        report["anonymous"] = True
    else:
        report["reporter"] = f"U{rng.randint(0, 40):04d}"
    return report


def _deployment(
    rng: random.Random, service: str, finished: datetime, profile: PlatformProfile, serial: int
) -> list[tuple[datetime, dict[str, Any]]]:
    deploy_id = f"{service}-{serial}"
    commits = []
    for _ in range(rng.randint(1, 4)):
        lead = rng.lognormvariate(math.log(profile.lead_time_median_h), 0.6)
        commits.append({"sha": f"{rng.getrandbits(160):040x}", "timestamp": _iso(finished - timedelta(hours=lead))})
    failed = rng.random() < profile.failure_rate
    deployment = {
        "type": "deployment",
        "id": deploy_id,
        "service": service,
        "environment": "production",
        "status": "failure" if failed else "success",
        "started_at": _iso(finished - timedelta(minutes=rng.uniform(3, 25))),
        "finished_at": _iso(finished),
        "commit_sha": commits[-1]["sha"],
        "repository": f"acme/{service}",
        "commits": commits,
    }
    events: list[tuple[datetime, dict[str, Any]]] = [(finished, deployment)]
    if not failed and rng.random() < profile.incident_per_deploy:
        started = finished + timedelta(minutes=rng.uniform(10, 240))
        restore = rng.lognormvariate(math.log(profile.restore_median_h), 0.5)
        incident = {
            "type": "incident",
            "id": f"INC-{serial}",
            "service": service,
            "status": "triggered",
            "started_at": _iso(started),
            "severity": rng.choice(["sev1", "sev2", "sev2", "sev3", "sev3", "sev3"]),
            "title": f"{service}: elevated error rate",
            "caused_by_deployment": deploy_id,
            "category": "application",
        }
        resolved = started + timedelta(hours=restore)
        events.append((started, incident))
        events.append((resolved, {**incident, "status": "resolved", "resolved_at": _iso(resolved)}))
    return events


def _lognormal_mean(rng: random.Random, mean: float, sigma: float = 0.35) -> float:
    """A lognormal draw whose expectation is ``mean``."""
    return rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)


def _work_item(key: str, kind: str, status: str, at: datetime, service: str, **extra: Any) -> dict[str, Any]:
    item = {"type": "work_item", "id": key, "kind": kind, "status": status, "changed_at": _iso(at), "service": service}
    return item | extra


def _work_week(
    rng: random.Random, service: str, week_start: datetime, profile: PlatformProfile
) -> list[tuple[datetime, dict[str, Any]]]:
    """One week of a service's infrastructure support tickets and infrastructure incidents."""
    events: list[tuple[datetime, dict[str, Any]]] = []
    for index in range(_poisson(rng, profile.support_per_week)):
        opened = _working_time(rng, week_start + timedelta(days=rng.randint(0, 4)))
        key = f"SUP-{service}-{week_start:%Y%m%d}-{index}"
        resolved = opened + timedelta(days=_lognormal_mean(rng, profile.support_resolve_days))
        title = f"Help with {rng.choice(['ingress', 'IAM role', 'helm values', 'node pool', 'secrets'])} for {service}"
        events.append((opened, _work_item(key, "support", "open", opened, service, title=title)))
        events.append((resolved, _work_item(key, "support", "done", resolved, service, title=title)))
    for index in range(_poisson(rng, profile.infra_incidents_per_week)):
        started = _working_time(rng, week_start + timedelta(days=rng.randint(0, 6)))
        incident = {
            "type": "incident",
            "id": f"INFRA-{service}-{week_start:%Y%m%d}-{index}",
            "service": service,
            "status": "triggered",
            "started_at": _iso(started),
            "severity": rng.choice(["sev2", "sev3"]),
            "title": rng.choice(INFRA_TITLES).format(service=service),  # classified by the mapping's rules
        }
        resolved = started + timedelta(hours=rng.lognormvariate(math.log(profile.restore_median_h), 0.5))
        events.append((started, incident))
        events.append((resolved, {**incident, "status": "resolved", "resolved_at": _iso(resolved)}))
    return events


def _ship_features(
    rng: random.Random, timed: list[tuple[datetime, dict[str, Any]]], services: list[dict[str, Any]]
) -> list[tuple[datetime, dict[str, Any]]]:
    """Some successful production deployments ship a feature (about ``features_per_week`` a week): the
    feature was started ``time_to_ship_days`` (on average, for the platform the deployment ran on)
    before, created a few days before that, and marked done a day or two after."""
    moves = {
        spec["slug"]: datetime.fromisoformat(spec["platforms"][-1]["effective_from"].replace("Z", "+00:00"))
        for spec in services
        if len(spec["platforms"]) > 1
    }
    out: list[tuple[datetime, dict[str, Any]]] = []
    for moment, event in timed:
        out.append((moment, event))
        if event["type"] != "deployment" or event["status"] != "success":
            continue
        moved = moves.get(event["service"])
        profile = NEW if moved is not None and moment >= moved else LEGACY
        if rng.random() >= profile.features_per_week / profile.deploys_per_week:
            continue
        key = f"FEAT-{event['id']}"
        service = event["service"]
        started = moment - timedelta(days=_lognormal_mean(rng, profile.time_to_ship_days))
        created = started - timedelta(days=rng.uniform(1, 10))
        done = moment + timedelta(hours=rng.uniform(2, 48))
        title = f"{service}: feature {key}"
        event["work_items"] = [key]
        out.append((created, _work_item(key, "feature", "open", created, service, title=title)))
        out.append((started, _work_item(key, "feature", "in_progress", started, service, title=title)))
        out.append((done, _work_item(key, "feature", "done", done, service, title=title)))
    return out
