"""Screening figures on hand-made rankings whose answers are known by counting."""

import math

import pytest

from trust_tagger.simulate.metrics import Screened, average_precision, recall_at, recall_curve, reviews_to_recall, wss


def ranking(target_positions, n):
    """A log of n reviewed papers, targets at the given 1-based positions."""
    return [Screened(f"p{i}", 1, i in target_positions) for i in range(1, n + 1)]


def test_wss_of_a_perfect_a_worst_and_a_middling_ranking():
    perfect = ranking(set(range(1, 11)), 100)  # 10 targets first: 95 % recall needs ceil(9.5) = 10 of them
    assert reviews_to_recall(perfect, 10, 0.95) == 10
    assert wss(perfect, 10, 100) == pytest.approx(90 / 100 - 0.05)
    worst = ranking(set(range(91, 101)), 100)  # targets last: every paper must be read
    assert reviews_to_recall(worst, 10, 0.95) == 100
    assert wss(worst, 10, 100) == pytest.approx(-0.05)
    middling = ranking(set(range(1, 20)) | {100}, 100)  # 19 of 20 targets first: 95 % = the 19th
    assert reviews_to_recall(middling, 20, 0.95) == 19
    assert wss(middling, 20, 100) == pytest.approx(81 / 100 - 0.05)
    assert reviews_to_recall(middling, 20, 1.0) == 100


def test_free_merges_count_as_found_without_a_review():
    # 5 targets merged unseen, then 95 reviews with the other 5 targets at review positions 3, 4, 5, 6, 50.
    log = [Screened(f"m{i}", 0, True, "merge") for i in range(5)]
    log += [Screened(f"r{i}", 1, i in {3, 4, 5, 6, 50}) for i in range(1, 96)]
    assert reviews_to_recall(log, 10, 0.5) == 0  # the merges alone reach 50 %
    assert reviews_to_recall(log, 10, 0.95) == 50  # ceil(9.5) = 10 targets: the last one at review 50
    assert wss(log, 10, 100) == pytest.approx(50 / 100 - 0.05)
    assert recall_at(log, 10, 0) == pytest.approx(0.5) and recall_at(log, 10, 6) == pytest.approx(0.9)


def test_recall_curve_steps_and_unreached_recall():
    log = [Screened("a", 0, True, "merge"), Screened("b", 1, False), Screened("c", 1, True), Screened("d", 1, False)]
    x, y = recall_curve(log, 4)
    assert x.tolist() == [0, 0, 1, 2, 3]
    assert y.tolist() == [0, 0.25, 0.25, 0.5, 0.5]
    assert reviews_to_recall(log, 4, 0.95) is None and wss(log, 4, 4) is None  # two targets never surfaced
    assert reviews_to_recall(log, 0, 0.95) is None


def test_average_precision_known_value_and_undefined_case():
    assert average_precision([0.9, 0.8, 0.7], [True, False, True]) == pytest.approx((1 + 2 / 3) / 2)
    assert math.isnan(average_precision([0.5, 0.4], [False, False]))
