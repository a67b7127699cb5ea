"""Alembic, driven from code so the CLI, the embedded server and the tests upgrade the same way.

A database already at the head is left alone without importing Alembic at all (a third of a second,
and two INFO lines on every CLI command): the head is read from the revision files' ``revision`` /
``down_revision`` lines and compared with ``alembic_version``. Alembic runs, and logs, only when there
is something to upgrade — or when the files cannot be read that simply (several heads, say).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).resolve().parent
_REVISION = re.compile(r'^revision(?:\s*:\s*[\w\s|]+)?\s*=\s*["\'](\w+)["\']', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?:\s*:\s*[\w\s|]+)?\s*=\s*(?:["\'](\w+)["\']|None)', re.MULTILINE)


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The single head of the revision files, or None when they do not read as one simple chain."""
    revisions: dict[str, str | None] = {}
    for path in (HERE / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions[revision.group(1)] = down.group(1)
    heads = set(revisions) - {down for down in revisions.values() if down}
    return heads.pop() if len(heads) == 1 else None


def current_revisions(database_url: str) -> set[str]:
    """The revisions recorded in the database (empty for a new one)."""
    from service.core.db import get_engine

    try:
        with get_engine(database_url).connect() as connection:
            return {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except DBAPIError:  # no alembic_version table yet
        return set()


def upgrade(database_url: str, revision: str = "head") -> None:
    if revision == "head" and (head := head_revision()) is not None and current_revisions(database_url) == {head}:
        return
    quiet = logging.getLogger("alembic")  # a line per plugin and per version is noise at a terminal
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        from alembic import command

        command.upgrade(alembic_config(database_url), revision)
    finally:
        quiet.setLevel(level)
