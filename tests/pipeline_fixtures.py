"""A tiny hand-made pipeline with history, whose numbers are worked out by hand in the tests.

Target period Q1 2025 (2025-01-01..2025-03-31); the data's date (as_of) is 2025-02-15 (D5's
last history row); the waterfall compares 2025-02-01 (C) with as_of (T). Default playbook:
Prospecting 5%, Qualification 15%, Discovery 30%, Proposal 50%, Negotiation 75%.

    deal rep  created     history (changed_at: stage, amount, close date)             now
    D1   R1   2024-12-01  12-01 Qual 10000 03-15; 02-05 Proposal 12000 03-15          open, amount change
    D2   R1   2024-11-01  11-01 Disc 5000 05-15; 02-03 Nego 5000 02-20; 02-10 Won     pulled in, then won
    D3   R2   2024-12-10  12-10 Prop 8000 02-10; 02-08 -> 03-10; 02-12 -> 04-20       pushed twice, out of Q1
    D4   R2   2024-12-05  12-05 Disc 20000 03-01; 02-04 15000; 02-11 Lost 15000       amount change, then lost
    D5   R3   2025-02-06  02-06 Qual 3000 03-20; 02-15 Disc                           new
    D6   R3   2024-10-01  10-01 Prop 50000 2024-12-31                                 past due, CRM prob 0.2
    D7   R1   2024-12-15  12-15 Qual 4000 03-05; 02-09 Lost, amount blanked           lost without amount
    D8   R2   2024-06-01  06-01 Qual 7000 2024-09-30; 02-14 Lost 7000                 overdue zombie closed out
    D9   R1   2025-01-05  (no history)  Discovery 6000 03-25                          taken as it is now
    D10  R3   2025-01-10  02-05 Prop 9000 03-28 (history starts after creation)       unknown on 02-01
    D11  R2   2025-01-05  01-05 Qual 2000 03-01; 02-13 10:00 Nego and Won (tie)       won
    D12  R3   2025-01-15  01-15 Nego, no amount, 06-30                                open without amount

Sources: Web D1 D3 D5 D7 D10 D11; Referral D2 D6 D9 D12; Event D4 D8.
Quotas for Q1 2025: R1 30,000, R2 20,000 (team Alpha), R3 10,000 (team Beta).
Activities: D1 01-05, D6 2024-12-01, D3 01-10, D12 02-14, D9 03-01 (after the data date).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import yaml

from salesnb.data.periods import Period
from salesnb.data.playbook import load_playbook, playbook_from_dict

Q1 = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
AS_OF = dt.date(2025, 2, 15)
COMPARE_FROM = dt.date(2025, 2, 1)

OPPORTUNITIES = pd.DataFrame(
    [
        ("D1", "R1", "2024-12-01", "2025-03-15", "Proposal", 12000.0, None, "Web"),
        ("D2", "R1", "2024-11-01", "2025-02-10", "Closed Won", 5000.0, None, "Referral"),
        ("D3", "R2", "2024-12-10", "2025-04-20", "Proposal", 8000.0, None, "Web"),
        ("D4", "R2", "2024-12-05", "2025-02-11", "Closed Lost", 15000.0, None, "Event"),
        ("D5", "R3", "2025-02-06", "2025-03-20", "Discovery", 3000.0, None, "Web"),
        ("D6", "R3", "2024-10-01", "2024-12-31", "Proposal", 50000.0, 0.2, "Referral"),
        ("D7", "R1", "2024-12-15", "2025-02-09", "Closed Lost", None, None, "Web"),
        ("D8", "R2", "2024-06-01", "2025-02-14", "Closed Lost", 7000.0, None, "Event"),
        ("D9", "R1", "2025-01-05", "2025-03-25", "Discovery", 6000.0, None, "Referral"),
        ("D10", "R3", "2025-01-10", "2025-03-28", "Proposal", 9000.0, None, "Web"),
        ("D11", "R2", "2025-01-05", "2025-02-13", "Closed Won", 2000.0, None, "Web"),
        ("D12", "R3", "2025-01-15", "2025-06-30", "Negotiation", None, None, "Referral"),
    ],
    columns=["opportunity_id", "rep_id", "created_at", "close_date", "stage", "amount", "probability", "source"],
)

HISTORY = pd.DataFrame(
    [
        ("D1", "2024-12-01 09:00:00", "Qualification", 10000.0, "2025-03-15"),
        ("D1", "2025-02-05 10:00:00", "Proposal", 12000.0, "2025-03-15"),
        ("D2", "2024-11-01 09:00:00", "Discovery", 5000.0, "2025-05-15"),
        ("D2", "2025-02-03 11:00:00", "Negotiation", 5000.0, "2025-02-20"),
        ("D2", "2025-02-10 15:00:00", "Closed Won", 5000.0, "2025-02-10"),
        ("D3", "2024-12-10 09:00:00", "Proposal", 8000.0, "2025-02-10"),
        ("D3", "2025-02-08 09:00:00", "Proposal", 8000.0, "2025-03-10"),
        ("D3", "2025-02-12 09:00:00", "Proposal", 8000.0, "2025-04-20"),
        ("D4", "2024-12-05 09:00:00", "Discovery", 20000.0, "2025-03-01"),
        ("D4", "2025-02-04 09:00:00", "Discovery", 15000.0, "2025-03-01"),
        ("D4", "2025-02-11 16:00:00", "Closed Lost", 15000.0, "2025-02-11"),
        ("D5", "2025-02-06 09:00:00", "Qualification", 3000.0, "2025-03-20"),
        ("D5", "2025-02-15 09:00:00", "Discovery", 3000.0, "2025-03-20"),
        ("D6", "2024-10-01 09:00:00", "Proposal", 50000.0, "2024-12-31"),
        ("D7", "2024-12-15 09:00:00", "Qualification", 4000.0, "2025-03-05"),
        ("D7", "2025-02-09 12:00:00", "Closed Lost", None, "2025-02-09"),
        ("D8", "2024-06-01 09:00:00", "Qualification", 7000.0, "2024-09-30"),
        ("D8", "2025-02-14 12:00:00", "Closed Lost", 7000.0, "2025-02-14"),
        ("D10", "2025-02-05 09:00:00", "Proposal", 9000.0, "2025-03-28"),
        # Same timestamp: the close comes after the stage entry whatever the file order.
        ("D11", "2025-02-13 10:00:00", "Closed Won", 2000.0, "2025-02-13"),
        ("D11", "2025-01-05 09:00:00", "Qualification", 2000.0, "2025-03-01"),
        ("D11", "2025-02-13 10:00:00", "Negotiation", 2000.0, "2025-02-13"),
        ("D12", "2025-01-15 09:00:00", "Negotiation", None, "2025-06-30"),
    ],
    columns=["opportunity_id", "changed_at", "stage", "amount", "close_date"],
)

REPS = pd.DataFrame([("R1", "Ann", "Alpha"), ("R2", "Bo <b>", "Alpha"), ("R3", "Cy", "Beta")],
                    columns=["rep_id", "rep_name", "team"])

QUOTAS = pd.DataFrame(
    [
        ("R1", "2024-10-01", "2024-12-31", 30000.0),
        ("R1", "2025-01-01", "2025-03-31", 30000.0),
        ("R2", "2025-01-01", "2025-03-31", 20000.0),
        ("R3", "2025-01-01", "2025-03-31", 10000.0),
    ],
    columns=["rep_id", "period_start", "period_end", "amount"],
)

ACTIVITIES = pd.DataFrame(
    [
        ("A1", "R1", "call", "2025-01-05 10:00:00", "D1"),
        ("A2", "R3", "email", "2024-12-01 10:00:00", "D6"),
        ("A3", "R2", "meeting", "2025-01-10 10:00:00", "D3"),
        ("A4", "R3", "call", "2025-02-14 10:00:00", "D12"),
        ("A5", "R1", "meeting", "2025-03-01 10:00:00", "D9"),  # booked ahead: not a touch yet
    ],
    columns=["activity_id", "rep_id", "type", "occurred_at", "opportunity_id"],
)


def frames(history: bool = True, activities: bool = True, quotas: bool = True) -> dict:
    tables = {"opportunities": OPPORTUNITIES, "reps": REPS}
    if history:
        tables["opportunity_history"] = HISTORY
    if activities:
        tables["activities"] = ACTIVITIES
    if quotas:
        tables["quotas"] = QUOTAS
    return tables


def playbook(**changes):
    """The default playbook with some settings changed (e.g. min_deals_for_ranking=3)."""
    raw = yaml.safe_load(open(load_playbook().source_path, encoding="utf-8"))
    return playbook_from_dict({**raw, **changes})
