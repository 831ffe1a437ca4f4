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

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from trust_tagger.listfile.index import ListIndex, load_list_index
from trust_tagger.review.queue import DECIDED_STATUSES, QUEUE_STATES, Conflict, ReviewError, get_paper
from trust_tagger.store.store import Store

ACTIONS = ("accept", "edit", "reject", "defer", "undo", "revert")
LABEL_ACTIONS = ("accept", "edit", "reject", "undo")  # the ones that say what the paper is
STACK_ACTIONS = LABEL_ACTIONS + ("defer", "revert")  # what the export replays: a revert cancels the one before
REVIEWER_PREFIX = "reviewer:"  # pipeline.needs_decision keeps the model off papers decided this way


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
    (given relevance and labels, then accept; relevance 0 rejects), ``reject`` (off the list; with a
    relevance of 1 and optional labels it records an *adjacent* paper: relevant, not for a
    ``merge_policy=core`` list, and a training label that must not say 0), ``defer`` (stays queued,
    after the pending papers) and ``undo``: correct a paper already decided (by the model or a
    maintainer) with given labels, or without any, flip it (accepted <-> rejected); ``revert``: take
    back the paper's latest decision not yet reverted, restoring the state it found (a queued paper
    goes back into the queue, as it was), so "undo" on a screen never invents a label.
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
    if action == "revert":
        return _revert(store, paper, reviewer, note)
    queued = paper.item_state in QUEUE_STATES and paper.status not in DECIDED_STATUSES
    if action != "undo" and not queued:
        raise ReviewError(f"{key} is not waiting in the queue (status {paper.status}); use undo to correct it")
    if action == "undo" and paper.status not in DECIDED_STATUSES:
        raise ReviewError(f"{key} is still waiting in the queue; decide it instead of undoing")
    subcategories, categories = list(subcategories), list(categories)
    edited = relevance is not None or bool(subcategories) or bool(categories)

    status: str | None
    labels: list[str]
    told: list[str] | None = None  # what the audit row says the paper is about, when not its list labels
    if action == "defer":
        status, rel, labels = None, None, []
    elif action == "reject" and relevance is not None:
        rel = _relevance(relevance)
        status, labels = "rejected", []
        told = _labels(index, subcategories, categories) if rel else []
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
    told = labels if told is None else told
    audit = {
        "action": action, "relevance": rel, "reviewer": reviewer, "model_version": pred.get("model_version"),
        "categories": sorted({label.split("/")[0] for label in told}), "subcategories": told,
        "predicted": {
            "relevance": pred.get("relevance"), "relevance_class": pred.get("relevance_class"),
            "categories": list(pred.get("labels", [])), "subcategories": paper.predicted_targets,
            "decision": pred.get("decision"), "prediction_id": pred.get("id"),
            "previous_status": paper.status, "previous_labels": paper.labels,
            "previous_decided_by": paper.decided_by, "previous_relevance": paper.relevance,
            "previous_item_state": paper.item_state, "random_pick": paper.random_pick,
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


def revertible(store: Store, key: str):
    """The paper's latest decision that no later ``revert`` took back (None: nothing to undo).

    Each revert cancels the newest decision before it that is still standing, so reverting twice
    takes back the last two decisions, like an undo stack."""
    owed = 0
    for d in store.decisions(key):  # newest first
        if d.action == "revert":
            owed += 1
        elif owed:
            owed -= 1
        else:
            return d
    return None


def _revert(store: Store, paper, reviewer: str, note: str) -> Outcome:
    target = revertible(store, paper.key)
    if target is None:
        raise ReviewError(f"{paper.key}: no decision to undo")
    before = target.predicted or {}
    status = before.get("previous_status") or "review"
    item_state = before.get("previous_item_state") or ("pending" if status == "review" else "done")
    if item_state not in ("pending", "deferred", "done"):
        item_state = "done"
    labels = list(before.get("previous_labels") or [])
    audit = {
        "action": "revert", "relevance": None, "reviewer": reviewer, "model_version": target.model_version,
        "categories": [], "subcategories": [],
        "predicted": {"reverted_decision_id": target.id, "reverted_action": target.action,
                      "reverted_reviewer": target.reviewer, "previous_status": paper.status,
                      "previous_labels": paper.labels, "previous_decided_by": paper.decided_by,
                      "previous_relevance": paper.relevance, "previous_item_state": paper.item_state,
                      "note": (note or "").strip()[:2000]},
    }
    try:
        new_revision = store.apply_decision(
            paper.key, expected_revision=paper.revision, item_state=item_state, status=status, labels=labels,
            relevance=before.get("previous_relevance"), decided_by=before.get("previous_decided_by") or "",
            audit=audit)
    except IntegrityError:
        new_revision = None
    if new_revision is None:
        raise _conflict(store, paper.key, None)
    return Outcome(paper.key, "revert", status, before.get("previous_relevance"), labels, new_revision)


def promote(store: Store, key: str, reviewer: str, *, revision: int | None, index: ListIndex | None = None,
            note: str = "") -> Outcome:
    """An adjacent paper (relevant, outside the list's core) promoted to core in one click: an audited
    edit to relevance 2 filed where the model would file it, through :func:`decide` like any other."""
    index = index or load_list_index(None)
    paper = get_paper(store, key)
    if paper is None:
        raise ReviewError(f"unknown paper {key}")
    if not paper.predicted_targets:
        raise ReviewError(f"{key}: the model named no list file; open the paper and choose its subcategories")
    queued = paper.item_state in QUEUE_STATES and paper.status not in DECIDED_STATUSES
    return decide(store, key, "edit" if queued else "undo", reviewer, revision=revision, relevance=2,
                  subcategories=paper.predicted_targets, note=note or "promoted from the adjacent view", index=index)


@dataclass(frozen=True)
class BulkResult:
    """What one bulk action did: the outcomes, and per paper why it was not saved."""

    saved: list[Outcome]
    failed: list[tuple[str, str]]


def decide_each(store: Store, items: Iterable[tuple[str, int | None]], action: str, reviewer: str, *,
                index: ListIndex | None = None, note: str = "") -> BulkResult:
    """One action on a selection (key, revision shown), each through :func:`decide`: audited and
    conflict-checked per paper, so a paper someone else decided meanwhile is reported, never overwritten."""
    index = index or load_list_index(None)
    saved: list[Outcome] = []
    failed: list[tuple[str, str]] = []
    for key, revision in items:
        try:
            saved.append(decide(store, key, action, reviewer, revision=revision, index=index, note=note))
        except ReviewError as exc:  # Conflict included
            failed.append((key, str(exc)))
    return BulkResult(saved, failed)


def _conflict(store: Store, key: str, revision: int | None) -> Conflict:
    last, current = store.last_decision(key)
    current = current if current is not None else revision
    return Conflict(key, current, last.reviewer if last else None, last.action if last else None,
                    last.created_at if last else None)
