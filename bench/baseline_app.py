"""Baselines for the ingest bench, run with uvicorn like the real API.

(a) ``/parse``: parse the same JSON and answer 202, no I/O.  (b) ``/insert``: one INSERT + commit per
request into a PostgreSQL table, nothing else. (a') ``/fastapi/parse``: (a) as a FastAPI route — the
framework's own cost, the ceiling for any FastAPI route on this machine. (c) ``/fastapi/sqlite`` (when
``BASELINE_SQLITE`` names a file): an inline receiver, a FastAPI route that parses the body and does one
``INSERT OR IGNORE`` (keyed by ``X-GitHub-Delivery``, else the body's SHA-256) + commit per request into
SQLite in WAL mode (``synchronous=NORMAL``, as the embedded app), on the event loop itself — the ceiling for
embedded ingest. The real route's figure is read against these, body by body.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg_pool
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

POOL = psycopg_pool.ConnectionPool(os.environ["BASELINE_DSN"], min_size=2, max_size=8, open=False)


async def parse(request: Request) -> JSONResponse:
    json.loads(await request.body())
    return JSONResponse({"id": 0, "duplicate": False}, status_code=202)


def _insert(body: bytes) -> None:
    with POOL.connection() as connection:
        connection.execute("INSERT INTO baseline_event (body) VALUES (%s)", (body.decode(),))


async def insert(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    json.loads(body)
    await run_in_threadpool(_insert, body)
    return JSONResponse({"id": 0, "duplicate": False}, status_code=202)


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    POOL.open()
    with POOL.connection() as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS baseline_event (id bigserial PRIMARY KEY, body text)")
    yield
    POOL.close()


framework = FastAPI()


SQLITE_PATH = os.environ.get("BASELINE_SQLITE")
_sqlite: sqlite3.Connection | None = None
_sqlite_lock = threading.Lock()


def _sqlite_insert(key: str, body: bytes) -> None:
    global _sqlite  # one connection for the process, made on first use
    with _sqlite_lock:
        if _sqlite is None:
            assert SQLITE_PATH is not None
            _sqlite = sqlite3.connect(SQLITE_PATH, check_same_thread=False, isolation_level=None)
            _sqlite.execute("PRAGMA journal_mode=WAL")
            _sqlite.execute("PRAGMA synchronous=NORMAL")
            _sqlite.execute("CREATE TABLE IF NOT EXISTS baseline_event (key TEXT PRIMARY KEY, body TEXT)")
        _sqlite.execute("INSERT OR IGNORE INTO baseline_event (key, body) VALUES (?, ?)", (key, body.decode()))


@framework.post("/parse", status_code=202)
async def fastapi_parse(request: Request) -> dict[str, object]:
    json.loads(await request.body())
    return {"id": 0, "duplicate": False}


@framework.post("/sqlite", status_code=202)
async def fastapi_sqlite(request: Request) -> dict[str, object]:
    body = await request.body()
    json.loads(body)
    key = request.headers.get("x-github-delivery") or hashlib.sha256(body).hexdigest()
    _sqlite_insert(key, body)  # on the event loop: no thread hop
    return {"id": 0, "duplicate": False}


app = Starlette(
    routes=[
        Route("/parse", parse, methods=["POST"]),
        Route("/insert", insert, methods=["POST"]),
        Mount("/fastapi", app=framework),
    ],
    lifespan=lifespan,
)
