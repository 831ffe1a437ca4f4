"""TODO docstring (review.export, from review.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from trust_tagger.files import atomic_write_text
from trust_tagger.review.decisions import LABEL_ACTIONS
from trust_tagger.store.schema import DecisionRow, PaperRow
from trust_tagger.store.store import Store


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
