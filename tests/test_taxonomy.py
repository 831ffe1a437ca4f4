"""The guide's taxonomy is defined once and agrees with the list it is merged into."""

from conftest import ROOT
from trust_tagger.listfile.parse import load_taxonomy
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES, guide_taxonomy, normalize_subcategory, taxonomy_gaps


def test_every_guide_subcategory_has_a_file_in_both_list_layouts():
    for list_dir in (ROOT / "data" / "awesome-list", ROOT / "tests" / "fixtures" / "awesome-list-2026-06-10"):
        gaps = taxonomy_gaps(load_taxonomy(list_dir).subcategories)
        assert gaps["missing_in_list"] == []
        assert all(s.startswith("privacy/") for s in gaps["not_in_guide"])  # the list's finer privacy files


def test_guide_taxonomy_is_derived_from_the_one_definition():
    tax = guide_taxonomy()
    assert list(tax) == list(CATEGORIES)
    assert [s for subs in tax.values() for s in subs] == list(SUBCATEGORIES)


def test_list_files_map_onto_guide_subcategories():
    assert normalize_subcategory("papers/safety/fairness.md") == "fairness/general"
    assert normalize_subcategory("privacy/unlearning") == "privacy/general"
    assert normalize_subcategory("collections/tts.md") is None
