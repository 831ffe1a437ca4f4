"""The labeled set the classifier learns from, built the same way every time.

Three label sources, weakest first: the awesome list (a paper under ``papers/<cat>/<sub>.md`` is a
trust paper filed there; a paper only under ``collections/`` is an audio-LLM paper that is *not* a
trust paper), the annotators' file ``annotations.jsonl``, and the maintainers' review decisions
exported as ``decisions*.jsonl`` (same schema as the annotations). A stronger source replaces the
whole label of a paper, and among decisions the later one wins (files in name order, lines in file
order), so a maintainer correcting a list entry or an annotation is always obeyed.

The split is a pure function of the paper key (sha256 bucket), never of the label set: adding
labels never moves a paper between train, validation and the frozen test split, so test figures of
successive model versions stay comparable. Papers without an abstract in the pool are reported
(count and ids), never given an invented text.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from trust_tagger.files import BadLine, iter_jsonl, write_jsonl
from trust_tagger.ids import normalize_title, paper_key, parse_arxiv_id
from trust_tagger.ingest.records import clean_text
from trust_tagger.ingest.sources import read_feed
from trust_tagger.taxonomy import CATEGORIES, normalize_subcategory

SPLIT_SALT = "trust-tagger-split-v1"
TEST_PERCENT = 15  # frozen: changing it would move papers into or out of the test split
VALIDATION_PERCENT = 20
DATASET_FILE = "dataset.jsonl"


def split_of(key: str) -> str:
    """train / validation / test from a salted sha256 of the paper key: stable across label changes."""
    bucket = int(hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).hexdigest(), 16) % 100
    if bucket < TEST_PERCENT:
        return "test"
    if bucket < TEST_PERCENT + VALIDATION_PERCENT:
        return "validation"
    return "train"


@dataclass
class Label:
    """One paper's label as a source gave it. ``relevance_exact`` is False when only rel>=1 is known."""

    key: str
    relevance: int
    categories: list[str] = field(default_factory=list)
    subcategories: list[str] = field(default_factory=list)
    audio_llm: bool | None = None
    source: str = "annotation"
    relevance_exact: bool = True
    note: str = ""
    title: str = ""  # list entries only: matches papers the list links outside arXiv or under a wrong id


@dataclass
class Example:
    """A labeled paper with its text: one line of ``dataset.jsonl``."""

    arxiv_id: str
    key: str
    title: str
    abstract: str
    arxiv_categories: list[str]
    date: str
    relevance: int
    relevance_exact: bool
    categories: list[str]
    subcategories: list[str]
    audio_llm: bool | None
    source: str
    split: str

    @property
    def relevant(self) -> bool:
        return self.relevance >= 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Dataset:
    examples: list[Example]
    missing_abstract: list[str]  # keys with a label but no text in the pool
    data_hash: str
    sources: dict[str, int]

    def split(self, name: str) -> list[Example]:
        return [e for e in self.examples if e.split == name]

    def counts(self) -> dict:
        out: dict = {"total": len(self.examples), "missing_abstract": len(self.missing_abstract),
                     "sources": dict(self.sources)}
        for part in ("train", "validation", "test"):
            exs = self.split(part)
            out[part] = {
                "n": len(exs),
                "relevance": dict(sorted(Counter(e.relevance for e in exs).items())),
                "categories": dict(Counter(c for e in exs for c in e.categories)),
            }
        return out


