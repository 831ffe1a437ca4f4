"""One canonical key per paper.

The list links papers in many forms (abs/pdf/html URLs, ``www.``, ``vN`` suffixes,
openreview, aclanthology) and arXiv hands out new versions of the same paper. Every
de-duplication in the product (store, merge, review near-duplicates) goes through
:func:`paper_key`, so two forms of the same paper can never be told apart by accident.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# New-style ids (0704.0001 onwards, 4+4 or 4+5 digits) and old-style ``archive/YYMMNNN``.
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})"
_OLD_ID = r"(?P<old>[a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
_VERSION = r"(?:v(?P<version>\d+))?"
_ARXIV_ID_RE = re.compile(rf"^(?:arxiv:)?\s*(?:{_NEW_ID}|{_OLD_ID}){_VERSION}$", re.IGNORECASE)
_ARXIV_URL_RE = re.compile(
    rf"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/"
    rf"(?:{_NEW_ID}|{_OLD_ID}){_VERSION}(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


class ArxivId(NamedTuple):
    """A versionless arXiv id and the version it was seen with (None when unversioned)."""

    id: str
    version: int | None


def parse_arxiv_id(text: str) -> ArxivId | None:
    """Read an arXiv id from a bare id, an ``arXiv:`` id or any arxiv.org URL; None if it is not one."""
    text = (text or "").strip()
    m = _ARXIV_URL_RE.match(text) or _ARXIV_ID_RE.match(text)
    if not m:
        return None
    ident = m.group("new") or m.group("old")
    if m.group("old"):
        archive, number = ident.split("/")
        # ``math.GT/0309136`` is a legacy spelling of ``math/0309136``: the subject class is not part of the id.
        ident = f"{archive.split('.')[0].lower()}/{number}"
    version = int(m.group("version")) if m.group("version") else None
    return ArxivId(ident, version)


def normalize_title(title: str) -> str:
    """Lower-case, accent-free, punctuation-free title: the identity of papers without an arXiv id."""
    text = unicodedata.normalize("NFKD", title or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\$[^$]*\$", " ", text)  # inline LaTeX differs between sources
    text = re.sub(r"[^0-9a-z]+", " ", text.lower())
    return " ".join(text.split())


def paper_key(link_or_id: str | None, title: str = "") -> str:
    """The canonical key: ``arxiv:<id>`` for arXiv papers, ``title:<normalised title>`` otherwise."""
    parsed = parse_arxiv_id(link_or_id or "")
    if parsed:
        return f"arxiv:{parsed.id}"
    norm = normalize_title(title)
    if not norm:
        raise ValueError(f"cannot key a paper with neither an arXiv id nor a title: {link_or_id!r}")
    return f"title:{norm}"


def abs_url(arxiv_id: str) -> str:
    """The link form the list uses for new entries."""
    return f"https://arxiv.org/abs/{arxiv_id}"
