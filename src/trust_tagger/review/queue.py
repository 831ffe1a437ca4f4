"""The review queue: which papers wait, in which order, and what a reviewer sees of each.

Order is closeness to a routing threshold weighted by predicted relevance (``routing.review_priority``),
with a stable ~10 % random share so papers the model is wrongly sure about still reach a human.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from trust_tagger.errors import UserError
from trust_tagger.routing import is_adjacent
from trust_tagger.store.schema import PaperRow, PredictionRow, ReviewItemRow
from trust_tagger.store.store import Store
from trust_tagger.taxonomy import CATEGORIES

QUEUE_STATES = ("pending", "deferred")
DECIDED_STATUSES = ("accepted", "rejected", "listed")


class ReviewError(UserError, ValueError):
    """A decision that cannot be applied as asked (bad label, wrong action for the paper's state)."""


class Conflict(ReviewError):
    """Someone else decided the item after this reviewer loaded it; nothing was written."""

    def __init__(self, key: str, revision: int | None, by: str | None, action: str | None,
                 at: dt.datetime | None):
        self.key, self.revision, self.by, self.action, self.at = key, revision, by, action, at
        who = f"{by} ({action}, {at:%Y-%m-%d %H:%M} UTC)" if by and at else "another reviewer"
        super().__init__(f"{key} was changed by {who} after you opened it; your decision was NOT saved. "
                         f"Reload the paper to see its current state and decide again if needed.")


# -- the queue -------------------------------------------------------------------------------------
@dataclass
class ReviewPaper:
    """Everything a reviewer sees about one paper, detached from the database session."""

    key: str
    arxiv_id: str | None
    title: str
    authors: list[str]
    abstract: str
    date: str
    link: str
    status: str
    labels: list[str]
    relevance: int | None
    decided_by: str | None
    merged: bool
    item_state: str | None = None
    revision: int = 0
    priority: float = 0.0
    prediction: dict | None = None
    random_pick: bool = False
    rank: int | None = None

    @property
    def predicted_targets(self) -> list[str]:
        """Where the model would file it: the pipeline's stored targets, else derived from the prediction."""
        if self.status == "review" and self.labels:
            return list(self.labels)
        return list(self.prediction.get("targets", [])) if self.prediction else []

    @property
    def predicted_relevance(self) -> float | None:
        return self.prediction["relevance"] if self.prediction else None

    @property
    def relevant(self) -> bool:
        return bool(self.prediction and self.prediction["relevance_class"] >= 1)

    @property
    def core(self) -> float | None:
        """P(relevance = 2) where the model reports it (the core-policy contract), else None."""
        value = (self.prediction or {}).get("core")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def adjacent(self) -> bool:
        """Relevant to audio trust but outside the list's core: likely relevant, unlikely core.

        Models that report ``core`` are judged on it; older ones on their relevance class (1 = adjacent)."""
        return is_adjacent(self.prediction or {})

    @property
    def predicted_categories(self) -> list[str]:
        cats = list(self.prediction.get("labels", [])) if self.prediction else []
        return sorted(set(cats) | {t.split("/")[0] for t in self.predicted_targets})


@dataclass(frozen=True)
class QueueFilter:
    category: str | None = None
    since: str | None = None  # YYYY-MM-DD, on the paper's listing date
    until: str | None = None
    relevant_only: bool = False
    include_deferred: bool = True
    search: str | None = None  # words that must all occur in the title, an author, or the key / arXiv id

    def __post_init__(self) -> None:
        if self.category and self.category not in CATEGORIES:
            raise ReviewError(f"unknown category {self.category!r}; use one of {', '.join(CATEGORIES)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError as exc:
                    raise ReviewError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc
        if self.since and self.until and self.since > self.until:
            raise ReviewError(f"since {self.since} is after until {self.until}")
        if self.search is not None and len(self.search) > 200:
            raise ReviewError("search is too long (200 characters at most)")

    def validate(self, categories) -> QueueFilter:
        """Refuse a category the list does not have (a typo would otherwise show an empty queue)."""
        if self.category and self.category not in categories:
            raise ReviewError(f"unknown category {self.category!r}; valid: {', '.join(categories)}")
        return self

    def matches(self, paper: ReviewPaper) -> bool:
        if self.search and not _found(self.search, paper):
            return False
        if self.since and paper.date < self.since:
            return False
        if self.until and paper.date > self.until:
            return False
        if self.relevant_only and not paper.relevant:
            return False
        if self.category:
            probs = (paper.prediction or {}).get("categories", {})
            if self.category not in paper.predicted_categories and probs.get(self.category, 0.0) < 0.5:
                return False
        return True


_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5})(v\d+)?")


def _found(search: str, paper: ReviewPaper) -> bool:
    """Every word of ``search`` in the title, the authors or the key; an arXiv id or link finds its paper."""
    ids = _ARXIV_ID.findall(search)
    if ids and paper.arxiv_id and any(i == paper.arxiv_id for i, _ in ids):
        return True
    hay = " ".join([paper.title, " ".join(paper.authors), paper.key, paper.arxiv_id or ""]).casefold()
    return all(word in hay for word in search.casefold().split())


