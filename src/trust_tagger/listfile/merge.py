"""Merge accepted papers into the awesome list the way a maintainer would, touching nothing else.

The list is hand-maintained and reviewed by diff, so a merge may only insert whole lines: every other
byte (odd spacing, CRLF, a missing final newline, stray lines) stays as it was, and each file is written
in the layout it already uses.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from trust_tagger.files import atomic_write_text
from trust_tagger.ids import abs_url, paper_key, parse_arxiv_id
from trust_tagger.listfile.guard import list_writer
from trust_tagger.listfile.parse import (
    FileStyle,
    ListEncodingError,
    ListEntry,
    file_style,
    line_body,
    parse_file,
    parse_line,
    parse_list,
    read_list_text,
    split_lines,
    target_file,
    year_headings,
)

# Links the merge writes: http(s) to the hosts the list links papers on (the store only makes arXiv ones).
LINK_HOSTS = ("arxiv.org", "openreview.net", "aclanthology.org", "doi.org")
_LINK_OK = re.compile(r"https?://(?:www\.|export\.)?(?:" + "|".join(map(re.escape, LINK_HOSTS))
                      + r")/[^\s()\[\]<>\"'`\\]*")
# The longest of the 6,516 titles in data/raw is 203 characters; anything far longer is not a title.
MAX_TITLE_CHARS = 300
# Raw HTML as CommonMark (and GitHub) reads it: script/style elements with their content, comments,
# <!...>, <?...?>, open and closing tags.
_HTML = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)|<!--.*?(?:-->|$)|<![A-Za-z\[].*?(?:>|$)|<\?.*?(?:\?>|$)"
                   r"|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.DOTALL | re.IGNORECASE)
_SCRIPT_SCHEME = re.compile(r"\b(?:javascript|vbscript|data)\s*:", re.IGNORECASE)
_DEFAULT_SECTION_GAP = ("", "---", "")  # blank, rule, blank: the shape the 2026 list uses between years


@dataclass
class MergeItem:
    """One accepted paper and the sections (subcategory or collection keys) it belongs in."""

    key: str
    title: str
    link: str
    date: dt.date
    targets: list[str]

    @classmethod
    def from_arxiv(cls, arxiv_id: str, title: str, date: dt.date, targets: Iterable[str]) -> MergeItem:
        """The usual item: keyed and linked the way the list links arXiv papers (abs URL, no version)."""
        parsed = parse_arxiv_id(arxiv_id)
        if parsed is None:
            raise ValueError(f"not an arXiv id: {arxiv_id!r}")
        return cls(paper_key(parsed.id), title, abs_url(parsed.id), date, list(targets))


@dataclass
class MergeResult:
    added: list[tuple[str, str]] = field(default_factory=list)  # (file, inserted line without its ending)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (file, removed line without its ending)
    already_listed: list[str] = field(default_factory=list)
    diff: str = ""
    changed_files: list[str] = field(default_factory=list)
    placed: dict[str, list[str]] = field(default_factory=dict)  # key -> its target files that hold it now
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, why its line cannot be written)


def clean_title(title: str) -> str:
    """The title as it may go into the list: one line of plain text that renders as itself.

    Titles come from arXiv (or anyone who can post there) and the list is rendered as HTML, so what is
    written is cleaned here, once, for every line the merge writes: control, format and bidi characters
    (NUL, U+202E ...) and lone surrogates go; HTML tags and comments are dropped (a ``<!--`` would hide
    the rest of the file), a script or style element with its content, and any other ``<``/``>`` is escaped; ``javascript:``-style schemes go;
    emphasis markers and link brackets cannot break the entry; the length is capped.
    """
    text = "".join(" " if ch.isspace() else ch for ch in title)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _HTML.sub(" ", text)
    text = _SCRIPT_SCHEME.sub("", text).replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("*", "").replace("[", "(").replace("]", ")")
    text = " ".join(text.split()).rstrip("\\").rstrip()
    if len(text) > MAX_TITLE_CHARS:
        cut = text[: MAX_TITLE_CHARS - 1]
        text = (cut.rsplit(" ", 1)[0] if " " in cut[MAX_TITLE_CHARS // 2 :] else cut).rstrip("\\ ") + "…"
    if not text:
        raise ValueError("empty title")
    return text


def format_line(style: FileStyle, date: dt.date, title: str, link: str) -> str:
    """The entry line in a file's layout; layout 2's emoji are free decoration, so a neutral one is used.

    A line is only returned if it parses back to the same paper and title: the merge finds its own
    lines again by parsing, so a line it could not read back would be written again on every run.
    """
    if not _LINK_OK.fullmatch(link):
        raise ValueError(f"link is not an http(s) link to {', '.join(LINK_HOSTS)}: {link!r}")
    day = date.strftime("%Y/%m/%d")
    title = clean_title(title)
    if style == "year_sections":
        line = f"- **{day}** | 📄 [**{title}**]({link})"
    elif style == "dated":
        line = f"- {day} [*{title}*]({link})"
    else:
        raise ValueError(f"unknown list style: {style!r}")
    entry = parse_line(line)
    if entry is None or (entry.title, entry.link, entry.style) != (title, link, style):
        raise ValueError(f"the entry would not read back as written: {line!r}")
    return line


def _eol(lines: list[str]) -> str:
    crlf = sum(line.endswith("\r\n") for line in lines)
    return "\r\n" if crlf * 2 > sum(line.endswith("\n") for line in lines) else "\n"


def _insert(lines: list[str], index: int, block: list[str], eol: str) -> list[str]:
    """Insert whole lines; appending after an unterminated last line keeps the file unterminated."""
    if index >= len(lines) and lines and not lines[-1].endswith("\n"):
        return lines[:-1] + [lines[-1] + eol] + block[:-1] + [line_body(block[-1])]
    return lines[:index] + block + lines[index:]


def _slot_in_run(run: list[ListEntry], date: dt.date) -> int:
    """Newest first, after same-day entries; in hand-sorted files with entries out of place, the spot
    that contradicts the fewest of them, so one stray entry cannot drag new papers to the top."""
    dated = [(entry.date, entry.line_no) for entry in run if entry.date is not None]

    def misplaced(i: int) -> int:
        return sum(d < date for d, _ in dated[:i]) + sum(d > date for d, _ in dated[i:])

    best = min(range(len(dated) + 1), key=lambda i: (misplaced(i), -i))
    return dated[best][1] if best < len(dated) else run[-1].line_no + 1


def _runs(lines: list[str], entries: list[ListEntry]) -> list[list[ListEntry]]:
    """Entries in consecutive blocks; any non-blank non-entry line (heading, rule, note) ends a block."""
    by_line = {entry.line_no: entry for entry in entries}
    runs: list[list[ListEntry]] = [[]]
    for line_no, line in enumerate(lines):
        if line_no in by_line:
            runs[-1].append(by_line[line_no])
        elif line_body(line).strip() and runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _after_headings(lines: list[str]) -> int:
    """Where a first entry goes: below the file's title heading (and the blank line under it), else on top."""
    headings = [i for i, line in enumerate(lines) if line.startswith("#")]
    if not headings:
        return 0
    index = headings[-1] + 1
    return index + 1 if index < len(lines) and not line_body(lines[index]).strip() else index


