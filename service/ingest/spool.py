"""The local spool: where accepted requests wait, durably, while the database cannot commit.

GitHub does not retry a failed delivery by itself, so an outage of the database must not turn into lost
events. Each API process appends deliveries as JSON lines to its own file and fsyncs before answering
2xx; when the database is back, the spooled deliveries go into the inbox, where the unique
(source, delivery_key) makes the hand-over exactly-once even if a drain is interrupted and repeated.

Every process drains every file of the directory (a process that died leaves its file to the others), so a
file is taken under an exclusive lock (``flock``) that a writer also holds from its check to its fsync: a
drainer never takes a file while a line is being written to it, and a writer whose file was taken between
its open and its lock writes to a fresh one. A ``.draining`` file is read under the same lock, by one
drainer at a time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from service.core.errors import TransientError
from service.ingest.inbox import Delivery

log = logging.getLogger("frictionlog.spool")


class SpoolUnavailable(TransientError):
    """The spool cannot be written either: the request must be refused (503)."""


class SpoolFull(SpoolUnavailable):
    """The spool has reached ``FRICTIONLOG_SPOOL_MAX_BYTES``: refused (503, the sender retries) rather
    than filling the disk."""


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int | None = None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._draining = threading.Lock()
        self._name = f"spool-{os.getpid()}-{threading.get_ident()}"

    @property
    def current(self) -> Path:
        return self.directory / f"{self._name}.jsonl"

    def append(self, deliveries: list[Delivery]) -> None:
        """Write and fsync the deliveries; only then may the request be answered 2xx."""
        lines = "".join(
            json.dumps(
                {
                    "source": d.source,
                    "event_type": d.event_type,
                    "delivery_key": d.delivery_key,
                    "body": d.body,
                    "headers": dict(d.headers),
                }
            )
            + "\n"
            for d in deliveries
        )
        try:
            with self._lock:
                self.directory.mkdir(parents=True, exist_ok=True)
                if self.max_bytes is not None and self.size_bytes() + len(lines.encode()) > self.max_bytes:
                    raise SpoolFull(
                        f"the database is unavailable and the spool is full ({self.max_bytes} bytes); retry later"
                    )
                while not _append_locked(self.current, lines):
                    log.info(
                        "spool.file_taken file=%s (drained by another process; writing a fresh one)", self.current.name
                    )
        except OSError as exc:
            raise SpoolUnavailable(f"cannot write the spool: {exc.__class__.__name__}") from exc
        log.warning("spool.appended deliveries=%s file=%s", len(deliveries), self.current.name)

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return [*self.directory.glob("spool-*.jsonl"), *self.directory.glob("spool-*.jsonl.draining")]

    def size_bytes(self) -> int:
        """Bytes waiting in this directory's spool files (every process's, and files left mid-drain)."""
        total = 0
        for path in self._files():
            try:
                total += path.stat().st_size
            except FileNotFoundError:  # drained meanwhile
                continue
        return total

    def depth(self) -> int:
        """Deliveries waiting: one line each (read at scrape time; the spool is empty unless the database
        is down)."""
        count = 0
        for path in self._files():
            try:
                with path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        count += chunk.count(b"\n")
            except FileNotFoundError:
                continue
        return count

    def pending(self) -> bool:
        return self.directory.exists() and any(self.directory.glob("spool-*.jsonl*"))

    def drain(self, accept: Callable[[list[Delivery]], object]) -> int:
        """Hand every spooled delivery to ``accept`` (the inbox); a file is deleted only after ``accept``
        returned, so a crash in between repeats deliveries, which the inbox answers as duplicates."""
        if not self.directory.exists():
            return 0
        with self._draining:  # one drain at a time per process
            return self._drain(accept)

    def _drain(self, accept: Callable[[list[Delivery]], object]) -> int:
        moved = 0
        with self._lock:  # new appends go to a fresh file while the old one drains
            for path in sorted(self.directory.glob("spool-*.jsonl")):
                # A unique name: a file left from a drain that failed must never be overwritten by the next.
                _take(path, path.with_name(f"{path.stem}-{time.time_ns():020d}.jsonl.draining"))
        for path in sorted(self.directory.glob("spool-*.jsonl.draining")):
            moved += _drain_file(path, accept)
        if moved:
            log.warning("spool.drained deliveries=%s", moved)
        return moved


def _is_at(handle_fd: int, path: Path) -> bool:
    """Whether the open file is still the one at ``path`` (not taken away by a drainer meanwhile)."""
    try:
        here = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(handle_fd)
    return (opened.st_dev, opened.st_ino) == (here.st_dev, here.st_ino)


def _append_locked(path: Path, lines: str) -> bool:
    """Append and fsync under the file's lock; False when a drainer took the file between our open and our
    lock (the caller writes to a fresh one). A write that fails part-way (a full disk) is cut back off, so
    no partial line is left for the next append to join (the drain would drop both as one torn line)."""
    with path.open("ab", buffering=0) as handle:  # unbuffered: closing never writes what failed
        fd = handle.fileno()
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the file closes
        if not _is_at(fd, path):
            return False
        start = os.fstat(fd).st_size
        try:
            data = memoryview(lines.encode("utf-8"))
            while data:
                data = data[handle.write(data) or 0 :]
            os.fsync(fd)
        except OSError:
            with suppress(OSError):
                os.ftruncate(fd, start)
            raise
        return True


def _take(path: Path, draining: Path) -> None:
    """Rename a spool file for draining under its lock: never while a writer is between its check and its
    fsync. A file busy (a line being written, or another drainer reading it into a database that may hang)
    is left to the next pass: this runs under the spool's own lock, which this process's requests wait on."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        if _is_at(handle.fileno(), path):
            path.rename(draining)


def _drain_file(path: Path, accept: Callable[[list[Delivery]], object]) -> int:
    """One ``.draining`` file into the inbox, then deleted; skipped while another drainer has it."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # drained by another process meanwhile
        return 0
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        if not _is_at(handle.fileno(), path):  # another drainer finished it before we locked
            return 0
        deliveries = []
        for line in handle.read().decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:  # a torn last line from a crash mid-write: never acknowledged
                log.error("spool.torn_line file=%s", path.name)
                continue
            deliveries.append(Delivery(**item))
        if deliveries:
            accept(deliveries)
        path.unlink()
        return len(deliveries)
