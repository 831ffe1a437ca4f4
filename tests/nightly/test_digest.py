"""The nightly digest: extractive summaries and a markdown table that cannot be broken by its cells."""

from __future__ import annotations

from pathlib import Path

from trust_tagger.nightly.digest import extractive_summary, render_digest, write_digest

ABSTRACT = (
    "Large audio language models are increasingly deployed in voice assistants. "
    "We study jailbreak attacks on audio language models that hide harmful instructions in speech. "
    "Our benchmark covers twelve models and five languages. "
    "Jailbreak success rates on audio language models exceed those of text jailbreak attacks by a wide margin. "
    "We release code."
)


def _row(**overrides: object) -> dict:
    row = {
        "arxiv_id": "2601.00001",
        "title": "Audio Jailbreaks",
        "abstract": ABSTRACT,
        "link": "https://arxiv.org/abs/2601.00001",
        "labels": ["safety/jailbreak"],
        "relevance": 0.9,
    }
    row.update(overrides)
    return row


def test_summary_picks_the_sentences_with_the_abstracts_key_terms() -> None:
    summary = extractive_summary(ABSTRACT, max_chars=300)
    assert len(summary) <= 300
    assert "jailbreak attacks on audio language models" in summary
    assert "We release code." not in summary and "twelve models" not in summary
    assert summary.count(". ") == 1  # two whole sentences of the abstract
    assert all(sentence.rstrip(".") in ABSTRACT for sentence in summary.split(". "))


def test_summary_keeps_reading_order_and_limit() -> None:
    summary = extractive_summary(ABSTRACT, max_chars=300)
    first, second = "We study jailbreak", "Jailbreak success rates"
    assert summary.index(first) < summary.index(second)
    short = extractive_summary(ABSTRACT, max_chars=120)
    assert len(short) <= 120 and short in ABSTRACT


def test_summary_of_one_long_sentence_is_cut_at_a_word() -> None:
    text = "word " * 200
    summary = extractive_summary(text, max_chars=50)
    assert len(summary) <= 50 and summary.endswith("…") and "wor…" not in summary


def test_summary_of_messy_or_empty_text() -> None:
    assert extractive_summary("") == ""
    assert extractive_summary("  A short\n abstract.  ") == "A short abstract."


def test_digest_table(tmp_path: Path) -> None:
    rows = [
        _row(arxiv_id="2601.00002", title="Low | relevance\nsplit title", relevance=0.2, link="", labels=[],
             abstract="A pipe | inside.\nAnd a line break."),
        _row(),
    ]
    path = tmp_path / "digest" / "2026-06-10.md"
    text = write_digest(path, rows)
    assert path.read_text(encoding="utf-8") == text
    lines = text.splitlines()
    assert "| Source | Title | Summary |" in lines
    table = [line for line in lines if line.startswith("| [arXiv](")]
    assert len(table) == 2
    assert table[0].startswith("| [arXiv](https://arxiv.org/abs/2601.00001) | **Audio Jailbreaks**")
    assert "safety/jailbreak" in table[0] and "0.90" in table[0]
    assert table[1].startswith("| [arXiv](https://arxiv.org/abs/2601.00002) |")  # link built from the id
    assert "Low \\| relevance split title" in table[1] and "A pipe \\| inside. And a line break." in table[1]
    for line in table:  # exactly three cells: escaped pipes do not count
        assert line.replace("\\|", "").count("|") == 4
    assert [p.name for p in path.parent.iterdir()] == ["2026-06-10.md"]  # atomic write left no temp file


def test_empty_digest_still_has_its_table() -> None:
    text = render_digest([])
    assert "0 paper(s)." in text and "| Source | Title | Summary |" in text


def test_digest_reads_like_a_daily_listing() -> None:
    """Issue 12, item 7: date heading, separate tables for accepted / queued / adjacent papers,
    grouped by category, authors and arXiv link on every paper, the optional core score shown."""
    rows = [
        _row(section="accepted", authors=["Ada Lovelace", "Alan Turing"], categories=["cs.SD", "eess.AS"]),
        _row(arxiv_id="2601.00003", link="", title="Speaker Privacy", section="accepted", labels=["privacy/general"],
             relevance=0.95, authors=[f"Author {i}" for i in range(9)]),
        _row(arxiv_id="2601.00004", link="", title="Spoof Detection", section="queued", labels=["safety/deepfake"],
             relevance=0.5, review_link="https://review.example.org/paper/arxiv:2601.00004"),
        _row(arxiv_id="2601.00005", link="", title="Codec Robustness", section="adjacent", labels=[], relevance=0.6, core=0.2),
    ]
    text = render_digest(rows, date="2026-03-15", notes=["Window 2026-03-14 .. 2026-03-15."],
                         review_url="https://review.example.org/")
    lines = text.splitlines()
    assert lines[0] == "# trust-tagger nightly digest — 2026-03-15"
    assert "4 paper(s). 2 accepted, 1 queued, 1 adjacent." in lines and "Window 2026-03-14 .. 2026-03-15." in lines
    heads = [line for line in lines if line.startswith("#")]
    assert heads == ["# trust-tagger nightly digest — 2026-03-15", "## Accepted: added to the list (2)",
                     "### privacy (1)", "### safety (1)", "## Queued for review (1)", "### safety (1)",
                     "## Adjacent: relevant, not core to the list (1)", "### uncategorised (1)"]
    accepted = text[text.index("## Accepted"):text.index("## Queued")]
    assert "Ada Lovelace, Alan Turing" in accepted and "cs.SD" in accepted
    assert "Author 0, Author 1, Author 2, Author 3, Author 4, Author 5 et al." in accepted
    queued = text[text.index("## Queued"):text.index("## Adjacent")]
    assert "Decide them on the review page: https://review.example.org/queue" in queued
    assert "| [arXiv](https://arxiv.org/abs/2601.00004) · [review](https://review.example.org/paper/arxiv:2601.00004) |" \
        in queued and "Spoof Detection" not in accepted
    adjacent = text[text.index("## Adjacent"):]
    assert "Codec Robustness" in adjacent and "core 0.20" in adjacent and "core" not in accepted
    for line in lines:
        if line.startswith("| [arXiv]("):
            assert line.replace("\\|", "").count("|") == 4
