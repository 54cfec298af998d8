"""Leads and marketing: sources and campaigns, seasonal creation dates, response times,
the funnel New -> MQL -> SQL -> converted (cut at the snapshot), and campaign spend."""

import numpy as np
import pandas as pd

from salesnb.data.sample.arrays import numbered_ids
from salesnb.data.sample.people import assign_reps
from salesnb.data.sample.timeline import SNAPSHOT, day_number, month_index, seasonal_day_weights

# Per source: share of lead volume, share of its leads that skip MQL (sales-created or
# hand-delivered leads go straight to SQL), P(MQL), P(SQL | MQL or skipped), P(deal | SQL),
# share never answered, and the deal-quality factor (raises each stage's pass rate).
SOURCES = {
    "Website":     dict(share=0.30, skip_mql=0.05, mql=0.50, sql=0.50, convert=0.62, unanswered=0.10, quality=0.95),
    "Paid Search": dict(share=0.25, skip_mql=0.03, mql=0.38, sql=0.38, convert=0.50, unanswered=0.16, quality=0.80),
    "Webinar":     dict(share=0.12, skip_mql=0.05, mql=0.55, sql=0.42, convert=0.58, unanswered=0.12, quality=1.00),
    "Events":      dict(share=0.08, skip_mql=0.10, mql=0.60, sql=0.52, convert=0.65, unanswered=0.08, quality=1.15),
    "Referral":    dict(share=0.05, skip_mql=0.90, mql=0.80, sql=0.70, convert=0.72, unanswered=0.03, quality=1.30),
    "Outbound":    dict(share=0.14, skip_mql=1.00, mql=0.00, sql=0.30, convert=0.62, unanswered=0.00, quality=0.85),
    "Partner":     dict(share=0.06, skip_mql=0.50, mql=0.65, sql=0.58, convert=0.70, unanswered=0.06, quality=1.10),
}
SOURCE_NAMES = list(SOURCES)
EXISTING_CUSTOMER = "Existing Customer"  # source of expansion and renewal deals

# Campaigns: (source, name, first day, last day, cost per lead, fixed monthly cost).
# Events and webinars run in windows; cost per lead 0 marks unpaid channels.
CAMPAIGNS = [
    ("Website", "Organic Search", "2024-01-01", "2025-12-31", 15, 2_500),
    ("Website", "Contact Sales Form", "2024-01-01", "2025-12-31", 15, 0),
    ("Website", "Pricing Page Chat", "2024-06-01", "2025-12-31", 20, 800),
    ("Paid Search", "Google Ads - Brand", "2024-01-01", "2025-12-31", 90, 0),
    ("Paid Search", "Google Ads - Competitor", "2024-01-01", "2025-12-31", 160, 0),
    ("Paid Search", "LinkedIn Ads - ABM Pilot", "2025-03-01", "2025-08-31", 1_400, 6_000),  # the costly one
    ("Webinar", "Pipeline Hygiene 101", "2024-02-01", "2024-06-30", 60, 1_500),
    ("Webinar", "Forecasting Masterclass", "2024-09-01", "2025-02-28", 60, 1_500),
    ("Webinar", "RevOps Roundtable", "2025-03-01", "2025-12-31", 55, 1_500),
    ("Events", "SaaS Connect 2024", "2024-04-15", "2024-05-15", 420, 0),
    ("Events", "RevOps Summit 2024", "2024-10-01", "2024-10-31", 480, 0),
    ("Events", "SaaS Connect 2025", "2025-04-14", "2025-05-14", 430, 0),
    ("Events", "RevOps Summit 2025", "2025-09-29", "2025-10-31", 500, 0),
    ("Referral", "Customer Referral", "2024-01-01", "2025-12-31", 0, 0),
    ("Outbound", "SDR Prospecting", "2024-01-01", "2025-12-31", 0, 0),
    ("Outbound", "Account-Based Outreach", "2024-07-01", "2025-12-31", 0, 0),
    ("Partner", "Reseller Program", "2024-01-01", "2025-12-31", 70, 1_000),
    ("Partner", "Integration Marketplace", "2024-05-01", "2025-12-31", 40, 500),
]

LEAD_STATUSES = ["New", "Working", "Converted", "Disqualified"]


