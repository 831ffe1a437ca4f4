"""The maintainers' review queue as plain functions over the :class:`~trust_tagger.store.Store`.

The terminal loop (``review_tui``) and the web page (``review_web``) are thin shells over this module,
so ordering, validation, conflict detection and the audit trail behave the same whichever way a
maintainer comes in, and are tested without either.

Decisions are written by :meth:`Store.apply_decision` in one transaction (review item compare-and-set,
paper status, audit row), so a decision is never lost half-way and two reviewers never silently
overwrite each other. The audit log is the source of the training labels :func:`export_decisions`
writes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trust_tagger.atomic import atomic_write_text
from trust_tagger.awesome_list import ListSnapshot, parse_list, target_file
from trust_tagger.ids import normalize_title
from trust_tagger.store import DecisionRow, PaperRow, PredictionRow, ReviewItemRow, Store

ACTIONS = ("accept", "edit", "reject", "defer", "undo")
LABEL_ACTIONS = ("accept", "edit", "reject", "undo")  # the ones that say what the paper is
QUEUE_STATES = ("pending", "deferred")
DECIDED_STATUSES = ("accepted", "rejected", "listed")
REVIEWER_PREFIX = "reviewer:"  # pipeline.needs_decision keeps the model off papers decided this way
SIMILAR_TITLE = 0.88  # difflib ratio of normalised titles above which two papers are shown as duplicates

# Used only when no list directory is at hand (tests, a store inspected on its own): the labeling guide.
GUIDE_TAXONOMY: dict[str, list[str]] = {
    "safety": ["jailbreak", "alignment", "deepfake", "prompt_injection", "defense", "general"],
    "security": ["adversarial_examples", "attack", "poison_and_backdoor", "general"],
    "privacy": ["watermark_and_copyright", "general"],
    "fairness": ["general"],
    "hallucination": ["general"],
    "robustness": ["general"],
    "interpretability": ["general"],
}


class ReviewError(ValueError):
    """A decision that cannot be applied as asked (bad label, wrong action for the paper's state)."""


class Conflict(ReviewError):
    """Someone else decided the item after this reviewer loaded it; nothing was written."""

    def __init__(self, key: str, revision: int | None, by: str | None, action: str | None,
                 at: dt.datetime | None):
        self.key, self.revision, self.by, self.action, self.at = key, revision, by, action, at
        who = f"{by} ({action}, {at:%Y-%m-%d %H:%M} UTC)" if by and at else "another reviewer"
        super().__init__(f"{key} was changed by {who} after you opened it; your decision was NOT saved. "
                         f"Reload the paper to see its current state and decide again if needed.")


# -- priority -------------------------------------------------------------------------------------
def threshold_pair(thresholds: Any) -> tuple[float, float]:
    """(reject, accept) thresholds from a pair, a mapping or an object (Settings, a model's thresholds)."""
    if isinstance(thresholds, Mapping):
        lo = thresholds.get("reject", thresholds.get("reject_threshold"))
        hi = thresholds.get("accept", thresholds.get("accept_threshold"))
    elif isinstance(thresholds, (tuple, list)):
        lo, hi = thresholds
    else:
        lo = getattr(thresholds, "reject", getattr(thresholds, "reject_threshold", None))
        hi = getattr(thresholds, "accept", getattr(thresholds, "accept_threshold", None))
    if lo is None or hi is None:
        raise TypeError(f"cannot read reject/accept thresholds from {thresholds!r}")
    lo, hi = float(lo), float(hi)
    return (lo, hi) if lo <= hi else (hi, lo)


def review_priority(prediction: Mapping[str, Any], thresholds: Any) -> float:
    """Queue priority in [0, 1]: closeness to a routing threshold, weighted by predicted relevance.

    Near a threshold the automatic decision almost went the other way, so that is where a human label
    changes an outcome and teaches the next model most. Weighting by relevance spends a maintainer's few
    minutes on papers likely to end up on the list first: a borderline-accept paper comes before a
    coin-flip, which comes before a borderline-reject (the random share in :func:`order_queue` keeps
    the low end from starving). ``thresholds``: (reject, accept), a mapping with ``reject``/``accept``
    keys, or an object with those (or ``*_threshold``) attributes.
    """
    lo, hi = threshold_pair(thresholds)
    p = min(max(float(prediction.get("relevance", 0.0)), 0.0), 1.0)
    distance = min(abs(p - lo), abs(p - hi))
    scale = max(hi - lo, 1e-6) / 2  # a mid-band paper keeps e^-1 of a borderline one's closeness
    return round(math.exp(-distance / scale) * p, 6)


# -- what is on the list ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NearDuplicate:
    file: str
    title: str
    link: str
    reason: str  # "same paper" (same key, any link form) or "similar title"
    score: float


@dataclass
class ListIndex:
    """The list's taxonomy (valid labels) and its entries (for near-duplicate lookup)."""

    taxonomy: dict[str, list[str]]  # category -> subcategory keys ("safety/jailbreak")
    snapshot: ListSnapshot | None = None
    _titles: list[tuple[str, Any]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.snapshot is not None:
            self._titles = [(normalize_title(e.title), e) for e in self.snapshot.entries]

    @property
    def subcategories(self) -> list[str]:
        return [sub for subs in self.taxonomy.values() for sub in subs]

    def is_valid(self, sub: str) -> bool:
        return sub in self.subcategories

    def near_duplicates(self, key: str, title: str, limit: int = 5) -> list[NearDuplicate]:
        """Entries already on the list that are this paper: same key (another link form) or similar title."""
        found: dict[tuple[str, str], NearDuplicate] = {}
        norm = normalize_title(title)
        for entry_title, entry in self._titles:
            if entry.key == key:
                dup = NearDuplicate(entry.file, entry.title, entry.link, "same paper", 1.0)
            elif norm and entry_title:
                matcher = difflib.SequenceMatcher(None, norm, entry_title, autojunk=False)
                if matcher.real_quick_ratio() < SIMILAR_TITLE or matcher.quick_ratio() < SIMILAR_TITLE:
                    continue
                score = matcher.ratio()
                if score < SIMILAR_TITLE:
                    continue
                dup = NearDuplicate(entry.file, entry.title, entry.link, "similar title", round(score, 3))
            else:
                continue
            found.setdefault((entry.file, entry.link), dup)
        return sorted(found.values(), key=lambda d: (-d.score, d.file))[:limit]


def load_list_index(list_dir: Path | str | None) -> ListIndex:
    """Read the list once; without one, the labeling guide's taxonomy and no duplicate lookup."""
    if list_dir is None or not Path(list_dir).is_dir():
        return ListIndex({c: [f"{c}/{s}" for s in subs] for c, subs in GUIDE_TAXONOMY.items()})
    snapshot = parse_list(list_dir)
    taxonomy: dict[str, list[str]] = {}
    for sub in sorted(snapshot.taxonomy.subcategories):
        taxonomy.setdefault(sub.split("/")[0], []).append(sub)
    return ListIndex(taxonomy, snapshot)


def list_files(labels: Iterable[str]) -> list[str]:
    """The list files a paper filed under these subcategory keys goes to."""
    return [target_file(label) for label in labels]


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

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError as exc:
                    raise ReviewError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc

    def matches(self, paper: ReviewPaper) -> bool:
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


def _prediction_dict(row: PredictionRow | None) -> dict | None:
    if row is None:
        return None
    return {"id": row.id, "model_version": row.model_version, "paper_version": row.paper_version,
            "relevance": row.relevance, "relevance_class": row.relevance_class, "labels": list(row.labels),
            "categories": dict(row.categories), "subcategories": dict(row.subcategories),
            "targets": list(row.targets), "decision": row.decision}


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
    with store.session() as s:
        rows = s.execute(
            select(ReviewItemRow, PaperRow, PredictionRow)
            .join(PaperRow, PaperRow.key == ReviewItemRow.key)
            .outerjoin(PredictionRow, PredictionRow.id == ReviewItemRow.prediction_id)
            .where(ReviewItemRow.state.in_(states), PaperRow.status.not_in(DECIDED_STATUSES))).all()
        papers = []
        for item, paper, pred in rows:
            if pred is None:  # queued without a prediction id: show the newest one
                pred = s.scalar(select(PredictionRow).where(PredictionRow.key == paper.key)
                                .order_by(PredictionRow.id.desc()).limit(1))
            papers.append(_paper(paper, item, pred))
    return order_queue([p for p in papers if filters.matches(p)], random_share, seed)


def get_paper(store: Store, key: str) -> ReviewPaper | None:
    """One paper with its queue item (if any) and the prediction the reviewer is judging."""
    with store.session() as s:
        row = s.get(PaperRow, key)
        if row is None:
            return None
        item = s.get(ReviewItemRow, key)
        pred = s.get(PredictionRow, item.prediction_id) if item and item.prediction_id else None
        if pred is None:
            pred = s.scalar(select(PredictionRow).where(PredictionRow.key == key)
                            .order_by(PredictionRow.id.desc()).limit(1))
        return _paper(row, item, pred)


def next_in_queue(store: Store, after: str, filters: QueueFilter | None = None) -> ReviewPaper | None:
    """The paper to show once ``after`` is decided: the head of the queue, skipping ``after``."""
    return next((p for p in load_queue(store, filters) if p.key != after and p.item_state == "pending"), None)


def decided_papers(store: Store, status: str | None = None, by_model_only: bool = False,
                   limit: int = 200) -> list[ReviewPaper]:
    """Papers the model or a maintainer already decided, newest first: what a correction starts from."""
    statuses = [status] if status else list(DECIDED_STATUSES)
    with store.session() as s:
        q = select(PaperRow).where(PaperRow.status.in_(statuses))
        if by_model_only:
            q = q.where(PaperRow.decided_by.like("model:%"))
        rows = list(s.scalars(q.order_by(PaperRow.updated_at.desc(), PaperRow.key).limit(limit)))
        out = []
        for row in rows:
            pred = s.scalar(select(PredictionRow).where(PredictionRow.key == row.key)
                            .order_by(PredictionRow.id.desc()).limit(1))
            out.append(_paper(row, s.get(ReviewItemRow, row.key), pred))
    return out


# -- decisions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    key: str
    action: str
    status: str  # the paper's status after the decision
    relevance: int | None
    subcategories: list[str]
    revision: int


def clean_reviewer(name: str) -> str:
    """Reviewer names go into the audit log and onto pages: short, printable, non-empty."""
    name = " ".join("".join(ch for ch in (name or "") if unicodedata.category(ch)[0] != "C").split())
    if not name:
        raise ReviewError("a reviewer name is required")
    if len(name) > 80:
        raise ReviewError("reviewer name is too long (80 characters at most)")
    return name


def _labels(index: ListIndex, subcategories: Iterable[str], categories: Iterable[str]) -> list[str]:
    """Validated subcategory keys; a bare category means its ``general`` section."""
    subs = [s.strip() for s in subcategories if s and s.strip()]
    for cat in (c.strip() for c in categories if c and c.strip()):
        if cat not in index.taxonomy:
            raise ReviewError(f"unknown category {cat!r}; valid: {', '.join(index.taxonomy)}")
        if not any(s.split("/")[0] == cat for s in subs):
            if f"{cat}/general" not in index.taxonomy[cat]:
                raise ReviewError(f"category {cat!r} has no general section; pick one of its subcategories")
            subs.append(f"{cat}/general")
    bad = [s for s in subs if not index.is_valid(s)]
    if bad:
        raise ReviewError(f"not a subcategory of the list: {', '.join(bad)}")
    return sorted(set(subs))


def _relevance(value: Any) -> int:
    try:
        rel = int(value)
    except (TypeError, ValueError) as exc:
        raise ReviewError(f"relevance must be 0, 1 or 2, got {value!r}") from exc
    if rel not in (0, 1, 2):
        raise ReviewError(f"relevance must be 0, 1 or 2, got {value!r}")
    return rel


def decide(store: Store, key: str, action: str, reviewer: str, *, revision: int | None,
           relevance: int | None = None, subcategories: Iterable[str] = (), categories: Iterable[str] = (),
           note: str = "", audio_llm: bool | None = None, index: ListIndex | None = None) -> Outcome:
    """Apply one maintainer decision; raise :class:`Conflict` if the item moved since ``revision``.

    ``revision`` is the item revision the reviewer was shown (0 for a paper that has no item yet);
    None skips the check and is meant for scripts only. Actions: ``accept`` (as predicted), ``edit``
    (given relevance and labels, then accept; relevance 0 rejects), ``reject``, ``defer`` (stays
    queued, after the pending papers) and ``undo``: correct a paper already decided (by the model or a
    maintainer) with given labels, or without any, flip it (accepted <-> rejected).
    """
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    reviewer = clean_reviewer(reviewer)
    index = index or load_list_index(None)
    paper = get_paper(store, key)
    if paper is None:
        raise ReviewError(f"unknown paper {key}")
    if revision is not None and paper.revision != revision:
        raise _conflict(store, key, paper.revision)
    queued = paper.item_state in QUEUE_STATES and paper.status not in DECIDED_STATUSES
    if action != "undo" and not queued:
        raise ReviewError(f"{key} is not waiting in the queue (status {paper.status}); use undo to correct it")
    if action == "undo" and paper.status not in DECIDED_STATUSES:
        raise ReviewError(f"{key} is still waiting in the queue; decide it instead of undoing")
    subcategories, categories = list(subcategories), list(categories)
    edited = relevance is not None or bool(subcategories) or bool(categories)

    status: str | None
    labels: list[str]
    if action == "defer":
        status, rel, labels = None, None, []
    elif action == "reject" or (action == "undo" and not edited and paper.status != "rejected"):
        status, rel, labels = "rejected", 0, []
    elif action == "accept" or (action == "undo" and not edited):
        labels = _labels(index, paper.predicted_targets, [])
        if not labels:
            raise ReviewError("the model named no list file for this paper; use edit to choose its subcategories")
        rel = max(1, (paper.prediction or {}).get("relevance_class") or 1)
        status = "accepted"
    else:  # edit, or undo with explicit labels
        if relevance is None:
            raise ReviewError("edit needs a relevance (0, 1 or 2)")
        rel = _relevance(relevance)
        labels = _labels(index, subcategories, categories) if rel else []
        if rel and not labels:
            raise ReviewError("a relevant paper needs at least one subcategory to be filed under")
        status = "accepted" if rel else "rejected"

    pred = paper.prediction or {}
    audit = {
        "action": action, "relevance": rel, "reviewer": reviewer, "model_version": pred.get("model_version"),
        "categories": sorted({label.split("/")[0] for label in labels}), "subcategories": labels,
        "predicted": {
            "relevance": pred.get("relevance"), "relevance_class": pred.get("relevance_class"),
            "categories": list(pred.get("labels", [])), "subcategories": paper.predicted_targets,
            "decision": pred.get("decision"), "prediction_id": pred.get("id"),
            "previous_status": paper.status, "previous_labels": paper.labels,
            "previous_decided_by": paper.decided_by, "random_pick": paper.random_pick,
            "note": (note or "").strip()[:2000], "audio_llm": audio_llm,
        },
    }
    try:
        new_revision = store.apply_decision(
            key, expected_revision=revision, item_state="deferred" if action == "defer" else "done",
            status=status, labels=labels if status else None, relevance=rel,
            decided_by=REVIEWER_PREFIX + reviewer, audit=audit)
    except IntegrityError:
        new_revision = None
    if new_revision is None:
        raise _conflict(store, key, None)
    return Outcome(key, action, status or paper.status, rel, labels, new_revision)


def _conflict(store: Store, key: str, revision: int | None) -> Conflict:
    with store.session() as s:
        last = s.scalar(select(DecisionRow).where(DecisionRow.key == key)
                        .order_by(DecisionRow.id.desc()).limit(1))
        item = s.get(ReviewItemRow, key)
        current = item.revision if item else revision
    return Conflict(key, current, last.reviewer if last else None, last.action if last else None,
                    last.created_at if last else None)


# -- audit log and training labels ------------------------------------------------------------------
def audit_log(store: Store, key: str | None = None, limit: int | None = None) -> list[dict]:
    """Decisions newest first, as plain dicts (for pages and ``--list``)."""
    with store.session() as s:
        q = select(DecisionRow).order_by(DecisionRow.id.desc())
        if key is not None:
            q = q.where(DecisionRow.key == key)
        if limit:
            q = q.limit(limit)
        return [{"id": d.id, "key": d.key, "action": d.action, "relevance": d.relevance,
                 "categories": list(d.categories), "subcategories": list(d.subcategories),
                 "reviewer": d.reviewer, "model_version": d.model_version, "predicted": dict(d.predicted),
                 "decided_at": _iso(d.created_at)} for d in s.scalars(q)]


def _iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def decision_records(store: Store) -> list[dict]:
    """One training label per paper: its latest label-carrying decision (defers say nothing about it)."""
    with store.session() as s:
        rows = s.execute(select(DecisionRow, PaperRow.arxiv_id).join(PaperRow, PaperRow.key == DecisionRow.key)
                         .where(DecisionRow.action.in_(LABEL_ACTIONS)).order_by(DecisionRow.id)).all()
    latest: dict[str, dict] = {}
    for d, arxiv_id in rows:
        if not arxiv_id:
            continue  # the trainer joins labels to text by arXiv id; the audit log still has the row
        record = {"arxiv_id": arxiv_id, "relevance": d.relevance, "categories": list(d.categories),
                  "subcategories": list(d.subcategories)}
        if d.predicted.get("audio_llm") is not None:
            record["audio_llm"] = bool(d.predicted["audio_llm"])
        record.update({"note": d.predicted.get("note") or "", "reviewer": d.reviewer,
                       "decided_at": _iso(d.created_at), "action": d.action})
        latest[arxiv_id] = record
    return [latest[k] for k in sorted(latest)]


def export_decisions(store: Store, path: Path | str) -> int:
    """Rewrite ``path`` (JSON lines) from the whole audit log, atomically: re-running is harmless."""
    records = decision_records(store)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in records))
    return len(records)
