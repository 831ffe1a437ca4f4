"""The list as the review screens need it: its taxonomy (which labels are valid) and a
near-duplicate lookup (same paper under another link form, or a similar title)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trust_tagger.ids import normalize_title
from trust_tagger.listfile.parse import ListSnapshot, parse_list, target_file
from trust_tagger.taxonomy import guide_taxonomy

SIMILAR_TITLE = 0.88  # difflib ratio of normalised titles above which two papers are shown as duplicates


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
        return ListIndex(guide_taxonomy())
    snapshot = parse_list(list_dir)
    taxonomy: dict[str, list[str]] = {}
    for sub in sorted(snapshot.taxonomy.subcategories):
        taxonomy.setdefault(sub.split("/")[0], []).append(sub)
    return ListIndex(taxonomy, snapshot)


def list_files(labels: Iterable[str]) -> list[str]:
    """The list files a paper filed under these subcategory keys goes to."""
    return [target_file(label) for label in labels]
