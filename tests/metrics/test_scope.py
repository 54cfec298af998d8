"""The one selection, applied to every kind of row, worked out by hand on a tiny dataset.

Reps: R1 (team Alpha, region East), R2 (Alpha, West), R3 (Beta, no region).
Accounts: A1 (SMB, East), A2 (Enterprise, no region), A3 (SMB, West).
Deals: O1 R1/A1 Web/Widget; O2 R2/A2 Referral/Gadget; O3 R3/A3 Web/Gadget; O4 R2/(none) Web.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.periods import Period
from salesnb.data.selection import SelectionError
from salesnb.metrics import conversion, scope
from salesnb.metrics.deals import deals

REPS = pd.DataFrame([("R1", "Ann", "Alpha", "East"), ("R2", "Bo", "Alpha", "West"), ("R3", "Cy", "Beta", None)],
                    columns=["rep_id", "rep_name", "team", "region"])
ACCOUNTS = pd.DataFrame([("A1", "Acme", "SMB", "East"), ("A2", "Globex", "Enterprise", None),
                         ("A3", "Initech", "SMB", "West")], columns=["account_id", "account_name", "segment", "region"])
DEALS = pd.DataFrame([
    ("O1", "R1", "A1", "Web", "Widget", "2025-01-05", "2025-02-01", "Closed Won", 100.0),
    ("O2", "R2", "A2", "Referral", "Gadget", "2025-01-06", "2025-02-02", "Closed Lost", 200.0),
    ("O3", "R3", "A3", "Web", "Gadget", "2025-01-07", "2025-02-03", "Closed Won", 300.0),
    ("O4", "R2", None, "Web", None, "2025-01-08", "2025-02-04", "Closed Lost", 400.0),
], columns=["opportunity_id", "rep_id", "account_id", "source", "product", "created_at", "close_date", "stage", "amount"])
LEADS = pd.DataFrame([
    ("L1", "2025-01-01 10:00:00", "Web", "R1", "A1", "O1"),
    ("L2", "2025-01-02 10:00:00", "Referral", "R3", "A2", None),
    ("L3", "2025-01-03 10:00:00", "Event", "R2", None, None),
], columns=["lead_id", "created_at", "source", "rep_id", "account_id", "opportunity_id"])
ORDERS = pd.DataFrame([
    ("S1", "A1", "2025-02-10", 50.0, "Widget", "O1"),
    ("S2", "A3", "2025-02-11", 60.0, None, "O3"),
    ("S3", "A2", "2025-02-12", 70.0, "Gadget", None),
], columns=["order_id", "account_id", "ordered_at", "amount", "product", "opportunity_id"])
QUOTAS = pd.DataFrame([("R1", "2025-01-01", "2025-03-31", 1000.0), ("R3", "2025-01-01", "2025-03-31", 500.0)],
                      columns=["rep_id", "period_start", "period_end", "amount"])
Q1 = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames({"reps": REPS, "accounts": ACCOUNTS, "opportunities": DEALS, "leads": LEADS,
                                "orders": ORDERS, "quotas": QUOTAS})


def ids(table, key):
    return sorted(table.execute()[key])


@pytest.mark.parametrize("where, expected", [
    (select(), ["O1", "O2", "O3", "O4"]),
    (select(team="Alpha"), ["O1", "O2", "O4"]),
    (select(rep="Bo"), ["O2", "O4"]),  # a rep by name ...
    (select(rep="R3"), ["O3"]),  # ... or by rep_id
    (select(segment="SMB"), ["O1", "O3"]),  # O4 has no account: in no segment
    (select(source="Web"), ["O1", "O3", "O4"]),
    (select(product=["Gadget", "Widget"]), ["O1", "O2", "O3"]),  # several values: any of them
    # Region: the account's (A1 East), else the owner's where the account records none
    # (O2: A2 has no region, Bo is West; O4: no account, Bo is West).
    (select(region="West"), ["O2", "O3", "O4"]),
    (select(region="East"), ["O1"]),
    (select(team="Alpha", source="Web"), ["O1", "O4"]),  # dimensions combine with AND
])
def test_deals_of_a_selection(dataset, where, expected):
    assert ids(deals(dataset, where), "opportunity_id") == expected


def test_leads_orders_and_quotas_take_the_same_selection(dataset):
    leads = dataset.table("leads")
    assert ids(scope.restrict(dataset, leads, select(team="Alpha")), "lead_id") == ["L1", "L3"]  # the owner's team
    assert ids(scope.restrict(dataset, leads, select(source="Referral")), "lead_id") == ["L2"]
    assert ids(scope.restrict(dataset, leads, select(segment="Enterprise")), "lead_id") == ["L2"]
    assert ids(scope.restrict(dataset, leads, select(product="Widget")), "lead_id") == ["L1"]  # through its deal
    orders = dataset.table("orders")
    assert ids(scope.restrict(dataset, orders, select(segment="SMB")), "order_id") == ["S1", "S2"]
    assert ids(scope.restrict(dataset, orders, select(rep="R3")), "order_id") == ["S2"]  # the deal's owner
    assert ids(scope.restrict(dataset, orders, select(product="Gadget")), "order_id") == ["S3"]  # its own column
    quotas = dataset.table("quotas")
    assert ids(scope.restrict(dataset, quotas, select(team="Beta")), "rep_id") == ["R3"]
    assert ids(scope.restrict(dataset, quotas, select(region="East")), "rep_id") == ["R1"]


def test_a_dimension_the_rows_cannot_carry_is_named(dataset):
    with pytest.raises(SelectionError, match="Quotas cannot be selected by segment"):
        scope.restrict(dataset, dataset.table("quotas"), select(segment="SMB"), rows="quotas")


def test_unknown_values_and_dimensions_are_refused_with_the_fix(dataset):
    with pytest.raises(SelectionError, match=r"team = 'Alfa' matches no data. Did you mean 'Alpha'\?"):
        deals(dataset, select(team="Alfa")).execute()
    with pytest.raises(SelectionError, match=r"no dimension 'teams'. Did you mean 'team'\?"):
        select(teams="Alpha")
    with pytest.raises(SelectionError, match="a name .* or a list of names"):
        select(team=3.5)


def test_a_metric_takes_period_forms_and_where_the_same_way(dataset):
    by_quarter = conversion.win_rates(dataset, "2025Q1", where=select(team="Alpha")).iloc[0]
    by_dates = conversion.win_rates(dataset, ("2025-01-01", "2025-03-31"), where={"team": "Alpha"}).iloc[0]
    in_selection = conversion.win_rates(dataset, where=select(team="Alpha", period="2025Q1")).iloc[0]
    # Alpha closed O1 (won), O2 and O4 (lost) in Q1 2025: 1 / 3.
    for row in (by_quarter, by_dates, in_selection):
        assert (row["won"], row["closed"]) == (1, 3)
        assert row["win_rate"] == pytest.approx(1 / 3)
    with pytest.raises(SelectionError, match="given twice"):
        conversion.win_rates(dataset, "2024", where=select(period="2025Q1"))


def test_the_keywords_of_the_last_release_still_work_with_a_warning(dataset):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = conversion.win_rates(dataset, Q1, team="Alpha").iloc[0]
    assert (row["won"], row["closed"]) == (1, 3)
    assert any("where=salesnb.select(team=...)" in str(item.message) for item in caught)
    with pytest.raises(SelectionError, match="given both"), pytest.warns(DeprecationWarning):
        conversion.win_rates(dataset, Q1, team="Alpha", where=select(team="Beta"))


def test_results_are_marked_for_the_notebook_display(dataset):
    result = conversion.win_rates(dataset, Q1, by="team")
    assert result.attrs[scope.RESULT_ATTRIBUTE] == "conversion.win_rates"
    assert "conversion.win_rates" in scope.PUBLIC_METRICS


def test_a_region_without_the_accounts_table_names_the_table():
    # Orders reach a region through their account; the reps' regions do not help rows without a rep_id.
    without_accounts = dataset_from_frames({"orders": ORDERS, "reps": REPS}, strict=False)
    with pytest.raises(SelectionError, match="by region needs the 'accounts' table"):
        scope.restrict(without_accounts, without_accounts.table("orders"), select(region="East"), rows="orders")
