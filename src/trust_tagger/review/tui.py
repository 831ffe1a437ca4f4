"""The review queue full-screen in a terminal (Textual): one paper a screen, one key a decision, fine
over SSH and fitted to the terminal: at 80x24 the title, authors, date, link and position stay on
screen, the abstract (with the keyword evidence for the predicted labels marked) takes the rest and
scrolls, and the predicted files, the message line and the keys are always visible.

The sitting itself (order, undo, back, conflicts) is :class:`trust_tagger.review.walk.Walk`, shared
with the line-by-line review (``lines``); this module only draws it and turns keys into calls.
Paper text is shown through ``rich.text.Text`` (``review.text``), never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from trust_tagger import review
from trust_tagger.review.lines import _parse_subcategories, saved_message
from trust_tagger.review.queue import Conflict, QueueFilter, ReviewError, ReviewPaper
from trust_tagger.review.text import abstract_text, duplicate_line, plain, prediction_lines, safe
from trust_tagger.review.walk import HELP_TEXT, MOVE_KEYS, Tally, Walk
from trust_tagger.store.store import Store

SCROLL_KEYS = {"up": "scroll_up", "down": "scroll_down", "pageup": "scroll_page_up", "pagedown": "scroll_page_down",
               "home": "scroll_home", "end": "scroll_end", "j": "scroll_down", "k": "scroll_up"}


def _line(text: Text) -> Text:
    """One screen line: cut with an ellipsis rather than wrapped."""
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


class HelpScreen(ModalScreen[None]):
    """``?``: every key, until any key is pressed."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 100%; height: auto; border: round $accent; padding: 0 1;
                          background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text(HELP_TEXT + "\n\nany key closes this help", style=""), id="help-text")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        self.dismiss(None)