def make_leads(rng, count, accounts, reps):
    campaign_source = np.array([SOURCE_NAMES.index(c[0]) for c in CAMPAIGNS])
    source = rng.choice(len(SOURCE_NAMES), size=count, p=[s["share"] for s in SOURCES.values()])
    # A campaign within the source, then a creation day inside the campaign's window drawn
    # from the seasonal curve (one loop per campaign, not per lead).
    campaign = np.empty(count, dtype=np.int64)
    for index, name in enumerate(SOURCE_NAMES):
        rows = np.flatnonzero(source == index)
        options = np.flatnonzero(campaign_source == index)
        length = np.array([day_number(CAMPAIGNS[c][3]) - day_number(CAMPAIGNS[c][2]) + 1 for c in options], float)
        campaign[rows] = rng.choice(options, size=len(rows), p=length / length.sum())
    weights = seasonal_day_weights()
    created = np.empty(count)
    for index, (_, _, first, last, _, _) in enumerate(CAMPAIGNS):
        rows = np.flatnonzero(campaign == index)
        window = np.arange(day_number(first), day_number(last) + 1)
        day_weights = weights[window] / weights[window].sum()
        created[rows] = rng.choice(window, size=len(rows), p=day_weights)
    office = rng.random(count) < 0.75  # most leads arrive in office hours, some at night
    created = np.where(office, created + (8 + 10 * rng.random(count)) / 24, created + rng.random(count))
    created = np.minimum(created, SNAPSHOT - 0.01)

    params = {key: np.array([s[key] for s in SOURCES.values()])[source] for key in next(iter(SOURCES.values()))}
    is_outbound = source == SOURCE_NAMES.index("Outbound")
    # First response: most within hours, a tail of days, some never. Outbound leads are
    # created by the rep who contacts them, so their first touch is immediate.
    speed = rng.random(count)
    delay = np.where(speed < 0.6, rng.lognormal(np.log(1.5 / 24), 0.8, count),
                     np.where(speed < 0.87, rng.lognormal(np.log(10 / 24), 0.6, count),
                              rng.lognormal(np.log(3.0), 0.6, count)))
    delay = np.where(is_outbound, rng.uniform(0.001, 0.02, count), delay)
    never = rng.random(count) < params["unanswered"]
    responded_at = np.where(never, np.nan, created + delay)
    responded_at[responded_at > SNAPSHOT] = np.nan  # not answered yet at the snapshot
    # Faster answers convert better: the SQL chance scales with response speed.
    response_factor = np.select([delay < 1 / 24, delay < 1, delay < 3], [1.3, 1.05, 0.75], 0.5)

    skip_mql = rng.random(count) < params["skip_mql"]
    reaches_mql = ~skip_mql & (rng.random(count) < params["mql"])
    mql_at = np.where(reaches_mql, created + rng.lognormal(np.log(1.0), 0.9, count), np.nan)
    sql_chance = np.clip(params["sql"] * response_factor, 0, 0.95)
    reaches_sql = (reaches_mql | skip_mql) & ~never & (rng.random(count) < sql_chance)
    sql_at = np.fmax(mql_at, created + delay) + rng.lognormal(np.log(4.0), 0.8, count)
    sql_at = np.where(reaches_sql, sql_at, np.nan)
    reaches_deal = reaches_sql & (rng.random(count) < params["convert"])
    converted_at = np.where(reaches_deal, sql_at + rng.lognormal(np.log(3.0), 0.8, count), np.nan)
    # The funnel is cut at the snapshot: later steps have not happened yet.
    for column in (mql_at, sql_at, converted_at):
        column[column > SNAPSHOT] = np.nan
    sql_at[np.isnan(mql_at) & ~skip_mql] = np.nan
    converted_at[np.isnan(sql_at)] = np.nan

    # Leads that stop short are disqualified some weeks after their last step; unanswered
    # ones are cleaned up after a while, though some stay New for ever (an old backlog).
    last_step = np.fmax(np.fmax(created, np.nan_to_num(mql_at)), np.nan_to_num(sql_at))
    dropped_at = last_step + np.where(never, rng.lognormal(np.log(60), 0.4, count),
                                      rng.lognormal(np.log(20), 0.6, count))
    stays_open = never & (rng.random(count) < 0.4)
    disqualified = ~reaches_deal & ~stays_open & (dropped_at <= SNAPSHOT)
    # Codes into LEAD_STATUSES: New, Working, Converted, Disqualified.
    status = np.select([~np.isnan(converted_at), disqualified, ~np.isnan(responded_at)], [2, 3, 1], 0)

    account = rng.choice(len(accounts["account_id"]), size=count, p=accounts["lead_weight"])
    owner = assign_reps(rng, created, accounts["team_index"][account], reps)
    # Unconverted leads are often not matched to an account yet.
    has_account = ~np.isnan(converted_at) | (rng.random(count) < 0.7)
    order = np.argsort(created, kind="stable")  # lead IDs in creation order, like a CRM
    leads = {
        "source": source, "campaign": campaign, "created": created, "responded_at": responded_at,
        "mql_at": mql_at, "sql_at": sql_at, "converted_at": converted_at, "status": status,
        "account": account, "has_account": has_account, "rep": owner, "dropped_at": dropped_at,
        "delay": delay, "never": never,
    }
    leads = {key: value[order] for key, value in leads.items()}
    leads["lead_id"] = numbered_ids("L", len(order))
    return leads


def make_marketing_spend(rng, leads):
    """Spend per month and campaign for paid channels: a cost per lead plus a fixed fee.
    Referral and Outbound campaigns cost nothing and have no rows."""
    month = month_index(leads["created"])
    counts = pd.crosstab(leads["campaign"], month).reindex(index=range(len(CAMPAIGNS)), columns=range(24), fill_value=0)
    rows = []
    for index, (source, name, first, last, per_lead, fixed) in enumerate(CAMPAIGNS):
        if per_lead == 0 and fixed == 0:
            continue
        months = np.arange(month_index(np.array([day_number(first)]))[0], month_index(np.array([day_number(last)]))[0] + 1)
        leads_in_month = counts.loc[index, months].to_numpy()
        amount = leads_in_month * per_lead * rng.lognormal(0, 0.15, len(months)) + fixed
        rows.append(pd.DataFrame({"month": months, "source": source, "campaign": name, "amount": np.round(amount, 2)}))
    return pd.concat(rows, ignore_index=True)
