"""The oracle reviewer of a replay: a maintainer who knows every paper's label.

Labels come from the annotators' files, the dense ones last (they win): every feed paper of
2026-02..05 has one, so a replay knows the truth of each paper it sees. The oracle works the real
queue the way a maintainer does, the first N items in the queue's own order, and decides through
the real decision path (``review.decisions.decide``): its decisions land in the audit log, are
exported to ``decisions.jsonl`` by the retrain and become the next model's training labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trust_tagger.listfile.index import ListIndex
from trust_tagger.retrain.dataset import Label, annotation_source, merge_labels, read_label_file
from trust_tagger.review.decisions import decide
from trust_tagger.review.queue import ReviewError, load_queue
from trust_tagger.store.store import Store

REVIEWER = "oracle"


@dataclass(frozen=True)
class Reviewed:
    key: str
    action: str  # accept (merged), adjacent (relevant, kept off a core list), reject, defer (no label / unfileable)
    relevance: int | None
    rank: int  # the item's place in the queue when the oracle took it


class Oracle:
    """``labels`` by paper key; ``policy`` says what the list takes: ``core`` papers, or every relevant one."""

    def __init__(self, labels: dict[str, Label], policy: str = "core"):
        self.labels = labels
        self.policy = policy

    @classmethod
    def from_files(cls, paths: Iterable[Path], policy: str = "core") -> "Oracle":
        """Labels of the given annotation files; dense files win over sampled ones, later over earlier."""
        ordered = sorted(paths, key=lambda p: (annotation_source(p) == "dense", Path(p).name))
        return cls(merge_labels(*(read_label_file(p, annotation_source(p))[0] for p in ordered)), policy)

    def relevance(self, key: str) -> int | None:
        label = self.labels.get(key)
        return label.relevance if label else None

    def is_target(self, key: str) -> bool:
        """What the list should get: a core paper (relevance 2) under ``core``, any relevant one else."""
        rel = self.relevance(key)
        return rel is not None and (rel == 2 if self.policy == "core" else rel >= 1)

    def review(self, store: Store, budget: int, index: ListIndex) -> list[Reviewed]:
        """Decide the first ``budget`` items of the queue, in queue order (pending first, then deferred)."""
        out = []
        for paper in load_queue(store)[:max(budget, 0)]:
            out.append(self._decide(store, paper, index))
        return out

    def _decide(self, store: Store, paper, index: ListIndex) -> Reviewed:
        label = self.labels.get(paper.key)
        common = {"revision": paper.revision, "index": index, "note": "simulation oracle"}
        if label is None:
            decide(store, paper.key, "defer", REVIEWER, **common)
            return Reviewed(paper.key, "defer", None, paper.rank or 0)
        subs = [s for s in label.subcategories if index.is_valid(s)]
        cats = [c for c in label.categories if not any(s.split("/")[0] == c for s in subs)]
        try:
            if label.relevance == 0:
                decide(store, paper.key, "reject", REVIEWER, **common)
                action = "reject"
            elif label.relevance == 1 and self.policy == "core":
                decide(store, paper.key, "reject", REVIEWER, relevance=1, subcategories=subs, categories=cats,
                       audio_llm=label.audio_llm, **common)
                action = "adjacent"
            else:
                decide(store, paper.key, "edit", REVIEWER, relevance=label.relevance, subcategories=subs,
                       categories=cats, audio_llm=label.audio_llm, **common)
                action = "accept"
        except ReviewError:
            # A label that names no file of this list (a category without a general section): a real
            # maintainer would pick a file; the oracle cannot, and says so instead of guessing.
            decide(store, paper.key, "defer", REVIEWER, **common)
            action = "defer"
        return Reviewed(paper.key, action, label.relevance, paper.rank or 0)
