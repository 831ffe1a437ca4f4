"""The nightly digest, laid out like arXiv's daily listing: a date heading, then the night's papers in
separate tables (accepted and added to the list, queued for a maintainer, and "adjacent": judged
relevant but not core to the list), each grouped by category, every paper with its authors, arXiv
link and a two-sentence summary. A maintainer skims it in a minute, in the report folder, a pull
request body or a chat message.

Summaries are extractive (sentences of the abstract itself), so the digest can never state something
the paper does not, and needs no model at run time.

A row is a mapping with ``arxiv_id, title, abstract`` and optionally ``link, authors, labels,
categories`` (arXiv's), ``relevance``, ``core`` (a core-topic score, when the model gives one),
``section`` (``accepted`` | ``queued`` | ``adjacent``) and ``review_link``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from trust_tagger.files import atomic_write_text
from trust_tagger.ids import abs_url

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"[a-z][a-z0-9\-]+")
_STOPWORDS = frozenset(
    "a an and are as at be been by can for from has have in into is it its of on or our that the their "
    "these this to we which while with without also both such than then them they was were will not "
    "more most new show shows paper propose proposed using use used based via".split()
)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def extractive_summary(text: str, max_chars: int = 300) -> str:
    """The one or two sentences that carry the abstract's most frequent content words, in reading order.

    Scores are normalised by the square root of sentence length so long sentences do not win by size.
    """
    sentences = _sentences(text)
    if not sentences:
        return ""
    freq = Counter(_content_words(text))

    def score(sentence: str) -> float:
        words = _content_words(sentence)
        return sum(freq[w] for w in words) / math.sqrt(len(words)) if words else 0.0

    ranked = sorted(range(len(sentences)), key=lambda i: -score(sentences[i]))
    chosen: list[int] = []
    for i in ranked[:2]:
        if len(" ".join(sentences[j] for j in sorted(chosen + [i]))) <= max_chars:
            chosen.append(i)
    if not chosen:
        return _truncate(sentences[ranked[0]], max_chars)
    return " ".join(sentences[i] for i in sorted(chosen))


SECTIONS = (("accepted", "Accepted: added to the list"), ("queued", "Queued for review"),
            ("adjacent", "Adjacent: relevant, not core to the list"))
MAX_AUTHORS = 6


def _cell(text: str) -> str:
    """Table-safe: a pipe or a line break inside a cell would split the row."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _authors(names: Sequence[str] | None) -> str:
    names = [n for n in (names or []) if n]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + " et al."
    return ", ".join(names)


def category_of(row: Mapping) -> str:
    """The guide category a row is grouped under: the one of its first label."""
    labels = row.get("labels") or []
    return str(labels[0]).split("/", 1)[0] if labels else "uncategorised"


def _row(row: Mapping) -> str:
    link = row.get("link") or abs_url(row["arxiv_id"])
    source = f"[arXiv]({link})" + (f" · [review]({row['review_link']})" if row.get("review_link") else "")
    labels = ", ".join(row.get("labels") or []) or "unlabelled"
    facts = [labels, f"relevance {float(row.get('relevance', 0)):.2f}"]
    if row.get("core") is not None:
        facts.append(f"core {float(row['core']):.2f}")
    if row.get("categories"):
        facts.append(str(row["categories"][0]))
    title = f"**{_cell(row['title'])}**"
    if row.get("authors"):
        title += f"<br>{_cell(_authors(row['authors']))}"
    title += f"<br>{_cell(' · '.join(facts))}"
    return f"| {source} | {title} | {_cell(extractive_summary(row.get('abstract', '')))} |"


_TABLE_HEAD = ["| Source | Title | Summary |", "|---|---|---|"]


def _tables(rows: list[Mapping]) -> list[str]:
    """One table per category, the category holding the most relevant paper first."""
    groups: dict[str, list[Mapping]] = {}
    for row in sorted(rows, key=lambda r: -float(r.get("relevance", 0))):
        groups.setdefault(category_of(row), []).append(row)
    lines: list[str] = []
    for category, members in groups.items():
        lines += [f"### {category} ({len(members)})", "", *_TABLE_HEAD, *(_row(r) for r in members), ""]
    return lines


def render_digest(rows: Iterable[Mapping], heading: str = "trust-tagger nightly digest", *,
                  date: str | None = None, notes: Sequence[str] = (), review_url: str = "") -> str:
    """Markdown text of the digest; rows without a ``section`` form one table set, most relevant first.

    ``notes`` are lines under the heading (the window, failures); ``review_url`` links the queue.
    """
    rows = list(rows)
    lines = [f"# {heading}" + (f" — {date}" if date else ""), ""]
    counts = {key: sum(1 for r in rows if r.get("section") == key) for key, _ in SECTIONS}
    said = ", ".join(f"{n} {key}" for key, n in counts.items() if n)
    lines += [f"{len(rows)} paper(s)." + (f" {said.capitalize()}." if said else ""), ""]
    lines += [*notes, ""] if notes else []
    if not rows:
        return "\n".join(lines + ["No papers in this window.", "", *_TABLE_HEAD]) + "\n"
    unsectioned = [r for r in rows if r.get("section") not in counts]
    if unsectioned:
        lines += _tables(unsectioned)
    for key, title in SECTIONS:
        members = [r for r in rows if r.get("section") == key]
        if not members:
            continue
        lines += [f"## {title} ({len(members)})", ""]
        if key == "queued" and review_url:
            lines += [f"Decide them on the review page: {review_url.rstrip('/')}/queue", ""]
        lines += _tables(members)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_digest(path: Path | str, rows: Iterable[Mapping], heading: str = "trust-tagger nightly digest",
                 **options) -> str:
    """Write the digest atomically (a reader never sees half a table) and return its text."""
    text = render_digest(rows, heading, **options)
    atomic_write_text(path, text)
    return text
