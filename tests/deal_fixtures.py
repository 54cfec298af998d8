"""A tiny hand-made dataset whose numbers are worked out by hand in the tests.

Period under test: 2025-01-01 .. 2025-03-31. Playbook: the default (open stages
Prospecting 0, Qualification 1, Discovery 2, Proposal 3, Negotiation 4; Won = 5).
"""

import pandas as pd

from salesnb.data.periods import Period

PERIOD = Period(pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-03-31").date())

OPPORTUNITIES = pd.DataFrame(
    [
        # id,  rep,  account, source,     created,      close,        stage,           amount, reason
        ("O1", "R1", "A1", "Web",      "2025-01-05", "2025-02-04", "Closed Won",    1000.0, None),
        ("O2", "R1", "A1", "Web",      "2025-01-10", "2025-03-01", "Closed Lost",    500.0, "Price"),
        ("O3", "R2", "A2", "Referral", "2025-01-15", "2025-03-16", "Closed Won",    3000.0, None),
        ("O4", "R2", "A2", "Web",      "2025-02-01", "2025-05-01", "Proposal",      2000.0, None),  # open: never a loss
        ("O5", "R2", "A3", "Referral", "2024-12-01", "2025-01-31", "Closed Lost",     None, "Competitor"),  # created before
        ("O6", "R1", "A3", "Web",      "2025-02-15", "2025-04-10", "Closed Won",    4000.0, None),  # closed after
        ("O7", "R3", "A4", "Web",      "2025-03-01", "2025-03-31", "Closed Won",    2000.0, None),
        ("O8", "R3", "A4", "Web",      "2025-03-05", "2025-06-30", "Qualification",  800.0, None),  # open
        ("O9", "R2", "A2", "Web",      "2025-01-20", "2025-02-20", "Closed Lost",    700.0, "Price"),
    ],
    columns=["opportunity_id", "rep_id", "account_id", "source", "created_at", "close_date", "stage", "amount", "lost_reason"],
)

REPS = pd.DataFrame(
    [("R1", "Ann O'Neil", "Alpha"), ("R2", "Bo <b>Bold</b>", "Alpha"), ("R3", "Cy", "Beta")],
    columns=["rep_id", "rep_name", "team"],
)

ACCOUNTS = pd.DataFrame(
    [("A1", "Acme", "SMB"), ("A2", "Globex", "Enterprise"), ("A3", "Initech", "SMB"), ("A4", "Umbrella", "Enterprise")],
    columns=["account_id", "account_name", "segment"],
)

HISTORY = pd.DataFrame(
    [
        ("O1", "2025-01-05 09:00:00", "Prospecting", 1000.0),
        ("O1", "2025-01-10 09:00:00", "Prospecting", 1200.0),  # amount change only: same stage visit
        ("O1", "2025-01-15 09:00:00", "Qualification", 1200.0),
        ("O1", "2025-02-04 09:00:00", "Closed Won", 1000.0),
        ("O2", "2025-01-10 09:00:00", "Prospecting", 500.0),
        ("O2", "2025-01-20 09:00:00", "Discovery", 500.0),  # skipped Qualification
        ("O2", "2025-02-10 09:00:00", "Proposal", 500.0),
        ("O2", "2025-03-01 09:00:00", "Closed Lost", 500.0),
        ("O6", "2025-02-15 09:00:00", "Discovery", 4000.0),  # still open on 31 March
        ("O6", "2025-04-10 09:00:00", "Closed Won", 4000.0),
        ("O9", "2025-01-20 09:00:00", "Prospecting", 700.0),
        ("O9", "2025-02-20 09:00:00", "Closed Lost", 700.0),
    ],
    columns=["opportunity_id", "changed_at", "stage", "amount"],
)


def frames(history: bool = False) -> dict:
    tables = {"opportunities": OPPORTUNITIES, "reps": REPS, "accounts": ACCOUNTS}
    if history:
        tables["opportunity_history"] = HISTORY
    return tables
