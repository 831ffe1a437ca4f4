"""The review queue line by line: for pipes, scripts, dumb terminals and ``review --plain``; and the
queue table of ``review --list``.

The same sitting (``walk.Walk``) and keys as the full-screen review (``tui``): one paper a screen,
one key a decision, ``u`` undo, ``b`` back, ``?`` help. A message (saved, not saved, unknown key)
is printed after the paper, next to the prompt, so a screen clear never wipes it. Input and output
are injectable so the loop is tested without a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from trust_tagger import review
from trust_tagger.review.queue import Conflict, QueueFilter, ReviewError, ReviewPaper
from trust_tagger.review.text import abstract_text, duplicate_line, pct, plain, prediction_lines, safe
from trust_tagger.review.walk import HELP_TEXT, MOVE_KEYS, Tally, Walk
from trust_tagger.store.store import Store

KeyReader = Callable[[], str]
LineReader = Callable[[str], str]
Session = Tally  # what ``run_review`` returns (the name the callers know)
_t = safe


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
    parts = [Panel(head, title=_t(position or paper.key), title_align="left"),
             Panel(abstract_text(paper), title="abstract", title_align="left"),
             Panel(prediction_lines(paper), title="prediction", title_align="left")]
    dup = duplicate_line(paper, index)
    if dup is not None:
        parts.append(Panel(dup, title="already on the list?", title_align="left", border_style="red"))
    return Group(*parts)


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


def saved_message(paper: ReviewPaper, outcome) -> Text:
    return _t(f"saved: {plain(paper.title)[:60]} -> {outcome.action}, {outcome.status} "
              f"{', '.join(outcome.subcategories)}  (u undoes)", "green")


def run_review(store: Store, reviewer: str, *, filters: QueueFilter | None = None,
               index: review.ListIndex | None = None, keys: Iterable[str] | None = None,
               console: Console | None = None, read_key: KeyReader | None = None,
               read_line: LineReader | None = None, export_path: Path | str | None = None) -> Tally:
    """Walk the queue (or the given papers) one screen at a time until it is done or the reviewer quits.

    Decisions are written as they are made; they are exported to ``export_path`` at the end, when given.
    """
    console = console or Console()
    read_key = read_key or read_key_tty
    read_line = read_line or read_line_stdin
    walk = Walk(store, reviewer, filters=filters, index=index, keys=keys)
    notice: Text | None = None
    while not walk.done:
        paper = walk.paper
        if console.is_terminal:
            console.clear()
        console.print(render_paper(paper, walk.index, f"{walk.position}  {paper.key}"))
        if notice is not None:  # printed after the paper, so neither the clear nor the screen hides it
            console.print(notice)
        console.print(_t(walk.keys_help(), "bold"))
        choice = read_key()
        choice = choice if choice == " " else choice.lower()
        notice = None
        move = MOVE_KEYS.get(choice)
        action = walk.action_for(choice)
        try:
            if move == "quit":
                walk.tally.quit = True
                break
            if move == "help":
                notice = _t(HELP_TEXT, "cyan")
            elif move == "skip":
                walk.skip()
            elif move == "back":
                walk.back()
            elif move == "undo":
                out = walk.undo()
                notice = _t(f"undone: {plain(paper.title if out.key == paper.key else walk.paper.title)[:60]} "
                            f"is back ({out.status})", "green")
            elif action is None:
                hint = "" if walk.queued else " for a decided paper: c flips it, e sets its labels"
                notice = _t(f"unknown key {choice!r}{hint}; ? shows the keys", "yellow")
            else:
                fields = _edit(paper, walk.index, console, read_line) if choice == "e" else {}
                outcome = walk.decide(action, **fields)
                notice = saved_message(paper, outcome)
        except _Cancel:
            notice = _t("edit cancelled: nothing saved", "yellow")
        except Conflict as exc:
            console.print(_t(str(exc), "bold red"))
            console.print(_t("press any key for the next paper", "dim"))
            read_key()
            walk.next()
        except ReviewError as exc:
            notice = _t(f"not saved: {exc}", "red")
    for key in walk.missing:
        console.print(_t(f"{key}: no such paper", "red"))
    count = walk.finish(export_path)
    if count is not None:
        console.print(_t(f"{count} decisions exported to {export_path}", "dim"))
    console.print(_t(walk.tally.summary(), "bold"))
    return walk.tally


# -- review --list ------------------------------------------------------------------------------------------
def queue_rows(papers: list[ReviewPaper]) -> list[dict]:
    """The queue as plain rows: ``review --list --json`` and the table below print the same fields."""
    return [{"rank": p.rank, "key": p.key, "date": p.date, "relevance": p.predicted_relevance,
             "relevance_class": (p.prediction or {}).get("relevance_class"), "core": p.core,
             "files": review.list_files(p.predicted_targets), "priority": round(p.priority, 4),
             "random_pick": p.random_pick, "deferred": p.item_state == "deferred", "adjacent": p.adjacent,
             "title": p.title, "authors": list(p.authors)} for p in papers]


def print_queue(papers: list[ReviewPaper], console: Console | None = None) -> None:
    """``trust-tagger review --list``: the queue in review order, one row a paper.

    On a terminal the table fits its width: under 100 columns the date, priority and flag columns go
    and the files shrink, so a title keeps about 30 characters at 80 columns (it used to get 7).
    Piped, nothing is cut: the table is as wide as its longest row.
    """
    console = console or Console()
    terminal = console.is_terminal
    wide = not terminal or console.width >= 100
    columns = ["#", "key"] + (["date"] if wide else []) + ["P(rel)", "would go to"] + \
        (["prio", "flags"] if wide else []) + ["title"]
    cells = []
    for r in queue_rows(papers):
        flags = " ".join(name for name, on in (("random", r["random_pick"]), ("deferred", r["deferred"]),
                                                ("adjacent", r["adjacent"])) if on)
        files = ", ".join(f.removeprefix("papers/").removesuffix(".md") for f in r["files"])
        row = {"#": str(r["rank"]), "key": r["key"], "date": r["date"], "P(rel)": pct(r["relevance"]),
               "would go to": files, "prio": f"{r['priority']:.3f}", "flags": flags, "title": plain(r["title"])}
        cells.append([row[c] for c in columns])
    table = Table(title=f"review queue ({len(papers)})", pad_edge=False, box=box.HEAVY_HEAD if wide else box.SIMPLE)
    for i, column in enumerate(columns):
        longest = max([len(column)] + [len(row[i]) for row in cells])
        if column == "title":
            table.add_column(column, min_width=20, ratio=1 if terminal else None, overflow="fold")
        elif column == "would go to" and not wide:
            table.add_column(column, width=min(longest, 16), no_wrap=True, overflow="ellipsis")
        else:
            table.add_column(column, width=longest, no_wrap=True, overflow="ellipsis")
    for row in cells:
        table.add_row(*(_t(c) for c in row))
    if terminal:
        console.print(table)
        return
    # piped: as wide as the longest row (3 characters of border and padding a column)
    needed = sum(max([len(c)] + [len(row[i]) for row in cells]) + 3 for i, c in enumerate(columns)) + 1
    width = console.width
    console.width = max(width, needed)
    try:
        console.print(table)
    finally:
        console.width = width
