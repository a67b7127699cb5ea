"""Cost imports over HTTP: a FOCUS file as the request body, streamed to disk under its own size cap
(``service.app.api.limits.body_limit``); the web upload (``service.app.web.pages.imports``) spools and imports
through the same two functions."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from service.app.api.auth import require_scope
from service.app.api.errors import MalformedBody, PayloadTooLarge
from service.app.api.limits import body_limit
from service.app.api.state import app_state
from service.core.db import session_scope
from service.core.settings import Settings
from service.ingest.cost_import import UPLOAD_SUFFIX, ImportResult, import_focus, plan, read_file, upload_prefix

router = APIRouter(prefix="/api/v1/cost", tags=["cost"], dependencies=[Depends(require_scope("admin"))])


async def spool(chunks: AsyncIterator[bytes], settings: Settings, *, limit: int, declared: str | None = None) -> Path:
    """A FOCUS file, as it arrives, in a temporary file under ``import_dir``: refused with 413 as soon as it
    passes ``limit`` (a declared length over it before anything is read), never held in memory whole."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes; the import limit is {limit}")
    settings.import_dir.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115
        dir=settings.import_dir, prefix=upload_prefix(), suffix=UPLOAD_SUFFIX, delete=False
    )
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"body is over the import limit of {limit} bytes")
                await run_in_threadpool(handle.write, chunk)
    except ClientDisconnect:
        path.unlink(missing_ok=True)
        raise MalformedBody("the client disconnected before sending the whole file") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise MalformedBody("the body is empty; send the FOCUS file (CSV, gzip'd CSV or Parquet) as the body")
    return path


class ScopeOut(BaseModel):
    provider: str
    billing_period: str
    """The period's first day (ISO date)."""
    declared: bool
    """Named by the file's BillingPeriodStart: replaced whole. Otherwise lines are added or updated there."""
    stored_lines: int
    """Lines stored now that the import would replace (declared) or update (same key)."""
    incoming_lines: int
    summary: str


class PlanOut(BaseModel):
    rows: int
    scopes: list[ScopeOut]


async def import_spooled(settings: Settings, path: Path, filename: str) -> ImportResult:
    """Import a spooled FOCUS file (every row checked before the write transaction begins), then delete it."""

    def run() -> ImportResult:
        summary = read_file(settings, path)
        with session_scope(settings.database_url, write=True) as session:
            return import_focus(session, settings, path, filename=filename, summary=summary)

    try:
        return await run_in_threadpool(run)
    finally:
        path.unlink(missing_ok=True)


@router.post("/imports", status_code=201)
async def create_import(request: Request, filename: str | None = Query(default=None, max_length=512)) -> ImportResult:
    """Import a FOCUS export (CSV, gzip'd CSV or Parquet, detected from its bytes). A malformed file gets a
    422 naming the row and the column, and nothing is imported; re-importing a billing period replaces it."""
    settings = app_state(request).settings
    limit = body_limit(settings, request.url.path)
    path = await spool(request.stream(), settings, limit=limit, declared=request.headers.get("content-length"))
    return await import_spooled(settings, path, filename or "upload")


@router.post("/imports/plan")
async def plan_import(request: Request) -> PlanOut:
    """A dry run: read and check a FOCUS file as an import would, and say period by period what importing it
    would replace, add and update — writing nothing. A malformed file gets the import's 422."""
    settings = app_state(request).settings
    limit = body_limit(settings, request.url.path)
    path = await spool(request.stream(), settings, limit=limit, declared=request.headers.get("content-length"))

    def run() -> PlanOut:
        summary = read_file(settings, path)
        with session_scope(settings.database_url) as session:
            changes = plan(session, summary)
        scopes = [
            ScopeOut(
                provider=c.provider,
                billing_period=c.period.date().isoformat(),
                declared=c.declared,
                stored_lines=c.stored,
                incoming_lines=c.incoming,
                summary=c.words(),
            )
            for c in changes
        ]
        return PlanOut(rows=summary.rows, scopes=scopes)

    try:
        return await run_in_threadpool(run)
    finally:
        path.unlink(missing_ok=True)
