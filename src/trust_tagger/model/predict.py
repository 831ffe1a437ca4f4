"""Classify papers with a trained model: the one output contract every consumer reads.

Per valid input record ``{"arxiv_id", "title", "abstract", ...}`` one dict::

    {"arxiv_id", "relevance": P(rel>=1), "relevance_class": 0|1|2, "labels": [categories above threshold],
     "categories": {all 7: P(cat | relevant)}, "subcategories": {"cat/sub": P}, "decision":
     "accept"|"review"|"reject", "model_version"}

Records that cannot be classified (no id, empty title/abstract, not an object, bad JSON) are skipped
and reported, never fatal: one broken line must not stop a nightly run. Inference uses
``torch.inference_mode``, length-sorted batches and dynamic padding (inside the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from trust_tagger.ids import parse_arxiv_id
from trust_tagger.ingest.records import clean_text
from trust_tagger.routing import decide
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
    """The fields the model needs, cleaned; ValueError with a reason when the record is unusable."""
    if not isinstance(rec, dict):
        raise ValueError("record is not a JSON object")
    parsed = parse_arxiv_id(str(rec.get("arxiv_id") or ""))
    if parsed is None:
        raise ValueError(f"missing or invalid arxiv_id {rec.get('arxiv_id')!r}")
    out = {"arxiv_id": parsed.id}
    for name in ("title", "abstract"):
        value = rec.get(name)
        if not isinstance(value, str) or not clean_text(value):
            raise ValueError(f"{name} missing or empty")
        out[name] = clean_text(value)
    return out


def model_version(model) -> str:
    return str(getattr(model, "version", None) or getattr(model, "meta", {}).get("version") or "unversioned")


def classify_records(model, records: list[dict], progress: Callable[[int], None] | None = None,
                     skipped: list[Skipped] | None = None) -> list[dict]:
    """Predictions for the valid records, in input order; invalid ones go to ``skipped`` (if given)."""
    valid = []
    for i, rec in enumerate(records):
        try:
            valid.append(validate_record(rec))
        except ValueError as exc:
            if skipped is not None:
                skipped.append(Skipped(f"record {i}", str(exc)))
    if not valid:
        return []
    scores = model.predict_proba(valid, progress=progress)
    th = model.thresholds
    version = model_version(model)
    out = []
    for i, rec in enumerate(valid):
        cats = {c: round(float(scores.categories[i, j]), 4) for j, c in enumerate(CATEGORIES)}
        subs = {s: round(float(scores.subcategories[i, j]), 4) for j, s in enumerate(SUBCATEGORIES)}
        pred = {
            "arxiv_id": rec["arxiv_id"],
            "relevance": round(float(scores.relevance[i]), 4),
            "relevance_class": int(scores.relevance_class[i].argmax()),
            "labels": [c for c in CATEGORIES if cats[c] >= th.categories.get(c, 0.5)],
            "categories": cats,
            "subcategories": subs,
        }
        pred["decision"] = decide(pred, th)
        pred["model_version"] = version
        out.append(pred)
    return out


def read_jsonl(path: Path, skipped: list[Skipped]) -> list[dict]:
    """Parsed lines; lines that are not JSON objects are reported in ``skipped`` with their number."""
    rows = []
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                skipped.append(Skipped(f"line {n}", f"not valid JSON ({exc.msg})"))
                continue
            try:
                rows.append((n, validate_record(obj)))
            except ValueError as exc:
                skipped.append(Skipped(f"line {n}", str(exc)))
    return [r for _, r in rows]


def classify_file(model, input_path: Path, output_path: Path, progress_factory=None) -> ClassifyReport:
    """Read JSON lines, classify, write predictions atomically; returns counts and skipped lines."""
    import time

    from trust_tagger.files import atomic_write_text

    report = ClassifyReport()
    records = read_jsonl(Path(input_path), report.skipped)
    t0 = time.perf_counter()
    if progress_factory is not None and records:
        with progress_factory(len(records)) as advance:
            preds = classify_records(model, records, progress=advance)
    else:
        preds = classify_records(model, records)
    report.seconds = time.perf_counter() - t0
    report.classified = len(preds)
    atomic_write_text(output_path, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds))
    return report

