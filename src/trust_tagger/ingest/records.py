"""The paper record every source produces and every later step consumes.

Both feeds (the arXiv client and the bundled snapshot) hand out :class:`Paper` objects built
by :func:`paper_from_dict`, so validation of bad input happens in exactly one place.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from trust_tagger.ids import paper_key, parse_arxiv_id


class MalformedRecord(ValueError):
    """A record that cannot be used; callers skip and count it, never crash on it."""


@dataclass
class Paper:
    arxiv_id: str
    title: str
    abstract: str
    date: str  # YYYY-MM-DD, the day the paper (or its update) was listed
    version: int | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return paper_key(self.arxiv_id, self.title)

    def to_dict(self) -> dict:
        return asdict(self)


def clean_text(text: str) -> str:
    """Collapse arXiv's hard line breaks and stray whitespace."""
    return re.sub(r"\s+", " ", text or "").strip()


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise MalformedRecord(f"{name} is not text")
    if "\ufffd" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise MalformedRecord(f"{name} has broken unicode")
    text = clean_text(value)
    if not text:
        raise MalformedRecord(f"{name} is empty")
    return text


def paper_from_dict(raw: dict, require_date: bool = True) -> Paper:
    """Validate one raw record (snapshot line, parsed Atom entry, ``classify`` input line); raise
    MalformedRecord if unusable. ``classify`` reads papers that need no listing date
    (``require_date=False``); everything else is checked the same way for every reader."""
    if not isinstance(raw, dict):
        raise MalformedRecord("record is not an object")
    parsed = parse_arxiv_id(str(raw.get("arxiv_id") or raw.get("id") or ""))
    if parsed is None:
        raise MalformedRecord(f"missing or invalid arXiv id: {raw.get('arxiv_id')!r}")
    version = raw.get("version", parsed.version)
    try:
        version = int(version) if version is not None else None
    except (TypeError, ValueError) as exc:
        raise MalformedRecord(f"bad version {version!r}") from exc
    title = _check_text("title", raw.get("title"))
    abstract = _check_text("abstract", raw.get("abstract"))
    date = str(raw.get("date") or "")[:10]
    if require_date or date:
        try:
            dt.date.fromisoformat(date)
        except ValueError as exc:
            raise MalformedRecord(f"bad date {raw.get('date')!r}") from exc
    authors = raw.get("authors") or []
    categories = raw.get("categories") or []
    if not isinstance(authors, list) or not isinstance(categories, list):
        raise MalformedRecord("authors/categories must be lists")
    return Paper(
        arxiv_id=parsed.id,
        version=version,
        title=title,
        abstract=abstract,
        date=date,
        authors=[clean_text(str(a)) for a in authors],
        categories=[str(c) for c in categories],
    )
