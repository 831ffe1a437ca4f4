"""Predictions record the core score and the merge policy they were routed under (classifier v2).

``core`` is P(relevance = 2) (None for predictions of v1 models, which had no core score) and
``policy`` the ``merge_policy`` of the run (``core`` or ``relevant``), so a queue or a report can say
why a relevant paper was not merged. A column is added only if missing: stores created by
``create_all`` after the columns existed (no ``alembic_version``) join the migrations through 0001's
if-not-exists tables, and then this revision finds the columns already there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (("core", sa.Float()), ("policy", sa.String(length=20)))


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("predictions")}
    with op.batch_alter_table("predictions") as batch:
        for name, type_ in _COLUMNS:
            if name not in have:
                batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
