"""Web sessions kept server-side: the cookie names one (signed), and every signed-in request checks it here,
so signing out, or signing a user out everywhere, ends the session at once — not when the cookie expires."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime
from service.core.timeutil import utcnow


class WebSessionRecord(SQLModel, table=True):
    """One signed-in web session. Only the SHA-256 of the id the cookie carries is stored (a copy of this
    table is no way in); ``subject`` is ``token:<id>`` or ``slack:<user id>``."""

    __tablename__ = "web_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    subject: str = Field(max_length=160, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    role: str | None = Field(default=None, max_length=16)
    """The role an OpenID Connect provider's claim gave at sign-in (``oidc:`` subjects): the provider cannot be
    asked again per request. None for token and Slack sessions, whose role is looked up every request."""
