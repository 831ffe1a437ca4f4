"""Read the awesome list: its paper lines, its taxonomy, and which papers it already holds.

The list is hand-edited markdown in two layouts that coexist (the maintainers converted most files to
year sections in April 2026 but left some in the old dated form), with hand-made variants of both. The
parser is therefore per line and per file, never per list: every file is judged by what it contains.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from trust_tagger.errors import UserError
from trust_tagger.ids import normalize_title, paper_key

log = logging.getLogger(__name__)

Style = Literal["dated", "year_sections", "undated", "plain"]
FileStyle = Literal["dated", "year_sections"]

_DATE = r"(?P<date>\d{4}/\d{1,2}/\d{1,2})"
# Greedy title + http-only link: the title may hold brackets, and the last "](http...)" is the link.
_TITLE_LINK = r"\[(?P<title>.+)\]\((?P<link>https?://[^\s)]+)\)"
_LINE_PATTERNS: tuple[tuple[Style, re.Pattern[str]], ...] = (
    # - **2025/11/12** | 🎨 [**Title**](link) 🔓   (decoration before and after is free)
    ("year_sections", re.compile(rf"^-\s*\*\*{_DATE}\*\*\s*\|[^\[]*{_TITLE_LINK}[^\[\]()]*$")),
    # - 2025/11/12 [*Title*](link)   also "- 🚀2025/08/02[*Title*](link)  "
    ("dated", re.compile(rf"^-\s*[^\d\[\s]*\s*{_DATE}\s*{_TITLE_LINK}\s*$")),
    # - 🏆 [Title](link)   README "Good Papers"; a word before the link (e.g. "Organizers:") is no paper
    ("undated", re.compile(rf"^-\s*[^\w\[\s]*\s*{_TITLE_LINK}\s*$")),
    # 2026/04/17 Title<br>   collections/new.md, a staging list without links
    ("plain", re.compile(rf"^{_DATE}\s+(?P<title>.+?)\s*<br>\s*$")),
)
_YEAR_HEADING = re.compile(r"^##\s*📅\s*(?P<year>\d{4})\s*$")
_TOC_CATEGORY = re.compile(r"^\s*-\s*(?P<letter>[A-Z])\.?\s+(?P<name>[A-Za-z][^\[\]]*?)\s*$")
_TOC_LINK = re.compile(r"\[(?P<label>[^\]]*)\]\((?:\./)?(?P<path>(?:papers|collections)/[^)\s]+\.md)\)")
_TOC_LABEL = re.compile(r"(?P<letter>[A-Z]\d+)\.?\s*(?P<name>.+)")
_KEY_PART = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class ListError(UserError):
    """The list cannot be read or written as asked; the message says which file and what to do."""


class ListEncodingError(ListError):
    """A list file that is not valid UTF-8; ``where`` is ``file:line``."""

    def __init__(self, where: str, detail: str, note: str = ""):
        super().__init__(f"{where}: not valid UTF-8 ({detail}); re-save the file as UTF-8"
                         + (f" ({note})" if note else ""))
        self.where, self.detail = where, detail


def read_list_text(path: Path, name: str = "") -> str:
    """A list file's text; a byte that is not UTF-8 is a :class:`ListEncodingError` naming file and line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ListEncodingError(f"{name or path}:{line}", f"byte 0x{data[exc.start]:02x} at column {column}") from None


@dataclass
class ListEntry:
    """One paper line of one list file, as written there."""

    file: str
    line_no: int
    date: dt.date | None
    title: str
    link: str
    key: str
    style: Style
    raw: str


@dataclass(frozen=True)
class Section:
    """A category, subcategory or collection, named the way the README's table of contents names it."""

    key: str
    file: str
    name: str
    letter: str | None = None


@dataclass
class Taxonomy:
    """What the list itself says its sections are; the tagger's labels must map onto these files."""

    categories: dict[str, Section] = field(default_factory=dict)
    subcategories: dict[str, Section] = field(default_factory=dict)
    collections: dict[str, Section] = field(default_factory=dict)
    dangling_links: list[str] = field(default_factory=list)  # README links to files that do not exist

    def section(self, key: str) -> Section | None:
        return self.subcategories.get(key) or self.collections.get(key)


