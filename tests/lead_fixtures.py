"""A tiny hand-made leads dataset whose numbers are worked out by hand in the tests.

The fixture (period = Q1 2025, 2025-01-01..2025-03-31, three whole months; previous period
= the three calendar months before, 2024-10-01..2024-12-31 (``Period.previous()`` goes back
whole months for whole-month periods); a year earlier = 2024-01-01..2024-03-31; SLA 24 h):

    lead  created            source  campaign rep  account status        response   mql    sql    conv   deal
    L1    2025-01-05 09:00   Web     A        R1   A1      Converted     +0.5 h     +24 h  +72 h  01-10  O1 (won, 1000, close 02-09)
    L2    2025-01-20 10:00   Web     A        R1   A2      Disqualified  +6 h       +24 h  -      -      -
    L3    2025-01-25 08:00   Events  B        R2   A1      Converted     +48 h      -      -      01-30 08:00  O2 (lost, 400) skipped MQL+SQL
    L4    2025-03-10 12:00   Events  B        R2   -       New           never      -      -      -      -
    L5    2025-03-15 09:00   Web     A        -    A2      Working       +36 h      -      -      -      -
    L6    2024-11-10 10:00   Web     A        R1   A1      Converted     +1 h       -      -      -      O3 via opportunities.lead_id (won)
    L7    2024-12-01 10:00   Web     A        R1   -       Working       +2 h       -      -      -      -
    L8    2024-02-10 10:00   Events  B        R2   -       Disqualified  never      -      -      -      -

No lead was created in February 2025. as_of = 2025-03-15 (latest lead).

For selections: reps R1 Ann (team East, region South), R2 Bob (team West, region North);
accounts A1 (SMB, region North), A2 (Enterprise, no region). Deals: O1 R1 Core A1, O2 R2 Addon A1
(its own source says Outbound; its lead L3 is Events), O3 R1 Core A1, O4 R2 Core A2 (no lead, Outbound).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from salesnb.data.periods import Period

Q1 = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))


def lead_frames() -> dict[str, pd.DataFrame]:
    lead_rows = [
        # lead_id, created_at, source, campaign, rep_id, status, first_response_at, mql_at, sql_at, converted_at, opportunity_id
        ("L1", "2025-01-05 09:00:00", "Web", "A", "R1", "Converted", "2025-01-05 09:30:00", "2025-01-06 09:00:00",
         "2025-01-08 09:00:00", "2025-01-10 09:00:00", "O1", "A1"),
        ("L2", "2025-01-20 10:00:00", "Web", "A", "R1", "Disqualified", "2025-01-20 16:00:00", "2025-01-21 10:00:00",
         "", "", "", "A2"),
        ("L3", "2025-01-25 08:00:00", "Events", "B", "R2", "Converted", "2025-01-27 08:00:00", "", "",
         "2025-01-30 08:00:00", "O2", "A1"),
        ("L4", "2025-03-10 12:00:00", "Events", "B", "R2", "New", "", "", "", "", "", ""),
        ("L5", "2025-03-15 09:00:00", "Web", "A", "", "Working", "2025-03-16 21:00:00", "", "", "", "", "A2"),
        ("L6", "2024-11-10 10:00:00", "Web", "A", "R1", "Converted", "2024-11-10 11:00:00", "", "", "", "", "A1"),
        ("L7", "2024-12-01 10:00:00", "Web", "A", "R1", "Working", "2024-12-01 12:00:00", "", "", "", "", ""),
        ("L8", "2024-02-10 10:00:00", "Events", "B", "R2", "Disqualified", "", "", "", "", "", ""),
    ]
    columns = ["lead_id", "created_at", "source", "campaign", "rep_id", "status", "first_response_at", "mql_at",
               "sql_at", "converted_at", "opportunity_id", "account_id"]
    opportunities = pd.DataFrame([
        # opportunity_id, lead_id, source, created_at, close_date, stage, amount, rep_id, product, account_id
        ("O1", "", "Web", "2025-01-10", "2025-02-09", "Closed Won", "1000", "R1", "Core", "A1"),
        ("O2", "", "Outbound", "2025-01-30", "2025-02-15", "Closed Lost", "400", "R2", "Addon", "A1"),
        ("O3", "L6", "Web", "2024-11-20", "2024-12-20", "Closed Won", "800", "R1", "Core", "A1"),
        ("O4", "", "Outbound", "2025-02-01", "2025-04-30", "Proposal", "500", "R2", "Core", "A2"),
    ], columns=["opportunity_id", "lead_id", "source", "created_at", "close_date", "stage", "amount", "rep_id",
                "product", "account_id"])
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bob"], "team": ["East", "West"],
                         "region": ["South", "North"]})
    accounts = pd.DataFrame({"account_id": ["A1", "A2"], "account_name": ["Acme", "Globex"],
                             "segment": ["SMB", "Enterprise"], "region": ["North", ""]})
    spend = pd.DataFrame([
        ("2025-01-01", "Web", "A", "300"),
        ("2025-01-01", "Events", "B", "0"),      # a source with zero spend
        ("2025-02-01", "Web", "A", "300"),
        ("2025-03-01", "Social", "S", "150"),    # spend that produced no lead
        ("2024-12-01", "Web", "A", "999"),       # outside the period
    ], columns=["month", "source", "campaign", "amount"])
    return {"leads": pd.DataFrame(lead_rows, columns=columns), "opportunities": opportunities, "reps": reps,
            "accounts": accounts, "marketing_spend": spend}


def by_key(frame: pd.DataFrame, key: str) -> dict:
    return {row[key]: row for _, row in frame.iterrows()}


def frames_with_shared_deal() -> dict[str, pd.DataFrame]:
    """The fixture with L3 (Events, created 2025-01-25) naming O1 (won, 1000) instead of O2:
    L1 (Web, created 2025-01-05) and L3 both link O1, which is credited to the earlier, L1.
    O2 is linked to no lead any more."""
    frames = lead_frames()
    frames["leads"].loc[frames["leads"]["lead_id"] == "L3", "opportunity_id"] = "O1"
    return frames


def frames_without_responses() -> dict[str, pd.DataFrame]:
    frames = lead_frames()
    frames["leads"] = frames["leads"].assign(first_response_at="")
    return frames
