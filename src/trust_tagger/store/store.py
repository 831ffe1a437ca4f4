"""The paper store: one SQLAlchemy schema for papers, versions, predictions, the review queue,
decisions, runs and small key/value state (the fetch watermark).

Any SQLAlchemy URL works (SQLite by default, Postgres for a shared deployment). Every write
is keyed on the canonical paper key, so replaying a window twice can never duplicate a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from trust_tagger.ingest.records import Paper
from trust_tagger.store.database import migrate, open_engine
from trust_tagger.store.schema import (
    DecisionRow,
    MetaRow,
    PaperRow,
    PaperVersionRow,
    PredictionRow,
    ReviewItemRow,
    RunRow,
    utcnow,
)


class Store:
    """Owns the engine; each public method is one transaction."""

    def __init__(self, url: str):
        """Open (and, when new or older, migrate) the database; StoreError says why it cannot be."""
        self.url = url
        self.engine = open_engine(url, _sqlite_pragmas if url.startswith("sqlite") else None)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- papers -----------------------------------------------------------------------------
    def upsert_paper(self, paper: Paper, source: str) -> str:
        """Insert or update by canonical key; return "new", "updated" (newer version) or "duplicate"."""
        with self.session() as s:
            row = s.get(PaperRow, paper.key)
            if row is None:
                s.add(PaperRow(key=paper.key, arxiv_id=paper.arxiv_id, version=paper.version,
                               title=paper.title, abstract=paper.abstract, authors=paper.authors,
                               categories=paper.categories, date=paper.date, source=source))
                s.flush()
                self._add_version(s, paper)
                return "new"
            if paper.version is not None and (row.version is None or paper.version > row.version):
                row.version, row.title, row.abstract = paper.version, paper.title, paper.abstract
                row.authors, row.categories = paper.authors, paper.categories
                self._add_version(s, paper)
                return "updated"
            return "duplicate"

    @staticmethod
    def _add_version(s: Session, paper: Paper) -> None:
        exists = s.scalar(select(PaperVersionRow).where(PaperVersionRow.key == paper.key,
                                                        PaperVersionRow.version == paper.version))
        if exists is None:
            s.add(PaperVersionRow(key=paper.key, version=paper.version, title=paper.title, date=paper.date))

    def get_paper(self, key: str) -> PaperRow | None:
        with self.session() as s:
            return s.get(PaperRow, key)

    def papers(self, keys: list[str] | None = None, status: str | None = None) -> list[PaperRow]:
        with self.session() as s:
            q = select(PaperRow)
            if keys is not None:
                q = q.where(PaperRow.key.in_(keys))
            if status is not None:
                q = q.where(PaperRow.status == status)
            return list(s.scalars(q.order_by(PaperRow.date, PaperRow.key)))

    def versions(self, key: str) -> list[PaperVersionRow]:
        with self.session() as s:
            return list(s.scalars(select(PaperVersionRow).where(PaperVersionRow.key == key)
                                  .order_by(PaperVersionRow.version)))

    def set_status(self, key: str, status: str, *, labels: list[str] | None = None,
                   relevance: int | None = None, decided_by: str | None = None) -> None:
        """Record where a paper stands; a paper changed after merge is un-merged so the list follows."""
        with self.session() as s:
            row = s.get(PaperRow, key)
            if row is None:
                raise KeyError(f"unknown paper {key}")
            _apply_status(row, status, labels, relevance, decided_by)

    def mark_merged(self, keys: list[str], files: dict[str, list[str]] | None = None,
                    unmerged: list[str] | tuple[str, ...] = ()) -> None:
        """Record what the last merge found on the list: ``keys`` are where their status says (with the
        files that hold them), ``unmerged`` are not (their line could not be written).

        Derived from the merge's reading of the list, never the other way round: the next merge reads
        the list again and corrects this (a reset checkout, a killed run)."""
        unmerged = set(unmerged)
        with self.session() as s:
            for row in s.scalars(select(PaperRow).where(PaperRow.key.in_(list(keys) + list(unmerged)))):
                # Only what changed is written: every merge checks every accepted paper, and a row
                # touched each night would lose its updated_at (the review page orders by it).
                if row.key in unmerged:
                    if row.merged_at is not None:
                        row.merged_at = None
                elif row.merged_at is None:
                    row.merged_at = utcnow()
                if files is not None and row.key in files and sorted(files[row.key]) != sorted(row.merged_files or []):
                    row.merged_files = sorted(files[row.key])

    def papers_for_the_list(self) -> list[PaperRow]:
        """Papers the list must hold or must no longer hold: every accepted paper (whether merged or
        not: the merge checks each against the files it is filed to, so a line lost to a killed run or a
        reset checkout comes back), and papers merged earlier and since taken off (rejected, or a decision undone: back in review)."""
        with self.session() as s:
            rows = s.scalars(select(PaperRow).where(PaperRow.status.in_(["accepted", "rejected", "review"]))
                             .order_by(PaperRow.date, PaperRow.key))
            return [r for r in rows if r.status == "accepted" or r.merged_files]

    def unmerged_accepted(self) -> list[PaperRow]:
        with self.session() as s:
            return list(s.scalars(select(PaperRow).where(PaperRow.status == "accepted",
                                                         PaperRow.merged_at.is_(None))
                                  .order_by(PaperRow.date, PaperRow.key)))

    # -- predictions ------------------------------------------------------------------------
    def add_prediction(self, key: str, pred: dict, paper_version: int | None) -> PredictionRow:
        """Store one prediction; the same paper version scored by the same model is stored once."""
        with self.session() as s:
            row = s.scalar(select(PredictionRow).where(
                PredictionRow.key == key, PredictionRow.model_version == pred["model_version"],
                PredictionRow.paper_version == paper_version))
            if row is None:
                row = PredictionRow(key=key, paper_version=paper_version, model_version=pred["model_version"])
                s.add(row)
            row.relevance = float(pred["relevance"])
            row.core = float(pred["core"]) if pred.get("core") is not None else None
            row.policy = pred.get("policy")
            row.relevance_class = int(pred["relevance_class"])
            row.labels = list(pred.get("labels", []))
            row.categories = dict(pred.get("categories", {}))
            row.subcategories = dict(pred.get("subcategories", {}))
            row.targets = list(pred.get("targets", []))
            row.decision = pred["decision"]
            s.flush()
            return row

    def latest_prediction(self, key: str) -> PredictionRow | None:
        with self.session() as s:
            return _latest_prediction(s, key)

    def has_prediction(self, key: str, model_version: str, paper_version: int | None) -> bool:
        with self.session() as s:
            return s.scalar(select(PredictionRow.id).where(
                PredictionRow.key == key, PredictionRow.model_version == model_version,
                PredictionRow.paper_version == paper_version)) is not None

    # -- review queue -----------------------------------------------------------------------
    def enqueue(self, key: str, prediction_id: int | None, priority: float, reopen: bool = False) -> bool:
        """Queue a paper once; a re-queued paper (new version) keeps its item and gets the new prediction.

        ``reopen`` sets a decided item back to pending (the label audit asks for a second look)."""
        with self.session() as s:
            item = s.get(ReviewItemRow, key)
            if item is None:
                s.add(ReviewItemRow(key=key, prediction_id=prediction_id, priority=priority))
                return True
            if item.state == "pending":
                item.prediction_id, item.priority = prediction_id, priority
            elif reopen:
                item.state, item.priority, item.revision = "pending", priority, item.revision + 1
            return False

    # -- runs and state ---------------------------------------------------------------------
    def start_run(self, run_id: str, source: str, since: str | None, until: str | None,
                  kind: str = "nightly") -> None:
        with self.session() as s:
            s.add(RunRow(id=run_id, kind=kind, source=source, since=since, until=until))

    def finish_run(self, run_id: str, status: str, counts: dict) -> None:
        with self.session() as s:
            row = s.get(RunRow, run_id)
            row.status, row.counts, row.finished_at = status, counts, utcnow()

    def runs(self, limit: int | None = None) -> list[RunRow]:
        """Runs, oldest first (the last ``limit`` when given)."""
        with self.session() as s:
            q = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc())
            rows = list(s.scalars(q.limit(limit) if limit else q))
        return rows[::-1]

    def get_meta(self, name: str, default: str | None = None) -> str | None:
        with self.session() as s:
            row = s.get(MetaRow, name)
            return row.value if row else default

    def set_meta(self, name: str, value: str) -> None:
        with self.session() as s:
            row = s.get(MetaRow, name)
            if row is None:
                s.add(MetaRow(name=name, value=value))
            else:
                row.value = value

    # -- maintainer decisions (trust_tagger.review) -----------------------------------------
    def apply_decision(self, key: str, *, expected_revision: int | None, item_state: str,
                       status: str | None, labels: list[str] | None, relevance: int | None,
                       decided_by: str, audit: dict) -> int | None:
        """Compare-and-set the paper's review item, set its status and append the audit row in ONE
        transaction: a decision is never half-applied, and of two reviewers deciding from the same
        revision exactly one wins. Returns the item's new revision, or None when ``expected_revision``
        is stale (nothing written). A paper without an item (auto-decided) gets one at revision 1.
        ``status`` None leaves the paper as it is (defer). The write comes first so that, on SQLite,
        the transaction holds the write lock before it reads anything."""
        from sqlalchemy import update

        with self.session() as s:
            claimed = s.execute(
                update(ReviewItemRow)
                .where(ReviewItemRow.key == key,
                       *([ReviewItemRow.revision == expected_revision] if expected_revision is not None else []))
                .values(state=item_state, revision=ReviewItemRow.revision + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount
            row = s.get(PaperRow, key)
            if row is None:
                raise KeyError(f"unknown paper {key}")
            item = s.get(ReviewItemRow, key)
            if not claimed:
                if item is not None or expected_revision not in (None, 0):
                    return None
                item = ReviewItemRow(key=key, state=item_state, revision=1)
                s.add(item)
                s.flush()  # a concurrent first decision fails here on the primary key
            if status is not None:
                _apply_status(row, status, labels, relevance, decided_by)
            s.add(DecisionRow(key=key, **audit))
            return item.revision


    # -- review reads (the queue, one paper, decided papers, the audit log) ---------------------
    def queue_rows(self, states: tuple[str, ...], exclude_statuses: tuple[str, ...]
                   ) -> list[tuple[ReviewItemRow, PaperRow, PredictionRow | None]]:
        """Open review items with their paper and the prediction they were queued with (else the newest)."""
        with self.session() as s:
            rows = s.execute(
                select(ReviewItemRow, PaperRow, PredictionRow)
                .join(PaperRow, PaperRow.key == ReviewItemRow.key)
                .outerjoin(PredictionRow, PredictionRow.id == ReviewItemRow.prediction_id)
                .where(ReviewItemRow.state.in_(states), PaperRow.status.not_in(exclude_statuses))).all()
            return [(item, paper, pred if pred is not None else _latest_prediction(s, paper.key))
                    for item, paper, pred in rows]

    def review_view(self, key: str) -> tuple[PaperRow, ReviewItemRow | None, PredictionRow | None] | None:
        """One paper, its review item (if any) and the prediction a reviewer judges (queued, else newest)."""
        with self.session() as s:
            row = s.get(PaperRow, key)
            if row is None:
                return None
            item = s.get(ReviewItemRow, key)
            pred = s.get(PredictionRow, item.prediction_id) if item and item.prediction_id else None
            return row, item, pred if pred is not None else _latest_prediction(s, key)

    def decided_rows(self, statuses: list[str], by_model_only: bool = False, limit: int = 200
                     ) -> list[tuple[PaperRow, ReviewItemRow | None, PredictionRow | None]]:
        """Decided papers, most recently changed first, with their item and newest prediction."""
        with self.session() as s:
            q = select(PaperRow).where(PaperRow.status.in_(statuses))
            if by_model_only:
                q = q.where(PaperRow.decided_by.like("model:%"))
            rows = list(s.scalars(q.order_by(PaperRow.updated_at.desc(), PaperRow.key).limit(limit)))
            return [(row, s.get(ReviewItemRow, row.key), _latest_prediction(s, row.key)) for row in rows]

    def last_decision(self, key: str) -> tuple[DecisionRow | None, int | None]:
        """(the newest audit row of a paper, its review item's current revision)."""
        with self.session() as s:
            last = s.scalar(select(DecisionRow).where(DecisionRow.key == key)
                            .order_by(DecisionRow.id.desc()).limit(1))
            item = s.get(ReviewItemRow, key)
            return last, (item.revision if item else None)

    def decisions(self, key: str | None = None, limit: int | None = None) -> list[DecisionRow]:
        """Audit rows, newest first."""
        with self.session() as s:
            q = select(DecisionRow).order_by(DecisionRow.id.desc())
            if key is not None:
                q = q.where(DecisionRow.key == key)
            if limit:
                q = q.limit(limit)
            return list(s.scalars(q))

    def label_decisions(self, actions: tuple[str, ...]) -> list[tuple[DecisionRow, str | None]]:
        """(audit row, the paper's arXiv id) of the given actions, oldest first: the training labels."""
        with self.session() as s:
            return [tuple(r) for r in s.execute(
                select(DecisionRow, PaperRow.arxiv_id).join(PaperRow, PaperRow.key == DecisionRow.key)
                .where(DecisionRow.action.in_(actions)).order_by(DecisionRow.id)).all()]

    def decision_counts(self, after_id: int, actions: tuple[str, ...]) -> tuple[int, int]:
        """(decisions of ``actions`` with id > after_id, the newest decision id overall)."""
        with self.session() as s:
            newest = s.scalar(select(func.max(DecisionRow.id))) or 0
            count = s.scalar(select(func.count(DecisionRow.id)).where(
                DecisionRow.id > after_id, DecisionRow.action.in_(actions))) or 0
        return int(count), int(newest)


def _latest_prediction(s: Session, key: str) -> PredictionRow | None:
    """The newest prediction of a paper: the one query every reader of predictions shares."""
    return s.scalar(select(PredictionRow).where(PredictionRow.key == key).order_by(PredictionRow.id.desc()).limit(1))


def _apply_status(row: PaperRow, status: str, labels: list[str] | None, relevance: int | None,
                  decided_by: str | None) -> None:
    """A change of status or labels un-merges the paper, so the next merge makes the list follow."""
    if (row.status, row.labels) != (status, labels if labels is not None else row.labels):
        row.merged_at = None
    row.status = status
    if labels is not None:
        row.labels = labels
    if relevance is not None:
        row.relevance = relevance
    row.decided_by = decided_by


_BUSY_MS = 10_000  # how long a connection waits for another's lock


def _switch_to_wal(cur) -> None:
    """``PRAGMA journal_mode=WAL``, retried for ``_BUSY_MS``: when two processes switch one fresh file at
    once, SQLite answers the loser "database is locked" at once, without the busy handler (measured: 4 of
    5 runs of the two-process test failed before)."""
    import sqlite3
    import time

    deadline = time.monotonic() + _BUSY_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL lets the review page read while the nightly run writes; foreign keys keep rows honest."""
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    _switch_to_wal(cur)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