def _dated_slot(lines: list[str], entries: list[ListEntry], date: dt.date) -> int:
    """In the last block of entries: the main list comes after highlight blocks ("Our Work") and, in
    per-family files (technical_report.md), the last group is the catch-all "Other Models"."""
    runs = _runs(lines, entries)
    return _slot_in_run(runs[-1], date) if runs else _after_headings(lines)


@dataclass
class _YearSection:
    year: int
    heading: int
    entries: list[ListEntry]

    @property
    def end(self) -> int:
        """Line just after the section's last entry (or its heading when it has none)."""
        return self.entries[-1].line_no + 1 if self.entries else self.heading + 1


def _year_sections(text: str, entries: list[ListEntry]) -> list[_YearSection]:
    starts = sorted((line_no, year) for year, line_no in year_headings(text).items())
    sections = []
    for i, (line_no, year) in enumerate(starts):
        stop = starts[i + 1][0] if i + 1 < len(starts) else float("inf")
        sections.append(_YearSection(year, line_no, [e for e in entries if line_no < e.line_no < stop]))
    return sections


def _section_shape(lines: list[str], sections: list[_YearSection], eol: str) -> tuple[list[str], list[str]]:
    """The file's own spacing: lines between a year heading and its first entry, and between sections."""
    head_gap: list[str] = []
    for section in sections:
        if section.entries:
            head_gap = lines[section.heading + 1 : section.entries[0].line_no]
            break
    if len(sections) > 1:
        between = lines[sections[0].end : sections[1].heading]
    else:
        between = [part + eol for part in _DEFAULT_SECTION_GAP]
    return head_gap, between


