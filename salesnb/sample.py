"""A realistic, deterministic sample dataset of a B2B software company.

``generate_sample(out_dir, seed, scale)`` writes every table of the canonical model
(``salesnb.model``) into ``out_dir``: about two years of CRM data ending on the fixed
snapshot date :data:`SNAPSHOT_DATE`, so the same seed always gives byte-identical files.
``docs/sample-data.md`` describes what the data contains and which patterns the reports
should show.

How the data is made, in dependency order (each step is vectorised numpy over all rows;
the only Python loops run over teams, months, stages or campaigns, never over rows):

1. reps (teams, managers, skill, hire dates) and accounts (segment, region, industry);
2. leads: seasonal creation dates, sources and campaigns, response time, the funnel
   New -> MQL -> SQL -> converted, cut off at the snapshot;
3. new-business deals from converted leads and from outbound prospecting, then expansion
   and renewal deals for the customers those deals won; each deal walks the playbook
   stages with a drop probability per stage, and slips its expected close date;
4. opportunity history, derived from the same events, and the deals' current state
   taken from their last history row (so the two always agree);
5. activities, orders (first order plus repeat orders until the customer churns),
   quotas (calibrated on the bookings of established reps) and marketing spend.

All times are kept as float days since :data:`START_DATE` until the tables are written.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.model import TABLE_NAMES, TABLES
from salesnb.playbook import load_playbook

START_DATE = dt.date(2024, 1, 1)
SNAPSHOT_DATE = dt.date(2025, 12, 31)
# Day number (since START_DATE) of the snapshot moment: the evening of SNAPSHOT_DATE.
# Nothing in the data happens after it; open deals' expected close dates may lie beyond.
_SNAPSHOT = (SNAPSHOT_DATE - START_DATE).days + 0.75
_DAYS = (SNAPSHOT_DATE - START_DATE).days + 1
_START_WEEKDAY = START_DATE.weekday()  # 2024-01-01 is a Monday

SCALES = {
    # reps (quota-carrying), accounts, leads, deals created directly by outbound prospecting
    "small": dict(reps=18, accounts=600, leads=8_000, outbound_deals=450),
    "medium": dict(reps=150, accounts=6_000, leads=80_000, outbound_deals=4_500),
    "large": dict(reps=1_800, accounts=300_000, leads=4_000_000, outbound_deals=225_000),
}

STAGES = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
OPEN_STAGES = 5
WON, LOST = 5, 6

TEAMS = ["SMB East", "SMB West", "Mid-Market", "Enterprise"]
SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]

# --------------------------------------------------------------------------- names

FIRST_NAMES = [
    "Siobhán", "José", "Amelia", "Marcus", "Priya", "Chloé", "Tomasz", "Aisha", "Liam", "Mei",
    "Björn", "Fatima", "Carlos", "Hannah", "Kwame", "Zoë", "Rafael", "Ingrid", "Noah", "Yuki",
    "Olivia", "Mateo", "Sofia", "Ethan", "Léa", "Daniel", "Grace", "Arjun", "Nora", "Felix",
    "Isabela", "Owen", "Camille", "Jonas", "Maya", "Diego", "Elif", "Sean", "Anika", "Lucas",
]
LAST_NAMES = [
    "O'Brien", "Núñez", "Schmidt", "Okafor", "Patel", "Dubois", "Kowalski", "Rahman", "Murphy", "Chen",
    "Lindqvist", "Haddad", "García", "Fischer", "Mensah", "Lefèvre", "Santos", "Johansson", "Walker", "Tanaka",
    "Bennett", "Rossi", "Müller", "Nguyen", "Moreau", "D'Angelo", "Kim", "Sharma", "Byrne", "Wójcik",
    "Costa", "Hughes", "Laurent", "Weber", "Cohen", "Álvarez", "Yılmaz", "O'Connor", "Singh", "Novak",
]
ACCOUNT_WORDS = [
    "Northwind", "Bluepeak", "Cedar", "Ironbridge", "Lumen", "Redwood", "Silverline", "Harbor", "Summit",
    "Atlas", "Brightwater", "Copperfield", "Evergreen", "Falcon", "Granite", "Horizon", "Juniper", "Keystone",
    "Lakeside", "Meridian", "Nimbus", "Oakridge", "Pinnacle", "Quartz", "Riverstone", "Sterling", "Tidewater",
    "Unity", "Vantage", "Willow", "Zenith", "Apex", "Beacon", "Crescent", "Delta", "Ember", "Fjord",
    "Glacier", "Helix", "Ivory", "Jade", "Kestrel", "Linden", "Maple", "Nova", "Orion", "Polar", "Quill",
    "Rook", "Sable", "Talon", "Umber", "Vertex", "Wren", "Yarrow", "Zephyr", "Alder", "Birch", "Cobalt",
    "Dune", "Elm", "Flint", "Garnet", "Hawthorn", "Indigo", "Jasper", "Kite", "Lark", "Moss", "Nettle",
    "Opal", "Pike", "Raven", "Sage", "Thistle", "Vale", "Wolf", "Yew", "Basalt", "Cypress",
]
ACCOUNT_TRADES = [
    "Logistics", "Health", "Foods", "Analytics", "Energy", "Manufacturing", "Retail", "Labs", "Capital",
    "Software", "Media", "Robotics", "Pharma", "Freight", "Hospitality", "Construction", "Textiles",
    "Insurance", "Telecom", "Dental", "Aerospace", "Biotech", "Outfitters", "Brewing", "Consulting",
    "Solar", "Marine", "Packaging", "Security", "Mobility",
]
ACCOUNT_SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "Group", "Co.", "S.A.", "Partners", "AG", "Holdings"]
# Real exports carry accents, apostrophes and even markup in names; reports must escape them.
SPECIAL_ACCOUNT_NAMES = [
    '<b>Acme</b> & Sons "Ltd"',
    "O'Reilly & Daughters Hardware",
    "Crème de la Crème Bakeries",
    "Zürich Präzision AG",
    "Société Générale d'Équipement",
    "Núñez & Peña Importadores",
]
INDUSTRIES = ["Software", "Manufacturing", "Healthcare", "Retail", "Financial Services", "Logistics", "Education"]

# --------------------------------------------------------------------------- lead sources

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

# --------------------------------------------------------------------------- deals

PRODUCTS = ["Core Platform", "Analytics Add-on", "Forecasting Suite", "Professional Services"]
# Product mix by segment (rows: SMB, Mid-Market, Enterprise) and a size factor per product.
PRODUCT_MIX = np.array([[0.70, 0.20, 0.05, 0.05], [0.50, 0.25, 0.15, 0.10], [0.40, 0.15, 0.30, 0.15]])
PRODUCT_SIZE = np.array([1.0, 0.45, 1.3, 0.6])
AMOUNT_MEDIAN = np.array([9_000.0, 38_000.0, 150_000.0])  # new-business deal size by segment
AMOUNT_ROUNDING = np.array([100.0, 500.0, 1_000.0])
# Median days spent in each open stage (SMB); Mid-Market and Enterprise take longer.
STAGE_DAYS = np.array([5.0, 8.0, 10.0, 12.0, 8.0])
SEGMENT_PACE = np.array([1.0, 1.5, 2.3])
SEGMENT_QUALITY = np.array([1.05, 1.0, 0.88])
# Base probability of moving on from each open stage (the last one: to Closed Won).
PASS_RATE = np.array([0.50, 0.69, 0.74, 0.69, 0.79])
SKIP_RATE = 0.07  # chance that a deal jumps over an intermediate stage
# Lost reasons and their weights by the stage a deal was lost at.
LOST_REASONS = ["No decision", "Timing", "Budget", "Not a fit", "Price", "Competitor", "Lost champion",
                "Went with competitor's \"free\" tier"]
LOST_REASON_WEIGHTS = np.array([
    [0.30, 0.25, 0.15, 0.25, 0.00, 0.05, 0.00, 0.00],  # Prospecting
    [0.25, 0.20, 0.20, 0.20, 0.05, 0.08, 0.02, 0.00],  # Qualification
    [0.22, 0.15, 0.18, 0.10, 0.12, 0.15, 0.07, 0.01],  # Discovery
    [0.15, 0.10, 0.12, 0.03, 0.25, 0.22, 0.11, 0.02],  # Proposal
    [0.10, 0.08, 0.10, 0.02, 0.30, 0.25, 0.13, 0.02],  # Negotiation
])
ACTIVITY_TYPES = ["call", "email", "meeting", "demo"]
LEAD_STATUSES = ["New", "Working", "Converted", "Disqualified"]


# =========================================================================== entry point


def generate_sample(out_dir, seed: int = 42, scale: str = "small", file_format: str | None = None) -> list[str]:
    """Write the sample dataset into ``out_dir`` and return the names of the tables written.

    Parameters
    ----------
    out_dir : folder to write to (created if needed). Files of the same tables in the other
        format are removed, so the loader cannot pick up a stale copy.
    seed : random seed; the same seed and scale give byte-identical files.
    scale : ``small`` (about 2,000 deals), ``medium`` (10x) or ``large`` (about 1M deals and
        10M activities, written as Parquet).
    file_format : ``csv`` or ``parquet``; by default CSV, except Parquet for ``large``.
    """
    if scale not in SCALES:
        raise SalesnbError(f"Unknown sample scale {scale!r}; use one of {', '.join(SCALES)}.")
    file_format = file_format or ("parquet" if scale == "large" else "csv")
    if file_format not in ("csv", "parquet"):
        raise SalesnbError(f"Unknown file format {file_format!r}; use csv or parquet.")
    frames = build_sample(seed=seed, scale=scale)
    folder = Path(out_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLE_NAMES:
        _write_table(frames[name], name, folder, file_format)
    return list(TABLE_NAMES)


def build_sample(seed: int = 42, scale: str = "small") -> dict[str, pd.DataFrame]:
    """The sample tables as pandas frames, times still as ``datetime64`` values."""
    sizes = SCALES[scale]
    rng = np.random.default_rng(seed)
    reps = _make_reps(rng, sizes["reps"])
    accounts = _make_accounts(rng, sizes["accounts"])
    leads = _make_leads(rng, sizes["leads"], accounts, reps)
    deals = _make_deals(rng, leads, accounts, reps, sizes["outbound_deals"])
    history, current = _make_history(deals)
    activities = _make_activities(rng, deals, current, leads)
    orders = _make_orders(rng, deals, current, accounts)
    quotas = _make_quotas(reps, deals, current)
    spend = _make_marketing_spend(rng, leads)
    return _to_frames(rng, reps, accounts, leads, deals, history, current, activities, orders, quotas, spend)


# =========================================================================== helpers


def _day_number(text: str) -> int:
    return (dt.date.fromisoformat(text) - START_DATE).days


def _business_time(rng, days):
    """The same day at a business hour (8:00-18:00), weekends moved back to Friday."""
    day = np.floor(days)
    weekday = (day.astype(np.int64) + _START_WEEKDAY) % 7
    day = day - np.clip(weekday - 4, 0, None)
    return day + (8 + 10 * rng.random(len(day))) / 24


def _seasonal_day_weights():
    """Relative lead volume per day: growth, summer dip, Q4 push, holiday lull, weekends."""
    days = np.arange(_DAYS)
    dates = pd.Timestamp(START_DATE) + pd.to_timedelta(days, unit="D")
    month_factor = np.array([0.95, 1.0, 1.1, 1.0, 1.0, 0.9, 0.75, 0.7, 1.1, 1.2, 1.15, 0.8])
    weights = (1 + 0.35 * days / _DAYS) * month_factor[dates.month.to_numpy() - 1]
    holiday = ((dates.month == 12) & (dates.day >= 20)) | ((dates.month == 1) & (dates.day <= 2))
    weights = weights * np.where(holiday, 0.35, 1.0)
    weights = weights * np.where(dates.day_of_week.to_numpy() >= 5, 0.22, 1.0)
    return weights / weights.sum()


def _choose(rng, weights_by_row):
    """One index per row, drawn from that row's weights (rows of a 2-D array)."""
    cumulative = np.cumsum(weights_by_row, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random(len(cumulative))[:, None]
    return np.minimum((draws > cumulative).sum(axis=1), weights_by_row.shape[1] - 1)


def _round_to(values, step):
    return np.maximum(np.round(values / step) * step, step)


def _ramp(days_since_hire, months=6.0):
    """Share of full productivity: 0 at hire, 1 after ``months`` months."""
    return np.clip(days_since_hire / (30.4 * months), 0.0, 1.0)


def _assign_reps(rng, times, teams, reps):
    """An owner for each row: a rep of the row's team already hired at that time, drawn in
    proportion to capacity (ramping reps get fewer)."""
    owner = np.full(len(times), -1, dtype=np.int64)
    month = np.floor(times / 30.4).astype(np.int64)
    order = np.lexsort((month, teams))
    keys = teams[order] * 1000 + month[order]
    boundaries = np.flatnonzero(np.diff(keys)) + 1
    for group in np.split(order, boundaries):
        if not len(group):
            continue
        team, at = teams[group[0]], month[group[0]] * 30.4
        candidates = np.flatnonzero((reps["team_index"] == team) & (reps["hire_day"] <= at) & ~reps["is_manager"])
        if not len(candidates):  # nobody hired yet: the team's first rep covers it
            members = np.flatnonzero((reps["team_index"] == team) & ~reps["is_manager"])
            candidates = members[np.argsort(reps["hire_day"][members], kind="stable")[:1]]
        capacity = reps["volume"][candidates] * np.maximum(_ramp(at + 15 - reps["hire_day"][candidates], 4), 0.15)
        owner[group] = rng.choice(candidates, size=len(group), p=capacity / capacity.sum())
    return owner


# =========================================================================== reps, accounts


def _make_reps(rng, count):
    """Quota-carrying reps in four teams, plus one manager per team (managers carry no deals)."""
    team_share = np.array([0.3, 0.3, 0.22, 0.18])
    per_team = np.maximum(np.round(team_share * count).astype(int), 2)
    per_team[0] += count - per_team.sum()
    team_index = np.concatenate([np.full(n, t) for t, n in enumerate(per_team)])
    n = len(team_index)
    # Hire dates: most reps were hired before the data starts, some during it, and about
    # one in six in the last six months (still ramping at the snapshot).
    kind = rng.random(n)
    hire_day = np.where(
        kind < 0.55, rng.uniform(-5 * 365, -60, n),
        np.where(kind < 0.83, rng.uniform(60, _DAYS - 200, n), rng.uniform(_DAYS - 180, _DAYS - 20, n)),
    )
    # The first reps of each team started before the data, so every team has someone.
    first_of_team = np.r_[0, np.cumsum(per_team)[:-1]]
    hire_day[first_of_team] = rng.uniform(-4 * 365, -200, len(first_of_team))
    # At least two reps (the last of SMB West and of Mid-Market) are still ramping.
    newest = np.cumsum(per_team)[[1, 2]] - 1
    hire_day[newest] = rng.uniform(_DAYS - 170, _DAYS - 40, len(newest))
    hire_day = np.floor(hire_day)
    skill = np.clip(rng.lognormal(0.0, 0.22, n), 0.65, 1.6)
    volume = np.clip(rng.lognormal(0.0, 0.25, n), 0.6, 1.7)
    hygiene = rng.uniform(0.45, 0.97, n)  # how often the rep updates close dates in the CRM
    region = np.where(team_index == 0, "East", np.where(team_index == 1, "West", "")).astype(object)
    national = team_index >= 2
    region[national] = rng.choice(["East", "West", "Central"], size=national.sum())

    managers = len(TEAMS)
    total = n + managers
    names = _person_names(rng, total)
    rep_ids = np.array([f"R{i:04d}" for i in range(1, total + 1)], dtype=object)
    manager_ids = rep_ids[n:]
    return {
        "rep_id": rep_ids,
        "rep_name": names,
        "team_index": np.r_[team_index, np.arange(managers)],
        "team": np.array([TEAMS[t] for t in team_index] + ["Sales Leadership"] * managers, dtype=object),
        "manager_id": np.r_[manager_ids[team_index], np.full(managers, None, dtype=object)],
        "region": np.r_[region, np.array(["East", "West", "Central", "Central"], dtype=object)],
        "hire_day": np.r_[hire_day, np.floor(rng.uniform(-8 * 365, -2 * 365, managers))],
        "skill": np.r_[skill, np.ones(managers)],
        "volume": np.r_[volume, np.zeros(managers)],
        "hygiene": np.r_[hygiene, np.ones(managers)],
        "is_manager": np.r_[np.zeros(n, bool), np.ones(managers, bool)],
    }


def _person_names(rng, count):
    pairs = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    # Keep the two names the reports must render correctly at fixed places.
    fixed = [0 * len(LAST_NAMES) + 0, 1 * len(LAST_NAMES) + 1]  # Siobhán O'Brien, José Núñez
    pairs = np.r_[fixed, pairs[~np.isin(pairs, fixed)]]
    if count > len(pairs):  # very large scales: names repeat, as they do in big companies
        pairs = np.resize(pairs, count)
    pairs = pairs[:count]
    first = np.array(FIRST_NAMES, dtype=object)[pairs // len(LAST_NAMES)]
    last = np.array(LAST_NAMES, dtype=object)[pairs % len(LAST_NAMES)]
    return first + " " + last


def _make_accounts(rng, count):
    segment = _choose(rng, np.tile([0.60, 0.28, 0.12], (count, 1)))
    region = rng.choice(np.array(["East", "West", "Central"], dtype=object), size=count, p=[0.45, 0.4, 0.15])
    # SMB accounts are covered by the regional SMB teams (Central goes to East).
    team = np.where(segment == 0, np.where(region == "West", 1, 0), segment + 1)
    combos = len(ACCOUNT_WORDS) * len(ACCOUNT_TRADES) * len(ACCOUNT_SUFFIXES)
    picks = rng.permutation(combos)[:count] if count <= combos else rng.integers(0, combos, count)
    word = np.array(ACCOUNT_WORDS, dtype=object)[picks % len(ACCOUNT_WORDS)]
    trade = np.array(ACCOUNT_TRADES, dtype=object)[(picks // len(ACCOUNT_WORDS)) % len(ACCOUNT_TRADES)]
    suffix = np.array(ACCOUNT_SUFFIXES, dtype=object)[picks // (len(ACCOUNT_WORDS) * len(ACCOUNT_TRADES))]
    names = word + " " + trade + " " + suffix
    if count > combos:  # large scale: disambiguate repeated names the way CRMs do
        names = names + " #" + (np.arange(count) // combos + 1).astype(str).astype(object)
    special = min(len(SPECIAL_ACCOUNT_NAMES), count)
    names[:special] = SPECIAL_ACCOUNT_NAMES[:special]
    segment[0] = 1  # the HTML-bearing name is a Mid-Market account, so it shows in deal lists
    team[0] = 2
    # Larger companies produce more leads per account.
    lead_weight = np.array([1.0, 1.6, 2.6])[segment] * rng.lognormal(0, 0.5, count)
    lead_weight[0] *= 4
    return {
        "account_id": np.array([f"A{i:06d}" for i in range(1, count + 1)], dtype=object),
        "account_name": names,
        "segment_index": segment,
        "segment": np.array(SEGMENTS, dtype=object)[segment],
        "industry": rng.choice(np.array(INDUSTRIES, dtype=object), size=count),
        "region": region,
        "team_index": team,
        "lead_weight": lead_weight / lead_weight.sum(),
        # How long a customer keeps ordering (days); bigger customers stay longer.
        "lifetime": rng.exponential(1.0, count) * np.array([650.0, 950.0, 1500.0])[segment],
        # Repeat-order habit: 0 one-off, 1 monthly, 2 quarterly, 3 occasional.
        "order_habit": _choose(rng, np.tile([0.55, 0.15, 0.17, 0.13], (count, 1))),
    }


# =========================================================================== leads


def _make_leads(rng, count, accounts, reps):
    campaign_source = np.array([SOURCE_NAMES.index(c[0]) for c in CAMPAIGNS])
    source = rng.choice(len(SOURCE_NAMES), size=count, p=[s["share"] for s in SOURCES.values()])
    # A campaign within the source, then a creation day inside the campaign's window drawn
    # from the seasonal curve (one loop per campaign, not per lead).
    campaign = np.empty(count, dtype=np.int64)
    for index, name in enumerate(SOURCE_NAMES):
        rows = np.flatnonzero(source == index)
        options = np.flatnonzero(campaign_source == index)
        length = np.array([_day_number(CAMPAIGNS[c][3]) - _day_number(CAMPAIGNS[c][2]) + 1 for c in options], float)
        campaign[rows] = rng.choice(options, size=len(rows), p=length / length.sum())
    weights = _seasonal_day_weights()
    created = np.empty(count)
    for index, (_, _, first, last, _, _) in enumerate(CAMPAIGNS):
        rows = np.flatnonzero(campaign == index)
        window = np.arange(_day_number(first), _day_number(last) + 1)
        day_weights = weights[window] / weights[window].sum()
        created[rows] = rng.choice(window, size=len(rows), p=day_weights)
    office = rng.random(count) < 0.75  # most leads arrive in office hours, some at night
    created = np.where(office, created + (8 + 10 * rng.random(count)) / 24, created + rng.random(count))
    created = np.minimum(created, _SNAPSHOT - 0.01)

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
    responded_at[responded_at > _SNAPSHOT] = np.nan  # not answered yet at the snapshot
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
        column[column > _SNAPSHOT] = np.nan
    sql_at[np.isnan(mql_at) & ~skip_mql] = np.nan
    converted_at[np.isnan(sql_at)] = np.nan

    # Leads that stop short are disqualified some weeks after their last step; unanswered
    # ones are cleaned up after a while, though some stay New for ever (an old backlog).
    last_step = np.fmax(np.fmax(created, np.nan_to_num(mql_at)), np.nan_to_num(sql_at))
    dropped_at = last_step + np.where(never, rng.lognormal(np.log(60), 0.4, count),
                                      rng.lognormal(np.log(20), 0.6, count))
    stays_open = never & (rng.random(count) < 0.4)
    disqualified = ~reaches_deal & ~stays_open & (dropped_at <= _SNAPSHOT)
    # Codes into LEAD_STATUSES: New, Working, Converted, Disqualified.
    status = np.select([~np.isnan(converted_at), disqualified, ~np.isnan(responded_at)], [2, 3, 1], 0)

    account = rng.choice(len(accounts["account_id"]), size=count, p=accounts["lead_weight"])
    owner = _assign_reps(rng, created, accounts["team_index"][account], reps)
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
    leads["lead_id"] = _ids("L", len(order))
    return leads


# =========================================================================== deals


def _make_deals(rng, leads, accounts, reps, outbound_count):
    """New-business deals (from leads and outbound), then expansions and renewals."""
    converted = np.flatnonzero(~np.isnan(leads["converted_at"]))
    from_leads = dict(
        account=leads["account"][converted], rep=leads["rep"][converted], lead=converted,
        source=leads["source"][converted], created=leads["converted_at"][converted],
        kind=np.zeros(len(converted), np.int64),
        start=np.where(rng.random(len(converted)) < 0.85, 1, 0),  # most start at Qualification
        response_factor=np.select([leads["delay"][converted] < 1 / 24, leads["delay"][converted] < 1], [1.08, 1.0], 0.9),
    )
    weights = _seasonal_day_weights()
    created = rng.choice(_DAYS, size=outbound_count, p=weights).astype(float)
    created = np.minimum(_business_time(rng, created), _SNAPSHOT - 0.01)
    account = rng.choice(len(accounts["account_id"]), size=outbound_count, p=accounts["lead_weight"])
    outbound = dict(
        account=account, rep=_assign_reps(rng, created, accounts["team_index"][account], reps),
        lead=np.full(outbound_count, -1), source=np.full(outbound_count, SOURCE_NAMES.index("Outbound")),
        created=created, kind=np.zeros(outbound_count, np.int64), start=np.zeros(outbound_count, np.int64),
        response_factor=np.ones(outbound_count),
    )
    new_business = _concat(from_leads, outbound)
    new_business = _walk_stages(rng, new_business, accounts, reps)

    # Customers: accounts whose first won deal is their first order; they may expand, and
    # renew a year after winning (churned customers mostly do not renew).
    won = np.flatnonzero((new_business["outcome"] == WON) & (new_business["closed_at"] <= _SNAPSHOT))
    won_at = new_business["closed_at"][won]
    won_account = new_business["account"][won]
    alive_for = accounts["lifetime"][won_account]
    expand = (rng.random(len(won)) < 0.5) & (alive_for > 120)
    expand_at = won_at + rng.uniform(60, 420, len(won))
    expand = expand & (expand_at < np.minimum(won_at + alive_for, _SNAPSHOT - 0.01))
    renew_at = won_at + 365 - rng.uniform(60, 100, len(won))
    renew = renew_at < _SNAPSHOT - 0.01
    extra = []
    for chosen, at, kind, start in ((expand, expand_at, 1, 2), (renew, renew_at, 2, 3)):
        rows = won[chosen]
        extra.append(dict(
            account=new_business["account"][rows], rep=new_business["rep"][rows], lead=np.full(len(rows), -1),
            source=np.full(len(rows), -1), created=_business_time(rng, at[chosen]).clip(None, _SNAPSHOT - 0.01),
            kind=np.full(len(rows), kind), start=np.full(len(rows), start),
            response_factor=np.ones(len(rows)), parent_amount=new_business["amount_final"][rows],
            churned=(alive_for[chosen] < 365 + rng.normal(0, 30, len(rows))),
        ))
    existing = _walk_stages(rng, _concat(*extra), accounts, reps)
    new_business["parent_amount"] = np.full(len(new_business["account"]), np.nan)
    new_business["churned"] = np.zeros(len(new_business["account"]), bool)
    deals = _concat(new_business, existing)
    order = np.lexsort((deals["account"], deals["created"]))
    deals = {key: value[order] for key, value in deals.items()}
    deals["opportunity_id"] = _ids("O", len(order))
    return deals


def _concat(*parts):
    keys = [key for key in parts[0] if all(key in part for part in parts)]
    return {key: np.concatenate([part[key] for part in parts]) for key in keys}


def _walk_stages(rng, deals, accounts, reps):
    """Walk each deal through the open stages: pass or drop at each, sometimes skipping one;
    durations by segment; expected close dates that slip; amounts revised on the way."""
    n = len(deals["account"])
    segment = accounts["segment_index"][deals["account"]]
    kind, start, created = deals["kind"], deals["start"], deals["created"]
    rep = deals["rep"]
    ramp = 0.55 + 0.45 * _ramp(created - reps["hire_day"][rep])  # new reps win less
    source_quality = np.array([s["quality"] for s in SOURCES.values()] + [1.0])[deals["source"]]
    source_quality = np.where(kind > 0, np.where(kind == 2, 2.6, 1.35), source_quality)
    churned = deals.get("churned", np.zeros(n, bool))
    strength = reps["skill"][rep] * ramp * source_quality * SEGMENT_QUALITY[segment] * deals["response_factor"]
    strength = np.where(churned, 0.25, strength)  # churned customers rarely renew

    stage = np.arange(OPEN_STAGES)
    pass_chance = PASS_RATE[None, :] ** (1.0 / strength[:, None])
    passed = (rng.random((n, OPEN_STAGES)) < pass_chance) | (stage[None, :] < start[:, None])
    survived = np.cumprod(passed, axis=1).astype(bool)
    # last_stage: the stage the deal ends in (lost at it, or won from it if it passed all).
    reached = (stage[None, :] >= start[:, None]) & np.c_[np.ones(n, bool), survived[:, :-1]]
    last_stage = reached.sum(axis=1) + start - 1
    outcome = np.where(survived[:, -1], WON, LOST)
    skipped = ((rng.random((n, OPEN_STAGES)) < SKIP_RATE) & reached & (stage[None, :] > start[:, None])
               & (stage[None, :] < last_stage[:, None]))

    pace = SEGMENT_PACE[segment] * np.where(kind == 2, 0.6, 1.0)
    durations = STAGE_DAYS[None, :] * pace[:, None] * rng.lognormal(0, 0.6, (n, OPEN_STAGES))
    durations = np.where(reached & ~skipped, durations, 0.0)
    entered = created[:, None] + np.cumsum(durations, axis=1) - durations  # entry time per stage
    entered = np.where(reached & ~skipped, entered, np.nan)
    through_last = created + durations.sum(axis=1)
    # Lost deals go quiet part-way through the stage; won deals close at its end, and some
    # are pulled to quarter end (the end-of-quarter push is strongest in Q4).
    lost_part = rng.uniform(0.5, 2.5, n) * durations[np.arange(n), last_stage]
    closed_at = np.where(outcome == WON, through_last, through_last - durations[np.arange(n), last_stage] + lost_part)
    # Zombie deals: a lost deal the rep leaves open for months before closing it out
    # (likelier with poor CRM hygiene). Until then it is an overdue, silent open deal.
    hygiene = reps["hygiene"][rep]
    zombie = (outcome == LOST) & (rng.random(n) < 0.35 * (1 - hygiene))
    went_quiet_at = closed_at.copy()
    closed_at = np.where(zombie, closed_at + rng.uniform(60, 420, n), closed_at)
    quarter_end = _quarter_end_day(closed_at)
    push_share = np.where(_month_of(closed_at) >= 10, 0.45, 0.25)
    pulled = (outcome == WON) & (quarter_end - closed_at < 30) & (rng.random(n) < push_share)
    closed_at = np.where(pulled, np.fmax(closed_at, quarter_end - rng.uniform(0.1, 4, n)), closed_at)
    closed_at = np.maximum(closed_at, np.nanmax(entered, axis=1) + 0.05)

    # Expected close date: the rep's optimistic plan; then pushed at most four times when
    # the date arrives and the deal is still open (reps with poor CRM hygiene never push).
    planned = (STAGE_DAYS[None, :] * (stage[None, :] >= start[:, None])).sum(axis=1) * pace
    expected = [np.floor(created + 7 + planned * rng.lognormal(np.log(0.8), 0.35, n))]
    pushes_dates = []
    updates = ~zombie & (rng.random(n) < hygiene)
    now = created
    for _ in range(4):
        due = expected[-1]
        push_at = np.fmax(due - rng.uniform(0, 7, n), now + 0.05)
        happens = updates & (due < closed_at) & (push_at < closed_at) & (push_at <= _SNAPSHOT)
        new_due = np.floor(np.fmax(due, push_at) + rng.lognormal(np.log(30), 0.5, n))
        pushes_dates.append(np.where(happens, push_at, np.nan))
        expected.append(np.where(happens, new_due, due))
        now = np.where(happens, push_at, now)

    # Amounts: lognormal by segment and product; renewals repeat the contract with an
    # uplift, expansions are a fraction of it. Revised at Proposal, discounted at Negotiation.
    product = _choose(rng, PRODUCT_MIX[segment])
    base = AMOUNT_MEDIAN[segment] * PRODUCT_SIZE[product] * rng.lognormal(0, 0.6, n)
    parent = deals.get("parent_amount", np.full(n, np.nan))
    base = np.where(kind == 1, parent * rng.uniform(0.2, 0.6, n), base)
    base = np.where(kind == 2, parent * rng.uniform(1.0, 1.1, n), base)
    base = np.where(np.isnan(base), AMOUNT_MEDIAN[segment], base)
    change = np.ones((n, OPEN_STAGES))
    change[:, 3] = np.where(rng.random(n) < 0.4, rng.lognormal(0.03, 0.25, n), 1.0)
    change[:, 4] = np.where(rng.random(n) < 0.35, rng.uniform(0.85, 0.95, n), 1.0)
    change = np.where(stage[None, :] <= start[:, None], 1.0, change)
    amount_by_stage = _round_to(base[:, None] * np.cumprod(change, axis=1), AMOUNT_ROUNDING[segment][:, None])
    amount_final = amount_by_stage[np.arange(n), last_stage]
    amount_empty = (outcome == LOST) & (rng.random(n) < 0.25)

    reason = _choose(rng, LOST_REASON_WEIGHTS[last_stage])
    reason = np.where(zombie & (rng.random(n) < 0.7), 0, reason)  # zombies end as "No decision"
    reason = np.where(rng.random(n) < 0.08, -1, reason)  # some lost deals carry no reason

    deals = dict(deals)
    deals.update(
        segment=segment, outcome=outcome, last_stage=last_stage, entered=entered, closed_at=closed_at,
        expected=np.stack(expected, axis=1), pushes=np.stack(pushes_dates, axis=1), product=product,
        amount_by_stage=amount_by_stage, amount_final=amount_final, amount_empty=amount_empty,
        lost_reason=reason, updates=updates, went_quiet_at=went_quiet_at,
    )
    return deals


def _month_of(days):
    stamps = pd.Timestamp(START_DATE) + pd.to_timedelta(np.nan_to_num(days), unit="D")
    return np.asarray(stamps.month)


def _quarter_end_day(days):
    stamps = pd.DatetimeIndex(pd.Timestamp(START_DATE) + pd.to_timedelta(np.nan_to_num(days), unit="D"))
    ends = stamps.to_period("Q").end_time.normalize()
    return np.asarray((ends - pd.Timestamp(START_DATE)).days, dtype=float) + 0.75


# =========================================================================== history


def _make_history(deals):
    """One row per state change, and each deal's current state (its last row).

    Rows: the first stage at creation (with the planned close date), each later stage
    entered, each close-date push, and the close. Events after the snapshot are dropped.
    """
    n = len(deals["account"])
    index = np.arange(n)
    parts = []
    # Stage entries (the creation row is the entry of the start stage).
    rows, stages = np.nonzero(~np.isnan(deals["entered"]))
    times = deals["entered"][rows, stages]
    keep = times <= _SNAPSHOT
    rows, stages, times = rows[keep], stages[keep], times[keep]
    is_first = stages == deals["start"][rows]
    parts.append(dict(
        deal=rows, time=times, order=np.zeros(len(rows)), stage=stages.astype(float),
        amount=deals["amount_by_stage"][rows, stages],
        close=np.where(is_first, deals["expected"][rows, 0], np.nan),
    ))
    # Close-date pushes: the stage is carried forward from the previous row.
    rows, pushes = np.nonzero(~np.isnan(deals["pushes"]))
    parts.append(dict(
        deal=rows, time=deals["pushes"][rows, pushes], order=np.ones(len(rows)), stage=np.full(len(rows), np.nan),
        amount=np.full(len(rows), np.nan), close=deals["expected"][rows, pushes + 1],
    ))
    # The close, if it happened by the snapshot.
    closed = index[deals["closed_at"] <= _SNAPSHOT]
    amount = np.where(deals["amount_empty"][closed], -1.0, deals["amount_final"][closed])  # -1 marks empty
    parts.append(dict(
        deal=closed, time=deals["closed_at"][closed], order=np.full(len(closed), 2.0),
        stage=deals["outcome"][closed].astype(float), amount=amount, close=np.floor(deals["closed_at"][closed]),
    ))
    events = pd.DataFrame(_concat(*parts))
    events = events.sort_values(["deal", "time", "order"], kind="stable", ignore_index=True)
    filled = events.groupby("deal", sort=False)[["stage", "amount", "close"]].ffill()
    events[["stage", "amount", "close"]] = filled
    events.loc[events["amount"] < 0, "amount"] = np.nan
    # Distinct, increasing whole-second timestamps within each deal.
    # (t'_i = i + running max of t_j - j within the deal, so t'_i >= t_i and t'_i > t'_(i-1).)
    seconds = np.floor(events["time"].to_numpy() * 86400).astype(np.int64)
    position = np.arange(len(events), dtype=np.int64)
    running = pd.Series(seconds - position).groupby(events["deal"].to_numpy(), sort=False).cummax()
    events["seconds"] = running.to_numpy() + position
    events["stage"] = events["stage"].astype(np.int64)
    current = events.groupby("deal", sort=False).tail(1).set_index("deal").sort_index()
    last_change = events.groupby("deal", sort=False)["time"].max().sort_index().to_numpy()
    return events, {
        "stage": current["stage"].to_numpy(), "amount": current["amount"].to_numpy(),
        "close": current["close"].to_numpy(), "last_change": last_change,
    }


# =========================================================================== activities


def _make_activities(rng, deals, current, leads):
    """Touches on deals (more meetings on deals that are won), lead responses and follow-ups."""
    n = len(deals["account"])
    is_open = current["stage"] < OPEN_STAGES
    window_start = deals["created"]
    window_end = np.where(is_open, _SNAPSHOT, np.minimum(deals["closed_at"], _SNAPSHOT))
    # Some open deals have gone quiet: no touch for 30+ days (poor hygiene makes it likelier).
    quiet = is_open & (rng.random(n) < np.where(deals["updates"], 0.1, 0.4))
    quiet_since = np.fmax(current["last_change"], _SNAPSHOT - rng.uniform(31, 150, n))
    # Zombie deals went silent when they were in effect lost.
    zombie = deals["went_quiet_at"] < deals["closed_at"]
    quiet_since = np.where(zombie, np.fmax(current["last_change"], deals["went_quiet_at"]), quiet_since)
    quiet = quiet | (is_open & zombie)
    quiet = quiet & (quiet_since < _SNAPSHOT - 30)
    window_end = np.where(quiet, quiet_since, window_end)
    length = np.maximum(window_end - window_start, 0.05)
    outcome = np.where(is_open, 0, np.where(current["stage"] == WON, 1, 2))
    rate = np.array([0.085, 0.13, 0.065])[outcome] * np.array([1.0, 1.15, 1.35])[deals["segment"]]
    counts = np.minimum(rng.poisson(rate * length) + 1, 80)
    deal = np.repeat(np.arange(n), counts)
    times = window_start[deal] + rng.random(len(deal)) * length[deal]
    times = np.clip(_business_time(rng, times), window_start[deal], window_end[deal])
    type_weights = np.array([[0.36, 0.40, 0.16, 0.08], [0.28, 0.34, 0.25, 0.13], [0.40, 0.42, 0.12, 0.06]])
    kinds = _choose(rng, type_weights[outcome[deal]])
    # Active open deals were touched in the last two weeks.
    recent = np.flatnonzero(is_open & ~quiet)
    recent_times = np.clip(_SNAPSHOT - rng.uniform(0, 14, len(recent)), window_start[recent], _SNAPSHOT)
    # The data's snapshot date is the day of its latest event: one touch falls on it.
    recent_times[:1] = _SNAPSHOT - 0.2
    deal = np.r_[deal, recent]
    times = np.r_[times, recent_times]
    kinds = np.r_[kinds, rng.choice([0, 1, 2], size=len(recent), p=[0.4, 0.4, 0.2])]

    # Leads: the first response, then follow-ups until the lead qualifies or drops.
    responded = np.flatnonzero(~np.isnan(leads["responded_at"]))
    first_kind = np.where(rng.random(len(responded)) < 0.6, 1, 0)
    follow_end = np.fmin(np.fmin(leads["sql_at"], leads["dropped_at"]), _SNAPSHOT)[responded]
    follow_length = np.maximum(follow_end - leads["responded_at"][responded], 0)
    follow_counts = rng.poisson(np.minimum(follow_length / 20, 2.0))
    follow = np.repeat(responded, follow_counts)
    follow_times = leads["responded_at"][follow] + rng.random(len(follow)) * follow_length[np.repeat(
        np.arange(len(responded)), follow_counts)]
    lead = np.r_[responded, follow]
    lead_times = np.r_[leads["responded_at"][responded], follow_times]
    lead_kinds = np.r_[first_kind, rng.choice([0, 1], size=len(follow), p=[0.45, 0.55])]

    lead_account = np.where(leads["has_account"], leads["account"], -1)
    frame = pd.DataFrame({
        "time": np.r_[times, lead_times],
        "rep": np.r_[deals["rep"][deal], leads["rep"][lead]],
        "type": np.r_[kinds, lead_kinds],
        "lead": np.r_[np.full(len(deal), -1), lead],
        "deal": np.r_[deal, np.full(len(lead), -1)],
        "account": np.r_[deals["account"][deal], lead_account[lead]],
    })
    return frame.sort_values(["time", "deal", "lead"], kind="stable", ignore_index=True)


# =========================================================================== orders


def _make_orders(rng, deals, current, accounts):
    """Every won deal books an order; customers then reorder by habit until they churn."""
    won = np.flatnonzero(current["stage"] == WON)
    first = pd.DataFrame({"account": deals["account"][won], "at": deals["closed_at"][won], "deal": won})
    new_business = first[deals["kind"][won] == 0].sort_values(["at", "deal"], kind="stable")
    customers = new_business.drop_duplicates("account")
    account = customers["account"].to_numpy()
    start = customers["at"].to_numpy()
    base_amount = current["amount"][customers["deal"].to_numpy()]
    end = np.minimum(start + accounts["lifetime"][account], _SNAPSHOT)
    habit = accounts["order_habit"][account]
    period = np.array([np.inf, 30.4, 91.3, 120.0])[habit]
    share = np.array([0, 0.06, 0.18, 0.12])[habit]
    # Occasional buyers reorder at random times; the others on a schedule with some jitter.
    counts = np.where(habit == 3, rng.poisson((end - start) / period),
                      np.floor((end - start) / np.where(np.isinf(period), 1, period)))
    counts = np.where(habit == 0, 0, counts).astype(np.int64)
    customer = np.repeat(np.arange(len(account)), counts)
    step = np.arange(len(customer)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    scheduled = start[customer] + step * period[customer] + rng.normal(0, 3, len(customer))
    random_times = start[customer] + rng.random(len(customer)) * (end - start)[customer]
    at = np.where(habit[customer] == 3, random_times, scheduled)
    at = np.clip(at, start[customer] + 1, end[customer])
    amount = _round_to(base_amount[customer] * share[customer] * rng.lognormal(0, 0.3, len(customer)), 10.0)
    frame = pd.DataFrame({
        "account": np.r_[deals["account"][won], account[customer]],
        "at": np.r_[deals["closed_at"][won], at],
        "amount": np.r_[current["amount"][won], amount],
        "product": np.r_[deals["product"][won], deals["product"][customers["deal"].to_numpy()][customer]],
        "deal": np.r_[won, np.full(len(customer), -1)],
    })
    frame["day"] = np.floor(frame["at"]).astype(np.int64)
    return frame.sort_values(["day", "account", "deal"], kind="stable", ignore_index=True)


# =========================================================================== quotas, spend


def _make_quotas(reps, deals, current):
    """Quota per rep and calendar quarter, from the quarter of hire, ramped over three
    quarters. The full quota is 110% of what established reps of the team book per quarter
    (so attainment spreads around 90%)."""
    quarters = pd.period_range(START_DATE, SNAPSHOT_DATE, freq="Q")
    starts = np.array([(q.start_time.date() - START_DATE).days for q in quarters], float)
    ends = np.array([(q.end_time.date() - START_DATE).days for q in quarters], float)
    sellers = np.flatnonzero(~reps["is_manager"])
    rep = np.repeat(sellers, len(quarters))
    quarter = np.tile(np.arange(len(quarters)), len(sellers))
    tenure = starts[quarter] - reps["hire_day"][rep]  # days at the start of the quarter
    ramp = np.select([tenure < 0, tenure < 91, tenure < 182, tenure < 273], [0.25, 0.25, 0.5, 0.75], 1.0)
    employed = reps["hire_day"][rep] <= ends[quarter]

    won = current["stage"] == WON
    won_quarter = np.searchsorted(starts, deals["closed_at"][won], side="right") - 1
    booked = pd.DataFrame({"rep": deals["rep"][won], "quarter": won_quarter, "amount": current["amount"][won]})
    booked = booked.groupby(["rep", "quarter"])["amount"].sum()
    frame = pd.DataFrame({"rep": rep, "quarter": quarter, "ramp": ramp, "team": reps["team_index"][rep]})
    frame["booked"] = booked.reindex(pd.MultiIndex.from_arrays([frame["rep"], frame["quarter"]])).fillna(0).to_numpy()
    established = frame[(frame["ramp"] == 1.0)]
    per_team = established.groupby("team")["booked"].mean().reindex(range(len(TEAMS))).fillna(established["booked"].mean())
    full = _round_to(per_team.to_numpy() * 1.1, 5_000.0)
    frame["amount"] = _round_to(full[frame["team"].to_numpy()] * frame["ramp"].to_numpy(), 1_000.0)
    frame["start"], frame["end"] = starts[quarter], ends[quarter]
    return frame[employed].reset_index(drop=True)


def _make_marketing_spend(rng, leads):
    """Spend per month and campaign for paid channels: a cost per lead plus a fixed fee.
    Referral and Outbound campaigns cost nothing and have no rows."""
    month = _month_index(leads["created"])
    counts = pd.crosstab(leads["campaign"], month).reindex(index=range(len(CAMPAIGNS)), columns=range(24), fill_value=0)
    rows = []
    for index, (source, name, first, last, per_lead, fixed) in enumerate(CAMPAIGNS):
        if per_lead == 0 and fixed == 0:
            continue
        months = np.arange(_month_index(np.array([_day_number(first)]))[0], _month_index(np.array([_day_number(last)]))[0] + 1)
        leads_in_month = counts.loc[index, months].to_numpy()
        amount = leads_in_month * per_lead * rng.lognormal(0, 0.15, len(months)) + fixed
        rows.append(pd.DataFrame({"month": months, "source": source, "campaign": name, "amount": np.round(amount, 2)}))
    return pd.concat(rows, ignore_index=True)


def _month_index(days):
    stamps = pd.DatetimeIndex(pd.Timestamp(START_DATE) + pd.to_timedelta(days, unit="D"))
    return np.asarray((stamps.year - START_DATE.year) * 12 + stamps.month - 1)


# =========================================================================== tables


def _ids(prefix, count):
    width = max(6, len(str(count)))
    return (prefix + pd.Series(np.arange(1, count + 1)).astype(str).str.zfill(width)).array


def _stamp(days):
    """Float days since START_DATE as datetime64[s] (NaN becomes NaT)."""
    days = np.asarray(days, dtype=float)
    seconds = np.where(np.isnan(days), 0, np.floor(days * 86400)).astype(np.int64)
    stamps = np.datetime64(START_DATE, "s") + seconds.astype("timedelta64[s]")
    return np.where(np.isnan(days), np.datetime64("NaT"), stamps).astype("datetime64[s]")


def _date(days):
    days = np.asarray(days, dtype=float)
    dates = np.datetime64(START_DATE, "D") + np.where(np.isnan(days), 0, np.floor(days)).astype("timedelta64[D]")
    return np.where(np.isnan(days), np.datetime64("NaT"), dates).astype("datetime64[D]")


def _pick(values, indices):
    """values[indices], -1 meaning empty. A categorical: no Python string per row, which
    keeps the large scale fast (values must be distinct, as IDs and labels are)."""
    return pd.Categorical.from_codes(np.asarray(indices), categories=pd.Index(values))


def _crm_probability(rng, current):
    """The CRM's own win probability (0..1): the playbook's stage probability, except that
    reps overrode it on about one open deal in six (rounded to 5%)."""
    playbook = load_playbook()
    by_stage = np.array([playbook.probability(stage) for stage in STAGES])
    probability = by_stage[current["stage"]]
    n = len(probability)
    overridden = (current["stage"] < OPEN_STAGES) & (rng.random(n) < 0.17)
    adjusted = np.clip(np.round((probability + rng.uniform(-0.2, 0.2, n)) * 20) / 20, 0.05, 0.95)
    return np.where(overridden, adjusted, probability)


def _to_frames(rng, reps, accounts, leads, deals, history, current, activities, orders, quotas, spend):
    frames = {}
    frames["reps"] = pd.DataFrame({
        "rep_id": reps["rep_id"], "rep_name": reps["rep_name"], "team": reps["team"],
        "manager_id": reps["manager_id"], "region": reps["region"], "hire_date": _date(reps["hire_day"]),
    })
    frames["quotas"] = pd.DataFrame({
        "rep_id": _pick(reps["rep_id"], quotas["rep"].to_numpy()), "period_start": _date(quotas["start"]),
        "period_end": _date(quotas["end"]), "amount": quotas["amount"].to_numpy(),
    })
    frames["accounts"] = pd.DataFrame({
        "account_id": accounts["account_id"], "account_name": accounts["account_name"],
        "segment": accounts["segment"], "industry": accounts["industry"], "region": accounts["region"],
    })

    lead_deal = np.full(len(leads["lead_id"]), -1)
    has_lead = deals["lead"] >= 0
    lead_deal[deals["lead"][has_lead]] = np.flatnonzero(has_lead)
    frames["leads"] = pd.DataFrame({
        "lead_id": leads["lead_id"], "created_at": _stamp(leads["created"]),
        "source": _pick(SOURCE_NAMES, leads["source"]),
        "campaign": _pick([c[1] for c in CAMPAIGNS], leads["campaign"]),
        "rep_id": _pick(reps["rep_id"], leads["rep"]), "status": _pick(LEAD_STATUSES, leads["status"]),
        "first_response_at": _stamp(leads["responded_at"]), "mql_at": _stamp(leads["mql_at"]),
        "sql_at": _stamp(leads["sql_at"]), "converted_at": _stamp(leads["converted_at"]),
        "opportunity_id": _pick(deals["opportunity_id"], lead_deal),
        "account_id": _pick(accounts["account_id"], np.where(leads["has_account"], leads["account"], -1)),
    })

    source = np.where(deals["source"] < 0, len(SOURCE_NAMES), deals["source"])
    is_lost = current["stage"] == LOST
    reasons = np.where(is_lost, deals["lost_reason"], -1)
    frames["opportunities"] = pd.DataFrame({
        "opportunity_id": deals["opportunity_id"], "account_id": _pick(accounts["account_id"], deals["account"]),
        "rep_id": _pick(reps["rep_id"], deals["rep"]), "lead_id": _pick(leads["lead_id"], deals["lead"]),
        "source": _pick(SOURCE_NAMES + [EXISTING_CUSTOMER], source),
        "type": _pick(["New Business", "Expansion", "Renewal"], deals["kind"]),
        "product": _pick(PRODUCTS, deals["product"]),
        "created_at": _date(deals["created"]), "close_date": _date(current["close"]),
        "stage": _pick(STAGES, current["stage"]), "amount": current["amount"],
        "lost_reason": _pick(LOST_REASONS, reasons), "currency": "USD",
        "probability": _crm_probability(rng, current),
    })
    deal_of_row = history["deal"].to_numpy()
    frames["opportunity_history"] = pd.DataFrame({
        "opportunity_id": _pick(deals["opportunity_id"], deal_of_row),
        "changed_at": np.datetime64(START_DATE, "s") + history["seconds"].to_numpy().astype("timedelta64[s]"),
        "stage": _pick(STAGES, history["stage"].to_numpy()),
        "amount": history["amount"].to_numpy(), "close_date": _date(history["close"].to_numpy()),
    })
    frames["activities"] = pd.DataFrame({
        "activity_id": _ids("ACT", len(activities)), "rep_id": _pick(reps["rep_id"], activities["rep"].to_numpy()),
        "type": _pick(ACTIVITY_TYPES, activities["type"].to_numpy()),
        "occurred_at": _stamp(activities["time"].to_numpy()),
        "lead_id": _pick(leads["lead_id"], activities["lead"].to_numpy()),
        "opportunity_id": _pick(deals["opportunity_id"], activities["deal"].to_numpy()),
        "account_id": _pick(accounts["account_id"], activities["account"].to_numpy()),
    })
    frames["orders"] = pd.DataFrame({
        "order_id": _ids("ORD", len(orders)), "account_id": _pick(accounts["account_id"], orders["account"].to_numpy()),
        "ordered_at": _date(orders["day"].to_numpy()), "amount": orders["amount"].to_numpy(),
        "product": _pick(PRODUCTS, orders["product"].to_numpy()),
        "opportunity_id": _pick(deals["opportunity_id"], orders["deal"].to_numpy()),
    })
    months = pd.DatetimeIndex([pd.Timestamp(START_DATE) + pd.DateOffset(months=int(m)) for m in range(24)])
    frames["marketing_spend"] = pd.DataFrame({
        "month": months[spend["month"].to_numpy()].to_numpy().astype("datetime64[D]"),
        "source": spend["source"].to_numpy(), "campaign": spend["campaign"].to_numpy(),
        "amount": spend["amount"].to_numpy(),
    })
    for name, frame in frames.items():
        assert list(frame.columns) == TABLES[name].column_names, name
    return frames


def _write_table(frame: pd.DataFrame, name: str, folder: Path, file_format: str) -> None:
    """Write one table atomically; remove a copy in the other format."""
    suffix = ".csv" if file_format == "csv" else ".parquet"
    other = folder / f"{name}{'.parquet' if suffix == '.csv' else '.csv'}"
    target = folder / f"{name}{suffix}"
    staging = folder / f".{name}{suffix}.partial"
    if file_format == "csv":
        _text_frame(frame, name).to_csv(staging, index=False, lineterminator="\n", encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
        for position, column in enumerate(TABLES[name].columns):
            if column.type == "date":  # calendar dates as Parquet dates, not timestamps
                table = table.set_column(position, column.name, table[column.name].cast(pa.date32()))
            elif pa.types.is_dictionary(table.schema.field(position).type):  # categorical -> plain text
                table = table.set_column(position, column.name, table[column.name].cast(pa.large_string()))
        pq.write_table(table, staging, compression="zstd")
    os.replace(staging, target)
    if other.exists():
        other.unlink()


def _text_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Dates as YYYY-MM-DD, timestamps as YYYY-MM-DD HH:MM:SS, money with two decimals."""
    text = {}
    for column in TABLES[name].columns:
        values = frame[column.name]
        if column.type in ("date", "timestamp"):
            unit = "D" if column.type == "date" else "s"
            strings = np.datetime_as_string(values.to_numpy().astype(f"datetime64[{unit}]"), unit=unit)
            strings = pd.Series(strings, dtype=object).str.replace("T", " ", regex=False)
            text[column.name] = strings.where(values.notna().to_numpy(), "")
        elif column.type in ("money", "number"):
            numbers = values.to_numpy(dtype=float)
            strings = pd.Series(np.char.mod("%.2f", numbers), dtype=object)
            text[column.name] = strings.where(~np.isnan(numbers), "")
        else:
            text[column.name] = values.astype(object).where(values.notna(), "")
    return pd.DataFrame(text)
