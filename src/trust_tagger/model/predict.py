"""Classify papers with a trained model: the one output contract every consumer reads.

Per valid input record ``{"arxiv_id", "title", "abstract", ...}`` one dict::

    {"arxiv_id", "relevance": P(rel>=1), "core": P(rel=2), "relevance_class": 0|1|2, "labels": [categories above threshold],
     "categories": {all 7: P(cat | relevant)}, "subcategories": {"cat/sub": P}, "policy":
     "core"|"relevant", "decision": "accept"|"review"|"reject" (under that policy), "model_version"}

Records that cannot be classified (no id, empty title/abstract, not an object, bad JSON) are skipped
and reported, never fatal: one broken line must not stop a nightly run. Inference uses
``torch.inference_mode``, length-sorted batches and dynamic padding (inside the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from trust_tagger.files import BadLine, iter_jsonl
from trust_tagger.ingest.records import MalformedRecord, paper_from_dict
from trust_tagger.routing import label_mask, route
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES


@dataclass
class Skipped:
    where: str  # "line 7" or "record 3"
    reason: str


@dataclass
class ClassifyReport:
    classified: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def papers_per_second(self) -> float:
        return self.classified / self.seconds if self.seconds > 0 else float("nan")


def validate_record(rec) -> dict:
    """The fields the model needs, checked by the one record validator (``ingest.records``)."""
    paper = paper_from_dict(rec, require_date=False)
    return {"arxiv_id": paper.arxiv_id, "title": paper.title, "abstract": paper.abstract}


def model_version(model) -> str:
    return str(getattr(model, "version", None) or getattr(model, "meta", {}).get("version") or "unversioned")


def classify_records(model, records: list[dict], progress: Callable[[int], None] | None = None,
                     skipped: list[Skipped] | None = None, policy: str = "core") -> list[dict]:
    """Predictions for the valid records, in input order; invalid ones go to ``skipped`` (if given)."""
    valid = []
    for i, rec in enumerate(records):
        try:
            valid.append(validate_record(rec))
        except MalformedRecord as exc:
            if skipped is not None:
                skipped.append(Skipped(f"record {i}", str(exc)))
    if not valid:
        return []
    scores = model.predict_proba(valid, progress=progress)
    th = model.thresholds
    version = model_version(model)
    labels = label_mask(scores.categories, CATEGORIES, th.categories, th.category_rule)
    out = []
    for i, rec in enumerate(valid):
        cats = {c: round(float(scores.categories[i, j]), 4) for j, c in enumerate(CATEGORIES)}
        subs = {s: round(float(scores.subcategories[i, j]), 4) for j, s in enumerate(SUBCATEGORIES)}
        pred = {
            "arxiv_id": rec["arxiv_id"],
            "relevance": round(float(scores.relevance[i]), 4),
            "core": round(float(scores.core[i]), 4),
            "relevance_class": int(scores.relevance_class[i].argmax()),
            "labels": [c for c, on in zip(CATEGORIES, labels[i]) if on],
            "categories": cats,
            "subcategories": subs,
        }
        pred["policy"] = policy
        pred["decision"] = route(pred, th, policy)
        pred["model_version"] = version
        out.append(pred)
    return out


def read_records(path: Path, skipped: list[Skipped]) -> list[dict]:
    """Valid records of a JSON-lines file; every other line is reported in ``skipped`` with its number."""
    rows = []
    for n, obj in iter_jsonl(path):
        try:
            if isinstance(obj, BadLine):
                raise MalformedRecord(obj.reason)
            rows.append(validate_record(obj))
        except MalformedRecord as exc:
            skipped.append(Skipped(f"line {n}", str(exc)))
    return rows


def classify_file(model, input_path: Path, output_path: Path, progress_factory=None,
                  policy: str = "core") -> ClassifyReport:
    """Read JSON lines, classify, write predictions atomically; returns counts and skipped lines."""
    import time

    from trust_tagger.files import atomic_write_text

    report = ClassifyReport()
    records = read_records(Path(input_path), report.skipped)
    t0 = time.perf_counter()
    if progress_factory is not None and records:
        with progress_factory(len(records)) as advance:
            preds = classify_records(model, records, progress=advance, policy=policy)
    else:
        preds = classify_records(model, records, policy=policy)
    report.seconds = time.perf_counter() - t0
    report.classified = len(preds)
    atomic_write_text(output_path, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds))
    return report

