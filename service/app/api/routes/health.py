"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.app.api.state import StateDep
from service.core.db import get_engine

router = APIRouter(tags=["health"])
LOCK_PROBE_MS = 500


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: StateDep) -> JSONResponse:
    settings = state.settings
    """The database (and, in distributed mode, the broker) answer; 503 names what does not."""
    checks: dict[str, str] = {}
    try:
        with get_engine(settings.database_url).connect() as connection:
            if settings.is_sqlite:  # reads work while another process holds the write lock: probe writing
                probe = {"sqlite_begin": "IMMEDIATE", "sqlite_busy_ms": LOCK_PROBE_MS}
                with connection.execution_options(**probe).begin():
                    pass
            else:
                connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except OperationalError as exc:
        locked = "locked" in str(exc.orig)
        checks["database"] = "locked: writes wait, ingest goes to the spool" if locked else "unavailable"
    except Exception as exc:  # a probe reports, it does not raise
        checks["database"] = f"unavailable: {exc.__class__.__name__}"
    if settings.broker_url:
        try:
            redis.Redis.from_url(settings.broker_url, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # a probe reports, it does not raise
            checks["broker"] = f"unavailable: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    spool = state.spool
    waiting = {"deliveries": spool.depth(), "bytes": spool.size_bytes(), "max_bytes": spool.max_bytes}
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks, "spool": waiting},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(state: StateDep) -> PlainTextResponse:
    """Prometheus exposition: requests, inbox depth by status, processing lag, retrying events."""
    body = state.metrics.exposition()
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
