"""The core policy's figures (evaluate.core_metrics): filing of the merged papers, and filing of every
core / relevant paper as if merged, on hand-made scores where each answer is known."""

import numpy as np
import pytest

from trust_tagger.model.contracts import Scores
from trust_tagger.retrain.dataset import Example
from trust_tagger.retrain.evaluate import core_metrics
from trust_tagger.routing import Thresholds
from trust_tagger.taxonomy import SUBCATEGORIES

JB, DF, FAIR = "safety/jailbreak", "safety/deepfake", "fairness/general"


def example(n: int, relevance: int, subs: list[str], exact: bool = True) -> Example:
    return Example(arxiv_id=f"2604.{n:05d}", key=f"arxiv:2604.{n:05d}", title=f"paper {n}", abstract="a",
                   arxiv_categories=["cs.SD"], date="2026-04-02", relevance=relevance, relevance_exact=exact,
                   categories=sorted({s.split("/")[0] for s in subs}), subcategories=subs, audio_llm=None,
                   source="dense", split="holdout")


def scores(core: list[float], top: list[str]) -> Scores:
    n = len(core)
    subs = np.full((n, len(SUBCATEGORIES)), 0.1)
    for i, name in enumerate(top):
        subs[i, SUBCATEGORIES.index(name)] = 0.9
    rel = np.array([max(c, 0.5) for c in core])
    return Scores(relevance=rel, relevance_class=np.tile([0.2, 0.3, 0.5], (n, 1)), categories=np.zeros((n, 7)),
                  subcategories=subs, core=np.array(core))


EXAMPLES = [
    example(1, 2, [JB]),            # core, merged, filed right
    example(2, 2, [JB, "security/attack"]),  # core, merged, filed under deepfake: wrong
    example(3, 2, [FAIR]),          # core, not confident enough to merge, its top file is right
    example(4, 1, [DF]),            # adjacent, its top file is wrong
    example(5, 0, []),              # out of scope
    example(6, 2, [FAIR], exact=False),  # list label: class unknown, sits out the core figures; top file wrong
]
TOP = [JB, DF, FAIR, FAIR, DF, JB]
CORE = [0.95, 0.9, 0.5, 0.1, 0.05, 0.99]


def test_filing_counts_the_merged_papers_and_all_core_papers_as_if_merged():
    out = core_metrics(scores(CORE, TOP), EXAMPLES, Thresholds(core_accept=0.8, core_reject=0.2))

    routing = out["core_routing"]
    assert routing["n_merged"] == 2 and routing["filing"] == pytest.approx(0.5)
    assert out["n_filing_all_core"] == 3 and out["filing_all_core"] == pytest.approx(2 / 3)
    # every relevant paper with subcategory labels, the list-labeled one included
    assert out["n_filing_all_relevant"] == 5 and out["filing_all_relevant"] == pytest.approx(2 / 5)


def test_filing_of_all_core_papers_needs_no_thresholds():
    out = core_metrics(scores(CORE, TOP), EXAMPLES, Thresholds())  # a model from before the core policy

    assert "core_routing" not in out
    assert out["filing_all_core"] == pytest.approx(2 / 3)


def test_no_core_papers_leave_the_figure_undefined():
    few = [e for e in EXAMPLES if e.relevance < 2]
    out = core_metrics(scores([0.1, 0.05], [FAIR, DF]), few, Thresholds())

    assert out["n_filing_all_core"] == 0 and np.isnan(out["filing_all_core"])
    assert out["filing_all_relevant"] == 0.0


def test_the_report_table_shows_core_ap_and_filing():
    from trust_tagger.retrain.evaluate import metrics_table

    m = {"n": 6, "n_relevant": 5, "relevance_ap": 0.9, **core_metrics(scores(CORE, TOP), EXAMPLES, Thresholds())}
    head, rule, row = metrics_table({"test": m}).splitlines()

    assert "core AP" in head and "filing, all core" in head and rule.count("|") == head.count("|")
    cells = dict(zip([c.strip() for c in head.split("|")], [c.strip() for c in row.split("|")]))
    assert cells["filing, all core"] == f"{2 / 3:.3f}" and cells["rel. AP"] == "0.900"