@dataclass
class ListSnapshot:
    """All entries of one copy of the list, indexed by paper key for de-duplication."""

    entries: list[ListEntry]
    taxonomy: Taxonomy
    unreadable: list[ListEncodingError] = field(default_factory=list)  # files left out: not UTF-8

    def __post_init__(self) -> None:
        self._by_key: dict[str, list[ListEntry]] = {}
        self._by_title: dict[str, list[ListEntry]] = {}
        for entry in self.entries:
            self._by_key.setdefault(entry.key, []).append(entry)
            title = normalize_title(entry.title)
            if title:
                self._by_title.setdefault(title, []).append(entry)

    def keys(self) -> set[str]:
        return set(self._by_key)

    def files_for(self, key: str) -> list[str]:
        return list(dict.fromkeys(entry.file for entry in self._by_key.get(key, [])))

    def labels_for(self, key: str) -> list[str]:
        """Subcategory keys of the papers/ files holding the paper: the maintainers' own labels for it."""
        return [label for file in self.files_for(key) if (label := subcategory_of(file))]

    def contains(self, key: str, title: str = "") -> bool:
        """Whether the paper is listed under its key or under its title.

        The title check catches papers the list links outside arXiv (openreview, aclanthology) or under a
        wrong arXiv id, which a key alone cannot match.
        """
        norm = normalize_title(title)
        return key in self._by_key or bool(norm and norm in self._by_title)

    def files_holding(self, key: str, title: str = "", claimed: set[str] | frozenset[str] = frozenset()) -> set[str]:
        """The files that hold the paper, under its key or (like :meth:`contains`) under its title.

        A title match is not counted when the entry's key is in ``claimed`` (papers of the same merge):
        two different papers with one title each get their own line.
        """
        files = {entry.file for entry in self._by_key.get(key, [])}
        norm = normalize_title(title)
        if norm:
            files |= {e.file for e in self._by_title.get(norm, []) if e.key == key or e.key not in claimed}
        return files


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on "\\n" only, so joining them gives back the exact text."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def line_body(line: str) -> str:
    """The line without its ending (LF or CRLF)."""
    if line.endswith("\n"):
        line = line[:-1]
    return line[:-1] if line.endswith("\r") else line


def _parse_date(text: str) -> dt.date | None:
    year, month, day = (int(part) for part in text.split("/"))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _strip_emphasis(title: str) -> str:
    """``*Title*`` and ``**Title**`` are markup of the layout, not part of the title."""
    title = title.strip()
    for marker in ("**", "*"):
        if len(title) > 2 * len(marker) and title.startswith(marker) and title.endswith(marker):
            return title[len(marker) : -len(marker)].strip()
    return title


def parse_line(body: str, file: str = "", line_no: int = 0) -> ListEntry | None:
    """The entry on one line (without its ending), or None when the line is not a paper."""
    for style, pattern in _LINE_PATTERNS:
        m = pattern.match(body)
        if m:
            groups = m.groupdict()
            title = _strip_emphasis(groups["title"])
            link = groups.get("link") or ""
            date = _parse_date(groups["date"]) if groups.get("date") else None
            return ListEntry(file, line_no, date, title, link, paper_key(link, title), style, body)
    return None


def parse_file(text: str, file: str = "") -> list[ListEntry]:
    """Every entry of one file's text, with 0-based line numbers into :func:`split_lines`."""
    entries = []
    for line_no, line in enumerate(split_lines(text)):
        entry = parse_line(line_body(line), file, line_no)
        if entry:
            entries.append(entry)
    return entries


def year_headings(text: str) -> dict[int, int]:
    """Line number of each ``## 📅 YYYY`` heading, by year."""
    return {
        int(m.group("year")): line_no
        for line_no, line in enumerate(split_lines(text))
        if (m := _YEAR_HEADING.match(line_body(line)))
    }


def file_style(text: str) -> FileStyle | None:
    """The layout a file is written in: the majority of its entries, else its headings; None if empty.

    Per file, because the 2026 list mixes layouts (e.g. ``collections/survey.md`` stayed dated).
    """
    counts = Counter(e.style for e in parse_file(text) if e.style in ("dated", "year_sections"))
    if counts:
        return counts.most_common(1)[0][0]
    return "year_sections" if year_headings(text) else None


