"""The initial schema: the tables ``Base.metadata.create_all`` made before migrations existed.

Every table and index is created only if missing, so on a store made that way (tables, no
``alembic_version``; also one whose ``create_all`` was killed half-way) this revision completes what
is missing and records itself: such stores join the migrations without a special case.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("meta",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        if_not_exists=True,
    )
    op.create_table("papers",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("relevance", sa.Integer(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("merged_at", sa.DateTime(), nullable=True),
        sa.Column("merged_files", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_papers_arxiv_id"), "papers", ["arxiv_id"], unique=False, if_not_exists=True)
    op.create_index(op.f("ix_papers_date"), "papers", ["date"], unique=False, if_not_exists=True)
    op.create_index(op.f("ix_papers_status"), "papers", ["status"], unique=False, if_not_exists=True)
    op.create_table("runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("since", sa.String(length=10), nullable=True),
        sa.Column("until", sa.String(length=10), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table("decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("relevance", sa.Integer(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("subcategories", sa.JSON(), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("predicted", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key"], ["papers.key"], ),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_decisions_key"), "decisions", ["key"], unique=False, if_not_exists=True)
    op.create_table("paper_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key"], ["papers.key"], ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "version"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_paper_versions_key"), "paper_versions", ["key"], unique=False, if_not_exists=True)
    op.create_table("predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("paper_version", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("relevance_class", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("subcategories", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key"], ["papers.key"], ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "model_version", "paper_version"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_predictions_key"), "predictions", ["key"], unique=False, if_not_exists=True)
    op.create_table("review_items",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key"], ["papers.key"], ),
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"], ),
        sa.PrimaryKeyConstraint("key"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_review_items_state"), "review_items", ["state"], unique=False, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_items_state"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_index(op.f("ix_predictions_key"), table_name="predictions")
    op.drop_table("predictions")
    op.drop_index(op.f("ix_paper_versions_key"), table_name="paper_versions")
    op.drop_table("paper_versions")
    op.drop_index(op.f("ix_decisions_key"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("runs")
    op.drop_index(op.f("ix_papers_status"), table_name="papers")
    op.drop_index(op.f("ix_papers_date"), table_name="papers")
    op.drop_index(op.f("ix_papers_arxiv_id"), table_name="papers")
    op.drop_table("papers")
    op.drop_table("meta")
