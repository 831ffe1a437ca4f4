"""The full-screen terminal review (Textual) driven by its Pilot at 80x24: the screen fits, every key of
the flow works (undo, back, help, unknown keys), messages stay visible; refreshes docs/review-terminal.svg."""

import asyncio
import json

from conftest import ROOT
from review_fixtures import key, seed_snapshot
from trust_tagger import review
from trust_tagger.review.tui import EditScreen, HelpScreen, ReviewApp
from trust_tagger.review.walk import Walk

SIZE = (80, 24)


def run(app, script):
    """Run ``script(pilot, screen)`` against ``app`` on a headless 80x24 terminal; returns the app."""
    async def main():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await script(pilot, app.paper_screen)
    asyncio.run(main())
    return app


def shown(screen, widget: str) -> str:
    return str(screen.query_one(widget).content)


def test_one_paper_fits_80x24(store, index):
    seed_snapshot(store, ROOT, n=20)
    first = review.load_queue(store)[0]
    app = ReviewApp(Walk(store, "alice", index=index))
    seen = {}

    async def script(pilot, screen):
        for name in ("#head", "#title", "#authors", "#link", "#abstract-box", "#prediction", "#message", "#keys"):
            region = screen.query_one(name).region
            assert region.height >= 1 and region.y + region.height <= SIZE[1], name
            seen[name] = region
        box = screen.query_one("#abstract-box")
        assert box.max_scroll_y > 0  # a real abstract is longer than its box: it scrolls, the rest stays put
        await pilot.press("pagedown")
        assert box.scroll_y > 0 and screen.query_one("#title").region == seen["#title"]
        seen["texts"] = {n: shown(screen, n) for n in ("#head", "#title", "#authors", "#link", "#prediction", "#keys")}
        await pilot.press("a")  # the next paper, with the confirmation of this one: the docs screenshot
        seen["message"] = shown(screen, "#message")
        (ROOT / "docs" / "review-terminal.svg").write_text(pilot.app.export_screenshot(title="trust-tagger review"))

    run(app, script)
    texts = seen["texts"]
    assert texts["#head"].startswith(f" 1/20  {first.key}  {first.date}")
    assert texts["#title"] == first.title and first.authors[0] in texts["#authors"]
    assert texts["#link"] == first.link
    assert "Would go to" in texts["#prediction"] and "papers/" in texts["#prediction"]
    assert "a accept" in texts["#keys"] and "u undo" in texts["#keys"] and "? help" in texts["#keys"]
    assert seen["#keys"].y == SIZE[1] - 1 and seen["#head"].y == 0
    assert seen["message"].startswith("saved: " + first.title[:20]) and store.get_paper(first.key).status == "accepted"


def test_terminal_flow_with_undo_at_80x24(seeded, index, tmp_path):
    queue = [p.key for p in review.load_queue(seeded)]
    assert queue[:3] == [key("2601.00001"), key("2601.00005"), key("2601.00002")]
    walk = Walk(seeded, "alice", index=index, keys=[key("2601.00003")] + queue[:3])
    app = ReviewApp(walk)
    log = []

    async def script(pilot, screen):
        await pilot.press("a")  # no predicted file: says so, and the message stays
        log.append(shown(screen, "#message"))
        await pilot.press("down", "up")
        assert shown(screen, "#message") == log[-1]
        await pilot.press("r")  # reject the ASR paper
        await pilot.press("u")  # ... and take it back
        log.append(shown(screen, "#message"))
        assert shown(screen, "#title").startswith("Faster Conformer")
        await pilot.press("s", "a")  # skip it; accept Whisper-Jail
        log.append(shown(screen, "#message"))
        await pilot.press("b")  # back to Whisper-Jail, now decided: a is not a key for it
        assert shown(screen, "#title").startswith("Whisper-Jail")
        await pilot.press("a")
        log.append(shown(screen, "#message"))
        await pilot.press("z")
        log.append(shown(screen, "#message"))
        await pilot.press("?")
        assert isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("x")  # any key closes the help
        assert not isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("s", "e")  # edit the next paper (Voice Jailbreak): relevance 1, two files, a note
        assert isinstance(pilot.app.screen, EditScreen)
        await pilot.press("1", "enter")
        await pilot.press(*"safety/jailbreak,security/attack", "enter")
        await pilot.press(*"adjacent", "enter")
        log.append(shown(screen, "#message"))
        await pilot.press("d")  # defer the deepfake paper
        assert "Nothing left in this sitting" in shown(screen, "#abstract")
        await pilot.press("u")  # undo the defer, from the end screen
        assert shown(screen, "#title").startswith("Detecting Cloned Voices")
        await pilot.press("q")

    run(app, script)
    assert "not saved: the model named no list file" in log[0]
    assert log[1].startswith("undone: Faster Conformer") and "is back (review)" in log[1]
    assert log[2].startswith("saved: Whisper-Jail") and "accept" in log[2]
    assert "unknown key 'a' for a decided paper" in log[3]
    assert "unknown key 'z'" in log[4]
    assert "edit, accepted safety/jailbreak, security/attack" in log[5]
    tally = app.return_value
    assert tally.quit and tally.undone == 2 and tally.decided["accept"] == 1 and tally.decided["edit"] == 1
    assert seeded.get_paper(key("2601.00003")).status == "review"
    assert seeded.get_paper(key("2601.00001")).status == "accepted"
    row = seeded.get_paper(key("2601.00005"))
    assert (row.status, row.relevance, row.labels) == ("accepted", 1, ["safety/jailbreak", "security/attack"])
    assert review.get_paper(seeded, key("2601.00002")).item_state == "pending"  # the defer was undone
    assert review.audit_log(seeded, key("2601.00005"))[0]["predicted"]["note"] == "adjacent"
    export = tmp_path / "decisions.jsonl"
    walk.finish(export)
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert {r["arxiv_id"] for r in rows if not r.get("retracted")} == {"2601.00001", "2601.00005"}


def test_escape_cancels_an_edit_and_a_bad_subcategory_is_refused(seeded, index):
    app = ReviewApp(Walk(seeded, "alice", index=index, keys=[key("2601.00002")]))
    log = []

    async def script(pilot, screen):
        await pilot.press("e", "escape")
        log.append(shown(screen, "#message"))
        await pilot.press("e", "2", "enter", "9", "9", "9", "enter", "enter")
        assert isinstance(pilot.app.screen, EditScreen)  # refused: still editing
        log.append(str(pilot.app.screen.query_one("#edit-error").content))
        await pilot.press("escape", "q")

    run(app, script)
    assert log[0] == "edit cancelled: nothing saved" and "no subcategory number 999" in log[1]
    assert seeded.get_paper(key("2601.00002")).status == "review" and review.audit_log(seeded) == []


def test_conflict_is_reported_and_nothing_overwritten(seeded, index):
    k = key("2601.00001")
    app = ReviewApp(Walk(seeded, "alice", index=index, keys=[k, key("2601.00002")]))
    log = []

    async def script(pilot, screen):
        review.decide(seeded, k, "reject", "bob", revision=0, index=index)  # bob, from the web page
        await pilot.press("a")
        log.append(shown(screen, "#message"))
        log.append(shown(screen, "#title"))
        await pilot.press("q")

    run(app, script)
    assert "bob" in log[0] and "NOT saved" in log[0] and log[1].startswith("Detecting Cloned Voices")
    assert seeded.get_paper(k).status == "rejected" and app.return_value.conflicts == 1
