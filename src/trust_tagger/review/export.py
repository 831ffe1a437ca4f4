"""Review decisions out of the store: the audit log as dicts, and the training labels file.

The audit log is the truth; ``decisions.jsonl`` next to the annotations is derived from it and is
what the dataset builder reads as the strongest label source.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trust_tagger.files import write_jsonl
from trust_tagger.review.decisions import LABEL_ACTIONS, STACK_ACTIONS
from trust_tagger.store.store import Store


# -- audit log and training labels ------------------------------------------------------------------
def audit_log(store: Store, key: str | None = None, limit: int | None = None) -> list[dict]:
    """Decisions newest first, as plain dicts (for pages and ``--list``)."""
    return [{"id": d.id, "key": d.key, "action": d.action, "relevance": d.relevance,
             "categories": list(d.categories), "subcategories": list(d.subcategories),
             "reviewer": d.reviewer, "model_version": d.model_version, "predicted": dict(d.predicted),
             "decided_at": _iso(d.created_at)} for d in store.decisions(key, limit)]

DECISIONS_FILE = "decisions.jsonl"


def _iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def decision_records(store: Store) -> list[dict]:
    """One training label per paper: its latest label-carrying decision still standing.

    The audit log is replayed per paper as a stack: a ``revert`` (an undo on a screen) takes back the
    decision before it, so a label a maintainer undid never reaches training; defers say nothing
    about the paper but are on the stack, because a revert may take one back."""
    stacks: dict[str, list] = {}
    for d, arxiv_id in store.label_decisions(STACK_ACTIONS):
        if not arxiv_id:
            continue  # the trainer joins labels to text by arXiv id; the audit log still has the row
        stack = stacks.setdefault(arxiv_id, [])
        if d.action == "revert":
            if stack:
                stack.pop()
        else:
            stack.append(d)
    latest: dict[str, dict] = {}
    for arxiv_id, stack in stacks.items():
        d = next((d for d in reversed(stack) if d.action in LABEL_ACTIONS), None)
        if d is None:
            continue
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
    return write_jsonl(path, decision_records(store))


def decisions_path(settings) -> Path:
    """Where review decisions are exported for the next training set."""
    return settings.path(settings.labeled_dir) / DECISIONS_FILE