def _year_slot(
    text: str, lines: list[str], entries: list[ListEntry], date: dt.date, body: str, eol: str
) -> tuple[int, list[str]]:
    """Index and lines to insert so the entry lands in its ``## 📅 YYYY`` section, made if missing."""
    sections = _year_sections(text, entries)
    for section in sections:
        if section.year == date.year:
            index = _slot_in_run(section.entries, date) if section.entries else section.heading + 1
            return index, [body + eol]
    head_gap, between = _section_shape(lines, sections, eol)
    new_section = [f"## 📅 {date.year}{eol}", *head_gap, body + eol]
    older = [s for s in sections if s.year < date.year]
    if older:
        return older[0].heading, new_section + between
    if sections:
        return sections[-1].end, between + new_section
    return _after_headings(lines), new_section


def insert_entry(
    text: str | None, date: dt.date, title: str, link: str, default_style: FileStyle = "dated"
) -> tuple[str, str]:
    """The file text with the entry inserted in place, and the inserted line; None text = new file."""
    text = text or ""
    style = file_style(text) or default_style
    body = format_line(style, date, title, link)
    lines = split_lines(text)
    eol = _eol(lines)
    entries = parse_file(text)
    if style == "year_sections" and (year_headings(text) or not entries):
        index, block = _year_slot(text, lines, entries, date, body, eol)
    else:
        index, block = _dated_slot(lines, entries, date), [body + eol]
    return "".join(_insert(lines, index, block, eol)), body


def _unified_diff(file: str, old: str | None, new: str) -> str:
    before = [line_body(line) for line in split_lines(old or "")]
    after = [line_body(line) for line in split_lines(new)]
    fromfile = f"a/{file}" if old is not None else "/dev/null"
    lines = difflib.unified_diff(before, after, fromfile, f"b/{file}", lineterm="")
    return "".join(line + "\n" for line in lines)


def _unique_items(items: Iterable[MergeItem]) -> list[MergeItem]:
    """One item per paper key, with the targets of its repeats joined in.

    By key only: two different papers that share a title are two papers (joining them by title wrote
    the first and recorded the second as merged without a line of its own).
    """
    unique: dict[str, MergeItem] = {}
    for item in items:
        first = unique.setdefault(item.key, MergeItem(item.key, item.title, item.link, item.date, []))
        first.targets.extend(t for t in item.targets if t not in first.targets)
    return list(unique.values())


def remove_entry(text: str, key: str) -> tuple[str, list[str]]:
    """Drop the lines of one paper from a file's text; every other byte stays."""
    lines = split_lines(text)
    doomed = {e.line_no for e in parse_file(text) if e.key == key}
    kept = [line for i, line in enumerate(lines) if i not in doomed]
    return "".join(kept), [line_body(lines[i]) for i in sorted(doomed)]


