"""Parsing the awesome list: every real line of both layouts, the known quirks, and the taxonomy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import ROOT
from trust_tagger.listfile.parse import (
    file_style,
    line_body,
    load_taxonomy,
    parse_file,
    parse_line,
    parse_list,
    split_lines,
    target_file,
)

LIST_2026_01 = ROOT / "data" / "awesome-list"  # the product merges into this copy: no exact counts on it
LIST_2026_06 = ROOT / "tests" / "fixtures" / "awesome-list-2026-06-10"
BOTH = pytest.mark.parametrize("list_dir", [LIST_2026_01, LIST_2026_06], ids=["2026-01", "2026-06"])


def _md_files(list_dir: Path) -> list[Path]:
    return sorted(list_dir.rglob("*.md"))


def _looks_like_paper(body: str) -> bool:
    return body.startswith("- ") and "](http" in body


@BOTH
def test_every_paper_bullet_of_every_file_parses(list_dir: Path) -> None:
    checked = 0
    for path in _md_files(list_dir):
        file = path.relative_to(list_dir).as_posix()
        for line_no, line in enumerate(split_lines(path.read_text(encoding="utf-8"))):
            body = line_body(line)
            if not _looks_like_paper(body) or (file == "README.md" and body.startswith("- Organizers:")):
                continue
            entry = parse_line(body, file, line_no)
            assert entry is not None, f"{file}:{line_no}: {body!r}"
            assert entry.title and entry.link.startswith("http") and entry.raw == body
            checked += 1
    assert checked > 150


@BOTH
def test_readme_entries_are_the_good_papers(list_dir: Path) -> None:
    snapshot = parse_list(list_dir)
    readme = [e for e in snapshot.entries if e.file == "README.md"]
    assert 5 <= len(readme) <= 6
    assert all(e.style == "undated" and e.date is None and "🏆" in e.raw for e in readme)
    assert not any("Kevin Luo" in e.title for e in snapshot.entries)


@BOTH
def test_counts_and_dates_are_sane(list_dir: Path) -> None:
    snapshot = parse_list(list_dir)
    papers = [e for e in snapshot.entries if e.file.startswith("papers/")]
    assert len(papers) >= 55
    assert len(snapshot.keys()) >= 130
    assert all(dt.date(1980, 1, 1) <= e.date <= dt.date(2027, 1, 1) for e in snapshot.entries if e.date)
    assert all(e.date is not None for e in papers)
    assert all(0 <= e.line_no and e.raw for e in snapshot.entries)


def test_exact_counts_of_the_frozen_2026_06_copy() -> None:
    snapshot = parse_list(LIST_2026_06)
    styles = [e.style for e in snapshot.entries]
    assert (styles.count("year_sections"), styles.count("dated")) == (276, 80)
    assert (styles.count("undated"), styles.count("plain")) == (6, 54)  # plain: collections/new.md


def test_plain_staging_lines_parse_without_link() -> None:
    entry = parse_line("2026/04/17 Qwen3.5-Omni Technical Report<br>")
    assert entry is not None
    assert (entry.style, entry.date, entry.title, entry.link) == (
        "plain", dt.date(2026, 4, 17), "Qwen3.5-Omni Technical Report", ""
    )
    assert entry.key == "title:qwen3 5 omni technical report"


@pytest.mark.parametrize(
    ("line", "style", "date", "title", "key"),
    [
        (
            "- 2025/11/12 [*StyleBreak: Revealing Alignment Vulnerabilities*](https://arxiv.org/abs/2511.10692)",
            "dated", dt.date(2025, 11, 12), "StyleBreak: Revealing Alignment Vulnerabilities", "arxiv:2511.10692",
        ),
        (
            "- 🚀2025/08/02[*Hidden in the Noise*](https://arxiv.org/abs/2508.02175v3) ",
            "dated", dt.date(2025, 8, 2), "Hidden in the Noise", "arxiv:2508.02175",
        ),
        (
            "- 2024/09/23 [*A Comprehensive Survey*](https://arxiv.org/abs/2409.15180)  ",
            "dated", dt.date(2024, 9, 23), "A Comprehensive Survey", "arxiv:2409.15180",
        ),
        (
            "- 2025/10/19 [*Investigating Safety*](https://www.arxiv.org/abs/2510.16893)",
            "dated", dt.date(2025, 10, 19), "Investigating Safety", "arxiv:2510.16893",
        ),
        (
            "- 2024/12/13 [*MERaLiON-AudioLLM: Technical Report*](https://arxiv.org/html/2412.09818v1)",
            "dated", dt.date(2024, 12, 13), "MERaLiON-AudioLLM: Technical Report", "arxiv:2412.09818",
        ),
        (
            "- 2025/07/08 [*Multilingual and Multi-Accent Jailbreaking of Audio LLMs*]"
            "(https://openreview.net/forum?id=yGa8CYT8kS)",
            "dated", dt.date(2025, 7, 8), "Multilingual and Multi-Accent Jailbreaking of Audio LLMs",
            "title:multilingual and multi accent jailbreaking of audio llms",
        ),
        (
            "- 2023/12/06 [*SpeechGPT*](https://aclanthology.org/2023.findings-emnlp.1055/)",
            "dated", dt.date(2023, 12, 6), "SpeechGPT", "title:speechgpt",
        ),
        (
            "- **2025/11/12** | 🎨 [**StyleBreak**](https://arxiv.org/abs/2511.10692) 🔓",
            "year_sections", dt.date(2025, 11, 12), "StyleBreak", "arxiv:2511.10692",
        ),
        (
            "- **2026/04/28** | 🎵 [**Walking Through Uncertainty**](https://arxiv.org/abs/2604.25591)☁️",
            "year_sections", dt.date(2026, 4, 28), "Walking Through Uncertainty", "arxiv:2604.25591",
        ),
        (
            '- **2025/02/03** | 🔓 [**"I am bad": Interpreting Audio Jailbreaks**]'
            "(https://arxiv.org/abs/2502.00718) 👿",
            "year_sections", dt.date(2025, 2, 3), '"I am bad": Interpreting Audio Jailbreaks', "arxiv:2502.00718",
        ),
        (
            "- 2025/01/01 [*A [bracketed] *starred* title*](https://arxiv.org/abs/2501.00001)",
            "dated", dt.date(2025, 1, 1), "A [bracketed] *starred* title", "arxiv:2501.00001",
        ),
        (
            "- 🏆 [AHa-Bench: Benchmarking Audio Hallucinations](https://openreview.net/forum?id=vCej5sO61x)",
            "undated", None, "AHa-Bench: Benchmarking Audio Hallucinations",
            "title:aha bench benchmarking audio hallucinations",
        ),
    ],
)
def test_line_variants(line: str, style: str, date: dt.date | None, title: str, key: str) -> None:
    entry = parse_line(line)
    assert entry is not None
    assert (entry.style, entry.date, entry.title, entry.key) == (style, date, title, key)


@pytest.mark.parametrize(
    "line",
    [
        "- Organizers: [Kevin Luo](https://kwwwww74.github.io), [Zhenhong Zhou](https://ydyjya.github.io)",
        "- [📖A1. General](./papers/safety/general.md)",
        "- [🧭 Research Collections](#-research-collections)",
        "- **[2025.11.12]** 🐣TALLM is released!!!",
        "## 📅 2025",
        "- ",
        "---",
        "https://discord.gg/NrVBgywJ",
    ],
)
def test_non_paper_lines_are_not_entries(line: str) -> None:
    assert parse_line(line) is None


@BOTH
def test_wrong_id_quirk_2503_10222_parses_as_is(list_dir: Path) -> None:
    snapshot = parse_list(list_dir)
    [wrong] = [e for e in snapshot.entries if e.key == "arxiv:2503.10222"]
    assert wrong.file == "papers/safety/jailbreak.md"
    assert wrong.title == "Speech-Audio Compositional Attacks on Multimodal LLMs"
    assert snapshot.labels_for("arxiv:2503.10222") == ["safety/jailbreak"]
    assert snapshot.files_for("arxiv:2511.10222") == ["README.md", "papers/security/attack.md"]
    assert snapshot.labels_for("arxiv:2511.10222") == ["security/attack"]


@BOTH
def test_link_variants_share_one_key(list_dir: Path) -> None:
    snapshot = parse_list(list_dir)
    # v3 link in README and poison_and_backdoor.md
    assert snapshot.files_for("arxiv:2508.02175") == ["README.md", "papers/security/poison_and_backdoor.md"]
    assert snapshot.labels_for("arxiv:2508.02175") == ["security/poison_and_backdoor"]
    # www.arxiv.org link
    assert "papers/fairness/general.md" in snapshot.files_for("arxiv:2510.16893")
    # arxiv.org/html/...v1 link
    assert snapshot.files_for("arxiv:2412.09818") == ["collections/technical_report.md"]
    # openreview link: keyed by title, found in README and the benchmark collection
    aha = parse_line("- [AHa-Bench: Benchmarking Audio Hallucinations in Large Audio-Language Models](https://a.b)")
    assert aha is not None
    assert snapshot.files_for(aha.key) == ["README.md", "collections/benchmark.md"]


def test_fairness_overlap_in_the_january_list() -> None:
    snapshot = parse_list(LIST_2026_01)
    assert snapshot.labels_for("arxiv:2510.16893") == ["fairness/general", "safety/fairness"]


def test_contains_matches_by_title_when_the_link_is_wrong() -> None:
    snapshot = parse_list(LIST_2026_01)
    # Music Understanding LLaMA is linked under Seed-ASR's id (2407.04675) in January; its id is 2308.11276.
    title = "Music Understanding LLaMA: Advancing Text-to-Music Generation with Question Answering and Captioning"
    assert "arxiv:2308.11276" not in snapshot.keys()
    assert snapshot.contains("arxiv:2308.11276", title)
    assert snapshot.contains("arxiv:2407.04675")
    assert not snapshot.contains("arxiv:2699.00001", "A paper nobody listed")


@BOTH
def test_taxonomy_from_the_list(list_dir: Path) -> None:
    taxonomy = load_taxonomy(list_dir)
    assert set(taxonomy.categories) == {
        "safety", "security", "privacy", "fairness", "hallucination", "robustness", "interpretability"
    }
    assert (taxonomy.categories["safety"].letter, taxonomy.categories["safety"].name) == ("A", "Safety")
    assert (taxonomy.categories["hallucination"].letter, taxonomy.categories["hallucination"].name) == (
        "F", "Hallucination"
    )
    jailbreak = taxonomy.subcategories["safety/jailbreak"]
    assert (jailbreak.file, jailbreak.letter, jailbreak.name) == ("papers/safety/jailbreak.md", "A2", "Jailbreak")
    assert taxonomy.subcategories["security/poison_and_backdoor"].name == "Poison & Backdoor"
    assert taxonomy.subcategories["robustness/general"].letter == "G1"
    # empty files are sections too; not in the README, so no letter
    assert taxonomy.subcategories["privacy/unlearning"].letter is None
    assert "privacy/watermark_and_copyright" in taxonomy.subcategories
    assert {"survey", "technical_report", "benchmark", "tts"} <= set(taxonomy.collections)
    assert taxonomy.collections["survey"].file == "collections/survey.md"
    assert taxonomy.section("survey") == taxonomy.collections["survey"]


def test_taxonomy_follows_each_copy() -> None:
    january, june = load_taxonomy(LIST_2026_01), load_taxonomy(LIST_2026_06)
    assert "safety/fairness" in january.subcategories and "safety/fairness" not in june.subcategories
    assert "other_in_audio" in january.collections and "general_in_audio" in june.collections
    assert january.dangling_links == []
    assert june.dangling_links == ["collections/traditional_model.md"]  # the file is traditional_models.md


def test_target_file() -> None:
    assert target_file("safety/jailbreak") == "papers/safety/jailbreak.md"
    assert target_file("survey") == "collections/survey.md"
    for bad in ("../etc", "safety/../x", "a/b/c", "", "Safety/Jailbreak"):
        with pytest.raises(ValueError):
            target_file(bad)


@pytest.mark.parametrize(
    ("file", "style"),
    [
        (LIST_2026_01 / "papers/safety/jailbreak.md", "dated"),
        (LIST_2026_01 / "papers/security/poison_and_backdoor.md", "dated"),
        (LIST_2026_01 / "papers/privacy/unlearning.md", None),
        (LIST_2026_01 / "papers/privacy/membership_inference_attacks.md", None),
        (LIST_2026_06 / "papers/safety/jailbreak.md", "year_sections"),
        (LIST_2026_06 / "collections/capability.md", "year_sections"),
        (LIST_2026_06 / "collections/survey.md", "dated"),
        (LIST_2026_06 / "papers/privacy/watermark_and_copyright.md", "dated"),
        (LIST_2026_06 / "collections/new.md", None),
        (LIST_2026_06 / "README.md", None),
    ],
)
def test_file_style(file: Path, style: str | None) -> None:
    assert file_style(file.read_text(encoding="utf-8")) == style


def test_file_style_of_headings_only() -> None:
    assert file_style("") is None
    assert file_style("## 📅 2026\n\n") == "year_sections"


@BOTH
def test_split_lines_round_trips_every_file(list_dir: Path) -> None:
    for path in _md_files(list_dir):
        text = path.read_bytes().decode("utf-8")
        assert "".join(split_lines(text)) == text


def test_split_lines_keeps_crlf_and_missing_final_newline() -> None:
    text = "- 2025/01/02 [*A*](https://arxiv.org/abs/2501.00002)\r\n\r\nlast"
    lines = split_lines(text)
    assert lines[-1] == "last" and "".join(lines) == text
    assert [e.line_no for e in parse_file(text)] == [0]
