"""Merging into copies of both list layouts: format, position, untouched bytes, no duplicates."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from trust_tagger.listfile.merge import MergeItem, clean_title, format_line, insert_entry, merge_papers
from trust_tagger.listfile.parse import file_style, load_taxonomy, parse_line, parse_list, split_lines, year_headings

SOURCES = {
    "2026-01": ROOT / "data" / "awesome-list",
    "2026-06": ROOT / "tests" / "fixtures" / "awesome-list-2026-06-10",
}


@pytest.fixture
def january(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SOURCES["2026-01"], tmp_path / "january"))


@pytest.fixture
def june(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SOURCES["2026-06"], tmp_path / "june"))


def _item(arxiv_id: str, date: dt.date, *targets: str, title: str = "") -> MergeItem:
    return MergeItem.from_arxiv(arxiv_id, title or f"A Study of Audio LLM Trust {arxiv_id}", date, targets)


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _tree_bytes(list_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(list_dir).as_posix(): p.read_bytes() for p in sorted(list_dir.rglob("*")) if p.is_file()}


def _inserted_lines(old: str, new: str) -> list[str]:
    """The lines of new that are not in old, checking old survives byte for byte once they are removed."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    kept, extra, i = [], [], 0
    for line in new_lines:
        if i < len(old_lines) and line == old_lines[i]:
            kept.append(line)
            i += 1
        else:
            extra.append(line)
    assert "".join(kept) == old, "a byte outside the inserted lines changed"
    return extra


def _body_lines(path: Path) -> list[str]:
    return [line.rstrip("\r\n") for line in split_lines(_read(path))]


# --- layout 1 (dated) -------------------------------------------------------------------------------


def test_dated_layout_format_and_position(january: Path) -> None:
    file = january / "papers/safety/jailbreak.md"
    old = _read(file)
    result = merge_papers(january, [_item("2506.99999", dt.date(2025, 6, 1), "safety/jailbreak", title="New One")])
    line = "- 2025/06/01 [*New One*](https://arxiv.org/abs/2506.99999)"
    assert result.added == [("papers/safety/jailbreak.md", line)]
    assert result.changed_files == ["papers/safety/jailbreak.md"]
    assert _inserted_lines(old, _read(file)) == [line + "\n"]
    lines = _body_lines(file)
    at = lines.index(line)
    assert "2025/07/08" in lines[at - 1] and "2025/05/23" in lines[at + 1]
    assert file_style(_read(file)) == "dated"


def test_same_date_goes_after_existing_and_extremes_go_to_the_ends(january: Path) -> None:
    merge_papers(
        january,
        [
            _item("2505.99999", dt.date(2025, 5, 23), "safety/jailbreak", title="Same Day"),
            _item("2612.99999", dt.date(2026, 12, 1), "safety/jailbreak", title="Newest"),
            _item("2001.99999", dt.date(2020, 1, 1), "safety/jailbreak", title="Oldest"),
        ],
    )
    lines = [line for line in _body_lines(january / "papers/safety/jailbreak.md") if line]
    same = next(i for i, line in enumerate(lines) if "Same Day" in line)
    assert "JALMBench" in lines[same - 1] and "2025/05/20" in lines[same + 1]
    assert "Newest" in lines[0] and "Oldest" in lines[-1]


def test_unsorted_file_gets_the_least_contradicting_spot(january: Path) -> None:
    # adversarial_examples.md starts with an older entry (05/20) above newer ones (07/30, 06/10)
    merge_papers(january, [_item("2506.99999", dt.date(2025, 6, 1), "security/adversarial_examples")])
    lines = _body_lines(january / "papers/security/adversarial_examples.md")
    at = next(i for i, line in enumerate(lines) if "2506.99999" in line)
    assert "2025/06/10" in lines[at - 1] and "2024/07/04" in lines[at + 1]


def test_dated_insert_skips_highlight_blocks_and_family_groups(january: Path) -> None:
    item = _item("2512.99999", dt.date(2025, 12, 31), "security/poison_and_backdoor", "technical_report")
    merge_papers(january, [item])
    poison = _body_lines(january / "papers/security/poison_and_backdoor.md")
    at = next(i for i, line in enumerate(poison) if "2512.99999" in line)
    assert poison[at - 1] == "---"  # below the "Our Work" highlight, at the top of the main list
    report = _body_lines(january / "collections/technical_report.md")
    at = next(i for i, line in enumerate(report) if "2512.99999" in line)
    assert report[at - 1] == "## Other Models:"


