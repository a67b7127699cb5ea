"""CPU per request of the ingest routes, in process: a figure the machine's load moves far less than
requests/s.

    python -m bench.ingest_cpu [--requests N] [--runs N] [--bodies NAME,...] [--write] [--profile BODY]

The bodies of ``bench.ingest`` go straight to the application's ASGI callable (no sockets, no load
generator), 32 at a time, on SQLite. Per body: the API's CPU per accepted request (every thread of the
process: the event loop and the inbox writer; no worker running), then the worker's CPU per event to
process what was accepted (``workers.process.drain``), measured apart; beside them, the CPU per request of
``bench/baseline_app.py``'s (a′) route (FastAPI, parse the JSON) on the same bodies. ``--profile BODY``
prints a cProfile (CPU time of the event loop's thread) of the API on that body instead."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from bench.ingest import GITHUB_SECRET, UNIQUE, Body, bodies
from bench.report import spread, write_section
from service.core import tokens
from service.core.db import session_scope
from service.core.settings import Settings
from service.migrations import upgrade
from workers.process import drain

CONCURRENCY = 32


class _NoWaker:
    def wake(self, task: str = "") -> None:
        del task

    def close(self) -> None:
        return None


def _request(body: Body, token: str, n: int, tag: str) -> tuple[dict[str, Any], bytes]:
    unique = f"{tag}{n:032x}"[:34]
    raw = body.body.replace(UNIQUE.encode(), unique.encode())
    headers = {**body.headers, "Content-Length": str(len(raw))}
    if "Authorization" in headers:
        headers["Authorization"] = f"Bearer {token}"
    if body.delivery_header is not None:
        headers[body.delivery_header] = unique
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": body.path,
        "raw_path": body.path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    return scope, raw


async def _send_all(app: ASGIApp, body: Body, token: str, count: int, tag: str) -> None:
    """``count`` requests, ``CONCURRENCY`` in flight; every answer must be 2xx."""
    pending = iter(range(count))

    async def one(n: int) -> None:
        scope, raw = _request(body, token, n, tag)
        sent = False
        status: list[int] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        if not status or status[0] >= 300:
            raise SystemExit(f"{body.name}: answered {status}")

    async def lane() -> None:
        for n in pending:
            await one(n)

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))


def _settings(directory: Path) -> Settings:
    url = f"sqlite:///{directory / 'cpu.db'}"
    upgrade(url)
    return Settings(
        _env_file=None,
        database_url=url,
        broker_url=None,
        spool_dir=directory / "spool",
        token_cache_seconds=60,
        github_webhook_secret=GITHUB_SECRET,
    )


def _token(settings: Settings) -> str:
    with session_scope(settings.database_url, write=True) as session:
        return tokens.create_token(session, name="bench", scopes=["ingest"])[1]


async def _served(app: Any, body: Body, token: str, requests: int) -> float:
    """CPU µs per request of the app (every thread of this process), after a warm-up."""
    async with app.router.lifespan_context(app):
        await _send_all(app, body, token, 200, "a0")
        started = time.process_time()
        await _send_all(app, body, token, requests, "b0")
        return (time.process_time() - started) / requests * 1e6


def edge_cpu(body: Body, requests: int) -> tuple[float, float]:
    """(API CPU µs per request, worker CPU µs per event) for ``body`` on a fresh SQLite database."""
    from service.app.api.app import create_app

    with tempfile.TemporaryDirectory() as directory:
        settings = _settings(Path(directory))
        token = _token(settings)
        api = asyncio.run(_served(create_app(settings, waker=_NoWaker()), body, token, requests))
        started = time.process_time()
        stats = drain(settings, budget_seconds=600)
        worker = (time.process_time() - started) / max(stats.claimed, 1) * 1e6
        return api, worker


def bare_cpu(body: Body, requests: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        os.environ.setdefault("BASELINE_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
        os.environ["BASELINE_SQLITE"] = f"{directory}/c.db"
        from bench import baseline_app

        async def run() -> float:
            app: Any = baseline_app.framework
            fake = Body(body.name, "/parse", body.body, body.event_type, body.headers, body.delivery_header)
            await _send_all(app, fake, "x", 200, "a0")
            started = time.process_time()
            await _send_all(app, fake, "x", requests, "b0")
            return (time.process_time() - started) / requests * 1e6

        return asyncio.run(run())


def profile(body: Body, requests: int) -> None:
    from service.app.api.app import create_app

    with tempfile.TemporaryDirectory() as directory:
        settings = _settings(Path(directory))
        token = _token(settings)
        app = create_app(settings, waker=_NoWaker())

        async def run() -> None:
            async with app.router.lifespan_context(app):
                await _send_all(app, body, token, 200, "a0")
                with cProfile.Profile(time.thread_time) as prof:
                    await _send_all(app, body, token, requests, "b0")
                pstats.Stats(prof).sort_stats("tottime").print_stats(35)

        asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bodies", default=None)
    parser.add_argument("--profile", default=None, help="a body: print a cProfile of the edge on it")
    parser.add_argument("--write", action="store_true", help="write the figures to BENCHMARKS.md")
    args = parser.parse_args()
    every = bodies()
    if args.profile:
        profile(every[args.profile], args.requests)
        return
    chosen = [every[name] for name in args.bodies.split(",")] if args.bodies else list(every.values())
    rows = []
    for body in chosen:
        bare, api, worker = [], [], []
        for _ in range(args.runs):
            bare.append(bare_cpu(body, args.requests))
            accepted, processed = edge_cpu(body, args.requests)
            api.append(accepted)
            worker.append(processed)
        rows.append(
            f"| `{body.name}` | {spread(bare, '{:,.0f}')} | {spread(api, '{:,.0f}')} | {spread(worker, '{:,.0f}')} |"
        )
        print(rows[-1], flush=True)
    load = os.getloadavg()
    text = f"""
{args.requests:,} requests per body and run ({CONCURRENCY} in flight), {args.runs} runs, in process on SQLite:
CPU µs of the whole process (every thread) per request, median (min–max) of the runs. Load average at the
end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}: CPU time moves far less with it than requests/s do.

| body | bare FastAPI parse (a′) | API: accept (edge + inbox) | worker: process, per event |
|---|---|---|---|
{chr(10).join(rows)}
"""
    print(text)
    if args.write:
        command = " ".join(["python -m bench.ingest_cpu", *sys.argv[1:]])
        write_section("ingest_cpu", "Ingest CPU per request (in process)", command, text)


if __name__ == "__main__":
    main()