def _label_from_record(raw: dict, source: str) -> Label:
    """Validate one annotation/decision line; raises ValueError on a line that cannot be used."""
    parsed = parse_arxiv_id(str(raw.get("arxiv_id") or ""))
    if parsed is None:
        raise ValueError(f"bad arxiv_id {raw.get('arxiv_id')!r}")
    rel = raw.get("relevance")
    if isinstance(rel, bool) or rel not in (0, 1, 2):
        raise ValueError(f"relevance must be 0, 1 or 2, got {rel!r}")
    subs = []
    for s in raw.get("subcategories") or []:
        norm = normalize_subcategory(str(s))
        if norm and norm not in subs:
            subs.append(norm)
    cats = [c for c in CATEGORIES if c in set(raw.get("categories") or []) or any(s.startswith(c + "/") for s in subs)]
    if rel == 0:
        cats, subs = [], []
    audio_llm = raw.get("audio_llm")
    return Label(key=f"arxiv:{parsed.id}", relevance=int(rel), categories=cats, subcategories=subs,
                 audio_llm=bool(audio_llm) if audio_llm is not None else None, source=source,
                 note=str(raw.get("note") or ""))


def read_label_file(path: Path, source: str) -> tuple[list[Label], list[str]]:
    """Labels of one JSON-lines file in line order, plus a message per unusable line."""
    labels, problems = [], []
    for n, obj in iter_jsonl(path):
        try:
            if isinstance(obj, BadLine):
                raise obj
            if isinstance(obj, dict) and obj.get("retracted"):
                labels = [lab for lab in labels if lab.key != paper_key(str(obj.get("arxiv_id") or ""))]
                continue  # an undone review decision (review.export tombstone): no label from this file
            labels.append(_label_from_record(obj, source))
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(f"{Path(path).name}:{n}: {exc.reason if isinstance(exc, BadLine) else exc}")
    return labels, problems


def list_labels(list_dir: Path, pool: dict[str, dict] | None = None) -> dict[str, Label]:
    """Labels the awesome list implies: filed under papers/ -> trust paper; only in collections/ -> 0.

    With a pool, entries whose key the pool lacks (openreview/aclanthology/other links, a wrong
    arXiv id) are matched to a pool paper by exact normalised title before entries are grouped,
    so all files naming one paper add up to one label.
    """
    from trust_tagger.listfile.parse import parse_list

    snap = parse_list(Path(list_dir))
    by_title = _title_index(pool) if pool else {}
    files: dict[str, set[str]] = {}
    titles: dict[str, str] = {}
    for entry in snap.entries:
        key = entry.key
        if pool is not None and key not in pool:
            key = by_title.get(normalize_title(str(entry.title or "")), key)
        files.setdefault(key, set()).add(str(entry.file))
        titles.setdefault(key, str(entry.title or ""))
    out: dict[str, Label] = {}
    for key, fset in files.items():
        subs: list[str] = []
        for f in sorted(fset):
            norm = normalize_subcategory(f) if f.startswith("papers/") else None
            if norm and norm not in subs:
                subs.append(norm)
        if subs:
            cats = [c for c in CATEGORIES if any(s.startswith(c + "/") for s in subs)]
            # The list is about large audio models, but it does not tell core (2) from adjacent (1).
            out[key] = Label(key, 2, cats, sorted(subs), None, "list", relevance_exact=False, title=titles[key])
        elif any(f.startswith("collections/") for f in fset):
            out[key] = Label(key, 0, [], [], True, "list", title=titles[key])
    return out


def _title_index(pool: dict[str, dict]) -> dict[str, str]:
    by_title: dict[str, str] = {}
    for key, rec in pool.items():
        t = normalize_title(str(rec.get("title") or ""))
        if t:
            by_title.setdefault(t, key)
    return by_title


def decision_files(labeled_dir: Path) -> list[Path]:
    return sorted(Path(labeled_dir).glob("decisions*.jsonl"))


def annotation_files(labeled_dir: Path) -> list[Path]:
    """The annotators' files: ``annotations.jsonl`` (sampled) and ``annotations-dense-*.jsonl`` (every feed
    paper of a period, at the natural prior), in name order."""
    return sorted(Path(labeled_dir).glob("annotations*.jsonl"))


def annotation_source(path: Path) -> str:
    """"dense" for a densely labeled period (the temporal protocol draws validation and holdout from
    it: only there is the share of relevant papers the feed's own), else "annotation"."""
    return "dense" if Path(path).name.startswith("annotations-dense") else "annotation"


