"""Fixtures of the plan's tests: a generated pipeline whose next period's won amount is known
exactly, and a tiny dataset whose reverse funnel and lead plan are worked out by hand.

**The generated pipeline** (:func:`steady_pipeline`). Every day from 2024-01-01 to the data's
date T = 2025-11-15, exactly ``DEALS_PER_DAY`` deals are created in Qualification, all worth
``AMOUNT``. A deal spends a whole number of days drawn uniformly from 10 to 30 in each of
Qualification, Discovery and Proposal; when it leaves a stage it moves on with the stage's
chance (:data:`PASS`), else it is lost that day; leaving Proposal it is won. Its history rows
are written up to T, and the deals open at T are in the stage they were in then. Because the
process is known, the expected won amount of any period after T is known exactly
(:func:`exact_expected_won`): no model is needed to know what the plan should answer.

**The hand-worked dataset** (:func:`hand_frames`), data's date T = 2025-06-30:

    deal      created     outcome               from lead
    D1-D5     2025-03-01  won 2025-03-31 (+30)   D1, D2 (leads L1, L2)
    D6-D10    2025-03-01  lost 2025-04-15        D6, D7 (leads L3, L4)

    lead      created     became a deal
    L1-L4     2025-02-19  2025-03-01 (+10 days)
    L5-L8     2025-02-19  never (131 days old at T)
    L9, L10   2025-06-25  not yet (5 days old)
    L11       2025-06-30  not yet (0 days old)

Every deal is worth 1,000 and every lead is a Website lead. The plan period P is 2025-07-31 ..
2025-08-29 (31 to 60 days after T). By hand: a created deal is won 30 days later with chance
5/10, so V(d) = 500 from d = 30; a deal created c days after T brings A(c) = V(60 - c) -
V(30 - c) = 500 for c = 1..30 and 0 after; sum_c A(c) = 15,000. Of the 10 deals created in the
last year, 4 came from leads (f = 0.4). A lead becomes a deal 10 days after creation with
chance 4/8 = 0.5 (L9-L11 were not observed 10 days yet), so B(c) = 0.5 A(c + 10) = 250 for
c = 1..20: sum_c B(c) = 5,000. Each lead still open at T whose chance is not spent (L9, L10 at
5 days, L11 at 0) becomes a deal at 10 days with chance 0.5 / (1 - 0) and brings 0.5 x A(5) or
0.5 x A(10) = 250: 750 in all (L5-L8 at 131 days bring nothing).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from salesnb.data.periods import Period

# ----------------------------------------------------------------------------- the generated pipeline

START = dt.date(2024, 1, 1)
AS_OF = dt.date(2025, 11, 15)
NEXT_QUARTER = Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))  # next_fiscal_quarter at AS_OF
DEALS_PER_DAY = 4
AMOUNT = 10_000.0
STAGES = ("Qualification", "Discovery", "Proposal")
PASS = (0.6, 0.7, 0.8)
DAYS = (10, 30)  # each stage lasts a whole number of days drawn uniformly from this range


def _stage_days() -> np.ndarray:
    """The distribution of one stage's length: P(days = d) for d = 0 .. DAYS[1]."""
    pmf = np.zeros(DAYS[1] + 1)
    pmf[DAYS[0]:] = 1.0 / (DAYS[1] - DAYS[0] + 1)
    return pmf


