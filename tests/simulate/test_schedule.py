"""Which update runs after which week of a replay: pure functions of the calendar and the options."""

import datetime as dt

import pytest

from trust_tagger.simulate.replay import scheduled_update, weeks

SINCE, UNTIL = dt.date(2026, 2, 1), dt.date(2026, 5, 31)


def test_weeks_cover_the_window_in_seven_day_blocks():
    blocks = weeks(SINCE, UNTIL)
    assert len(blocks) == 18 and blocks[0] == (SINCE, dt.date(2026, 2, 7)) and blocks[-1] == (UNTIL, UNTIL)
    assert all((b[0] - a[1]).days == 1 for a, b in zip(blocks, blocks[1:]))
    assert sum((e - s).days + 1 for s, e in blocks) == (UNTIL - SINCE).days + 1
    with pytest.raises(ValueError, match="empty window"):
        weeks(UNTIL, SINCE)


def test_monthly_full_retrain_once_per_month_boundary_and_heads_between():
    plan = [scheduled_update(s, e, "monthly", "heads") for s, e in weeks(SINCE, UNTIL)]
    full = [i + 1 for i, kind in enumerate(plan) if kind == "full"]
    # Feb 22-28 (March begins next), Mar 29-Apr 4, Apr 26-May 2, and the last day (May 31 -> June).
    assert full == [4, 9, 13, 18]
    assert all(kind == "heads" for i, kind in enumerate(plan) if i + 1 not in full)
    assert [scheduled_update(s, e, "monthly", "full") for s, e in weeks(SINCE, UNTIL)].count(None) == 14


def test_weekly_and_never():
    blocks = weeks(SINCE, dt.date(2026, 2, 28))
    assert {scheduled_update(s, e, "weekly", "heads") for s, e in blocks} == {"full"}
    assert {scheduled_update(s, e, "never", "heads") for s, e in blocks} == {"heads"}
    assert {scheduled_update(s, e, "never", "full") for s, e in blocks} == {None}  # the frozen loop
    with pytest.raises(ValueError, match="schedule"):
        scheduled_update(SINCE, SINCE, "daily", "heads")
    with pytest.raises(ValueError, match="update"):
        scheduled_update(SINCE, SINCE, "weekly", "encoder")