def merge_labels(*sources: Iterable[Label]) -> dict[str, Label]:
    """Later sources (and later items within a source) replace earlier ones, whole label at a time."""
    merged: dict[str, Label] = {}
    for src in sources:
        for label in src:
            merged[label.key] = label
    return merged


def load_pool(path: Path) -> dict[str, dict]:
    """The paper pool (jsonl or jsonl.gz) by key; the last line wins for a repeated paper."""
    pool: dict[str, dict] = {}
    for rec in read_feed(Path(path)):
        if not isinstance(rec, dict):  # unreadable lines and non-objects carry no paper
            continue
        try:
            pool[paper_key(str(rec.get("arxiv_id") or ""), str(rec.get("title") or ""))] = rec
        except ValueError:
            continue
    return pool


def data_hash(examples: Iterable[Example]) -> str:
    """sha256 over the sorted (key, text, labels) of the examples: identifies what a model saw."""
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.key):
        row = [e.key, e.title, e.abstract, e.relevance, e.relevance_exact, sorted(e.categories),
               sorted(e.subcategories), e.split]
        h.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


def build_dataset(list_dir: Path | None, labeled_dir: Path, pool: dict[str, dict] | Path,
                  exclude_keys: Iterable[str] = (), problems: list[str] | None = None) -> Dataset:
    """Merge list, annotations and decisions, attach pool text, split by key hash.

    ``exclude_keys`` holds papers that must never be trained on (e.g. the later-papers check).
    """
    if not isinstance(pool, dict):
        pool = load_pool(pool)
    problems = problems if problems is not None else []
    layers: list[list[Label]] = []
    if list_dir is not None and Path(list_dir).exists():
        layers.append(list(list_labels(Path(list_dir), pool).values()))
    for ann in annotation_files(Path(labeled_dir)):
        labels, probs = read_label_file(ann, annotation_source(ann))
        layers.append(labels)
        problems.extend(probs)
    for path in decision_files(Path(labeled_dir)):
        labels, probs = read_label_file(path, "decision")
        layers.append(labels)
        problems.extend(probs)
    merged = merge_labels(*layers)
    excluded = set(exclude_keys)
    examples, missing = [], []
    for key in sorted(merged):
        if key in excluded:
            continue
        lab = merged[key]
        rec = pool.get(key)
        abstract = clean_text(str((rec or {}).get("abstract") or ""))
        if rec is None or not abstract:
            missing.append(key)
            continue
        examples.append(Example(
            arxiv_id=key.split(":", 1)[1], key=key, title=clean_text(str(rec.get("title") or "")),
            abstract=abstract, arxiv_categories=[str(c) for c in rec.get("categories") or []],
            date=str(rec.get("date") or "")[:10], relevance=lab.relevance, relevance_exact=lab.relevance_exact,
            categories=list(lab.categories), subcategories=list(lab.subcategories), audio_llm=lab.audio_llm,
            source=lab.source, split=split_of(key)))
    sources = Counter(e.source for e in examples)
    return Dataset(examples, missing, data_hash(examples), dict(sources))


def write_dataset(ds: Dataset, path: Path) -> None:
    write_jsonl(path, (e.to_dict() for e in ds.examples))


def read_dataset(path: Path) -> list[Example]:
    """A dataset file this tool wrote; a bad line is an error here (the file is ours, not input)."""
    out = []
    for _, obj in iter_jsonl(path):
        if isinstance(obj, BadLine):
            raise obj
        out.append(Example(**obj))
    return out


def build_from_settings(settings, exclude_keys: Iterable[str] = ()) -> Dataset:
    return build_dataset(settings.path(settings.list_dir), settings.path(settings.labeled_dir),
                         settings.path(settings.snapshot_path), exclude_keys=exclude_keys)


