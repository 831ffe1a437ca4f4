"""The review queue in a terminal: one paper a screen, one key a decision, fine over SSH.

Paper text comes from arXiv, i.e. from anyone, so it is shown through ``rich.text.Text`` (never
parsed as rich markup) with control characters removed (no terminal escape sequences from a title).
Input and output are injectable so the loop is tested without a terminal.
"""

from __future__ import annotations

import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from trust_tagger import review
from trust_tagger.review.queue import Conflict, QueueFilter, ReviewError, ReviewPaper
from trust_tagger.store.store import Store

KeyReader = Callable[[], str]
LineReader = Callable[[str], str]
HELP = "[a] accept  [e] edit  [r] reject  [d] defer  [s] skip  [q] quit"
HELP_DECIDED = "[u] undo (flip)  [e] set labels  [s] skip  [q] quit"


def plain(text: object) -> str:
    """Untrusted text without control characters (escape sequences), newlines and tabs kept."""
    return "".join(ch for ch in str(text) if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def _t(text: object, style: str = "") -> Text:
    return Text(plain(text), style=style)


def read_key_tty() -> str:
    """One keypress without Enter (cbreak mode, so Ctrl-C still interrupts); line input off a TTY."""
    if not sys.stdin.isatty():
        return read_line_stdin("> ")[:1]
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        return sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def read_line_stdin(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        return "q"


def render_paper(paper: ReviewPaper, index: review.ListIndex, position: str = "") -> Group:
    """The screen for one paper: everything needed to decide without opening a browser."""
    head = Text()
    head.append(_t(paper.title, "bold"))
    head.append("\n")
    head.append(_t(", ".join(paper.authors), "dim"))
    head.append("\n")
    head.append(_t(paper.link or paper.key, "underline cyan"))
    head.append(_t(f"  {paper.date}  status {paper.status}"))
    if paper.item_state:
        head.append(_t(f"  queue {paper.item_state}"))
    if paper.random_pick:
        head.append(_t("  [random pick]", "magenta"))

    pred = paper.prediction
    probs = Table(box=None, show_header=True, pad_edge=False)
    for column in ("category", "p", "subcategory", "p "):
        probs.add_column(column)
    if pred:
        cats = sorted(pred["categories"].items(), key=lambda kv: -kv[1])
        subs = sorted(pred["subcategories"].items(), key=lambda kv: -kv[1])[:10]
        for i in range(max(len(cats), len(subs))):
            c = cats[i] if i < len(cats) else ("", None)
            s = subs[i] if i < len(subs) else ("", None)
            probs.add_row(_t(c[0]), _t(_pct(c[1])), _t(s[0]), _t(_pct(s[1])))
    summary = Text()
    if pred:
        summary.append(_t(f"Predicted relevance {_pct(pred['relevance'])} (class {pred['relevance_class']}), "
                          f"model {pred['model_version']}, routed {pred['decision']}\n"))
    else:
        summary.append(_t("No prediction stored.\n", "dim"))
    files = review.list_files(paper.predicted_targets)
    summary.append(_t("Would go to: ", "bold"))
    summary.append(_t(", ".join(files) if files else "no list file predicted (use edit)"))
    if paper.status in ("accepted", "listed") and paper.labels:
        summary.append(_t("\nFiled under: ", "bold"))
        summary.append(_t(", ".join(review.list_files(paper.labels)) + (" (merged)" if paper.merged else "")))

    dups = index.near_duplicates(paper.key, paper.title)
    dup_text = Text()
    for d in dups:
        dup_text.append(_t(f"{d.reason} ({_pct(d.score)}): ", "red"))
        dup_text.append(_t(f"{d.title} — {d.file}\n"))
    parts = [Panel(head, title=_t(position or paper.key), title_align="left"),
             Panel(_t(paper.abstract), title="abstract", title_align="left"),
             Panel(Group(summary, probs), title="prediction", title_align="left")]
    if dups:
        parts.append(Panel(dup_text, title="already on the list?", title_align="left", border_style="red"))
    return Group(*parts)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


@dataclass
class Session:
    """What one sitting did, for the closing line and the tests."""

    decided: Counter = field(default_factory=Counter)
    conflicts: int = 0
    skipped: int = 0
    quit: bool = False


def _parse_subcategories(answer: str, choices: list[str]) -> list[str]:
    picked = []
    for token in (t.strip() for t in answer.replace(" ", ",").split(",")):
        if not token:
            continue
        if token.isdigit():
            n = int(token)
            if not 1 <= n <= len(choices):
                raise ReviewError(f"no subcategory number {n}")
            picked.append(choices[n - 1])
        else:
            picked.append(token)
    return picked


class _Cancel(Exception):
    """The reviewer backed out of the edit prompts."""


def _edit(paper: ReviewPaper, index: review.ListIndex, console: Console, read_line: LineReader) -> dict:
    """Ask for relevance, subcategories and a note; Enter keeps what the model predicted."""
    default_rel = max(1, (paper.prediction or {}).get("relevance_class") or 1)
    answer = read_line(f"Relevance 0/1/2 [{default_rel}] (q cancels): ").strip()
    if answer.lower() == "q":
        raise _Cancel
    relevance = int(answer) if answer.isdigit() else default_rel if not answer else answer
    subs: list[str] = []
    if relevance != 0:
        choices = index.subcategories
        predicted = set(paper.predicted_targets)
        grid = Table.grid(padding=(0, 2))
        for _ in range(3):
            grid.add_column()
        cells = [_t(f"{'*' if sub in predicted else ' '}{n:>2} {sub}") for n, sub in enumerate(choices, 1)]
        for i in range(0, len(cells), 3):
            grid.add_row(*cells[i:i + 3])
        console.print(grid)
        default = ",".join(sorted(predicted)) or "none"
        answer = read_line(f"Subcategories (numbers or keys, comma-separated) [{default}]: ").strip()
        subs = _parse_subcategories(answer, choices) if answer else sorted(predicted)
    note = read_line("Note (optional): ").strip()
    return {"relevance": relevance, "subcategories": subs, "note": note}


def run_review(store: Store, reviewer: str, *, filters: QueueFilter | None = None,
               index: review.ListIndex | None = None, keys: Iterable[str] | None = None,
               console: Console | None = None, read_key: KeyReader | None = None,
               read_line: LineReader | None = None, export_path: Path | str | None = None) -> Session:
    """Walk the queue (or the given papers) one screen at a time until it is empty or the reviewer quits.

    Each paper is re-read just before it is shown, and its revision travels with the decision: if
    someone decided it meanwhile (web page, another terminal) the reviewer is told and nothing is
    overwritten. Decisions are exported to ``export_path`` at the end, when given.
    """
    reviewer = review.clean_reviewer(reviewer)
    console = console or Console()
    read_key = read_key or read_key_tty
    read_line = read_line or read_line_stdin
    index = index or review.load_list_index(None)
    todo = list(keys) if keys is not None else [p.key for p in review.load_queue(store, filters)]
    session = Session()
    notice: Text | None = None
    total = len(todo)
    for n, key in enumerate(todo, 1):
        paper = review.get_paper(store, key)
        if paper is None:
            console.print(_t(f"{key}: no such paper", "red"))
            continue
        queued = paper.item_state in review.QUEUE_STATES and paper.status not in review.DECIDED_STATUSES
        if keys is None and not queued:
            session.skipped += 1  # decided by someone else since the queue was loaded
            continue
        while True:
            if console.is_terminal:
                console.clear()
                if notice is not None:  # the clear would otherwise wipe the last confirmation
                    console.print(notice)
            console.print(render_paper(paper, index, f"{n}/{total}  {paper.key}"))
            console.print(_t(HELP if queued else HELP_DECIDED, "bold"))
            choice = read_key().lower()
            action = {"a": "accept", "e": "edit", "r": "reject", "d": "defer", "u": "undo"}.get(choice)
            if choice == "q":
                session.quit = True
                break
            if choice in ("s", "n", " "):
                session.skipped += 1
                break
            if action is None or (queued and action == "undo") or (not queued and action not in ("edit", "undo")):
                console.print(_t(f"unknown key {choice!r}", "yellow"))
                continue
            fields: dict = {}
            try:
                if action == "edit":
                    fields = _edit(paper, index, console, read_line)
                    action = "edit" if queued else "undo"
                outcome = review.decide(store, key, action, reviewer, revision=paper.revision, index=index, **fields)
            except _Cancel:
                continue
            except Conflict as exc:
                session.conflicts += 1
                console.print(_t(str(exc), "bold red"))
                console.print(_t("press any key for the next paper", "dim"))
                read_key()
                break
            except ReviewError as exc:
                console.print(_t(f"not saved: {exc}", "red"))
                continue
            session.decided[outcome.action] += 1
            notice = _t(f"saved: {plain(paper.title)[:60]} -> {outcome.action}, {outcome.status} "
                        f"{', '.join(outcome.subcategories)}", "green")
            console.print(notice)
            break
        if session.quit:
            break
    if export_path is not None and session.decided:
        count = review.export_decisions(store, export_path)
        console.print(_t(f"{count} decisions exported to {export_path}", "dim"))
    done = ", ".join(f"{v} {k}" for k, v in sorted(session.decided.items())) or "no decisions"
    console.print(_t(f"Session: {done}; {session.skipped} skipped; {session.conflicts} conflicts.", "bold"))
    return session


def print_queue(papers: list[ReviewPaper], console: Console | None = None) -> None:
    """``trust-tagger review --list``: the queue in review order, one row a paper."""
    console = console or Console()
    table = Table(title=f"review queue ({len(papers)})", show_lines=False)
    for column in ("#", "key", "date", "P(rel)", "would go to", "prio", "flags"):
        table.add_column(column, overflow="fold", no_wrap=column in ("#", "key", "date", "P(rel)", "prio"))
    table.add_column("title", overflow="fold", min_width=30)
    for p in papers:
        flags = " ".join(f for f, on in (("random", p.random_pick), ("deferred", p.item_state == "deferred")) if on)
        table.add_row(_t(p.rank), _t(p.key), _t(p.date), _t(_pct(p.predicted_relevance)),
                      _t(", ".join(p.predicted_targets)), _t(f"{p.priority:.3f}"), _t(flags), _t(p.title))
    console.print(table)
