"""Tiny hand-made datasets for the people and productivity metrics; every number the tests
assert is worked out by hand from these rows (see the arithmetic in each test).

``people_frames()``: period Q1 2025 (2025-01-01..2025-03-31, 90 days = 90/7 weeks); the
previous period is Q4 2024. Data date (as_of) 2025-04-15 (O13's close).

    rep  name  team    region  manager  hired        quota Q1   activities in Q1
    R1   Ann   Alpha   East    M1       2020-01-01   1000       45 (30 call, 10 email, 5 meeting on O2)
    R2   Bo    Alpha   East    M1       2025-03-04   -          8 from 4 Mar (6 call, 2 meeting) + 1 on 1 Mar, before hire
    R3   Cy    Beta    West    M2       2019-06-01   2000       13 email (the first 3 on O8)
    R4   Di    Alpha   West    M1       2021-01-01   3000       none
    M1   Mia   Leadership (manages, sells nothing: not a selling rep); M2 Max likewise
    and 2 activities without a rep.

    deal  rep  created     closed      stage          amount  source    account (segment)
    O1    R1   2025-01-05  2025-02-10  Closed Won     1000    Web       A1 (SMB)
    O2    R1   2025-01-08  2025-03-15  Closed Won      500    Referral  A1
    O3    R1   2025-01-20  2025-02-20  Closed Lost     300    Web       A1
    O4    R4   2024-12-01  2025-01-25  Closed Won     1500    Web       A1   created in Q4 2024
    O5    R4   2025-01-10  2025-02-01  Closed Lost     800    Referral  A1
    O6    R4   2025-01-12  2025-02-15  Closed Lost       -    Web       A1   no amount
    O7    R4   2025-02-01  2025-03-01  Closed Lost     400    Web       A1
    O8    R3   2025-01-03  2025-01-30  Closed Won     1000    Referral  A2 (Enterprise)
    O9    R3   2025-02-03  2025-03-20  Closed Won     1000    Web       A2
    O10   R3   2025-02-05  2025-03-10  Closed Lost     200    Web       A2
    O11   R2   2025-03-10  2025-03-28  Closed Lost     100    Web       A1
    O12   R1   2025-02-01  2025-04-30  Proposal       2000    Web       A1   open
    O13   R1   2025-03-05  2025-04-15  Closed Won      700    Referral  A1   closed after the period: open on 31 Mar
    O14   R3   2025-03-20  2025-05-01  Qualification   900    Web       A2   open
    O15   -    2025-02-10  2025-03-05  Closed Won      600    Web       A1   no owner
    O16   R4   2025-03-25  2025-06-30  Discovery         -    Web       A1   open, no amount
    O17   R1   2024-01-15  2024-02-15  Closed Won      100    Web       A1   the first deal: the data begins Jan 2024

Referral deals: O2, O5, O8, O13. Enterprise deals (account A2): Cy's O8, O9, O10, O14. The
activities carry no account, so no activity is in a segment.

Quotas: R1, R3, R4 for Q1 2025 (above); R1 1000 for Q4 2024; R3 500 for 2025-02-15..2025-05-14
(reaches past the period: not counted).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from salesnb.data.periods import Period

Q1 = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
YEAR_2025 = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
WEEKS_Q1 = 90 / 7

DEAL_COLUMNS = ["opportunity_id", "rep_id", "created_at", "close_date", "stage", "amount"]
REFERRALS = ("O2", "O5", "O8", "O13")
ENTERPRISE = ("O8", "O9", "O10", "O14")
RAMP_REFERRALS = ("D2", "D3", "D5")


def _activities(rep, dates_and_types, start_number, deals=()):
    """Activity rows; the first ``len(deals)`` are on those deals."""
    return [(f"A{start_number + index:03d}", rep, kind, f"{day} 10:00:00", deals[index] if index < len(deals) else None)
            for index, (day, kind) in enumerate(dates_and_types)]


def people_frames() -> dict[str, pd.DataFrame]:
    reps = pd.DataFrame([
        ("R1", "Ann", "Alpha", "East", "M1", "2020-01-01"),
        ("R2", "Bo", "Alpha", "East", "M1", "2025-03-04"),
        ("R3", "Cy", "Beta", "West", "M2", "2019-06-01"),
        ("R4", "Di", "Alpha", "West", "M1", "2021-01-01"),
        ("M1", "Mia", "Leadership", "", "", "2015-01-01"),
        ("M2", "Max", "Leadership", "", "", "2015-01-01"),
    ], columns=["rep_id", "rep_name", "team", "region", "manager_id", "hire_date"])
    opportunities = pd.DataFrame([
        ("O1", "R1", "2025-01-05", "2025-02-10", "Closed Won", 1000.0),
        ("O2", "R1", "2025-01-08", "2025-03-15", "Closed Won", 500.0),
        ("O3", "R1", "2025-01-20", "2025-02-20", "Closed Lost", 300.0),
        ("O4", "R4", "2024-12-01", "2025-01-25", "Closed Won", 1500.0),
        ("O5", "R4", "2025-01-10", "2025-02-01", "Closed Lost", 800.0),
        ("O6", "R4", "2025-01-12", "2025-02-15", "Closed Lost", None),
        ("O7", "R4", "2025-02-01", "2025-03-01", "Closed Lost", 400.0),
        ("O8", "R3", "2025-01-03", "2025-01-30", "Closed Won", 1000.0),
        ("O9", "R3", "2025-02-03", "2025-03-20", "Closed Won", 1000.0),
        ("O10", "R3", "2025-02-05", "2025-03-10", "Closed Lost", 200.0),
        ("O11", "R2", "2025-03-10", "2025-03-28", "Closed Lost", 100.0),
        ("O12", "R1", "2025-02-01", "2025-04-30", "Proposal", 2000.0),
        ("O13", "R1", "2025-03-05", "2025-04-15", "Closed Won", 700.0),
        ("O14", "R3", "2025-03-20", "2025-05-01", "Qualification", 900.0),
        ("O15", None, "2025-02-10", "2025-03-05", "Closed Won", 600.0),
        ("O16", "R4", "2025-03-25", "2025-06-30", "Discovery", None),
        ("O17", "R1", "2024-01-15", "2024-02-15", "Closed Won", 100.0),
    ], columns=DEAL_COLUMNS)
    opportunities["source"] = opportunities["opportunity_id"].map(lambda deal: "Referral" if deal in REFERRALS else "Web")
    opportunities["account_id"] = opportunities["opportunity_id"].map(lambda deal: "A2" if deal in ENTERPRISE else "A1")
    accounts = pd.DataFrame([("A1", "Acme", "SMB"), ("A2", "Globex", "Enterprise")],
                            columns=["account_id", "account_name", "segment"])
    quotas = pd.DataFrame([
        ("R1", "2025-01-01", "2025-03-31", 1000.0),
        ("R4", "2025-01-01", "2025-03-31", 3000.0),
        ("R3", "2025-01-01", "2025-03-31", 2000.0),
        ("R1", "2024-10-01", "2024-12-31", 1000.0),
        ("R3", "2025-02-15", "2025-05-14", 500.0),
    ], columns=["rep_id", "period_start", "period_end", "amount"])
    days = pd.date_range("2025-01-01", "2025-03-30", periods=45).strftime("%Y-%m-%d")
    r1_types = ["call"] * 30 + ["email"] * 10 + ["meeting"] * 5
    r2_days = pd.date_range("2025-03-04", "2025-03-31", periods=8).strftime("%Y-%m-%d")
    r3_days = pd.date_range("2025-01-06", "2025-03-28", periods=13).strftime("%Y-%m-%d")
    rows = (
        _activities("R1", zip(days[:40], r1_types[:40]), 1)
        + _activities("R1", zip(days[40:], r1_types[40:]), 41, deals=("O2",) * 5)  # Ann's meetings: on O2
        + _activities("R2", zip(r2_days, ["call"] * 6 + ["meeting"] * 2), 100)
        + _activities("R2", [("2025-03-01", "call")], 200)  # before Bo's hire date
        + _activities("R3", zip(r3_days, ["email"] * 13), 300, deals=("O8",) * 3)
        + _activities(None, [("2025-02-02", "call"), ("2025-02-03", "email")], 400)  # no rep
    )
    activities = pd.DataFrame(rows, columns=["activity_id", "rep_id", "type", "occurred_at", "opportunity_id"])
    return {"reps": reps, "opportunities": opportunities, "quotas": quotas, "activities": activities,
            "accounts": accounts}


def ramp_frames() -> dict[str, pd.DataFrame]:
    """Ramp of four hires in team Alpha, period = 2025, data date 2025-12-31.

    Tenured: T1 and T2 (hired 2020) won 12,000 and 6,000 in 2025: 365 / 30.4375 =
    11.99179 months, so 1,000.68 and 500.34 a month; benchmark = median = 750.51; ramp bar
    (50%) = 375.26.

        hire  hired        wins (month since hire, hire month = 0)     ramp
        N1    2025-01-15   300 in Feb (1), 600 in Mar (2)              2 months
        N2    2025-02-10   700 in Jun (4)                              4 months
        N3    2025-11-20   none; observed to Dec = month 1             still ramping (censored at 1)
        N4    2025-08-05   none; observed to Dec = month 4             still ramping (censored at 4)

    Referral deals: D2 (Tom's 6,000), D3 (Nia's 300), D5 (Ned's 700); the others are Web.
    """
    reps = pd.DataFrame([
        ("T1", "Tia", "Alpha", "2020-01-01"), ("T2", "Tom", "Alpha", "2020-01-01"),
        ("N1", "Nia", "Alpha", "2025-01-15"), ("N2", "Ned", "Alpha", "2025-02-10"),
        ("N3", "Noa", "Alpha", "2025-11-20"), ("N4", "Nox", "Alpha", "2025-08-05"),
    ], columns=["rep_id", "rep_name", "team", "hire_date"])
    opportunities = pd.DataFrame([
        ("D0", "T1", "2024-01-10", "2024-02-01", "Closed Won", 100.0),  # the data begins Jan 2024
        ("D1", "T1", "2025-05-01", "2025-06-15", "Closed Won", 12000.0),
        ("D2", "T2", "2025-08-01", "2025-09-10", "Closed Won", 6000.0),
        ("D3", "N1", "2025-02-01", "2025-02-20", "Closed Won", 300.0),
        ("D4", "N1", "2025-02-15", "2025-03-12", "Closed Won", 600.0),
        ("D5", "N2", "2025-05-01", "2025-06-05", "Closed Won", 700.0),
        ("D6", "N3", "2025-12-31", "2026-02-28", "Proposal", 800.0),  # the data date
        ("D7", "N4", "2025-09-01", "2026-01-31", "Proposal", 800.0),
    ], columns=DEAL_COLUMNS)
    opportunities["source"] = opportunities["opportunity_id"].map(lambda deal: "Referral" if deal in RAMP_REFERRALS
                                                                  else "Web")
    return {"reps": reps, "opportunities": opportunities}
