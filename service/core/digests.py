"""Hashing on the request path without handing the interpreter lock away.

``hashlib`` and ``hmac`` release the interpreter lock while they hash a piece of 2,048 bytes or more. On
the ingest path that release is a cost, not a gain: the inbox writer thread, waiting for the lock, takes
it there, mid-request, and writes a batch of the one or two requests queued so far — a 2 KB deployment or
a 10 KB push then meant a transaction every one or two requests instead of one per dozens
(``BENCHMARKS.md``, ingest CPU), while hashing 10 KB takes ~7 µs. Fed in pieces under that size, the
hash keeps the lock and gives the same digest.
"""

from __future__ import annotations

from typing import Protocol

PIECE = 2047
"""Below CPython's ``HASHLIB_GIL_MINSIZE`` (2,048 bytes), the size from which a hash update releases the lock."""


class Updatable(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


def feed(digest: Updatable, data: bytes) -> None:
    """``digest.update(data)``, in pieces that keep the interpreter lock (the digest is the same)."""
    if len(data) < PIECE:
        digest.update(data)
        return
    view = memoryview(data)
    for start in range(0, len(view), PIECE):
        digest.update(view[start : start + PIECE])
