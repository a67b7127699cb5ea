"""${message}"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db
from service.migrations.schema import add_columns, drop_columns, id_key, string, utc
${imports if imports else ""}
# Write what autogenerate rendered with the shared columns (service/migrations/schema.py): id_key(),
# string(name, length), utc(name), index=True for a one-column index, add_columns()/drop_columns().

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