def steady_pipeline(seed: int = 7) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The generated pipeline's tables (``opportunities``, ``opportunity_history``) and the
    state of each deal open at T (``stage`` index, ``entered``: the day it entered it)."""
    rng = np.random.default_rng(seed)
    days = (AS_OF - START).days + 1
    created = np.repeat(np.arange(days), DEALS_PER_DAY)  # day numbers since START
    n = len(created)
    lengths = rng.integers(DAYS[0], DAYS[1] + 1, size=(n, len(STAGES)))
    passed = rng.random((n, len(STAGES))) < np.array(PASS)
    exits = created[:, None] + np.cumsum(lengths, axis=1)  # the day each stage is left
    ids = [f"S{index:05d}" for index in range(n)]
    t = days - 1  # T as a day number
    opportunities, history, open_state = [], [], []
    for index in range(n):
        day = lambda number: START + dt.timedelta(days=int(number))  # noqa: E731
        history.append((ids[index], f"{day(created[index])} 09:00:00", STAGES[0], AMOUNT, day(created[index] + 60)))
        stage, outcome, closed = 0, None, None
        for position in range(len(STAGES)):
            leave = exits[index, position]
            if leave > t:  # still in this stage at the end of T
                break
            if not passed[index, position]:
                outcome, closed = "Closed Lost", leave
                break
            if position == len(STAGES) - 1:
                outcome, closed = "Closed Won", leave
                break
            stage = position + 1
            history.append((ids[index], f"{day(leave)} 10:00:00", STAGES[stage], AMOUNT, day(created[index] + 60)))
        if outcome:
            history.append((ids[index], f"{day(closed)} 16:00:00", outcome, AMOUNT, day(closed)))
            opportunities.append((ids[index], day(created[index]), day(closed), outcome, AMOUNT))
        else:
            entered = created[index] if stage == 0 else exits[index, stage - 1]
            open_state.append((ids[index], stage, int(entered)))
            opportunities.append((ids[index], day(created[index]), max(day(created[index] + 60), AS_OF + dt.timedelta(days=1)),
                                  STAGES[stage], AMOUNT))
    frames = {
        "opportunities": pd.DataFrame(opportunities, columns=["opportunity_id", "created_at", "close_date", "stage",
                                                              "amount"]),
        "opportunity_history": pd.DataFrame(history, columns=["opportunity_id", "changed_at", "stage", "amount",
                                                              "close_date"]),
    }
    return frames, pd.DataFrame(open_state, columns=["opportunity_id", "stage", "entered"])


def _win_day_pmf(stage: int, in_stage_for: int) -> np.ndarray:
    """P(won exactly k days after T) for a deal in ``stage`` since ``in_stage_for`` days at
    the end of T, won included (the chances of passing every stage left)."""
    one = _stage_days()
    # This stage lasts more than in_stage_for days (it was not left by T): its days left.
    current = one.copy()
    current[: in_stage_for + 1] = 0.0
    current /= current.sum()
    left = np.zeros(len(current) - in_stage_for)
    left[:] = current[in_stage_for:]  # days left after T: index k = length - in_stage_for
    pmf = left
    for _ in range(stage + 1, len(STAGES)):
        pmf = np.convolve(pmf, one)
    return pmf * np.prod(PASS[stage:])


def exact_expected_won(open_state: pd.DataFrame, period: Period = NEXT_QUARTER) -> dict:
    """The expected won amount of ``period`` (after T), worked out from the process itself:
    the deals open at T (``open_state``) and the deals created from T + 1 to the period's end
    at ``DEALS_PER_DAY`` a day."""
    first, last = (period.start - AS_OF).days, (period.end - AS_OF).days
    t = (AS_OF - START).days

    def in_window(pmf, offset):  # the share of pmf (days after T, shifted by offset) in [first, last]
        days = np.arange(len(pmf)) + offset
        return float(pmf[(days >= first) & (days <= last)].sum())

    from_open = sum(in_window(_win_day_pmf(row.stage, t - row.entered), 0) for row in open_state.itertuples())
    new_deal = _win_day_pmf(0, 0)  # created on a day c, in Qualification since 0 days: wins c + k days after T
    from_new = DEALS_PER_DAY * sum(in_window(new_deal, c) for c in range(1, last + 1))
    return {"from_open": AMOUNT * from_open, "from_new": AMOUNT * from_new,
            "total": AMOUNT * (from_open + from_new)}


# ----------------------------------------------------------------------------- the hand-worked dataset

HAND_AS_OF = dt.date(2025, 6, 30)
HAND_PERIOD = Period(dt.date(2025, 7, 31), dt.date(2025, 8, 29))


def hand_frames() -> dict[str, pd.DataFrame]:
    """The hand-worked dataset of the module docstring."""
    deals = []
    for number in range(1, 11):
        won = number <= 5
        deals.append((f"D{number}", "2025-03-01", "2025-03-31" if won else "2025-04-15",
                       "Closed Won" if won else "Closed Lost", 1000.0, "Website"))
    leads = []
    linked = {1: "D1", 2: "D2", 3: "D6", 4: "D7"}
    for number in range(1, 12):
        created = "2025-02-19" if number <= 8 else ("2025-06-25" if number <= 10 else "2025-06-30")
        deal = linked.get(number)
        leads.append((f"L{number:02d}", f"{created} 09:00:00", "Website",
                      "2025-03-01 09:00:00" if deal else None, deal))
    return {
        "opportunities": pd.DataFrame(deals, columns=["opportunity_id", "created_at", "close_date", "stage", "amount",
                                                      "source"]),
        "leads": pd.DataFrame(leads, columns=["lead_id", "created_at", "source", "converted_at", "opportunity_id"]),
    }