def test_empty_and_junk_files_get_the_entry_and_keep_their_bytes(january: Path) -> None:
    keys = ("privacy/unlearning", "privacy/membership_inference_attacks")  # "\n" and "\n1\n"
    items = [_item("2601.99999", dt.date(2026, 1, 9), *keys)]
    before = {key: _read(january / f"papers/{key}.md") for key in keys}
    result = merge_papers(january, items)
    assert len(result.added) == 2
    for key, old in before.items():
        new = _read(january / f"papers/{key}.md")
        assert len(_inserted_lines(old, new)) == 1
        assert file_style(new) == "dated"


def test_missing_target_file_is_created_in_the_default_style(january: Path, june: Path) -> None:
    merge_papers(january, [_item("2602.99999", dt.date(2026, 2, 2), "safety/brand_new", "agent_safety")])
    assert _read(january / "papers/safety/brand_new.md") == (
        "- 2026/02/02 [*A Study of Audio LLM Trust 2602.99999*](https://arxiv.org/abs/2602.99999)\n"
    )
    assert (january / "collections/agent_safety.md").exists()
    assert "safety/brand_new" in load_taxonomy(january).subcategories

    item = _item("2602.99998", dt.date(2026, 2, 2), "safety/brand_new")
    merge_papers(june, [item], default_style="year_sections")
    text = _read(june / "papers/safety/brand_new.md")
    assert text.startswith("## 📅 2026\n- **2026/02/02** | ") and file_style(text) == "year_sections"


# --- layout 2 (year sections) -----------------------------------------------------------------------


def test_year_layout_format_and_position(june: Path) -> None:
    file = june / "papers/safety/jailbreak.md"
    old = _read(file)
    result = merge_papers(june, [_item("2506.99999", dt.date(2025, 6, 1), "safety/jailbreak", title="New One")])
    line = "- **2025/06/01** | 📄 [**New One**](https://arxiv.org/abs/2506.99999)"
    assert result.added == [("papers/safety/jailbreak.md", line)]
    assert _inserted_lines(old, _read(file)) == [line + "\n"]
    lines = _body_lines(file)
    at = lines.index(line)
    assert "2025/07/08" in lines[at - 1] and "2025/05/23" in lines[at + 1]
    entry = parse_line(line)
    assert entry is not None
    assert (entry.style, entry.key, entry.title) == ("year_sections", "arxiv:2506.99999", "New One")


def test_entry_goes_to_its_own_year_section_even_at_its_end(june: Path) -> None:
    merge_papers(june, [_item("2601.99999", dt.date(2026, 1, 1), "safety/jailbreak")])
    lines = _body_lines(june / "papers/safety/jailbreak.md")
    at = next(i for i, line in enumerate(lines) if "2601.99999" in line)
    assert lines[at - 2] == "## 📅 2026" and "2026/04/10" in lines[at - 1]
    assert lines[at + 1 : at + 3] == ["", "---"]


@pytest.mark.parametrize(
    ("target", "date", "expected_block"),
    [
        # older than every section: appended with the file's own gap (blank, rule, blank)
        ("security/general", dt.date(2024, 3, 1), ["", "---", "", "## 📅 2024", "LINE"]),
        # newer than every section: on top, same gap after it
        ("safety/jailbreak", dt.date(2027, 1, 5), ["## 📅 2027", "LINE", "", "---", "", "## 📅 2026"]),
        # between sections (traditional_models: 2024, 2022, ...)
        ("traditional_models", dt.date(2023, 5, 5), ["## 📅 2023", "LINE", "", "---", "", "## 📅 2022"]),
        # benchmark.md puts the rule right under the last entry: the new section copies that shape
        ("benchmark", dt.date(2023, 5, 5), ["---", "", "## 📅 2023", "LINE"]),
        # general_in_audio.md: a blank line under each year heading, a whitespace-only line above the rule
        ("general_in_audio", dt.date(2024, 5, 5), ["  ", "---", "", "## 📅 2024", "", "LINE"]),
    ],
)
def test_missing_year_section_is_created_in_order(
    june: Path, target: str, date: dt.date, expected_block: list[str]
) -> None:
    item = _item("2405.99999", date, target)
    rel = f"papers/{target}.md" if "/" in target else f"collections/{target}.md"
    old = _read(june / rel)
    [(file, line)] = merge_papers(june, [item]).added
    new = _read(june / rel)
    inserted = _inserted_lines(old, new)
    assert line + "\n" in inserted and f"## 📅 {date.year}\n" in inserted
    lines = _body_lines(june / rel)
    at = lines.index(line)
    start = at - expected_block.index("LINE")
    assert lines[start : start + len(expected_block)] == [line if x == "LINE" else x for x in expected_block]
    years = list(year_headings(new))
    assert years == sorted(years, reverse=True)
    assert file_style(new) == "year_sections"


