"""One reviewer's sitting at the terminal: the papers to go through, where they are, and what they
decided, with undo and back. Both terminal screens (``tui``, full-screen; ``lines``, line by line)
drive this one object, so a key means the same thing in both and is tested once.

Each paper is re-read just before it is shown, and its revision travels with the decision: if someone
decided it meanwhile (web page, another terminal) the reviewer is told and nothing is overwritten.
``undo`` reverts the last decision of the sitting through :func:`review.decide` (audited,
conflict-checked) and shows that paper again, as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from trust_tagger import review
from trust_tagger.review.decisions import Outcome
from trust_tagger.review.queue import QueueFilter, ReviewError, ReviewPaper
from trust_tagger.store.store import Store

# key -> action while the paper waits in the queue, and once it is decided
QUEUED_KEYS = {"a": "accept", "e": "edit", "r": "reject", "d": "defer"}
DECIDED_KEYS = {"c": "undo", "e": "undo"}  # c flips the decision, e sets the labels (both audited corrections)
MOVE_KEYS = {"s": "skip", "n": "skip", " ": "skip", "right": "skip", "b": "back", "left": "back", "u": "undo",
             "?": "help", "q": "quit"}
HELP_QUEUED = "a accept  e edit  r reject  d defer  s skip  b back  u undo  ? help  q quit"
HELP_DECIDED = "c correct (flip)  e set labels  s skip  b back  u undo  ? help  q quit"
HELP_TEXT = """\
a  accept as predicted (needs a predicted list file)
e  edit: relevance 0/1/2, subcategories, note, then accept (0 rejects)
r  reject            d  defer (stays queued, after the pending papers)
s  skip (n, space, right arrow)     b  back a paper (left arrow)
u  undo the last decision of this sitting: the paper is back as it was
c  correct a paper already decided (flip accepted <-> rejected)
up/down/page up/page down  scroll the abstract
?  this help         q  quit (every decision is saved as it is made)"""


@dataclass
class Tally:
    """What one sitting did, for the closing line and the tests."""

    decided: Counter = field(default_factory=Counter)
    conflicts: int = 0
    skipped: int = 0
    undone: int = 0
    quit: bool = False

    def summary(self) -> str:
        done = ", ".join(f"{v} {k}" for k, v in sorted(self.decided.items()) if v) or "no decisions"
        undone = f"; {self.undone} undone" if self.undone else ""
        return f"Session: {done}{undone}; {self.skipped} skipped; {self.conflicts} conflicts."


def is_queued(paper: ReviewPaper) -> bool:
    return paper.item_state in review.QUEUE_STATES and paper.status not in review.DECIDED_STATUSES


class Walk:
    """The sitting. ``keys`` walks those papers (decided ones included, to correct them); without, the queue."""

    def __init__(self, store: Store, reviewer: str, *, filters: QueueFilter | None = None,
                 index: review.ListIndex | None = None, keys: Iterable[str] | None = None):
        self.store = store
        self.reviewer = review.clean_reviewer(reviewer)
        self.index = index or review.load_list_index(None)
        self.explicit = keys is not None
        self.todo = list(keys) if keys is not None else [p.key for p in review.load_queue(store, filters)]
        self.pos = 0
        self.history: list[tuple[int, Outcome]] = []
        self.tally = Tally()
        self.missing: list[str] = []
        self.paper: ReviewPaper | None = None
        self._load(forward=True)

    # -- where we are ---------------------------------------------------------------------------------
    def _load(self, forward: bool) -> None:
        """Show the paper at ``pos``; going forward through the queue, pass over papers decided meanwhile."""
        while 0 <= self.pos < len(self.todo):
            key = self.todo[self.pos]
            paper = review.get_paper(self.store, key)
            if paper is None:
                if key not in self.missing:
                    self.missing.append(key)
            elif self.explicit or not forward or is_queued(paper) or self._decided_here(key):
                self.paper = paper
                return
            else:
                self.tally.skipped += 1  # decided by someone else since the queue was loaded
            self.pos += 1 if forward else -1
        self.paper = None
        self.pos = max(0, min(self.pos, len(self.todo)))

    def _decided_here(self, key: str) -> bool:
        return any(o.key == key for _, o in self.history)

    @property
    def queued(self) -> bool:
        return self.paper is not None and is_queued(self.paper)

    @property
    def position(self) -> str:
        return f"{min(self.pos + 1, len(self.todo))}/{len(self.todo)}"

    @property
    def done(self) -> bool:
        return self.paper is None

    def keys_help(self) -> str:
        return HELP_QUEUED if self.queued else HELP_DECIDED

    def action_for(self, key: str) -> str | None:
        """The decision a key stands for on the current paper (None: not a decision key here)."""
        return (QUEUED_KEYS if self.queued else DECIDED_KEYS).get(key)

    # -- moving -----------------------------------------------------------------------------------------
    def skip(self) -> None:
        if self.paper is None:
            raise ReviewError("no paper left to skip")
        self.tally.skipped += 1
        self.pos += 1
        self._load(forward=True)

    def next(self) -> None:
        """On to the next paper without counting a skip (after a conflict)."""
        self.pos += 1
        self._load(forward=True)

    def back(self) -> None:
        if self.pos == 0:
            raise ReviewError("this is the first paper")
        self.pos -= 1
        self._load(forward=False)
        if self.paper is None:  # every earlier key is gone from the store
            self.pos = 0
            self._load(forward=True)

    def reload(self) -> None:
        if self.paper is not None:
            self.paper = review.get_paper(self.store, self.paper.key)

    # -- deciding ---------------------------------------------------------------------------------------
    def decide(self, action: str, **fields) -> Outcome:
        """Apply ``action`` to the current paper and move on; raises ReviewError / Conflict (nothing written)."""
        if self.paper is None:
            raise ReviewError("no paper to decide: the sitting is over (u undoes the last decision)")
        try:
            outcome = review.decide(self.store, self.paper.key, action, self.reviewer, revision=self.paper.revision,
                                    index=self.index, **fields)
        except review.Conflict:
            self.tally.conflicts += 1
            raise
        self.history.append((self.pos, outcome))
        self.tally.decided[outcome.action] += 1
        self.pos += 1
        self._load(forward=True)
        return outcome

    def undo(self) -> Outcome:
        """Revert the sitting's last decision and show that paper again."""
        if not self.history:
            raise ReviewError("nothing to undo in this sitting")
        pos, last = self.history.pop()
        try:
            outcome = review.decide(self.store, last.key, "revert", self.reviewer, revision=last.revision,
                                    index=self.index)
        except review.Conflict:
            self.tally.conflicts += 1
            raise
        self.tally.decided[last.action] -= 1
        self.tally.undone += 1
        self.pos = pos
        self._load(forward=False)
        return outcome

    def finish(self, export_path: Path | str | None) -> int | None:
        """Export the decisions when this sitting changed any (undos too: an undone label leaves the file)."""
        if export_path is None or not (self.history or self.tally.undone):
            return None
        return review.export_decisions(self.store, export_path)
