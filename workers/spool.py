"""Moving spooled deliveries into the inbox once the database answers again (a thread per API process)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import InterfaceError, OperationalError

from service.core.db import session_scope
from service.core.settings import Settings
from service.ingest import inbox
from service.ingest.inbox import Delivery
from service.ingest.spool import Spool
from workers.enqueue import Waker

log = logging.getLogger("frictionlog.spool")


class SpoolDrainer:
    def __init__(self, spool: Spool, settings: Settings, waker: Waker, *, every: float = 2.0) -> None:
        self._spool, self._settings, self._waker, self._every = spool, settings, waker, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frictionlog-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def drain_once(self) -> int:
        def accept(deliveries: list[Delivery]) -> None:
            with session_scope(self._settings.database_url, write=True) as session:
                inbox.accept(session, deliveries)

        moved = self._spool.drain(accept)
        if moved:
            self._waker.wake()
        return moved

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            if not self._spool.pending():
                continue
            try:
                self.drain_once()
            except (OperationalError, InterfaceError):
                log.info("spool.still_waiting_for_the_database")
            except Exception:  # keep trying: the files stay until they are in the inbox
                log.exception("spool.drain_error")
