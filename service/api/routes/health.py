"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from service.api.state import SettingsDep, StateDep
from service.db import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(settings: SettingsDep) -> JSONResponse:
    """The database (and, in distributed mode, the broker) answer; 503 names what does not."""
    checks: dict[str, str] = {}
    try:
        with get_engine(settings.database_url).connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports, it does not raise
        checks["database"] = f"unavailable: {exc.__class__.__name__}"
    if settings.broker_url:
        try:
            redis.Redis.from_url(settings.broker_url, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # a probe reports, it does not raise
            checks["broker"] = f"unavailable: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(state: StateDep) -> PlainTextResponse:
    """Prometheus exposition: requests, inbox depth by status, processing lag, retrying events."""
    body = state.metrics.exposition()
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
