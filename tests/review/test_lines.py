"""The line-by-line terminal review with scripted keys and a captured console, and the CLI verbs around it."""

import io
import json
import sys

from rich.console import Console
from typer.testing import CliRunner

from review_fixtures import PAPERS, add_paper, key
from trust_tagger import review
from trust_tagger.cli import app as cli_app
from trust_tagger.review import lines as review_lines


def scripted(*answers):
    """A reader that hands out the given answers in order and fails loudly if the loop asks for more."""
    it = iter(answers)

    def read(*_prompt):
        try:
            return next(it)
        except StopIteration:
            raise AssertionError("the review loop asked for more input than scripted") from None
    return read


def console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None, force_terminal=False)


def test_one_key_decisions_edit_prompts_and_export(seeded, index, tmp_path):
    out = console()
    export = tmp_path / "labeled" / "decisions.jsonl"
    keys = [key(a) for a in ("2601.00001", "2601.00002", "2601.00003", "2601.00004", "2601.00005")]
    choices = index.subcategories
    deepfake = str(choices.index("safety/deepfake") + 1)
    session = review_lines.run_review(
        seeded, "alice", index=index, keys=keys, console=out, export_path=export,
        read_key=scripted("a", "e", "r", "d", "q"),
        read_line=scripted("2", f"{deepfake}, security/attack", "detector paper"))
    assert session.decided == {"accept": 1, "edit": 1, "reject": 1, "defer": 1} and session.quit
    assert seeded.get_paper(keys[0]).labels == ["safety/jailbreak"]
    row = seeded.get_paper(keys[1])
    assert (row.status, row.labels, row.relevance) == ("accepted", ["safety/deepfake", "security/attack"], 2)
    assert seeded.get_paper(keys[2]).status == "rejected"
    assert seeded.get_paper(keys[3]).status == "review"  # deferred
    assert seeded.get_paper(keys[4]).status == "review"  # quit before deciding
    assert {json.loads(line)["arxiv_id"] for line in export.read_text().splitlines()} == {
        "2601.00001", "2601.00002", "2601.00003"}
    text = out.file.getvalue()
    assert "Whisper-Jail" in text and "papers/safety/jailbreak.md" in text and "https://arxiv.org/abs/2601.00001" in text
    assert "Session: 1 accept, 1 defer, 1 edit, 1 reject" in text


def test_screen_shows_untrusted_text_literally(seeded, index):
    title, abstract, date, pred = PAPERS["2601.00004"]
    add_paper(seeded, "2601.00099", "Escape \x1b[2J\x1b]0;pwned\x07 title", "Bell \x07 and [link=x]y[/link]", date, pred)
    out = console()
    review_lines.run_review(seeded, "alice", index=index, keys=[key("2601.00004"), key("2601.00099")], console=out,
                          read_key=scripted("s", "s"))
    text = out.file.getvalue()
    assert "[bold]Markup[/bold] and <b>tags</b> in a title" in text  # not interpreted as rich markup
    assert "<script>window.__pwned = 1</script>" in text  # shown as text
    assert "[link=x]y[/link]" in text
    assert "\x1b" not in text and "\x07" not in text  # no escape sequences reach the terminal
    assert "Escape [2J]0;pwned title" in text


def test_near_duplicate_is_shown(seeded, index):
    out = console()
    review_lines.run_review(seeded, "alice", index=index, keys=[key("2601.00005")], console=out, read_key=scripted("q"))
    text = out.file.getvalue()
    assert "already on the list?" in text and "similar title" in text and "Voice Jailbreak Attacks Against GPT-4o" in text


def test_invalid_edit_is_refused_and_the_paper_shown_again(seeded, index):
    out = console()
    session = review_lines.run_review(
        seeded, "alice", index=index, keys=[key("2601.00002")], console=out,
        read_key=scripted("e", "e", "x", "q"), read_line=scripted("2", "999", "q"))
    text = out.file.getvalue()
    assert "not saved: no subcategory number 999" in text and "unknown key 'x'" in text
    assert session.decided == {} and seeded.get_paper(key("2601.00002")).status == "review"


def test_conflict_with_another_reviewer_is_reported_not_overwritten(seeded, index):
    k = key("2601.00001")

    def bob_decides_meanwhile():
        review.decide(seeded, k, "reject", "bob", revision=0, index=index)
        return "a"

    answers = iter([bob_decides_meanwhile, lambda: "", lambda: "q"])
    out = console()
    session = review_lines.run_review(seeded, "alice", index=index, keys=[k, key("2601.00002")], console=out,
                                    read_key=lambda: next(answers)())
    assert session.conflicts == 1 and session.decided == {}
    assert seeded.get_paper(k).status == "rejected"
    assert "bob" in out.file.getvalue() and "NOT saved" in out.file.getvalue()


def test_queue_mode_walks_in_order_and_skips_papers_decided_meanwhile(seeded, index):
    queue = [p.key for p in review.load_queue(seeded)]
    review.decide(seeded, queue[1], "reject", "bob", revision=0, index=index)
    out = console()
    seen = []

    def read():
        seen.append(out.file.getvalue().count("/5  arxiv:"))
        return "s"
    session = review_lines.run_review(seeded, "alice", index=index, console=out, read_key=read)
    assert session.skipped == 4 and len(seen) == 4  # 4 left: the one bob rejected is not in the queue


