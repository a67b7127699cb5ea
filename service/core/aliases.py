"""Catalogue aliases: a renamed or merged service keeps its old names, and events under them count for it.

Two paths apply an alias, and give the same rows: ``catalogue.put_alias`` relabels what is stored now (and
marks every week of the service for a rollup refresh), and ingest (:func:`resolve`) maps each new or
re-derived record, so ``frictionlog rebuild`` lands the old name's events on the new service too.
An alias never points at another alias: a chain is collapsed when it is made.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from service.core.identity import service_slug
from service.core.models import Service, ServiceAlias


def resolve(session: Session, names: Iterable[str]) -> dict[str, str]:
    """Alias → service for those of ``names`` that are aliases (one query)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = session.exec(select(ServiceAlias).where(col(ServiceAlias.alias).in_(wanted)))
    return {row.alias: row.service for row in rows}


def canonical(session: Session, name: str, *, field: str = "service") -> str:
    """The catalogue slug a name stands for: normalised (service.core.identity), then through the aliases."""
    slug = service_slug(name, field=field)
    return resolve(session, [slug]).get(slug, slug)


def catalogue_names(session: Session) -> dict[str, str]:
    """Every spelling of a catalogued service — its slug and its aliases — to the service (for finding
    the services a text names, ``service.core.identity.services_in_text``)."""
    names = {slug: slug for slug in session.exec(select(Service.slug))}
    names |= {row.alias: row.service for row in session.exec(select(ServiceAlias))}
    return names
