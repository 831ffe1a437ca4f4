"""Review decisions out of the store: the audit log as dicts, and the training labels file.

Each store's audit log is the truth for its decisions; ``decisions.jsonl`` next to the annotations
gathers the labels of every store that exported into it and is what the dataset builder reads as the
strongest label source. It is merged into, never rewritten from one store: it used to be rebuilt from
whichever ``--db`` exported last, and one review against a second database cut it from 6 decisions to 1.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from trust_tagger.files import BadLine, atomic_write_bytes, directory_lock, iter_jsonl
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
    reverted: dict[str, object] = {}
    for d, arxiv_id in store.label_decisions(STACK_ACTIONS):
        if not arxiv_id:
            continue  # the trainer joins labels to text by arXiv id; the audit log still has the row
        stack = stacks.setdefault(arxiv_id, [])
        if d.action == "revert":
            if stack and stack.pop().action in LABEL_ACTIONS:
                reverted[arxiv_id] = d
        else:
            stack.append(d)
    latest: dict[str, dict] = {}
    for arxiv_id, stack in stacks.items():
        d = next((d for d in reversed(stack) if d.action in LABEL_ACTIONS), None)
        if d is None:
            if arxiv_id in reverted:  # every label undone: a tombstone, so a merged export drops it too
                r = reverted[arxiv_id]
                latest[arxiv_id] = {"arxiv_id": arxiv_id, "retracted": True, "reviewer": r.reviewer,
                                    "decided_at": _iso(r.created_at), "action": "revert"}
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
    """Merge this store's labels into ``path`` (JSON lines); returns how many papers the file labels.

    One label per paper, the latest decision winning (``decided_at``; on a tie the exporting store's,
    which is the one just made when a page exports after each decision). A paper never leaves the file,
    so it never shrinks, whichever store exports; a line that cannot be read is kept as it is, at the
    end. Under the labeled folder's lock, so the TUI, the web page and a retrain exporting at once
    never lose each other's labels; atomic, and re-running it changes nothing.
    """
    path = Path(path)
    ours = decision_records(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with directory_lock(path.parent, timeout=60.0):
        labels, kept = _read_export(path) if path.exists() else ({}, [])
        for record in ours:
            _keep_latest(labels, record, tie_wins=True)
        body = "".join(json.dumps(labels[k], ensure_ascii=False) + "\n" for k in sorted(labels))
        atomic_write_bytes(path, body.encode("utf-8") + b"".join(line + b"\n" for line in kept))
    return sum(not r.get("retracted") for r in labels.values())


def _keep_latest(labels: dict[str, dict], record: dict, tie_wins: bool) -> None:
    old = labels.get(record["arxiv_id"])
    new_at, old_at = str(record.get("decided_at") or ""), str((old or {}).get("decided_at") or "")
    if old is None or new_at > old_at or (tie_wins and new_at == old_at):
        labels[record["arxiv_id"]] = record


def _read_export(path: Path) -> tuple[dict[str, dict], list[bytes]]:
    """The labels already in the file by arXiv id, and the raw lines that are not labels (kept)."""
    raw = path.read_bytes().split(b"\n")
    labels: dict[str, dict] = {}
    kept: list[bytes] = []
    for n, obj in iter_jsonl(path):
        if isinstance(obj, BadLine) or not isinstance(obj, dict) or not isinstance(obj.get("arxiv_id"), str):
            kept.append(raw[n - 1].rstrip(b"\r"))
        else:
            _keep_latest(labels, obj, tie_wins=True)  # within the file, the later line is the later export
    return labels, kept


def decisions_path(settings) -> Path:
    """Where review decisions are exported for the next training set."""
    return settings.path(settings.labeled_dir) / DECISIONS_FILE
