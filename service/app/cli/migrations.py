"""``frictionlog migrations``: success criteria of a migration, set before it starts; every later change
is recorded with who made it."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from service.app.cli.session import cli_session
from service.core.timeutil import parse_timestamp
from service.core.vocab import DIRECTIONS

if TYPE_CHECKING:
    from service.criteria import service as criteria_service

# The criteria service and the metric registry (pandas, numpy) are imported inside the commands, so that
# `frictionlog --help` stays fast (bench/cli_startup.py).


def _target(text: str, kind: str) -> float:
    """``+100%`` → 1.0, ``-30%`` → -0.3 for a relative target; a plain number for an absolute one."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100
            return value if kind == "relative" else value * 100
        return float(raw)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number or a percentage", param_hint="TARGET") from None


@click.group("migrations")
def migrations() -> None:
    """Migrations and the success criteria they are judged on."""


@migrations.group("criteria")
def criteria_group() -> None:
    """Success criteria: set them before the move; changes after its start are recorded and shown."""


@criteria_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("migration")
@click.argument("metric")
@click.argument("target")
@click.option("--direction", type=click.Choice(DIRECTIONS), required=True)
@click.option("--absolute", is_flag=True, help="TARGET is a value in the metric's unit, not a relative change")
@click.option("--deadline", default=None, help="RFC 3339 time (default: the migration's target date)")
@click.option("--by", default=None, help="Who makes the change (default: cli:<user>)")
@click.option(
    "--decided-at",
    default=None,
    help="When this was really decided (RFC 3339 or a date): a migration recorded after the fact. Shown as "
    "'recorded X, decided Y'; a criterion recorded after the start is never counted as set in advance.",
)
@click.option("--decided-ref", default=None, help="Where that decision is written down (a link)")
def criteria_set(
    migration: str,
    metric: str,
    target: str,
    direction: str,
    absolute: bool,
    deadline: str | None,
    by: str | None,
    decided_at: str | None,
    decided_ref: str | None,
) -> None:
    """Add or change one criterion, e.g. ``legacy-to-new deploys +100% --direction at_least``
    or ``legacy-to-new incidents -30% --direction at_most`` (a signed TARGET is a value, not an option);
    METRIC is a key of the effect registry (service.effects.registry) or a declared metric
    (``frictionlog metrics define``)."""
    from service.criteria import service as criteria
    from service.criteria.judge import Criterion

    kind = "absolute" if absolute else "relative"
    due = parse_timestamp(deadline, field="deadline") if deadline else None
    spec = Criterion(metric, direction, kind, _target(target, kind), due)  # type: ignore[arg-type]
    decided = _decided(decided_at, decided_ref)
    with cli_session() as session:
        known = criteria.known_metrics(session)
        if metric not in known:
            raise click.BadParameter(f"{metric!r} is not one of {', '.join(known)}", param_hint="METRIC")
        found = criteria.find_migration(session, migration)
        assert found.id is not None
        rows = criteria.put_criterion(session, found.id, spec, by=by or f"cli:{getpass.getuser()}", decided=decided)
    click.echo(f"{migration}: {len(rows)} criteria")


def _decided(at: str | None, ref: str | None) -> criteria_service.Decided | None:
    from service.criteria import service as criteria

    if at is None:
        if ref is not None:
            raise click.BadParameter("--decided-ref goes with --decided-at", param_hint="--decided-ref")
        return None
    text = at if "T" in at else f"{at}T00:00:00Z"
    return criteria.Decided(parse_timestamp(text, field="decided_at"), (ref or "").strip()[:500] or None)


@criteria_group.command("remove")
@click.argument("migration")
@click.argument("metric")
@click.option("--by", default=None, help="Who makes the change (default: cli:<user>)")
def criteria_remove(migration: str, metric: str, by: str | None) -> None:
    from service.criteria import service as criteria

    with cli_session() as session:
        found = criteria.find_migration(session, migration)
        assert found.id is not None
        rows = criteria.remove_criterion(session, found.id, metric, by=by or f"cli:{getpass.getuser()}")
    click.echo(f"{migration}: {len(rows)} criteria")


@criteria_group.command("list")
@click.argument("migration")
def criteria_list(migration: str) -> None:
    """The criteria, then every change made to them (``*``: after the migration started)."""
    from service.criteria import service as criteria

    with cli_session() as session:
        found = criteria.find_migration(session, migration)
        assert found.id is not None
        for row in criteria.criteria_of(session, found.id):
            target = f"{row.target:+.0%}" if row.kind == "relative" else f"{row.target:g}"
            due = f" by {row.deadline:%Y-%m-%d}" if row.deadline else ""
            click.echo(f"{row.metric} {row.direction} {target}{due}")
        for change in criteria.changes_of(session, found.id):
            flag = "*" if change.after_start else " "
            when = f"{change.changed_at:%Y-%m-%d %H:%M}"
            if change.decided_at is not None:
                per = f" per {change.decided_ref}" if change.decided_ref else ""
                when = f"recorded {when}, decided {change.decided_at:%Y-%m-%d}{per},"
            click.echo(
                f"{flag} {when} {change.changed_by}: {change.action} {change.subject} "
                f"{change.before or ''} → {change.after or ''}"
            )


@migrations.command("design")
@click.argument("migration")
@click.option(
    "--base-weeks", type=click.IntRange(1, 26), default=None, help="A service's base: its last N weeks with data"
)
@click.option("--min-pre-weeks", type=click.IntRange(1, 26), default=None, help="Weeks with data a moved service needs")
@click.option("--pre-weeks", type=click.IntRange(2, 26), default=None, help="Weeks with data the pre-move drift needs")
@click.option("--controls", type=click.Choice(["not_yet_treated", "never_treated"]), default=None)
@click.option("--scale", type=click.Choice(["ratio", "additive"]), default=None, help="Default: each metric's own")
@click.option("--reset", is_flag=True, help="Back to the defaults")
@click.option("--by", default=None, help="Who makes the change (default: cli:<user>)")
def design(
    migration: str,
    base_weeks: int | None,
    min_pre_weeks: int | None,
    pre_weeks: int | None,
    controls: str | None,
    scale: str | None,
    reset: bool,
    by: str | None,
) -> None:
    """Set how MIGRATION's effects are estimated (docs/metrics.md, "The design, per migration"); a change
    after its start is recorded on the criteria trail."""
    from service.criteria import service as criteria

    given: dict[str, int | str | None] = {"base_weeks": base_weeks, "min_pre_weeks": min_pre_weeks}
    given |= {"pre_weeks": pre_weeks, "controls": controls, "scale": scale}
    with cli_session() as session:
        found = criteria.find_migration(session, migration)
        assert found.id is not None
        wanted = None if reset else {**(found.design or {}), **{k: v for k, v in given.items() if v is not None}}
        updated = criteria.update_migration(
            session, found.id, fields={"design": wanted or None}, criteria=None, by=by or f"cli:{getpass.getuser()}"
        )
    shown = ", ".join(f"{k}={v}" for k, v in (updated.design or {}).items()) or "the defaults"
    click.echo(f"{migration}: {shown}")