def _prediction_dict(row: PredictionRow | None) -> dict | None:
    if row is None:
        return None
    pred = {"id": row.id, "model_version": row.model_version, "paper_version": row.paper_version,
            "relevance": row.relevance, "relevance_class": row.relevance_class, "labels": list(row.labels),
            "categories": dict(row.categories), "subcategories": dict(row.subcategories),
            "targets": list(row.targets), "decision": row.decision}
    # Predictions of models before the core score have neither value; the screens work with both.
    for name in ("core", "policy"):
        value = getattr(row, name, None)
        if value is not None:
            pred[name] = value
    return pred


def _paper(row: PaperRow, item: ReviewItemRow | None, pred: PredictionRow | None) -> ReviewPaper:
    return ReviewPaper(
        key=row.key, arxiv_id=row.arxiv_id, title=row.title, authors=list(row.authors or []),
        abstract=row.abstract, date=row.date, link=row.link, status=row.status, labels=list(row.labels or []),
        relevance=row.relevance, decided_by=row.decided_by, merged=row.merged_at is not None,
        item_state=item.state if item else None, revision=item.revision if item else 0,
        priority=item.priority if item else 0.0, prediction=_prediction_dict(pred))


def _lottery(key: str, seed: str) -> float:
    """A stable per-paper random number: the same papers are the random picks on every page load."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def order_queue(papers: list[ReviewPaper], random_share: float = 0.1, seed: str = "") -> list[ReviewPaper]:
    """Most useful first, with every ``1/random_share``-th slot given to a random pick.

    A queue fed only by the model's own confidence drifts: papers the model is wrongly sure about never
    reach a human. So a stable random share of papers (by a per-paper lottery, independent of the
    model) is interleaved whatever their priority, and marked ``random_pick`` so reviewers know why.
    Deferred papers come after all pending ones.
    """
    def by_priority(p: ReviewPaper) -> tuple:
        return (-p.priority, -(p.predicted_relevance or 0.0), p.date, p.key)

    ordered: list[ReviewPaper] = []
    every = max(2, round(1 / random_share)) if random_share > 0 else 0
    for group in ([p for p in papers if p.item_state != "deferred"],
                  [p for p in papers if p.item_state == "deferred"]):
        explore = sorted((p for p in group if every and _lottery(p.key, seed) < random_share),
                         key=lambda p: _lottery(p.key, seed))
        exploit = sorted((p for p in group if p not in explore), key=by_priority)
        position = 0
        while explore or exploit:
            position += 1
            take_random = bool(explore) and (not exploit or position % every == 0)
            paper = explore.pop(0) if take_random else exploit.pop(0)
            paper.random_pick = take_random
            ordered.append(paper)
    for rank, paper in enumerate(ordered, 1):
        paper.rank = rank
    return ordered


def load_queue(store: Store, filters: QueueFilter | None = None, *, random_share: float = 0.1,
               seed: str = "") -> list[ReviewPaper]:
    """The open queue (pending, then deferred), filtered and in review order."""
    filters = filters or QueueFilter()
    states = QUEUE_STATES if filters.include_deferred else ("pending",)
    papers = [_paper(paper, item, pred) for item, paper, pred in store.queue_rows(states, DECIDED_STATUSES)]
    return order_queue([p for p in papers if filters.matches(p)], random_share, seed)


def get_paper(store: Store, key: str) -> ReviewPaper | None:
    """One paper with its queue item (if any) and the prediction the reviewer is judging."""
    view = store.review_view(key)
    return _paper(*view) if view else None


def next_in_queue(store: Store, after: str, filters: QueueFilter | None = None) -> ReviewPaper | None:
    """The paper to show once ``after`` is decided: the head of the queue, skipping ``after``."""
    return next((p for p in load_queue(store, filters) if p.key != after and p.item_state == "pending"), None)


def decided_papers(store: Store, status: str | None = None, by_model_only: bool = False,
                   limit: int = 200) -> list[ReviewPaper]:
    """Papers the model or a maintainer already decided, newest first: what a correction starts from."""
    statuses = [status] if status else list(DECIDED_STATUSES)
    return [_paper(row, item, pred) for row, item, pred in store.decided_rows(statuses, by_model_only, limit)]


def adjacent_papers(store: Store, filters: QueueFilter | None = None, limit: int = 1000) -> list[ReviewPaper]:
    """Papers the model judged relevant but outside the list's core and no maintainer has decided:
    queued ones and ones the model decided (under the core policy they are not merged). Most likely
    relevant first, so the promotions worth a click come first."""
    filters = filters or QueueFilter()
    queued = [p for p in load_queue(store, filters, random_share=0)]
    decided = [_paper(row, item, pred) for row, item, pred in
               store.decided_rows(["accepted", "rejected"], by_model_only=True, limit=limit)]
    seen: set[str] = set()
    out = []
    for p in queued + decided:
        if p.key in seen or not p.adjacent or not filters.matches(p):
            continue
        seen.add(p.key)
        out.append(p)
    out.sort(key=lambda p: (-(p.predicted_relevance or 0.0), p.core if p.core is not None else 0.0, p.key))
    for rank, p in enumerate(out, 1):
        p.rank = rank
    return out
