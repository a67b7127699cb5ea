"""API tokens: shown once, stored as SHA-256 (the secrets are 256 random bits, so a fast hash is enough)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlmodel import Session, col, select

from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import ApiToken
from service.core.timeutil import utcnow
from service.core.vocab import Scope

SCOPES = tuple(Scope)
PREFIX = "fl_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, *, name: str, scopes: Sequence[str]) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is not stored and cannot be shown again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be some of {', '.join(SCOPES)}; got {unknown or 'none'}", field="scope")
    if session.exec(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise Conflict(f"a token named {name!r} exists already", field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(secret), scopes=sorted(set(scopes)))
    session.add(token)
    session.commit()
    session.refresh(token)
    return token, secret


def find_token(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, if any. Lookup is by hash, so timing reveals nothing of the secret."""
    return session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(secret), col(ApiToken.revoked_at).is_(None))
    ).first()


def revoke_token(session: Session, *, name: str) -> None:
    token = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if token is None:
        raise NotFound(f"no token named {name!r}")
    token.revoked_at = utcnow()
    session.commit()


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))