def test_correcting_an_auto_decision_from_the_terminal(seeded, index):
    out = console()
    session = review_lines.run_review(seeded, "erin", index=index, keys=[key("2601.00010"), key("2601.00011")],
                                    console=out, read_key=scripted("a", "c", "e"),
                                    read_line=scripted("2", "hallucination/general", ""))
    assert session.decided == {"undo": 2}
    assert "unknown key 'a'" in out.file.getvalue()  # accept is for queued papers
    assert seeded.get_paper(key("2601.00010")).status == "rejected"
    assert seeded.get_paper(key("2601.00011")).labels == ["hallucination/general"]


def test_line_input_fallback_off_a_tty(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("accept\n"))
    assert review_lines.read_key_tty() == "a"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert review_lines.read_key_tty() == "q"  # end of input quits


def test_print_queue(seeded):
    out = console()
    review_lines.print_queue(review.load_queue(seeded), out)
    text = out.file.getvalue()
    assert "review queue (5)" in text and "arxiv:2601.00001" in text and "safety/jailbreak" in text


# -- CLI ---------------------------------------------------------------------------------------------
def test_cli_list_export_and_interactive(seeded, list_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_LABELED_DIR", str(tmp_path / "labeled"))
    monkeypatch.setenv("COLUMNS", "200")
    db = seeded.url
    runner = CliRunner()
    r = runner.invoke(cli_app, ["review", "--list", "--db", db, "--list-dir", str(list_copy), "--category", "safety"])
    assert r.exit_code == 0, r.output
    assert "arxiv:2601.00001" in r.output and "arxiv:2601.00003" not in r.output
    r = runner.invoke(cli_app, ["review", "--db", db, "--list-dir", str(list_copy), "--reviewer", "zoe",
                                "--relevant-only"], input="r\nq\n")
    assert r.exit_code == 0, r.output
    assert "Session: 1 reject" in r.output
    assert json.loads((tmp_path / "labeled" / "decisions.jsonl").read_text())["reviewer"] == "zoe"
    out = tmp_path / "export.jsonl"
    r = runner.invoke(cli_app, ["review", "--export", str(out), "--db", db])
    assert r.exit_code == 0 and "1 decisions written" in r.output
    assert json.loads(out.read_text())["action"] == "reject"
    r = runner.invoke(cli_app, ["review", "--list", "--since", "soon", "--db", db])
    assert r.exit_code != 0


def test_enqueue_again_does_not_requeue_a_decided_paper(seeded, index):
    k = key("2601.00003")
    review.decide(seeded, k, "reject", "alice", revision=0, index=index)
    assert seeded.enqueue(k, None, 1.0) is False  # e.g. a new arXiv version routed to review again
    assert k not in {p.key for p in review.load_queue(seeded)} and seeded.get_paper(k).status == "rejected"


def test_undo_back_help_and_messages_that_stay(seeded, index, tmp_path):
    out = console()
    export = tmp_path / "decisions.jsonl"
    keys = [key("2601.00003"), key("2601.00001"), key("2601.00002")]
    session = review_lines.run_review(
        seeded, "alice", index=index, keys=keys, console=out, export_path=export,
        read_key=scripted("a", "?", "r", "u", "b", "b", "z", "s", "a", "d", "q"))
    text = out.file.getvalue()
    # a on a paper with no predicted file says why nothing happened, next to the prompt
    assert "not saved: the model named no list file" in text
    assert "u  undo the last decision of this sitting" in text  # ? shows the help
    assert "undone:" in text and "is back (review)" in text  # r then u: the reject is taken back
    assert "this is the first paper" in text  # b, b: back once, then no further
    assert "unknown key 'z'" in text
    assert seeded.get_paper(keys[0]).status == "review"
    assert seeded.get_paper(keys[1]).status == "accepted" and review.get_paper(seeded, keys[2]).item_state == "deferred"
    assert session.undone == 1 and session.decided == {"accept": 1, "defer": 1, "reject": 0}
    assert "Session: 1 accept, 1 defer; 1 undone" in text
    assert [d["action"] for d in review.audit_log(seeded, keys[0])] == ["revert", "reject"]
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert {r["arxiv_id"] for r in rows if not r.get("retracted")} == {"2601.00001"}  # the undone label: a tombstone


def test_print_queue_fits_80_columns_and_pipes_whole_titles(seeded):
    papers = review.load_queue(seeded)
    narrow = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=True)
    review_lines.print_queue(papers, narrow)
    lines = narrow.file.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    row = next(line for line in lines if "2601.00002" in line)
    assert "Detecting Cloned Voices" in row  # the title keeps its words at 80 columns
    piped = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=False)
    review_lines.print_queue(papers, piped)
    text = piped.file.getvalue()
    assert "Detecting Cloned Voices with Self-Supervised Features" in text  # nothing cut when piped
    assert "Whisper-Jail: Jailbreaking Speech LLMs with Spoken Role Play" in text


def test_the_abstract_marks_the_evidence_for_the_predicted_labels(seeded):
    from trust_tagger.review.text import EVIDENCE_STYLE, abstract_text

    text = abstract_text(review.get_paper(seeded, key("2601.00001")))  # "We jailbreak audio language models..."
    marked = [text.plain[s.start:s.end] for s in text.spans if s.style == EVIDENCE_STYLE]
    assert marked == ["jailbreak"]
    plain_abstract = abstract_text(review.get_paper(seeded, key("2601.00003")))  # ASR speed-up: no evidence
    assert [s for s in plain_abstract.spans if s.style == EVIDENCE_STYLE] == []