def test_topic_sectioned_file_without_years_gets_no_year_heading(june: Path) -> None:
    old = _read(june / "collections/capability.md")
    [(_, line)] = merge_papers(june, [_item("2509.99999", dt.date(2025, 9, 30), "capability")]).added
    assert _inserted_lines(old, _read(june / "collections/capability.md")) == [line + "\n"]


def test_dated_files_inside_the_june_copy_stay_dated(june: Path) -> None:
    [(_, line)] = merge_papers(june, [_item("2512.99999", dt.date(2025, 12, 1), "survey")]).added
    assert line.startswith("- 2025/12/01 [*")


# --- bytes outside the inserted lines ---------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_merge_into_every_section_changes_nothing_but_inserted_lines(tmp_path: Path, source: str) -> None:
    list_dir = Path(shutil.copytree(SOURCES[source], tmp_path / "list"))
    taxonomy = load_taxonomy(list_dir)
    targets = sorted(taxonomy.subcategories) + sorted(taxonomy.collections)
    before = _tree_bytes(list_dir)
    items = [
        _item("2605.99991", dt.date(2026, 5, 1), *targets),
        _item("2503.99992", dt.date(2025, 3, 1), *targets),
        _item("2101.99993", dt.date(2021, 1, 1), *targets),
    ]
    result = merge_papers(list_dir, items)
    assert len(result.added) == 3 * len(targets)
    after = _tree_bytes(list_dir)
    assert set(after) == set(before)
    for file, old in before.items():
        new = after[file].decode("utf-8")
        inserted = _inserted_lines(old.decode("utf-8"), new)
        if file in result.changed_files:
            assert sum("9999" in line for line in inserted) == 3, file
        else:
            assert inserted == []
    snapshot = parse_list(list_dir)
    for item in items:
        assert set(snapshot.labels_for(item.key)) == set(taxonomy.subcategories)


def test_crlf_file_gets_a_crlf_line(tmp_path: Path) -> None:
    old = (
        "- 2025/05/01 [*B*](https://arxiv.org/abs/2505.00002)  \r\n"
        "- 2025/03/01 [*A*](https://arxiv.org/abs/2503.00001)\r\n"
    )
    new, line = insert_entry(old, dt.date(2025, 4, 1), "C", "https://arxiv.org/abs/2504.00003")
    assert _inserted_lines(old, new) == [line + "\r\n"]
    assert new.splitlines()[1] == line


def test_missing_final_newline_stays_missing(tmp_path: Path) -> None:
    old = "- 2025/05/01 [*B*](https://arxiv.org/abs/2505.00002)"
    new, line = insert_entry(old, dt.date(2025, 4, 1), "C", "https://arxiv.org/abs/2504.00003")
    assert new == old + "\n" + line
    new, line = insert_entry(old, dt.date(2025, 6, 1), "D", "https://arxiv.org/abs/2506.00004")
    assert new == line + "\n" + old


def test_missing_final_newline_in_a_year_file(tmp_path: Path) -> None:
    old = "## 📅 2025\n- **2025/05/01** | 🎨 [**B**](https://arxiv.org/abs/2505.00002) 🔓"
    new, line = insert_entry(old, dt.date(2024, 4, 1), "C", "https://arxiv.org/abs/2404.00003")
    assert new == old + "\n\n---\n\n## 📅 2024\n" + line


# --- duplicates, idempotence, dry run, atomicity ----------------------------------------------------


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_papers_listed_elsewhere_in_another_form_are_not_added(tmp_path: Path, source: str) -> None:
    list_dir = Path(shutil.copytree(SOURCES[source], tmp_path / "list"))
    before = _tree_bytes(list_dir)
    items = [
        # listed as .../2508.02175v3 in README and poison_and_backdoor.md
        MergeItem(
            "arxiv:2508.02175", "Hidden in the Noise", "https://arxiv.org/pdf/2508.02175v1",
            dt.date(2025, 8, 2), ["safety/jailbreak"],
        ),
        # listed as www.arxiv.org
        _item("2510.16893v2", dt.date(2025, 10, 19), "safety/jailbreak"),
        # listed only in README and attack.md (jailbreak.md has it under the wrong id 2503.10222)
        _item("2511.10222", dt.date(2025, 11, 13), "safety/jailbreak"),
        # listed only on openreview: found by title
        _item("2509.99999", dt.date(2025, 9, 19), "hallucination/general",
              title="AHa-Bench: Benchmarking  Audio Hallucinations in Large Audio-Language Models"),
        # listed only in a collection
        _item("2409.15180", dt.date(2024, 9, 23), "safety/deepfake", "survey"),
    ]
    result = merge_papers(list_dir, items)
    assert result.added == [] and result.diff == "" and result.changed_files == []
    assert result.already_listed == [item.key for item in items]
    assert _tree_bytes(list_dir) == before


