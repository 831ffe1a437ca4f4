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


# Bounds of a usable record. arXiv versions are small (v1..v30 in practice) and the store keeps them in
# a 64-bit INTEGER column, which a 4,000-digit JSON number (valid JSON, under Python's 4,300-digit
# parse limit) would overflow. Text caps are ~10x the longest seen in the bundled snapshot
# (6,516 papers: title 203 characters, abstract 4,031) and only stop absurd records.
MAX_VERSION = 1000
MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_CHARS = 50_000
MAX_NAME_CHARS = 500  # one author name or category
# C0/C1 control characters other than whitespace: a NUL cannot even be stored by Postgres.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Collapse arXiv's hard line breaks and stray whitespace; drop control characters."""
    return re.sub(r"\s+", " ", _CONTROL_RE.sub("", text or "")).strip()


def _shown(value: object) -> str:
    """A value as it may appear in a one-line reason: repr (escapes surrogates), at most 60 characters."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # a deeply nested list, an int past the digit limit
        return f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _has_surrogate(value: str) -> bool:
    """A lone surrogate (JSON ``"\\ud800"``) cannot be encoded as UTF-8: the store, the tokenizer and
    every file writer would fail on it later."""
    return any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def _check_text(name: str, value: object, limit: int = MAX_TITLE_CHARS) -> str:
    if not isinstance(value, str):
        raise MalformedRecord(f"{name} is not text")
    if "\ufffd" in value or _has_surrogate(value):
        raise MalformedRecord(f"{name} has broken unicode")
    text = clean_text(value)
    if not text:
        raise MalformedRecord(f"{name} is empty")
    if len(text) > limit:
        raise MalformedRecord(f"{name} has {len(text)} characters (limit {limit})")
    return text


def _check_version(value: object) -> int | None:
    """An arXiv version 1..MAX_VERSION: an int, a digit string or an integral float (JSON ``2.0``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedRecord(f"bad version {value!r}")
    if isinstance(value, float) and value.is_integer():  # inf and nan are not integers
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise MalformedRecord(f"bad version {_shown(value)} (expected 1..{MAX_VERSION})")
    return value


def _check_names(name: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedRecord(f"{name} must be a list of text")
    # A replacement character in an author name is arXiv's own mis-encoding and keeps the paper;
    # a lone surrogate cannot be stored at all.
    if any(_has_surrogate(v) for v in value):
        raise MalformedRecord(f"{name} have broken unicode")
    names = [clean_text(v) for v in value]
    if any(len(v) > MAX_NAME_CHARS for v in names):
        raise MalformedRecord(f"{name} hold a name over {MAX_NAME_CHARS} characters")
    return [v for v in names if v]


def paper_from_dict(raw: dict, require_date: bool = True) -> Paper:
    """Validate one raw record (snapshot line, parsed Atom entry, ``classify`` input line); raise
    MalformedRecord if unusable. ``classify`` reads papers that need no listing date
    (``require_date=False``); everything else is checked the same way for every reader.

    Every field is type-checked before it is converted, so no value a JSON line can hold (infinity,
    a 4,000-digit integer, a lone surrogate, a nested list) raises anything but MalformedRecord."""
    if not isinstance(raw, dict):
        raise MalformedRecord("record is not an object")
    ident = raw.get("arxiv_id") or raw.get("id") or ""
    parsed = parse_arxiv_id(ident) if isinstance(ident, str) and len(ident) <= 200 else None
    if parsed is None:
        raise MalformedRecord(f"missing or invalid arXiv id: {_shown(raw.get('arxiv_id'))}")
    version = _check_version(raw.get("version", parsed.version))
    title = _check_text("title", raw.get("title"))
    abstract = _check_text("abstract", raw.get("abstract"), MAX_ABSTRACT_CHARS)
    date = raw.get("date") or ""
    if not isinstance(date, str):
        raise MalformedRecord(f"bad date {_shown(date)}")
    date = date[:10]
    if require_date or date:
        try:
            date = dt.date.fromisoformat(date).isoformat()  # "20260102" is ISO too; store one form
        except ValueError as exc:
            raise MalformedRecord(f"bad date {_shown(raw.get('date'))}") from exc
    authors = _check_names("authors", raw.get("authors"))
    categories = _check_names("categories", raw.get("categories"))
    return Paper(
        arxiv_id=parsed.id,
        version=version,
        title=title,
        abstract=abstract,
        date=date,
        authors=authors,
        categories=categories,
    )


@dataclass
class FeedStatus:
    """Filled while a feed is read: ``complete`` turns True only when the source says the whole
    window was served (the end confirmed, no request given up); ``warnings`` go into the report."""

    complete: bool = False
    warnings: list[str] = field(default_factory=list)
