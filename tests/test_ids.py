import pytest

from trust_tagger.ids import ArxivId, normalize_title, paper_key, parse_arxiv_id


@pytest.mark.parametrize("text, expected", [
    ("2511.10692", ArxivId("2511.10692", None)),
    ("2508.02175v3", ArxivId("2508.02175", 3)),
    ("arXiv:2508.02175v3", ArxivId("2508.02175", 3)),
    ("ARXIV:0704.0001", ArxivId("0704.0001", None)),
    ("https://arxiv.org/abs/2511.10692", ArxivId("2511.10692", None)),
    ("http://arxiv.org/abs/2506.22846v2", ArxivId("2506.22846", 2)),
    ("https://www.arxiv.org/abs/2511.10692", ArxivId("2511.10692", None)),
    ("https://arxiv.org/pdf/2511.10692v1", ArxivId("2511.10692", 1)),
    ("https://arxiv.org/pdf/2511.10692v1.pdf", ArxivId("2511.10692", 1)),
    ("https://arxiv.org/html/2412.09818v1", ArxivId("2412.09818", 1)),
    ("https://arxiv.org/abs/2511.10692/", ArxivId("2511.10692", None)),
    ("https://arxiv.org/abs/2511.10692?context=cs", ArxivId("2511.10692", None)),
    ("cs/0101001", ArxivId("cs/0101001", None)),
    ("https://arxiv.org/abs/cs/0101001v2", ArxivId("cs/0101001", 2)),
    ("math.GT/0309136", ArxivId("math/0309136", None)),
    ("  2511.10692  ", ArxivId("2511.10692", None)),
])
def test_parse_arxiv_id_forms(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", [
    "", "https://openreview.net/forum?id=yGa8CYT8kS", "https://aclanthology.org/2023.findings-emnlp.1055/",
    "2511.106", "https://example.org/abs/2511.10692", "not an id",
])
def test_parse_arxiv_id_rejects_non_arxiv(text):
    assert parse_arxiv_id(text) is None


def test_every_form_of_one_paper_has_one_key():
    forms = ["2508.02175", "2508.02175v3", "arXiv:2508.02175v1", "https://arxiv.org/abs/2508.02175v3",
             "https://www.arxiv.org/abs/2508.02175", "https://arxiv.org/pdf/2508.02175"]
    assert {paper_key(f) for f in forms} == {"arxiv:2508.02175"}


def test_non_arxiv_links_are_keyed_by_normalised_title():
    a = paper_key("https://openreview.net/forum?id=yGa8CYT8kS", "Multilingual and Multi-Accent Jailbreaking of Audio LLMs")
    b = paper_key("https://aclanthology.org/x", "  multilingual and multi‐accent   jailbreaking of audio LLMs!")
    assert a == b == "title:multilingual and multi accent jailbreaking of audio llms"


def test_normalize_title_strips_accents_and_latex():
    assert normalize_title("Café $\\alpha$-Net: Über") == "cafe net uber"


def test_key_without_id_or_title_is_an_error():
    with pytest.raises(ValueError):
        paper_key("https://openreview.net/forum?id=x", "")