def subcategory_of(file: str) -> str | None:
    """``papers/safety/jailbreak.md`` -> ``safety/jailbreak``; None for files outside papers/."""
    parts = file.split("/")
    if len(parts) == 3 and parts[0] == "papers" and parts[2].endswith(".md"):
        return f"{parts[1]}/{parts[2][:-3]}"
    return None


def target_file(key: str) -> str:
    """The file a section key stands for: ``safety/jailbreak`` -> papers/…, ``survey`` -> collections/…."""
    parts = key.split("/")
    if len(parts) not in (1, 2) or not all(_KEY_PART.match(part) for part in parts):
        raise ValueError(f"not a subcategory or collection key: {key!r}")
    return f"papers/{key}.md" if len(parts) == 2 else f"collections/{key}.md"


def _default_name(key: str) -> str:
    return key.rsplit("/", 1)[-1].replace("_", " ").capitalize()


def _read_toc(readme: str) -> tuple[dict[str, tuple[str | None, str]], dict[str, tuple[str, str]]]:
    """Letters and names the README gives: {file: (letter, name)} and {category: (letter, name)}."""
    files: dict[str, tuple[str | None, str]] = {}
    categories: dict[str, tuple[str, str]] = {}
    current: tuple[str, str] | None = None
    for line in split_lines(readme):
        body = line_body(line)
        if m := _TOC_CATEGORY.match(body):
            current = (m.group("letter"), m.group("name"))
            continue
        for link in _TOC_LINK.finditer(body):
            path = link.group("path")
            label = link.group("label").strip()
            if m := _TOC_LABEL.search(label):
                files[path] = (m.group("letter"), m.group("name").strip())
            else:
                files[path] = (None, re.sub(r"^\W+", "", label).strip())
            sub = subcategory_of(path)
            if sub and current:
                categories.setdefault(sub.split("/")[0], current)
    return files, categories


def _md_files(list_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(list_dir).as_posix()
        for p in list_dir.rglob("*.md")
        if not any(part.startswith(".") for part in p.relative_to(list_dir).parts)
    )


def load_taxonomy(list_dir: Path | str) -> Taxonomy:
    """Sections from the files that exist (empty ones included), names and letters from the README."""
    list_dir = Path(list_dir)
    readme = list_dir / "README.md"
    toc_files, toc_categories = {}, {}
    if readme.exists():
        try:
            toc_files, toc_categories = _read_toc(read_list_text(readme, "README.md"))
        except ListEncodingError:
            pass  # parse_list reports the file; sections still come from the files that exist
    taxonomy = Taxonomy()
    files = _md_files(list_dir)
    for file in files:
        letter, name = toc_files.get(file, (None, ""))
        if sub := subcategory_of(file):
            taxonomy.subcategories[sub] = Section(sub, file, name or _default_name(sub), letter)
            category = sub.split("/")[0]
            if category not in taxonomy.categories:
                cat_letter, cat_name = toc_categories.get(category, (None, _default_name(category)))
                taxonomy.categories[category] = Section(category, f"papers/{category}", cat_name, cat_letter)
        elif file.startswith("collections/") and file.count("/") == 1:
            key = file.removeprefix("collections/").removesuffix(".md")
            taxonomy.collections[key] = Section(key, file, name or _default_name(key), letter)
    taxonomy.dangling_links = sorted(set(toc_files) - set(files))
    return taxonomy


def parse_list(list_dir: Path | str) -> ListSnapshot:
    """Every entry of every markdown file of the list (README and collections included).

    A file that is not valid UTF-8 is left out with a warning naming its file and line, and recorded in
    ``unreadable``: readers (the nightly's "already listed" check, the review page, the dataset) keep
    working on the rest of the list, while the merge, which must not write a list it cannot read whole,
    refuses (:func:`trust_tagger.listfile.merge.merge_papers`).
    """
    list_dir = Path(list_dir)
    entries, unreadable = [], []
    for file in _md_files(list_dir):
        try:
            text = read_list_text(list_dir / file, file)
        except ListEncodingError as exc:
            log.warning("%s: left out of the list's entries", exc)
            unreadable.append(exc)
            continue
        entries.extend(parse_file(text, file))
    return ListSnapshot(entries, load_taxonomy(list_dir), unreadable)
