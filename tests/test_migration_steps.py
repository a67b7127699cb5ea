"""Every migration version, one step at a time, on SQLite and PostgreSQL: up from an empty database to the
head, then down again to empty.

After each step up the schema is read back (tables, columns with their types, nullability and defaults,
keys, foreign keys, indexes, unique constraints); at the head it must match the models (``SQLModel.metadata``,
compared by Alembic's autogenerate, as ``compare_type`` in env.py); after each step down it must be the
schema of the step below. So a version whose downgrade leaves a table, a column or an index behind, or a
head that drifts from the models, fails here — and the last test's two cases (on SQLite) show that it does.

At the head, autogenerate finds no difference from the models today, so none is filtered out; it compares
tables, columns (type, nullability), indexes, unique constraints and foreign keys, not server defaults,
CHECK constraints or constraint names. Between steps, columns are compared by name, not position
(``schema`` says why). A change to ``service/migrations/schema.py``, which applied versions call, shows
here as a head that no longer matches the models; tests/test_upgrade.py upgrades a database the released
versions built and checks that it keeps every row and tells the same figures as a fresh one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import service.core.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from service.core.db import get_engine
from service.migrations import HERE, alembic_config

Schema = dict[str, list[str]]


def schema(url: str) -> Schema:
    """Every table but Alembic's own, as sorted lines: its columns, keys and indexes.

    Columns are compared by name, not by position, the one difference this ignores: 0014 rewrites
    ``weekly_rollup``'s samples columns (adds new ones, then renames them over the old), so after 0014's
    upgrade, and again after its downgrade, they stand last in the table. Nothing reads a column by position.
    """
    found: Schema = {}
    with get_engine(url).connect() as connection:
        seen = sa.inspect(connection)
        for table in seen.get_table_names():
            if table == "alembic_version":
                continue
            keys = [
                f"column {c['name']} {c['type']} null={c['nullable']} default={c.get('default')}"
                for c in seen.get_columns(table)
            ]
            keys.append(f"primary key {seen.get_pk_constraint(table)['constrained_columns']}")
            keys += [
                f"foreign key {k['constrained_columns']} -> {k['referred_table']}{k['referred_columns']} {k['options']}"
                for k in seen.get_foreign_keys(table)
            ]
            for index in seen.get_indexes(table):
                options = {name: str(value) for name, value in index.get("dialect_options", {}).items()}
                keys.append(f"index {index['name']} {index['column_names']} unique={index['unique']} {options}")
            keys += [f"unique {u['name']} {u['column_names']}" for u in seen.get_unique_constraints(table)]
            found[table] = sorted(keys)
    return found


def against_models(url: str) -> list[object]:
    """What Alembic's autogenerate would write to bring the database to the models: nothing, at the head."""
    with get_engine(url).connect() as connection:
        options = {"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"}
        return list(compare_metadata(MigrationContext.configure(connection, opts=options), SQLModel.metadata))


def walk(url: str, config: Config) -> list[str]:
    """Every version up one step at a time from empty to the head, then down one at a time to empty (as far
    as the first step down that goes wrong): what went wrong, one sentence each (nothing, when all is right)."""
    script = ScriptDirectory.from_config(config)
    versions = [version.revision for version in reversed(list(script.walk_revisions("base", "heads")))]
    problems: list[str] = []
    made = [schema(url)]  # made[i]: the schema after the first i versions
    for version in versions:
        command.upgrade(config, version)
        made.append(schema(url))
    problems += [f"at the head, {version}, the schema is not the models': {d}" for d in against_models(url)]
    for steps, version in reversed(list(enumerate(versions))):
        command.downgrade(config, "-1")
        if (now := schema(url)) != made[steps]:
            before = {table: lines for table, lines in made[steps].items() if now.get(table) != lines}
            after = {table: lines for table, lines in now.items() if made[steps].get(table) != lines}
            problems.append(f"{version}'s downgrade does not give back the schema below it: {before} != {after}")
            break  # the steps below would be judged from the wrong schema
    get_engine(url).dispose()
    return problems


def test_every_version_steps_up_to_the_models_and_back_down_to_empty(empty_url: str) -> None:
    assert walk(empty_url, alembic_config(empty_url)) == []
    assert schema(empty_url) == {}


BROKEN_HEADS = {  # what the walk says → what the head's file gets at its end
    "{head}'s downgrade does not give back the schema below it": """

def downgrade() -> None:
    pass
""",
    "at the head, {head}, the schema is not the models'": """

_made_before = upgrade
_undone_before = downgrade


def upgrade() -> None:
    _made_before()
    op.create_table("stray", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("stray")
    _undone_before()
""",
}


@pytest.mark.parametrize("broken", BROKEN_HEADS)
def test_the_walk_fails_on_a_broken_version(broken: str, tmp_path: Path) -> None:
    """A copy of the versions whose head is broken (its downgrade does nothing; it adds a table the models
    do not have), on SQLite: the walk says which step went wrong."""
    copy = tmp_path / "migrations"
    shutil.copytree(HERE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    config = alembic_config(url)
    config.set_main_option("script_location", str(copy))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    (path,) = (copy / "versions").glob(f"{head}_*.py")
    source = path.read_text(encoding="utf-8")
    imports = "import sqlalchemy as sa\nfrom alembic import op\n"
    path.write_text(imports + source + BROKEN_HEADS[broken], encoding="utf-8")

    problems = walk(url, config)

    assert problems
    assert all(problem.startswith(broken.format(head=head)) for problem in problems)
