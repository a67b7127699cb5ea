"""``frictionlog demo``: a seeded migration sent through the real HTTP endpoints of an embedded server."""

from __future__ import annotations

import csv
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import httpx
import uvicorn

from service.app.demo.cost import generate_cost
from service.app.demo.generate import DemoData, generate
from service.app.web.app import create_app
from service.core import tokens
from service.core.db import session_scope
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.digest.build import build
from service.digest.html import render_html
from service.digest.render import plain_text
from service.figures import rollups_db
from service.figures.weekly import weekly_metrics


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BackgroundServer:
    """uvicorn in a thread of this process, with the embedded worker; stopped on exit."""

    def __init__(self, settings: Settings, *, port: int | None = None) -> None:
        self.port = port or _free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="frictionlog-demo-server", daemon=True)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise click.ClickException("the embedded server did not start")
            time.sleep(0.05)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C)."""
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            click.echo("\nStopping the demo server.")

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


def _post_all(client: httpx.Client, events: list[tuple[str, dict[str, Any]]]) -> tuple[int, int]:
    """POST each (path, body) in order, four at a time; returns (accepted, rejected)."""
    accepted = rejected = 0

    def send(event: tuple[str, dict[str, Any]]) -> int:
        return client.post(event[0], json=event[1]).status_code

    with (
        ThreadPoolExecutor(max_workers=4) as pool,
        click.progressbar(length=len(events), label="Sending events", show_pos=True) as bar,
    ):
        # Send in order of occurrence, a small window at a time, so an incident's resolve follows its trigger.
        for offset in range(0, len(events), 4):
            for status in pool.map(send, events[offset : offset + 4]):
                accepted += status in (200, 202)
                rejected += status not in (200, 202)
            bar.update(min(4, len(events) - offset))
    return accepted, rejected


def _wait_drained(client: httpx.Client, timeout: float = 60.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, int] = client.get("/api/v1/events/stats").raise_for_status().json()
        if stats["pending"] == 0 or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


def seed(
    client: httpx.Client, data: DemoData, *, seed_value: int = 7, weeks: int = 16, bill_dir: Path | None = None
) -> tuple[int, int, dict[str, int]]:
    """Send a generated story through the HTTP API (catalogue, migration and its criteria, events, friction,
    the FOCUS bill and utilisation) and wait until the worker drained it: (accepted, rejected, inbox
    counts). The demo and the browser tests use it."""
    for service in data.services:
        body = {key: service[key] for key in ("team", "tier", "platforms")}
        client.put(f"/api/v1/services/{service['slug']}", json=body).raise_for_status()
    made = client.post("/api/v1/migrations", json=data.migration).raise_for_status().json()
    # A goalpost moved after the start: the digest shows who changed it and when.
    lowered = [{**c, "target": 1.0} if c["metric"] == "deploys" else c for c in data.migration["criteria"]]
    client.patch(f"/api/v1/migrations/{made['id']}", json={"criteria": lowered}).raise_for_status()
    requests = [("/webhooks/generic", event) for event in data.events]
    requests += [("/api/v1/friction", report) for report in data.friction]
    accepted, rejected = _post_all(client, requests)
    with tempfile.TemporaryDirectory() as scratch:
        click.echo(_send_cost(client, data, seed=seed_value, weeks=weeks, data_dir=bill_dir or Path(scratch)))
    return accepted, rejected, _wait_drained(client)


@click.command()
@click.option("--seed", "seed_value", default=7, show_default=True, type=int)
@click.option("--weeks", default=16, show_default=True, type=click.IntRange(8, 52))
@click.option("--data-dir", default="./var/demo", show_default=True, type=click.Path(path_type=Path))
@click.option("--serve", is_flag=True, help="Keep the web app running on --port afterwards (Ctrl-C stops it)")
@click.option("--port", default=8000, show_default=True, type=int, help="The port of --serve")
def demo(seed_value: int, weeks: int, data_dir: Path, serve: bool, port: int) -> None:
    """Generate a seeded migration, send it through the API, and print weekly metrics per platform."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    url = f"http://127.0.0.1:{port}/"
    settings = Settings(
        database_url=f"sqlite:///{data_dir / 'frictionlog.db'}",
        broker_url=None,
        spool_dir=data_dir / "spool",
        public_url=url.rstrip("/"),
    )
    started = time.monotonic()
    data = generate(seed=seed_value, weeks=weeks, end=utcnow())
    click.echo(
        f"Demo: {len(data.services)} services, {len(data.events)} CI/CD and incident events and "
        f"{len(data.friction)} friction reports over {weeks} weeks (seed {seed_value})"
    )
    with BackgroundServer(settings, port=port if serve else None) as server:
        with session_scope(settings.database_url, write=True) as session:
            _, secret = tokens.create_token(session, name="demo", scopes=["ingest", "read", "admin"])
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers=headers, timeout=30) as client:
            accepted, rejected, stats = seed(client, data, seed_value=seed_value, weeks=weeks, bill_dir=data_dir)
        click.echo(
            f"Accepted {accepted}, rejected {rejected}; processed {stats['processed']}, "
            f"failed {stats['failed']}, pending {stats['pending']} in {time.monotonic() - started:.1f}s"
        )
        _report(settings, data_dir)
        if serve:
            click.echo(f"\nThe web app is running: open {url} and sign in with the token {secret}")
            click.echo("(Ctrl-C stops it.)")
            server.wait()
            return
    click.echo(
        f"\nTo browse it: FRICTIONLOG_DATABASE_URL={settings.database_url} frictionlog serve "
        f"(or `frictionlog demo --serve`), then open {url} and sign in with the token {secret}"
    )