def later_papers(old_list_dir: Path, new_list_dir: Path, pool: dict[str, dict],
                 labeled_dir: Path | None = None) -> list[Example]:
    """Papers the maintainers added between two list snapshots and that the pool has text for.

    Labels come from the newer list, overridden by annotations/decisions where present (the same
    rule as training). This is the temporal check: the closest thing to the unseen future feed.

    Every annotators' file overrides, the dense one included. Before, only ``annotations.jsonl`` did,
    so 2026-02..06 papers the maintainers put only under ``collections/`` kept the list's relevance 0
    though the dense labels call them core. VIBE, HalluAudio and an audio narrative jailbreak were
    three of them, and the core policy's merges of them counted as wrong (merge precision 0.17 on the
    benchmark's later papers).
    """
    old = list_labels(Path(old_list_dir), pool)
    new = list_labels(Path(new_list_dir), pool)
    added = {k: v for k, v in new.items() if k not in old}
    layers: list[list[Label]] = [list(added.values())]
    if labeled_dir is not None:
        for ann in annotation_files(Path(labeled_dir)):
            layers.append([lab for lab in read_label_file(ann, annotation_source(ann))[0] if lab.key in added])
        for path in decision_files(Path(labeled_dir)):
            layers.append([lab for lab in read_label_file(path, "decision")[0] if lab.key in added])
    merged = merge_labels(*layers)
    out = []
    for key in sorted(merged):
        rec = pool.get(key)
        if rec is None or not clean_text(str(rec.get("abstract") or "")):
            continue
        lab = merged[key]
        out.append(Example(
            arxiv_id=key.split(":", 1)[1], key=key, title=clean_text(str(rec.get("title") or "")),
            abstract=clean_text(str(rec["abstract"])), arxiv_categories=[str(c) for c in rec.get("categories") or []],
            date=str(rec.get("date") or "")[:10], relevance=lab.relevance, relevance_exact=lab.relevance_exact,
            categories=list(lab.categories), subcategories=list(lab.subcategories), audio_llm=lab.audio_llm,
            source=lab.source, split="later"))
    return out


# -- the temporal protocol -----------------------------------------------------------------------
TEMPORAL_VALIDATION_FROM = "2026-03-01"  # dense March papers choose epochs, blend, calibration, thresholds
TEMPORAL_HOLDOUT_FROM = "2026-04-01"     # dense papers from April on: reported, never used for a choice


@dataclass
class TemporalSplit:
    """Train on the past, choose on the next month, report on the months after.

    A random split flatters: v1 scored AP 0.958 on it and 0.784 on papers the maintainers added later.
    Validation and holdout are the *dense* labels (every feed paper of those months), so their share
    of relevant papers is the feed's own and thresholds chosen there hold at the natural prior. Labels
    of other sources dated in or after the validation month are left out of training (the future must
    not leak in), except review decisions: they are the loop's own feedback on new papers, and a
    retrain that dropped every decision dated after the validation month would never learn from the
    feed again. The frozen hashed test split stays out of training for the promotion gate.
    """

    train: list[Example]
    validation: list[Example]
    holdout: list[Example]
    left_out: int

    def counts(self) -> dict:
        def c(exs):
            return {"n": len(exs), "relevant": sum(e.relevance >= 1 for e in exs),
                    "core": sum(e.relevance == 2 for e in exs)}
        return {"train": c(self.train), "validation": c(self.validation), "holdout": c(self.holdout),
                "left_out": self.left_out}


def temporal_split(examples: Iterable[Example], validation_from: str = TEMPORAL_VALIDATION_FROM,
                   holdout_from: str = TEMPORAL_HOLDOUT_FROM, keep_test_out: bool = True) -> TemporalSplit:
    train, val, hold, left = [], [], [], 0
    for e in examples:
        if e.source == "dense" and e.date >= holdout_from:
            hold.append(e)
        elif keep_test_out and e.split == "test":
            left += 1
        elif e.source == "dense" and e.date >= validation_from:
            val.append(e)
        elif e.date >= validation_from and e.source != "decision":
            left += 1  # a sampled label from the validation or holdout months: future knowledge
        else:
            train.append(e)
    return TemporalSplit(train, val, hold, left)
