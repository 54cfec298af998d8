"""The account report's findings and headline numbers, composed from the views its notebook computed.

Every expected sentence and threshold decision is worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from salesnb import select
from salesnb.data.periods import Period
from salesnb.data.selection import EVERYTHING
from salesnb.metrics import concentration, overdue, repeat, retention
from salesnb.report.findings.accounts import account_findings, headline_numbers
from tests.order_fixtures import orders_dataset

H2 = Period(dt.date(2025, 7, 1), dt.date(2025, 12, 31))  # its previous period: H1 2025


def _account_orders():
    """Previous period H1 2025, this period H2 2025 (see the test for the arithmetic)."""
    rows = []
    for index in range(40):  # first order 15 Nov 2024: 90-day window closes in H1 2025
        rows.append((f"P{index:02d}", "2024-11-15", 10.0))
        if index < 4:
            rows.append((f"P{index:02d}", "2024-12-15", 10.0))
    for index in range(40):  # first order 15 May 2025: 90-day window closes in H2 2025
        amount = 1000.0 if index == 0 else 10.0
        rows.append((f"N{index:02d}", "2025-05-15", amount))
        if index < 24:
            rows.append((f"N{index:02d}", "2025-06-14", amount))
    for index in range(30):  # new in November 2025, equal spend
        rows.append((f"H{index:02d}", "2025-11-01", 100.0))
    return rows


def views(dataset, where=EVERYTHING):
    """The views the notebook computes and passes: (this period, the previous one) pairs, and the churned list."""
    windows = (H2, H2.previous())
    return dict(
        horizons=[repeat.repeat_rates_at_horizons(dataset, window, where=where) for window in windows],
        horizons_by_segment=[repeat.repeat_rates_at_horizons(dataset, window, "segment", where=where)
                             for window in windows],
        retention=[retention.revenue_retention(dataset, window, where=where) for window in windows],
        retention_by_segment=[retention.revenue_retention(dataset, window, "segment", where=where)
                              for window in windows],
        churned=retention.churned_accounts(dataset, H2, where=where),
        concentration=[concentration.concentration(dataset, window, where=where) for window in windows],
    )


def test_account_findings():
    dataset = orders_dataset(_account_orders())
    moved = account_findings(**views(dataset), where=EVERYTHING)
    # Repeat: 90-day windows closing in H1 2025 (first orders 3 Oct 2024 - 1 Apr 2025): the P
    # customers, 4 of 40 = 10%; in H2 2025 (first orders 2 Apr - 2 Oct 2025): N, 24 of 40 = 60%.
    # Pooled 0.35, se = sqrt(0.35 x 0.65 x (1/40 + 1/40)) = 0.1067, z = 4.69 -> kept. The same
    # at 180 days (windows closing in H1 2025: first orders 5 Jul 2024 - 1 Jan 2025, P; in H2:
    # 2 Jan - 4 Jul 2025, N; every repeat came within 30 days). 365 days: nobody's window closed in H1.
    # Retention: the H1 base (N) spends nothing in H2 and the H2 2024 base (P) nothing in H1:
    # NRR 0% in both periods, nothing moved. Segments: no accounts table, no segment: no by-segment rows.
    # Churn: N00 (2 orders, 2,000) first, then the 20-each repeaters by id.
    # Concentration: H1 top 10 = (2,000 + 9 x 20) / 2,620 = 83.2% of 40 customers; H2: 10 of
    # 30 equal customers = 33.3%: -49.9 points.
    assert [m.topic for m in moved] == ["repeat", "repeat", "churn", "churn", "churn", "concentration"]
    assert moved[0].sentence == ("All customers: 90-day repeat purchase rate rose from 10.0% (4 of 40) in the previous "
                                 "period to 60.0% (24 of 40), +50.0 points.")
    assert moved[1].sentence.startswith("All customers: 180-day repeat purchase rate rose from 10.0% (4 of 40)")
    assert moved[2].sentence == ("N00 stopped ordering: $2,000 over 2 orders in the previous "
                                 "period, none in this one (last order 14 Jun 2025).")
    assert [m.subject for m in moved[3:5]] == ["N01", "N02"]
    assert moved[5].sentence == ("The 10 largest accounts brought 33.3% of revenue (30 customers) against 83.2% "
                                 "(40 customers) in the previous period, -49.9 points: revenue is less concentrated.")


def test_account_findings_of_a_segment_name_it_and_compare_segments_only_when_there_are_several():
    # The same customers, P and N in segment SMB, H in Enterprise.
    rows = _account_orders()
    names = sorted({row[0] for row in rows})
    accounts = [(name, name, "Enterprise" if name.startswith("H") else "SMB") for name in names]
    dataset = orders_dataset(rows, accounts)
    moved = account_findings(**views(dataset), where=EVERYTHING)
    # Segment SMB holds every P and N customer: its repeat rates move as the overall ones (z 4.69 at 90
    # and 180 days, the same strength, then by subject: "All customers" before "Segment SMB"); Enterprise
    # (H, first orders in November) has no closed window. At most 3 repeat findings.
    repeat_subjects = [m.subject for m in moved if m.topic == "repeat"]
    assert repeat_subjects == ["All customers", "All customers", "Segment SMB"]
    # Churned accounts show their segment.
    assert next(m for m in moved if m.topic == "churn").sentence.startswith("N00 (SMB) stopped ordering")
    # Asked for SMB only: the overall rows are named after the selection, segments are not compared.
    smb = select(segment="SMB")
    moved = account_findings(**views(dataset, smb), where=smb)
    assert [m.subject for m in moved if m.topic == "repeat"] == ["Segment SMB", "Segment SMB"]
    # SMB alone, H1 top 10 = 83.2% of 40; H2 has no SMB revenue: concentration not compared.
    assert "concentration" not in [m.topic for m in moved]


def test_headline_numbers_pick_each_view_by_catalogue_name():
    dataset = orders_dataset(_account_orders())
    summary = repeat.summary(dataset, H2)
    horizons = repeat.repeat_rates_at_horizons(dataset, H2)
    retained = retention.revenue_retention(dataset, H2)
    concentrated = concentration.concentration(dataset, H2)
    late = overdue.summary(overdue.overdue_accounts(dataset, H2.end))
    gaps = repeat.time_between_orders(dataset, H2).set_index("order_day")
    numbers = headline_numbers(summary, horizons, retained, concentrated, late, gaps)
    # H2 2025: the 30 H customers (100 each) and nobody else ordered: 30 customers, 30 orders, 3,000.
    assert (numbers["customers"], numbers["orders"], numbers["revenue"]) == (30, 30, 3000.0)
    # 90 days: 24 of the 40 N customers (see test_account_findings).
    assert numbers["repeat_purchase_rate_90d"] == pytest.approx(0.6)
    assert numbers["nrr"] == 0 and numbers["top10_revenue_share"] == pytest.approx(1 / 3)
    # Nobody ordered twice in H2 (the N customers' second orders were in June): no interval, not measured.
    assert numbers["overdue_accounts"] == 0 and math.isnan(numbers["median_days_between_orders"])
    assert sorted(numbers) == sorted([
        "customers", "new_customers", "orders", "revenue", "repeat_purchase_rate", "repeat_purchase_rate_90d",
        "repeat_purchase_rate_180d", "repeat_purchase_rate_365d", "revenue_from_repeat_share", "same_day_orders",
        "nrr", "grr", "top10_revenue_share", "overdue_accounts", "median_days_between_orders"])
