"""The nightly digest: one markdown table a maintainer can skim in a minute.

Summaries are extractive (sentences of the abstract itself), so the digest can never state something
the paper does not, and needs no model at run time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping

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


def _cell(text: str) -> str:
    """Table-safe: a pipe or a line break inside a cell would split the row."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _row(row: Mapping) -> str:
    link = row.get("link") or abs_url(row["arxiv_id"])
    labels = ", ".join(row.get("labels") or []) or "unlabelled"
    title = f"**{_cell(row['title'])}**<br>{_cell(labels)} · relevance {float(row.get('relevance', 0)):.2f}"
    return f"| [arXiv]({link}) | {title} | {_cell(extractive_summary(row.get('abstract', '')))} |"


def render_digest(rows: Iterable[Mapping], heading: str = "trust-tagger nightly digest",
                  adjacent: Iterable[Mapping] = ()) -> str:
    """Markdown text of the digest, most relevant paper first; adjacent papers (relevant, not core,
    left off the list by ``merge_policy = core``) in a section of their own."""
    ordered = sorted(rows, key=lambda r: -float(r.get("relevance", 0)))
    lines = [f"# {heading}", "", f"{len(ordered)} paper(s).", "", "| Source | Title | Summary |", "|---|---|---|"]
    lines += [_row(row) for row in ordered]
    adjacent = sorted(adjacent, key=lambda r: -float(r.get("relevance", 0)))
    if adjacent:
        lines += ["", f"## Adjacent ({len(adjacent)}): relevant, not core, not merged", "",
                  "| Source | Title | Summary |", "|---|---|---|"]
        lines += [_row(row) for row in adjacent]
    return "\n".join(lines) + "\n"


def write_digest(path: Path | str, rows: Iterable[Mapping], heading: str = "trust-tagger nightly digest",
                 adjacent: Iterable[Mapping] = ()) -> str:
    """Write the digest atomically (a reader never sees half a table) and return its text."""
    text = render_digest(rows, heading, adjacent)
    atomic_write_text(path, text)
    return text
