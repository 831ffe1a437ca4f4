"""What a terminal shows of a paper, as rich ``Text``: shared by the full-screen review (``tui``) and the
line-by-line one (``lines``).

Paper text comes from arXiv, i.e. from anyone, so it is always wrapped in ``rich.text.Text`` (never
parsed as rich markup) with control characters removed (no terminal escape sequences from a title).
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

from trust_tagger import review
from trust_tagger.review.queue import ReviewPaper

EVIDENCE_STYLE = "bold yellow"


def plain(text: object) -> str:
    """Untrusted text without control characters (escape sequences), newlines and tabs kept."""
    return "".join(ch for ch in str(text) if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def safe(text: object, style: str = "") -> Text:
    return Text(plain(text), style=style)


def pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


def evidence_labels(paper: ReviewPaper) -> list[str]:
    """The labels whose keyword evidence is worth marking: the predicted files, then the likely categories."""
    pred = paper.prediction or {}
    cats = [c for c, p in sorted(pred.get("categories", {}).items(), key=lambda kv: -kv[1]) if p >= 0.5]
    return list(dict.fromkeys(paper.predicted_targets + cats))


def abstract_text(paper: ReviewPaper) -> Text:
    """The abstract with the terms backing the predicted labels marked (``model.baselines.keyword_evidence``)."""
    from trust_tagger.model.baselines import keyword_evidence

    text = safe(paper.abstract)
    for start, end, _ in keyword_evidence(text.plain, evidence_labels(paper)):
        text.stylize(EVIDENCE_STYLE, start, end)
    return text


def prediction_lines(paper: ReviewPaper, floor: float = 0.2) -> Text:
    """Two or three lines: relevance (and core), where it would go with the probabilities that matter."""
    pred = paper.prediction
    out = Text()
    if pred:
        out.append("Relevant ", "bold")
        out.append(safe(f"{pct(pred['relevance'])} (class {pred['relevance_class']})"))
        if paper.core is not None:
            out.append("  core ", "bold")
            out.append(safe(pct(paper.core)))
        if paper.adjacent:
            out.append("  adjacent", "magenta")
        out.append(safe(f"  routed {pred['decision']}  model {pred['model_version']}", "dim"))
    else:
        out.append(safe("No prediction stored.", "dim"))
    out.append("\nWould go to ", "bold")
    subs = (pred or {}).get("subcategories", {})
    files = [f"{f} {pct(subs.get(t))}".strip() for t, f in zip(paper.predicted_targets,
                                                               review.list_files(paper.predicted_targets))]
    out.append(safe(", ".join(files)) if files else safe("no list file predicted: e to choose", "yellow"))
    others = sorted(((k, v) for k, v in subs.items() if v >= floor and k not in paper.predicted_targets),
                    key=lambda kv: -kv[1])[:3]
    if others:
        out.append(safe("  also " + ", ".join(f"{k} {pct(v)}" for k, v in others), "dim"))
    if paper.status in ("accepted", "listed") and paper.labels:
        out.append("\nFiled under ", "bold")
        out.append(safe(", ".join(review.list_files(paper.labels)) + (" (merged)" if paper.merged else "")))
    return out


def duplicate_line(paper: ReviewPaper, index: review.ListIndex) -> Text | None:
    dups = index.near_duplicates(paper.key, paper.title)
    if not dups:
        return None
    d = dups[0]
    line = safe(f"already on the list? {d.reason} ({pct(d.score)}): ", "bold red")
    line.append(safe(f"{d.title} - {d.file}"))
    if len(dups) > 1:
        line.append(safe(f" (+{len(dups) - 1} more)", "red"))
    return line