def test_an_item_is_not_added_twice_within_one_call(january: Path) -> None:
    first = _item("2601.99999", dt.date(2026, 1, 2), "safety/jailbreak")
    again = MergeItem(first.key, first.title, "https://arxiv.org/abs/2601.99999v2", first.date,
                      ["safety/jailbreak", "security/attack"])
    result = merge_papers(january, [first, again, first])
    assert [file for file, _ in result.added] == ["papers/safety/jailbreak.md", "papers/security/attack.md"]
    assert sum("2601.99999" in line for line in _body_lines(january / "papers/safety/jailbreak.md")) == 1


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_second_merge_is_a_no_op(tmp_path: Path, source: str) -> None:
    list_dir = Path(shutil.copytree(SOURCES[source], tmp_path / "list"))
    items = [
        _item("2606.99999", dt.date(2026, 6, 1), "safety/jailbreak", "survey"),
        _item("2302.99999", dt.date(2023, 2, 1), "security/general", "privacy/unlearning"),
    ]
    assert len(merge_papers(list_dir, items).added) == 4
    after_first = _tree_bytes(list_dir)
    second = merge_papers(list_dir, items)
    assert (second.added, second.changed_files, second.diff) == ([], [], "")
    assert second.already_listed == [item.key for item in items]
    assert _tree_bytes(list_dir) == after_first


def test_dry_run_writes_nothing_and_shows_the_same_diff(tmp_path: Path) -> None:
    items = [_item("2606.99999", dt.date(2026, 6, 1), "safety/jailbreak", "safety/brand_new")]
    dry_dir = Path(shutil.copytree(SOURCES["2026-06"], tmp_path / "dry"))
    wet_dir = Path(shutil.copytree(SOURCES["2026-06"], tmp_path / "wet"))
    before = _tree_bytes(dry_dir)
    dry = merge_papers(dry_dir, items, dry_run=True)
    assert _tree_bytes(dry_dir) == before
    wet = merge_papers(wet_dir, items)
    assert (dry.diff, dry.added, dry.changed_files) == (wet.diff, wet.added, wet.changed_files)
    assert "+- **2026/06/01** | 📄 [**" in dry.diff
    assert "--- /dev/null\n+++ b/papers/safety/brand_new.md" in dry.diff
    assert "--- a/papers/safety/jailbreak.md\n+++ b/papers/safety/jailbreak.md" in dry.diff


def test_atomic_write_leaves_no_temp_files(january: Path) -> None:
    item = _item("2606.99999", dt.date(2026, 6, 1), "safety/jailbreak", "safety/new_sub", "survey")
    merge_papers(january, [item])
    assert [p for p in january.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")] == []


# --- line format --------------------------------------------------------------------------------------


def test_titles_are_cleaned_and_parse_back() -> None:
    raw = "  Audio *Jailbreaks* [Revisited]:\n  a  Study ]of[ Things  "
    assert clean_title(raw) == "Audio Jailbreaks (Revisited): a Study )of( Things"
    for style in ("dated", "year_sections"):
        line = format_line(style, dt.date(2025, 1, 2), raw, "https://arxiv.org/abs/2501.00002")
        entry = parse_line(line)
        assert entry is not None
        assert (entry.style, entry.title, entry.key, entry.date) == (
            style, clean_title(raw), "arxiv:2501.00002", dt.date(2025, 1, 2)
        )


def test_bad_input_is_refused(january: Path) -> None:
    with pytest.raises(ValueError):
        format_line("dated", dt.date(2025, 1, 1), "T", "https://example.org/a b")
    with pytest.raises(ValueError):
        clean_title(" * ")
    with pytest.raises(ValueError):
        merge_papers(january, [_item("2601.99999", dt.date(2026, 1, 1), "../../etc")])
    with pytest.raises(ValueError):
        MergeItem.from_arxiv("not-an-id", "T", dt.date(2026, 1, 1), ["survey"])
