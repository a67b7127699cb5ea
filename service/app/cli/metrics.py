"""``frictionlog metrics define``: declare a measurement as a judged metric (``service.criteria.metrics``)."""

from __future__ import annotations

import getpass

import click

from service.app.cli.session import cli_session


@click.group("metrics")
def metrics() -> None:
    """Metrics users measure: declared once, judged like the built-in ones."""


@metrics.command("define")
@click.argument("name")
@click.option("--direction", type=click.Choice(["higher", "lower"]), required=True, help="Which way is better")
@click.option("--unit", required=True, help="seconds, minutes, per week, …")
@click.option("--scale", type=click.Choice(["ratio", "additive"]), default="ratio", show_default=True)
@click.option("--label", default=None, help="Its name in sentences (default: from NAME)")
@click.option("--by", default=None, help="Who declares it (default: cli:<user>)")
def define(name: str, direction: str, unit: str, scale: str, label: str | None, by: str | None) -> None:
    """Judge the measurement NAME like the built-in metrics, e.g. ``queue_wait_seconds --direction lower
    --unit seconds``."""
    from service.criteria.metrics import define_metric

    with cli_session() as session:
        row = define_metric(
            session,
            name=name,
            direction=direction,
            unit=unit,
            scale=scale,
            label=label,
            by=by or f"cli:{getpass.getuser()}",
        )
    click.echo(f"{row.name}: {'higher' if row.higher_is_better else 'lower'} is better, {row.unit}, {row.effect_scale}")
