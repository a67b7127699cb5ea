"""Imports run for the API, the web app and the schedule: a run is asked for (a row, ``queued``), a worker
job runs it with its progress written to the row after every page, and the row ends ``finished`` (with the
summary) or ``failed`` (with the reason: a refused credential, a vendor that kept failing).

The scheduled incremental import (FRICTIONLOG_IMPORT_SCHEDULE) runs each ``source:target`` from where its
checkpoints' last finished window ended (a day of overlap; the deliveries are keyed, so it doubles nothing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import and_, col, or_, select

from integrations.config import IntegrationConfig
from integrations.history import checkpoint, sources
from integrations.history.client import CredentialRefused, ImportFailed
from service.core.db import session_scope
from service.core.errors import InvalidInput
from service.core.models import ImportRequest, ImportRun
from service.core.settings import Settings
from service.core.timeutil import utcnow

log = logging.getLogger("frictionlog.import")

HEARTBEAT_SECONDS = 60.0
"""How often a running import writes that it is alive: from a thread of its own, whatever the run is doing
(a page, a retry, a wait for a rate limit), for as long as its process lives."""
SILENT_FOR = timedelta(minutes=10)
"""A running run with no heartbeat for this long (ten missed beats) was cut off: its worker died."""
TAKE_UPS = 3
"""A run cut off more often than this ends failed (something kills its worker on it every time)."""

FIRST_LOOKBACK = timedelta(days=30)
"""A scheduled source never imported before starts this far back (a longer history: ``frictionlog import``)."""
OVERLAP = timedelta(days=1)


def request_run(
    settings: Settings,
    *,
    source: str,
    targets: Sequence[str],
    since: datetime,
    until: datetime | None,
    requested_by: str,
) -> ImportRun:
    """Check what is asked (the source, its targets, its credential in the settings) and queue it; an
    InvalidInput names the field or the setting."""
    spec = sources.source(source)
    cleaned = [t.strip() for t in targets if t.strip()]
    if not cleaned:
        raise InvalidInput(f"name at least one {spec.target} to import", field="targets")
    end = until or utcnow()
    if since >= end:
        raise InvalidInput("since must be before until", field="since")
    spec.credential(settings)
    request = ImportRequest(targets=tuple(cleaned), since=since, until=until)
    with session_scope(settings.database_url, write=True) as session:
        run = ImportRun(source=source, request=request.as_json(), requested_by=requested_by[:128])
        session.add(run)
        session.commit()
        session.refresh(run)
    log.info("import.requested id=%s source=%s targets=%s", run.id, source, len(cleaned))
    return run


def get_run(settings: Settings, run_id: int) -> ImportRun | None:
    with session_scope(settings.database_url) as session:
        return session.get(ImportRun, run_id)


def recent_runs(settings: Settings, limit: int = 5) -> list[ImportRun]:
    """The newest runs first (the /data page lists them)."""
    with session_scope(settings.database_url) as session:
        return list(session.exec(select(ImportRun).order_by(col(ImportRun.id).desc()).limit(limit)).all())


class RunProgress:
    """Writes a run's progress to its row after every page: per scope, pages and records; the wait. A run
    taken up again goes on from the progress it had (``previous``)."""

    def __init__(self, settings: Settings, run_id: int, previous: dict[str, Any] | None = None) -> None:
        self.settings, self.run_id = settings, run_id
        previous = previous or {}
        self.scopes: dict[str, dict[str, int]] = {k: dict(v) for k, v in previous.get("scopes", {}).items()}
        self.waited_seconds = float(previous.get("rate_limit_wait_seconds", 0.0))
        self.taken_up = int(previous.get("taken_up", 0))

    def begin(self, scope: str, /) -> None:
        self.scopes.setdefault(scope, {"pages": 0, "records": 0})
        self._write()

    def page(self, scope: str, records: int, /) -> None:
        shown = self.scopes.setdefault(scope, {"pages": 0, "records": 0})
        shown["pages"] += 1
        shown["records"] += records
        self._write()

    def waited(self, seconds: float, /) -> None:
        self.waited_seconds += seconds
        self._write()

    def end(self, _scope: str, /) -> None:
        return None

    def as_json(self) -> dict[str, Any]:
        progress: dict[str, Any] = {"scopes": self.scopes, "rate_limit_wait_seconds": round(self.waited_seconds, 1)}
        return {**progress, "taken_up": self.taken_up} if self.taken_up else progress

    def _write(self) -> None:
        _update(self.settings, self.run_id, progress=self.as_json())


class Heartbeat:
    """While a run runs, writes its heartbeat every ``HEARTBEAT_SECONDS`` from a thread of its own; the thread
    dies with the process, so a run whose worker died falls silent and is taken up again."""

    def __init__(self, settings: Settings, run_id: int) -> None:
        self.settings, self.run_id = settings, run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"frictionlog-import-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                _update(self.settings, self.run_id, heartbeat_at=utcnow())
            except Exception:  # a database hiccup: the next beat tries again (ten may be missed)
                log.warning("import.heartbeat_failed id=%s", self.run_id, exc_info=True)


def _update(settings: Settings, run_id: int, **values: Any) -> None:
    with session_scope(settings.database_url, write=True) as session:
        run = session.get(ImportRun, run_id)
        if run is None:
            return
        for name, value in values.items():
            setattr(run, name, value)
        session.add(run)
        session.commit()


def _claim(settings: Settings) -> ImportRun | None:
    """The oldest queued run, or a running one that was cut off (no heartbeat for ``SILENT_FOR``: its worker
    died), marked running in the same transaction (one worker takes it). A run taken up again goes on from its
    scopes' checkpoints (what it stored stays, once); one cut off more than ``TAKE_UPS`` times ends failed."""
    now = utcnow()
    cut_off = now - SILENT_FOR
    heartbeat, created = col(ImportRun.heartbeat_at), col(ImportRun.created_at)
    silent = or_(heartbeat < cut_off, and_(heartbeat.is_(None), created < cut_off))
    statement = (
        select(ImportRun)
        .where(or_(col(ImportRun.state) == "queued", and_(col(ImportRun.state) == "running", silent)))
        .order_by(col(ImportRun.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    while True:
        with session_scope(settings.database_url, write=True) as session:
            run = session.exec(statement).first()
            if run is None:
                return None
            if run.state == "running" and not _take_up(run, now):  # cut off too often: ended failed
                session.add(run)
                session.commit()
                continue
            run.state, run.heartbeat_at = "running", now
            session.add(run)
            session.commit()
            session.refresh(run)
            return run


def _take_up(run: ImportRun, now: datetime) -> bool:
    """Count a take-up of a run that was cut off; past ``TAKE_UPS`` the run ends failed instead (False)."""
    taken_up = int(run.progress.get("taken_up", 0)) + 1
    run.progress = {**run.progress, "taken_up": taken_up}
    if taken_up <= TAKE_UPS:
        log.warning("import.taken_up id=%s source=%s last_alive=%s", run.id, run.source, run.heartbeat_at)
        return True
    log.warning("import.cut_off_too_often id=%s source=%s", run.id, run.source)
    run.state, run.finished_at = "failed", now
    run.error = f"cut off {TAKE_UPS + 1} times (its worker died each time); ask for it again to continue"
    return False


def run_queued(settings: Settings) -> list[int]:
    """Run every queued import (and every one cut off), oldest first; the ids run. A failure is recorded on its
    row, never raised."""
    done = []
    while (run := _claim(settings)) is not None:
        assert run.id is not None
        done.append(run.id)
        _run(settings, run, run.id)
    return done


def _run(settings: Settings, run: ImportRun, run_id: int) -> None:
    asked = run.asked()
    progress = RunProgress(settings, run_id, run.progress)
    try:
        with Heartbeat(settings, run_id):
            summary = sources.run(
                settings,
                run.source,
                asked.targets,
                since=asked.since,
                until=asked.until or utcnow(),
                progress=progress,
            )
    except (CredentialRefused, ImportFailed, InvalidInput) as exc:
        log.warning("import.failed id=%s source=%s reason=%s", run_id, run.source, exc.message)
        _update(settings, run_id, state="failed", error=exc.message[:2000], finished_at=utcnow())
        return
    except Exception as exc:  # an answer no one foresaw, a bug: ended with its reason, never run again for ever
        log.exception("import.crashed id=%s source=%s", run_id, run.source)
        reason = f"the import stopped on an error: {type(exc).__name__}: {exc}"
        _update(settings, run_id, state="failed", error=reason[:2000], finished_at=utcnow())
        return
    done = {**progress.as_json(), "summary": summary.as_json()}
    _update(settings, run_id, state="finished", finished_at=utcnow(), progress=done)


def scheduled_window(settings: Settings, source: str, target: str, now: datetime) -> tuple[datetime, datetime]:
    """From the earliest end of the target's finished windows (less a day), or 30 days back, to now."""
    spec = sources.source(source)
    scopes = spec.scopes([target], IntegrationConfig.from_settings(settings))
    ends = [checkpoint.covered_until(settings.database_url, source, scope.key) for scope in scopes]
    known = [end for end in ends if end is not None]
    since = min(known) - OVERLAP if len(known) == len(ends) and known else now - FIRST_LOOKBACK
    return since, now


def run_scheduled(settings: Settings) -> dict[str, str]:
    """Each ``source:target`` of FRICTIONLOG_IMPORT_SCHEDULE, incrementally; what became of each."""
    outcome: dict[str, str] = {}
    for entry in settings.import_schedule:
        source, _, target = entry.partition(":")
        now = utcnow()
        try:
            since, until = scheduled_window(settings, source, target, now)
            summary = sources.run(settings, source, [target], since=since, until=until)
        except (CredentialRefused, ImportFailed, InvalidInput) as exc:
            log.warning("import.scheduled_failed entry=%s reason=%s", entry, exc.message)
            outcome[entry] = f"failed: {exc.message}"
            continue
        outcome[entry] = f"{sum(s.stored for s in summary.scopes)} new deliveries"
    return outcome