def merge_papers(
    list_dir: Path | str,
    items: Iterable[MergeItem],
    default_style: FileStyle = "dated",
    dry_run: bool = False,
    remove: Mapping[str, Iterable[str]] | None = None,
    lock_timeout: float = 300.0,
    notify: Callable[[str], None] | None = None,
) -> MergeResult:
    """Write each paper into each of its target files that does not hold it yet; idempotent.

    The list is the truth, file by file. A paper is looked up in every file (its key in any link form,
    or its title for papers linked outside arXiv); it is then written to each target file that lacks
    it, so a merge killed between two files, or a checkout reset to before a merge, is repaired by the
    next merge (a killed run lost 3 of 33 lines of the March window when "anywhere on the list" meant
    done). A paper the list holds only outside its target files (README, a collection, another section)
    is left alone: the maintainers placed it there. ``remove`` ({key: files}) takes a paper out of
    files first: a maintainer's correction of an earlier merge.

    ``placed`` says, for every paper given, which of its target files hold it afterwards (what the store
    records as merged); a paper whose line cannot be written (a title that is empty once cleaned, a link
    the list does not take) is reported in ``skipped`` and the rest are merged. The whole
    read-modify-write holds the list's lock (:func:`~trust_tagger.listfile.guard.list_writer`), and a
    list file that is not UTF-8 stops the merge before anything is written: the file and line are named,
    and the accepted papers wait in the store for the first merge after the fix.
    """
    with list_writer(list_dir, lock_timeout, notify) as list_dir:
        return _merge_locked(list_dir, items, default_style, dry_run, remove)


def _merge_locked(list_dir: Path, items: Iterable[MergeItem], default_style: FileStyle, dry_run: bool,
                  remove: Mapping[str, Iterable[str]] | None) -> MergeResult:
    snapshot = parse_list(list_dir)
    if snapshot.unreadable:
        first, more = snapshot.unreadable[0], len(snapshot.unreadable) - 1
        raise ListEncodingError(first.where, first.detail,
                                "nothing was merged" + (f"; {more} more files are not UTF-8 either" if more else ""))
    result = MergeResult()
    originals: dict[str, str | None] = {}
    texts: dict[str, str] = {}

    def current(file: str) -> str | None:
        if file not in originals:
            path = list_dir / file
            originals[file] = read_list_text(path, file) if path.exists() else None
        return texts.get(file, originals[file])

    removed_from = {key: set(files) for key, files in (remove or {}).items()}
    for key, files in removed_from.items():
        result.placed[key] = []
        for file in sorted(files):
            text = current(file)
            if text is None:
                continue
            new_text, lines = remove_entry(text, key)
            if lines:
                texts[file] = new_text
                result.removed.extend((file, line) for line in lines)
    unique = _unique_items(items)
    claimed = {item.key for item in unique}
    for item in unique:
        wanted = list(dict.fromkeys(target_file(t) for t in item.targets))
        held = snapshot.files_holding(item.key, item.title, claimed) - removed_from.get(item.key, set())
        present = [file for file in wanted if file in held]
        missing = [file for file in wanted if file not in held]
        if not missing or (held and not present):
            result.already_listed.append(item.key)
            result.placed[item.key] = present
            continue
        try:
            new = {file: insert_entry(current(file), item.date, item.title, item.link, default_style)
                   for file in missing}
        except ValueError as exc:
            result.skipped.append((item.key, str(exc)))
            result.placed[item.key] = present
            continue
        for file, (text, line) in new.items():
            texts[file] = text
            result.added.append((file, line))
        result.placed[item.key] = wanted
    result.changed_files = [f for f in texts if texts[f] != originals[f]]
    result.diff = "".join(_unified_diff(file, originals[file], texts[file]) for file in result.changed_files)
    if not dry_run:
        for file in result.changed_files:
            atomic_write_text(list_dir / file, texts[file])
    return result