def _report(settings: Settings, data_dir: Path) -> None:
    with session_scope(settings.database_url, write=True) as session:
        rollups_db.refresh(session, settings)  # what the worker does next: the table reads what the digest reads
    with session_scope(settings.database_url) as session:
        table = weekly_metrics(session, settings, group_by="platform")

    click.echo("\nWeekly DORA metrics by platform (legacy = not yet migrated, new = migrated):\n")
    click.echo(_format(table))
    click.echo("\nWeekly cost and utilisation by platform (the move week runs on both):\n")
    click.echo(_format_cost(table))
    week = last_full_week(utcnow(), settings.timezone)
    with session_scope(settings.database_url) as session:
        content = build(session, settings, week=week, audience="leaders")
    page = data_dir / f"digest-{week}.html"
    page.write_text(render_html(content), encoding="utf-8")
    click.echo(f"\n{plain_text(content)}")
    click.echo(f"\nThe weekly digest for {week}, with charts: {page.resolve()}")
    click.echo(f"Data: {settings.database_url}")


def _send_cost(client: httpx.Client, data: Any, *, seed: int, weeks: int, data_dir: Path) -> str:
    """The bill through the FOCUS import, the measurements through the generic webhook (batches of 500)."""
    now = utcnow()
    last_monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    story = generate_cost(data.services, seed=seed, start=last_monday - timedelta(weeks=weeks), end=now)
    bill = data_dir / "focus-bill.csv"
    with bill.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(story.focus_rows[0]))
        writer.writeheader()
        writer.writerows(story.focus_rows)
    imported = client.post("/api/v1/cost/imports", params={"filename": bill.name}, content=bill.read_bytes())
    imported.raise_for_status()
    for offset in range(0, len(story.measurements), 500):
        client.post("/webhooks/generic", json=story.measurements[offset : offset + 500]).raise_for_status()
    return f"Imported a FOCUS bill of {imported.json()['rows']} rows and sent {len(story.measurements)} measurements"


def _without_empty(table: Any, columns: list[str]) -> Any:
    """The rows where any of ``columns`` has something: a platform nothing happened on that week (the
    ``unknown`` of unallocated spend in the DORA table, say) is not a row of zeros."""
    present = [c for c in columns if c in table]
    return table[~table[present].fillna(0).eq(0).all(axis=1)]


def _format_cost(table: Any) -> str:
    shown = table.rename(columns={"group": "platform", "unallocated_cost_share": "unalloc", "gpu_utilisation": "gpu"})
    shown = shown.rename(columns={"cpu_utilisation": "cpu", "cold_start_p95_seconds": "cold_p95_s"})
    columns = ["week", "platform", "compute_cost", "unalloc", "cost_per_deployment", "gpu", "cpu", "cold_p95_s"]
    shown = _without_empty(shown, ["compute_cost", "gpu", "cpu", "cold_p95_s"])
    return str(shown[columns].to_string(index=False, float_format=lambda value: f"{value:.2f}", na_rep="-"))


def _format(table: Any) -> str:
    hours = 3600.0
    shown = table.assign(
        lead_time_h=table["lead_time_median_seconds"] / hours,
        restore_h=table["time_to_restore_median_seconds"] / hours,
        friction_h=table["friction_minutes_lost"] / 60.0,
    ).rename(
        columns={
            "group": "platform",
            "deployments": "deploys",
            "change_failure_rate": "cfr",
            "time_to_ship_mean_days": "ship_d",
            "support_tickets_opened": "support",
            "infra_incidents": "infra_inc",
        }
    )
    columns = ["week", "platform", "deploys", "deploy_days", "lead_time_h", "cfr", "incidents", "restore_h", "friction"]
    columns += ["ship_d", "support", "infra_inc"]
    shown = _without_empty(shown, ["deploys", "incidents", "friction", "support"])
    return str(shown[columns].to_string(index=False, float_format=lambda value: f"{value:.2f}", na_rep="-"))
