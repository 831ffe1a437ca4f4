"""The store's tables. Every row is keyed on the canonical paper key (``ids.paper_key``), so replaying
a window can never duplicate a paper; predictions, review items and decisions hang off that key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class PaperRow(Base):
    """The latest known version of a paper plus where it stands in the pipeline.

    ``status``: new → accepted | review | rejected (by the model or a maintainer).
    ``labels``: the subcategory keys the paper is filed under when accepted.
    """

    __tablename__ = "papers"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    arxiv_id: Mapped[str | None] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    date: Mapped[str] = mapped_column(String(10), index=True)
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    relevance: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[list] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    merged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    merged_files: Mapped[list] = mapped_column(JSON, default=list)  # list files our merge wrote it into
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def link(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else ""


class PaperVersionRow(Base):
    __tablename__ = "paper_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(ForeignKey("papers.key"), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    date: Mapped[str] = mapped_column(String(10))
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PredictionRow(Base):
    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("key", "model_version", "paper_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(ForeignKey("papers.key"), index=True)
    paper_version: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(100))
    relevance: Mapped[float] = mapped_column(Float)
    core: Mapped[float | None] = mapped_column(Float, nullable=True)  # P(relevance = 2); None before v2 models
    policy: Mapped[str | None] = mapped_column(String(20), nullable=True)  # merge_policy the decision was made under
    relevance_class: Mapped[int] = mapped_column(Integer)
    labels: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[dict] = mapped_column(JSON, default=dict)
    subcategories: Mapped[dict] = mapped_column(JSON, default=dict)
    targets: Mapped[list] = mapped_column(JSON, default=list)  # subcategory files it would be filed under
    decision: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReviewItemRow(Base):
    """One queue entry per paper; ``revision`` lets two reviewers detect each other's writes."""

    __tablename__ = "review_items"
    key: Mapped[str] = mapped_column(ForeignKey("papers.key"), primary_key=True)
    prediction_id: Mapped[int | None] = mapped_column(ForeignKey("predictions.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class DecisionRow(Base):
    """The audit log: every maintainer decision, never updated or deleted."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(ForeignKey("papers.key"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # accept | edit | reject | defer | undo
    relevance: Mapped[int | None] = mapped_column(Integer)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    subcategories: Mapped[list] = mapped_column(JSON, default=list)
    reviewer: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(100))
    predicted: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="nightly")
    source: Mapped[str] = mapped_column(String(20))
    since: Mapped[str | None] = mapped_column(String(10))
    until: Mapped[str | None] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")
    counts: Mapped[dict] = mapped_column(JSON, default=dict)


class MetaRow(Base):
    __tablename__ = "meta"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
