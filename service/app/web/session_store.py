"""The server side of web sessions (``web_session``): opened at sign-in, checked on every signed-in request
(one primary-key read), ended by sign-out, by "sign out everywhere", and by ``frictionlog sessions revoke``.

The cookie carries a random session id, signed; the table holds its SHA-256. A cookie copied before its
session ended is refused from the next request on, whatever its signature and expiry say.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from service.core.db import session_scope
from service.core.models import WebSessionRecord
from service.core.settings import Settings
from service.core.timeutil import as_utc, utcnow


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(settings: Settings, subject: str, *, role: str | None = None) -> str:
    """A new session for ``subject`` (with the ``role`` an identity provider gave, for ``oidc:`` subjects);
    returns the id the cookie carries (stored only as its hash)."""
    session_id = secrets.token_urlsafe(32)
    with session_scope(settings.database_url, write=True) as db:
        db.add(
            WebSessionRecord(
                id_hash=_hash(session_id),
                subject=subject,
                expires_at=utcnow() + timedelta(hours=settings.session_hours),
                role=role,
            )
        )
        db.commit()
    return session_id


def live(settings: Settings, session_id: str | None, subject: str | None) -> WebSessionRecord | None:
    """The session's record if it exists for this subject, is not revoked and has not expired; else None."""
    if not session_id or not subject:
        return None
    with session_scope(settings.database_url) as db:
        record = db.get(WebSessionRecord, _hash(session_id))
    if record is None or record.subject != subject or record.revoked_at is not None:
        return None
    return record if as_utc(record.expires_at) > utcnow() else None


def revoke(settings: Settings, *, session_id: str | None = None, subject: str | None = None) -> int:
    """End one session (sign-out), or every session of a subject (sign out everywhere), or — with neither —
    every session there is. Returns how many ended."""
    statement = update(WebSessionRecord).where(col(WebSessionRecord.revoked_at).is_(None))
    if session_id is not None:
        statement = statement.where(col(WebSessionRecord.id_hash) == _hash(session_id))
    elif subject is not None:
        statement = statement.where(col(WebSessionRecord.subject) == subject)
    with session_scope(settings.database_url, write=True) as db:
        count = db.exec(statement.values(revoked_at=utcnow())).rowcount
        db.commit()
    return int(count)
