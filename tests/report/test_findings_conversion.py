"""The conversion report's findings, composed from the views the report computed (moved from
tests/metrics/test_findings.py with the composition). Every expected sentence and threshold
decision is worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames
from salesnb.data.periods import Period
from salesnb.metrics import conversion
from salesnb.report.findings.conversion import conversion_findings

CURRENT = Period(dt.date(2025, 4, 1), dt.date(2025, 6, 30))


def _conversion_deals() -> pd.DataFrame:
    """Deals for Q1 2025 (previous) and Q2 2025 (current), built so each number is known by hand.

    Closed deals close on Mar 15 (Q1) or Jun 15 (Q2). Won deals took 20 or 40 days in Q1
    (alternating: mean 30 d) and 50 or 70 days in Q2 (mean 60 d); lost deals took 10 days.
    So every deal is created in the quarter it closes in. 45 open deals of source A are
    created on May 1 with an expected close date of Jun 20, inside the current period.

    | source | Q1 closed | Q1 won | Q2 closed | Q2 won | Q2 open |
    |--------|-----------|--------|-----------|--------|---------|
    | A      | 40        | 10     | 40        | 24     | 45      |
    | B      | 40        | 20     | 40        | 18     | 0       |
    """
    rows = []

    def add(source: str, close: str, won: int, lost: int, cycles: tuple[int, int]):
        for index in range(won + lost):
            is_won = index < won
            days = cycles[index % 2] if is_won else 10
            closed = pd.Timestamp(close)
            rows.append({"opportunity_id": f"{source}{close}{index}", "stage": "Closed Won" if is_won else "Closed Lost",
                         "created_at": (closed - pd.Timedelta(days=days)).date().isoformat(),
                         "close_date": closed.date().isoformat(), "amount": 1000, "source": source})

    add("A", "2025-03-15", 10, 30, (20, 40))
    add("B", "2025-03-15", 20, 20, (20, 40))
    add("A", "2025-06-15", 24, 16, (50, 70))
    add("B", "2025-06-15", 18, 22, (50, 70))
    rows += [{"opportunity_id": f"OPEN{index}", "stage": "Proposal", "created_at": "2025-05-01",
              "close_date": "2025-06-20", "amount": 1000, "source": "A"} for index in range(45)]
    return pd.DataFrame(rows)


def views(dataset, period: Period) -> dict:
    """The views the conversion report computes for both periods (as the notebook does)."""
    both = (period, period.previous())
    return {
        "win_rates": {by: [conversion.win_rates(dataset, window, by=by) for window in both] for by in ("team", "source")},
        "deals_created": [conversion.deals_created(dataset, window, by="source") for window in both],
        "sales_cycle": [conversion.sales_cycle(dataset, window) for window in both],
    }


def test_conversion_findings_by_hand():
    dataset = dataset_from_frames({"opportunities": _conversion_deals()})
    moved = conversion_findings(**views(dataset, CURRENT))
    # Win rate (closed deals only; the 45 open deals are not losses):
    # - all deals (the sum of the source rows): 30 of 80 (37.5%) -> 42 of 80 (52.5%), pooled 72/160 = .45,
    #   se = sqrt(.45 * .55 * (1/80 + 1/80)) = .07866, z = .15 / .07866 = 1.91 < 2 -> noise, not listed;
    # - source A: 10 of 40 (25%) -> 24 of 40 (60%), pooled 34/80 = .425,
    #   se = sqrt(.425 * .575 * (2/40)) = .11054, z = .35 / .11054 = 3.17 -> listed;
    # - source B: 20 of 40 (50%) -> 18 of 40 (45%): -5 points, z = -.45 -> not listed.
    #   (Had the open deals counted as losses, A would read 24 of 85 = 28.2%.)
    # No reps table: every deal is in team "(none)", one group: no team grouping.
    # Deals created: all 80 -> 80 + 45 = 125, +56%, z = 45 / sqrt(205) = 3.14 -> listed;
    # A 40 -> 85, +112% (1.125 written as "112%"), z = 45 / sqrt(125) = 4.02 -> listed first;
    # B 40 -> 40 -> not listed.
    # Cycle of won deals: Q1 30 won, mean 30 d, sd = sqrt(30 * 10^2 / 29) = 10.17;
    # Q2 42 won, mean 60 d, sd = sqrt(42 * 10^2 / 41) = 10.12; +100%, Welch z = 30 / 2.43 = 12.3 -> listed.
    assert [movement.sentence for movement in moved] == [
        "Source A: win rate rose from 25.0% (10 of 40) in the previous period to 60.0% (24 of 40), +35.0 points.",
        "Source A: deals created rose 112% from 40 to 85 against the previous period of the same length.",
        "All deals: deals created rose 56% from 80 to 125 against the previous period of the same length.",
        "All deals: mean sales cycle of won deals rose 100% from 30 d to 60 d (30 won deals in the previous "
        "period, 42 now).",
    ]
    assert moved[0].strength == pytest.approx(0.35 / (0.425 * 0.575 * 0.05) ** 0.5)
    assert moved[0].n == 40
    # variance / n: (30 * 100 / 29) / 30 = 100/29 and (42 * 100 / 41) / 42 = 100/41.
    assert moved[3].strength == pytest.approx(30 / (100 / 29 + 100 / 41) ** 0.5)


def test_conversion_findings_small_n_and_nothing_moved():
    dataset = dataset_from_frames({"opportunities": _conversion_deals()})
    # With min_n = 100 no group has 100 closed deals (or won deals, or created deals) in both periods.
    assert conversion_findings(**views(dataset, CURRENT), min_n=100) == []
    # The same quarter against itself one year on (no deals in 2024): nothing is compared.
    assert conversion_findings(**views(dataset, Period(dt.date(2024, 4, 1), dt.date(2024, 6, 30)))) == []


def _rates(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["team", "won", "closed"])


def test_a_grouping_with_one_group_is_the_overall_row_again():
    """Hand-made frames (the composition computes nothing itself). Teams T1, T2 with 100
    closed deals in each period: T1 won 20 -> 40 (20% -> 40%, pooled .3, se = sqrt(.3 * .7 *
    .02) = .0648, z = 3.09 -> listed); T2 30 -> 30. Overall (the sum of the source rows, one
    source here): 50 of 200 -> 70 of 200 (25% -> 35%, pooled .3, se = sqrt(.3 * .7 * .01) =
    .0458, z = 2.18 -> listed)."""
    now = _rates([("T1", 40, 100), ("T2", 30, 100)])
    before = _rates([("T1", 20, 100), ("T2", 30, 100)])
    source_now, source_before = (pd.DataFrame({"source": ["Web"], "won": [frame["won"].sum()],
                                               "closed": [frame["closed"].sum()]}) for frame in (now, before))
    created = [pd.DataFrame({"source": ["Web"], "opportunities_created": [10]})] * 2  # under 30: not compared
    cycle = [pd.DataFrame({"won_with_cycle": [10], "mean_sales_cycle_days": [30.0], "std_sales_cycle_days": [5.0]})] * 2
    moved = conversion_findings(win_rates={"team": [now, before], "source": [source_now, source_before]},
                                deals_created=created, sales_cycle=cycle)
    # One source: "Source Web" would repeat "All deals", so the source grouping is left out.
    assert [movement.subject for movement in moved] == ["Team T1", "All deals"]
    assert moved[0].strength == pytest.approx(0.2 / (0.3 * 0.7 * 0.02) ** 0.5)
    # A team selection (one team in the frames): the team grouping is left out too.
    one_team = [frame[frame["team"] == "T1"] for frame in (now, before)]
    moved = conversion_findings(win_rates={"team": one_team, "source": [source_now, source_before]},
                                deals_created=created, sales_cycle=cycle)
    assert [movement.subject for movement in moved] == ["All deals"]
