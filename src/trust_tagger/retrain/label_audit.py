"""Find labels that look wrong, so maintainers fix the training data instead of the model learning it.

Two kinds of evidence:

* **Model disagreement.** Every labeled paper gets an out-of-fold prediction (k-fold, tf-idf + logistic
  regression: ~1 s per fold, so the audit runs in seconds) and cleanlab's ``find_label_issues``
  (confident learning: per-class thresholds, robust to the class imbalance) picks the papers whose
  given label the held-out model confidently contradicts: on relevance (rel >= 1) and, among relevant
  papers, on each category. A category suspect whose given category looks wrong while another one
  looks right is an entry "filed under one category that reads as another".
* **List-internal inconsistency**, no model needed: the same title listed under two arXiv ids (a
  typo'd id), a listed id whose paper in the pool has a completely different title, and a list
  filing that a stronger label source (annotation, decision) contradicts.

Suspects can be queued for review (:func:`queue_suspects`); the maintainer's decision then becomes a
label that overrides the suspect one in the next training set.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from trust_tagger.files import atomic_write_json, atomic_write_text
from trust_tagger.ids import normalize_title
from trust_tagger.ingest.records import MalformedRecord, paper_from_dict
from trust_tagger.listfile.parse import ListSnapshot, parse_list
from trust_tagger.model.baselines import TfidfLR
from trust_tagger.model.contracts import Scores
from trust_tagger.model.heads import label_matrix
from trust_tagger.retrain.dataset import Example, Label, list_labels
from trust_tagger.review.export import DECISIONS_FILE
from trust_tagger.store.store import Store
from trust_tagger.taxonomy import CATEGORIES

# Below this difflib ratio of normalised titles, a listed id and its pool paper are suspected to differ.
# On the snapshot: 0.25 for a real wrong id (2410.10234), 0.44 for a paper retitled between versions
# (2506.09707, flagged: worth a look), 0.66 for a milder retitle (2511.13273, not flagged).
TITLE_MISMATCH = 0.5
MIN_PREFIX_WORDS = 4  # a shortened title must keep this many words to be called the same title
SOURCE_FILES = {"annotation": "annotations.jsonl", "dense": "annotations-dense-*.jsonl", "decision": DECISIONS_FILE}
AUDIT_DECIDER = "audit"  # decided_by of a paper put back into the queue by the audit


@dataclass
class Suspect:
    """One label that looks wrong, with where it came from and why it is suspected.

    ``kind``: relevance | category | wrong_id | list_conflict. ``predicted``: the out-of-fold
    probability behind a model suspicion (P(rel>=1), or P(category) of the category in question).
    ``score`` ranks suspects (1 - the model's confidence in the given label; 1.0 for list evidence).
    """

    key: str
    arxiv_id: str | None
    title: str
    kind: str
    given: str
    predicted: float | None
    source: str
    where: str
    reason: str
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


# -- out-of-fold predictions ----------------------------------------------------------------------
def out_of_fold_scores(examples: Sequence[Example], folds: int = 5, seed: int = 0) -> Scores:
    """Held-out predictions for every example: each fold is scored by a model that never saw it.

    BLAS is held to one thread: lbfgs on tf-idf makes many tiny BLAS calls, and threaded BLAS made a
    fit ~13x slower (23 s vs 1.7 s per fold, measured on 2 cores with another job running).
    """
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    rel = np.array([e.relevant for e in examples], dtype=int)
    n = len(examples)
    out = Scores(np.zeros(n), np.zeros((n, 3)), np.zeros((n, len(CATEGORIES))), np.zeros((n, 0)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(n), rel):
        with threadpool_limits(limits=1, user_api="blas"):
            model = TfidfLR().fit([examples[i] for i in train_idx])
            scores = model.predict_proba([examples[i] for i in test_idx])
        out.relevance[test_idx] = scores.relevance
        out.relevance_class[test_idx] = scores.relevance_class
        out.categories[test_idx] = scores.categories
    return out


def _issues(labels: np.ndarray, p_positive: np.ndarray) -> np.ndarray:
    """Indices cleanlab flags for a binary label, most suspicious first; none when a class is absent."""
    from cleanlab.filter import find_label_issues

    labels = labels.astype(int)
    if len(np.unique(labels)) < 2:
        return np.array([], dtype=int)
    pred_probs = np.column_stack([1 - p_positive, p_positive])
    return np.asarray(find_label_issues(labels, pred_probs, return_indices_ranked_by="self_confidence"), dtype=int)


def _given_relevance(e: Example) -> str:
    if not e.relevant:
        return "relevance 0"
    return f"relevance {e.relevance}" + ("" if e.relevance_exact else " (from the list: >= 1)")


def relevance_suspects(examples: Sequence[Example], scores: Scores, where: dict[str, str]) -> list[Suspect]:
    rel, *_ = label_matrix(examples)
    out = []
    for i in _issues(rel, scores.relevance):
        e, p = examples[i], float(scores.relevance[i])
        reason = (f"labelled relevant but the held-out model gives P(rel>=1)={p:.2f}" if e.relevant
                  else f"labelled out of scope but the held-out model gives P(rel>=1)={p:.2f}")
        out.append(_model_suspect(e, "relevance", _given_relevance(e), p, reason,
                                  1 - p if e.relevant else p, where))
    return out


def category_suspects(examples: Sequence[Example], scores: Scores, where: dict[str, str]) -> list[Suspect]:
    """Per category among relevant papers; one suspect per paper naming every contradicted category."""
    relevant = [i for i, e in enumerate(examples) if e.relevant]
    _, _, _, cats, _ = label_matrix([examples[i] for i in relevant])
    probs = scores.categories[relevant]
    flagged: dict[int, list[int]] = {}
    for j in range(len(CATEGORIES)):
        for i in _issues(cats[:, j], probs[:, j]):
            flagged.setdefault(int(i), []).append(j)
    out = []
    for i, cols in flagged.items():
        e = examples[relevant[i]]
        given = _named(probs[i], [j for j in range(len(CATEGORIES)) if cats[i, j]]) or "no category"
        missing = [j for j in cols if not cats[i, j]]
        doubted = [CATEGORIES[j] for j in cols if cats[i, j]]
        reason = (f"labelled {given} but reads as {_named(probs[i], missing)}" if missing
                  else f"labelled {given}: the held-out model doubts {', '.join(doubted)}")
        confidence = [1 - probs[i, j] if cats[i, j] else probs[i, j] for j in cols]
        worst = int(cols[int(np.argmax(confidence))])
        out.append(_model_suspect(e, "category", "categories " + ",".join(e.categories or ["-"]),
                                  float(probs[i, worst]), reason, float(max(confidence)), where))
    return out


def _named(p: np.ndarray, columns: Iterable[int]) -> str:
    return ", ".join(f"{CATEGORIES[j]} (P={p[j]:.2f})" for j in columns)


def _model_suspect(e: Example, kind: str, given: str, p: float, reason: str, score: float,
                   where: dict[str, str]) -> Suspect:
    return Suspect(e.key, e.arxiv_id, e.title, kind, given, round(p, 4), e.source,
                   where.get(e.key) or SOURCE_FILES.get(e.source, e.source), reason, round(score, 4))


# -- list-internal evidence -----------------------------------------------------------------------
def title_similarity(a: str, b: str) -> float:
    """difflib ratio of normalised titles (1.0 = same title)."""
    return difflib.SequenceMatcher(None, normalize_title(a), normalize_title(b), autojunk=False).ratio()


def same_title(a: str, b: str) -> bool:
    """Equal normalised titles, or one is the other cut short (lists often drop a subtitle)."""
    x, y = normalize_title(a), normalize_title(b)
    if not x or not y:
        return False
    short, long = sorted((x, y), key=len)
    return short == long or (long.startswith(short + " ") and len(short.split()) >= MIN_PREFIX_WORDS)


def wrong_id_suspects(snapshot: ListSnapshot, pool: dict[str, dict]) -> list[Suspect]:
    """Listed arXiv ids that point at another paper than the list's title says, one per list line."""
    entries = list({(e.key, e.file): e for e in snapshot.entries if e.key.startswith("arxiv:")}.values())
    out = []
    for e in entries:
        own = pool.get(e.key)
        ratio = title_similarity(e.title, own["title"]) if own else 0.0
        if own is not None and ratio < TITLE_MISMATCH:
            out.append(_list_suspect(e, f"the list's title does not match arXiv {e.key[6:]} "
                                        f"(\"{own['title']}\", title similarity {ratio:.2f}): wrong id?"))
            continue
        twins = [t for t in entries if t.key != e.key and same_title(e.title, t.title) and t.key in pool
                 and title_similarity(t.title, pool[t.key]["title"]) >= TITLE_MISMATCH]
        if own is None and twins:
            twin = min(twins, key=lambda t: not t.file.startswith("papers/"))  # a filing beats a README mention
            out.append(_list_suspect(e, f"same title as {twin.key} in {twin.file}:{twin.line_no + 1}, and "
                                        f"{e.key} is not in the paper pool: wrong id (should be {twin.key[6:]}?)"))
    return out


def list_conflicts(list_dir: Path, examples: Sequence[Example], snapshot: ListSnapshot) -> list[Suspect]:
    """List filings that the label actually trained on (annotation or decision) contradicts."""
    filed: dict[str, Label] = list_labels(list_dir)
    out = []
    for e in examples:
        lab = filed.get(e.key)
        if lab is None or e.source == "list" or not lab.categories:
            continue
        if not e.relevant:
            reason = f"filed under {', '.join(lab.subcategories)} but the {e.source} says out of scope (relevance 0)"
        elif not set(lab.categories) <= set(e.categories):  # a label that only adds categories is no conflict
            reason = (f"filed under {', '.join(lab.subcategories)} but the {e.source} reads it as "
                      f"{', '.join(e.subcategories or e.categories)}")
        else:
            continue
        files = [f for f in snapshot.files_for(e.key) if f.startswith("papers/")]
        out.append(Suspect(e.key, e.arxiv_id, e.title, "list_conflict", "filed under " + ", ".join(lab.subcategories),
                           None, "list", ", ".join(files), reason, 1.0))
    return out


def _list_suspect(entry, reason: str) -> Suspect:
    return Suspect(entry.key, entry.key[6:] if entry.key.startswith("arxiv:") else None, entry.title, "wrong_id",
                   f"listed as {entry.link}", None, "list", f"{entry.file}:{entry.line_no + 1}", reason, 1.0)


def _list_locations(snapshot: ListSnapshot, examples: Iterable[Example]) -> dict[str, str]:
    """Where each list-sourced label comes from: its papers/ (or collections/) files."""
    return {e.key: ", ".join(snapshot.files_for(e.key)) for e in examples if e.source == "list"}


# -- the audit ------------------------------------------------------------------------------------
def audit_labels(examples: Sequence[Example], list_dir: Path | None = None, pool: dict[str, dict] | None = None,
                 *, folds: int = 5, seed: int = 0) -> list[Suspect]:
    """All suspects, list evidence first, then model disagreement by confidence.

    ``examples`` is the training set as built (all splits: a wrong label in the test split misleads
    the promotion gate). List checks run only when ``list_dir`` (and, for ids, ``pool``) are given.
    """
    snapshot = parse_list(list_dir) if list_dir is not None else None
    where = _list_locations(snapshot, examples) if snapshot else {}
    scores = out_of_fold_scores(examples, folds=folds, seed=seed)
    suspects: list[Suspect] = []
    if snapshot is not None:
        if pool is not None:
            suspects += wrong_id_suspects(snapshot, pool)
        suspects += list_conflicts(Path(list_dir), examples, snapshot)
    suspects += sorted(relevance_suspects(examples, scores, where) + category_suspects(examples, scores, where),
                       key=lambda s: -s.score)
    return suspects


def audit_from_settings(settings, folds: int = 5, seed: int = 0) -> list[Suspect]:
    """The audit of the training set ``retrain`` would build right now."""
    from trust_tagger.retrain.dataset import build_dataset, load_pool

    pool = load_pool(settings.path(settings.snapshot_path))
    list_dir = settings.path(settings.list_dir)
    ds = build_dataset(list_dir, settings.path(settings.labeled_dir), pool)
    return audit_labels(ds.examples, list_dir, pool, folds=folds, seed=seed)


# -- review queue ---------------------------------------------------------------------------------
def queue_suspects(store: Store, suspects: Iterable[Suspect], pool: dict[str, dict]) -> tuple[int, list[str]]:
    """Put each suspect paper (back) into the review queue; return (queued, keys not in the pool).

    The paper is stored from the pool if missing, marked ``review`` and its item (re)opened, with the
    audit score as priority so confident suspicions come first. A wrong id whose paper is not in the pool
    cannot be reviewed as a paper: it is returned for a hand fix of the list.
    """
    best: dict[str, float] = {}
    for s in suspects:
        best[s.key] = max(best.get(s.key, 0.0), s.score)
    queued, missing = 0, []
    for key, score in best.items():
        rec = pool.get(key)
        if rec is None:
            missing.append(key)
            continue
        try:
            store.upsert_paper(paper_from_dict(rec), source="audit")
        except MalformedRecord:
            missing.append(key)
            continue
        row = store.get_paper(key)
        if row.status != "review":
            store.set_status(key, "review", labels=list(row.labels), decided_by=AUDIT_DECIDER)
        store.enqueue(key, None, score, reopen=True)
        queued += 1
    return queued, missing


def suspects_markdown(suspects: Sequence[Suspect]) -> str:
    """A table for the report and the terminal."""
    lines = ["| # | kind | paper | given | P | source | reason |", "|---|---|---|---|---|---|---|"]
    for n, s in enumerate(suspects, 1):
        title = re.sub(r"\|", "/", s.title)[:80]
        p = "" if s.predicted is None else f"{s.predicted:.2f}"
        lines.append(f"| {n} | {s.kind} | {s.arxiv_id or s.key} {title} | {s.given} | {p} | "
                     f"{s.source}: {s.where} | {s.reason.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def write_audit_report(settings, suspects: Sequence[Suspect]) -> Path:
    """``reports/audit-<ts>/suspects.json`` and ``suspects.md``: the list a maintainer works through."""
    out = settings.path(settings.reports_dir) / f"audit-{dt.datetime.now():%Y%m%dT%H%M%S}"
    atomic_write_json(out / "suspects.json", [s.to_dict() for s in suspects])
    atomic_write_text(out / "suspects.md", f"# Label audit: {len(suspects)} suspects\n\n" + suspects_markdown(suspects))
    return out