class EditScreen(ModalScreen[dict | None]):
    """``e``: relevance, subcategories (numbers or keys; Enter keeps the model's), note. Esc cancels."""

    DEFAULT_CSS = """
    EditScreen { align: center middle; }
    EditScreen > Vertical { width: 100%; height: auto; max-height: 100%; border: round $accent; padding: 0 1;
                            background: $surface; }
    EditScreen Input { border: none; height: 1; padding: 0; margin: 0 0 1 0; }
    EditScreen Static { height: auto; }
    """

    def __init__(self, paper: ReviewPaper, index: review.ListIndex, queued: bool):
        super().__init__()
        self.paper, self.index, self.queued = paper, index, queued
        self.default_rel = max(1, (paper.prediction or {}).get("relevance_class") or 1)
        self.predicted = sorted(paper.predicted_targets if queued or paper.status == "rejected" else paper.labels)

    def compose(self) -> ComposeResult:
        choices = self.index.subcategories
        mark = set(self.predicted)
        cells = [f"{'*' if s in mark else ' '}{n:>2} {s}" for n, s in enumerate(choices, 1)]
        width = max((len(c) for c in cells), default=10) + 1
        per_row = max(1, 76 // width)
        grid = "\n".join("".join(c.ljust(width) for c in cells[i:i + per_row]) for i in range(0, len(cells), per_row))
        with Vertical():
            yield Static(Text("Edit, then " + ("accept" if self.queued else "save the correction") +
                              "  (Enter: next field / save, Esc: cancel)", style="bold"))
            yield Static(Text(f"Relevance 0/1/2 (0 rejects) [{self.default_rel}]"))
            yield Input(placeholder=str(self.default_rel), id="relevance", restrict=r"[0-2]?", compact=True)
            yield Static(Text(grid, style="dim"), id="choices")
            yield Static(Text(f"Subcategories, numbers or keys [{','.join(self.predicted) or 'none'}]"))
            yield Input(placeholder=",".join(self.predicted), id="subs", compact=True)
            yield Static(Text("Note (optional)"))
            yield Input(id="note", compact=True, max_length=2000)
            yield Static(Text("", style="red"), id="edit-error")

    def on_mount(self) -> None:
        self.query_one("#relevance", Input).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        order = ["relevance", "subs", "note"]
        if event.input.id != "note":
            self.query_one("#" + order[order.index(event.input.id) + 1], Input).focus()
            return
        rel_text = self.query_one("#relevance", Input).value.strip()
        relevance = int(rel_text) if rel_text else self.default_rel
        subs_text = self.query_one("#subs", Input).value.strip()
        try:
            subs = _parse_subcategories(subs_text, self.index.subcategories) if subs_text else list(self.predicted)
        except ReviewError as exc:
            self.query_one("#edit-error", Static).update(Text(f"not saved: {exc}", style="red"))
            self.query_one("#subs", Input).focus()
            return
        self.dismiss({"relevance": relevance, "subcategories": subs if relevance else [],
                      "note": self.query_one("#note", Input).value.strip()})


class PaperScreen(Screen):
    """The one screen of the sitting."""

    DEFAULT_CSS = """
    PaperScreen { layout: vertical; }
    #head { height: 1; background: $primary-background; }
    #title { height: auto; max-height: 3; }
    #authors, #link { height: 1; }
    #head, #authors, #link, #dup, #keys { text-wrap: nowrap; text-overflow: ellipsis; }
    #abstract-box { height: 1fr; border-top: solid $primary; border-bottom: solid $primary; }
    #abstract { height: auto; }
    #prediction { height: auto; max-height: 4; }
    #dup { height: auto; max-height: 1; }
    #message { height: auto; max-height: 3; }
    #keys { height: 1; background: $primary-background; }
    """

    def __init__(self, walk: Walk):
        super().__init__()
        self.walk = walk
        self.message: Text = Text("")

    def compose(self) -> ComposeResult:
        yield Static(id="head")
        yield Static(id="title")
        yield Static(id="authors")
        yield Static(id="link")
        with VerticalScroll(id="abstract-box", can_focus=False):
            yield Static(id="abstract")
        yield Static(id="prediction")
        yield Static(id="dup")
        yield Static(id="message")
        yield Static(id="keys")

    def on_mount(self) -> None:
        self.refresh_paper()

    # -- drawing ----------------------------------------------------------------------------------------
    def say(self, text: Text) -> None:
        """The message line: it stays until the next message, whatever is redrawn around it."""
        self.message = text
        self.query_one("#message", Static).update(text)

    def refresh_paper(self) -> None:
        walk, paper = self.walk, self.walk.paper
        q = self.query_one
        q("#abstract-box", VerticalScroll).scroll_home(animate=False)
        if paper is None:
            q("#head", Static).update(_line(safe(f" {len(walk.todo)}/{len(walk.todo)}  queue done", "bold")))
            for name in ("#title", "#authors", "#link", "#prediction", "#dup"):
                q(name, Static).update("")
            q("#dup", Static).display = False
            q("#abstract", Static).update(Text(
                f"Nothing left in this sitting. {walk.tally.summary()}\n\n"
                "u undoes the last decision, b goes back, q quits.", style="bold"))
            q("#keys", Static).update(_line(Text(" u undo  b back  ? help  q quit", style="bold")))
            return
        head = safe(f" {walk.position}  {paper.key}  {paper.date}  {paper.status}", "bold")
        if paper.item_state:
            head.append(safe(f"  queue {paper.item_state}"))
        if paper.random_pick:
            head.append("  random pick", "magenta")
        if paper.decided_by and not walk.queued:
            head.append(safe(f"  decided by {paper.decided_by}", "dim"))
        q("#head", Static).update(_line(head))
        q("#title", Static).update(safe(paper.title, "bold"))
        q("#authors", Static).update(_line(safe(", ".join(paper.authors) or "(no authors)", "dim")))
        q("#link", Static).update(_line(safe(paper.link or paper.key, "underline cyan")))
        q("#abstract", Static).update(abstract_text(paper))
        q("#prediction", Static).update(prediction_lines(paper))
        dup = duplicate_line(paper, walk.index)
        q("#dup", Static).update(_line(dup) if dup is not None else "")
        q("#dup", Static).display = dup is not None
        q("#keys", Static).update(_line(Text(" " + walk.keys_help(), style="bold")))

    # -- keys -------------------------------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in SCROLL_KEYS:
            event.stop()
            getattr(self.query_one("#abstract-box", VerticalScroll), SCROLL_KEYS[key])(animate=False)
            return
        char = " " if key == "space" else (event.character or "")
        name = key if key in ("left", "right") else char.lower()
        if not name or (not char and key not in ("left", "right")):
            return  # modifiers, function keys: not ours (ctrl+q still quits)
        event.stop()
        self.handle(name)

    def handle(self, name: str) -> None:
        walk, paper = self.walk, self.walk.paper
        move = MOVE_KEYS.get(name)
        action = walk.action_for(name) if paper is not None else None
        try:
            if move == "quit":
                walk.tally.quit = True
                self.app.exit(walk.tally)
                return
            if move == "help":
                self.app.push_screen(HelpScreen())
                return
            if move == "skip":
                walk.skip()
                self.say(safe(f"skipped: {plain(paper.title)[:60]}", "dim"))
            elif move == "back":
                walk.back()
                self.say(safe(f"back to {walk.position}", "dim"))
            elif move == "undo":
                out = walk.undo()
                self.say(safe(f"undone: {plain(walk.paper.title)[:60]} is back ({out.status})", "green"))
            elif action is None:
                hint = "" if paper is None or walk.queued else " for a decided paper: c flips it, e sets its labels"
                self.say(safe(f"unknown key {name!r}{hint}; ? shows the keys", "yellow"))
                return
            elif name == "e":
                self.app.push_screen(EditScreen(paper, walk.index, walk.queued),
                                     lambda fields: self.edited(action, paper, fields))
                return
            else:
                self.say(saved_message(paper, walk.decide(action)))
        except Conflict as exc:
            walk.next()
            self.say(safe(str(exc), "bold red"))
        except ReviewError as exc:
            self.say(safe(f"not saved: {exc}", "red"))
            walk.reload()
        self.refresh_paper()

    def edited(self, action: str, paper: ReviewPaper, fields: dict | None) -> None:
        if fields is None:
            self.say(safe("edit cancelled: nothing saved", "yellow"))
            return
        try:
            self.say(saved_message(paper, self.walk.decide(action, **fields)))
        except Conflict as exc:
            self.walk.next()
            self.say(safe(str(exc), "bold red"))
        except ReviewError as exc:
            self.say(safe(f"not saved: {exc}", "red"))
        self.refresh_paper()


class ReviewApp(App[Tally]):
    """``trust-tagger review`` on a terminal."""

    TITLE = "trust-tagger review"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, walk: Walk):
        super().__init__()
        self.walk = walk

    def on_mount(self) -> None:
        self.push_screen(PaperScreen(self.walk))

    @property
    def paper_screen(self) -> PaperScreen:
        return next(s for s in self.screen_stack if isinstance(s, PaperScreen))


def run_tui(store: Store, reviewer: str, *, filters: QueueFilter | None = None,
            index: review.ListIndex | None = None, keys: Iterable[str] | None = None,
            console: Console | None = None, export_path: Path | str | None = None) -> Tally:
    """The full-screen sitting; decisions are written as they are made and exported at the end."""
    console = console or Console()
    walk = Walk(store, reviewer, filters=filters, index=index, keys=keys)
    if walk.done:
        console.print("Nothing waiting for review" + (" with these filters." if filters else "."))
        return walk.tally
    ReviewApp(walk).run()
    count = walk.finish(export_path)
    if count is not None:
        console.print(f"{count} decisions exported to {export_path}", highlight=False)
    console.print(walk.tally.summary(), highlight=False)
    return walk.tally
