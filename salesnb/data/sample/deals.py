"""Deals: new business from converted leads and outbound prospecting, then expansions and
renewals for the customers won; each deal walks the playbook stages, slips its expected
close date and has its amount revised on the way."""

import numpy as np

from salesnb.data.sample.arrays import choose_per_row, concat_columns, numbered_ids, round_to
from salesnb.data.sample.leads import SOURCE_NAMES, SOURCES
from salesnb.data.sample.people import assign_reps, ramp_share
from salesnb.data.sample.timeline import DAYS, SNAPSHOT, business_time, month_of, quarter_end_day, seasonal_day_weights

STAGES = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
OPEN_STAGES = 5
WON, LOST = 5, 6

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


def make_deals(rng, leads, accounts, reps, outbound_count):
    """New-business deals (from leads and outbound), then expansions and renewals."""
    converted = np.flatnonzero(~np.isnan(leads["converted_at"]))
    from_leads = dict(
        account=leads["account"][converted], rep=leads["rep"][converted], lead=converted,
        source=leads["source"][converted], created=leads["converted_at"][converted],
        kind=np.zeros(len(converted), np.int64),
        start=np.where(rng.random(len(converted)) < 0.85, 1, 0),  # most start at Qualification
        response_factor=np.select([leads["delay"][converted] < 1 / 24, leads["delay"][converted] < 1], [1.08, 1.0], 0.9),
    )
    weights = seasonal_day_weights()
    created = rng.choice(DAYS, size=outbound_count, p=weights).astype(float)
    created = np.minimum(business_time(rng, created), SNAPSHOT - 0.01)
    account = rng.choice(len(accounts["account_id"]), size=outbound_count, p=accounts["lead_weight"])
    outbound = dict(
        account=account, rep=assign_reps(rng, created, accounts["team_index"][account], reps),
        lead=np.full(outbound_count, -1), source=np.full(outbound_count, SOURCE_NAMES.index("Outbound")),
        created=created, kind=np.zeros(outbound_count, np.int64), start=np.zeros(outbound_count, np.int64),
        response_factor=np.ones(outbound_count),
    )
    new_business = concat_columns(from_leads, outbound)
    new_business = _walk_stages(rng, new_business, accounts, reps)

    # Customers: accounts whose first won deal is their first order; they may expand, and
    # renew a year after winning (churned customers mostly do not renew).
    won = np.flatnonzero((new_business["outcome"] == WON) & (new_business["closed_at"] <= SNAPSHOT))
    won_at = new_business["closed_at"][won]
    won_account = new_business["account"][won]
    alive_for = accounts["lifetime"][won_account]
    expand = (rng.random(len(won)) < 0.5) & (alive_for > 120)
    expand_at = won_at + rng.uniform(60, 420, len(won))
    expand = expand & (expand_at < np.minimum(won_at + alive_for, SNAPSHOT - 0.01))
    renew_at = won_at + 365 - rng.uniform(60, 100, len(won))
    renew = renew_at < SNAPSHOT - 0.01
    extra = []
    for chosen, at, kind, start in ((expand, expand_at, 1, 2), (renew, renew_at, 2, 3)):
        rows = won[chosen]
        extra.append(dict(
            account=new_business["account"][rows], rep=new_business["rep"][rows], lead=np.full(len(rows), -1),
            source=np.full(len(rows), -1), created=business_time(rng, at[chosen]).clip(None, SNAPSHOT - 0.01),
            kind=np.full(len(rows), kind), start=np.full(len(rows), start),
            response_factor=np.ones(len(rows)), parent_amount=new_business["amount_final"][rows],
            churned=(alive_for[chosen] < 365 + rng.normal(0, 30, len(rows))),
        ))
    existing = _walk_stages(rng, concat_columns(*extra), accounts, reps)
    new_business["parent_amount"] = np.full(len(new_business["account"]), np.nan)
    new_business["churned"] = np.zeros(len(new_business["account"]), bool)
    deals = concat_columns(new_business, existing)
    order = np.lexsort((deals["account"], deals["created"]))
    deals = {key: value[order] for key, value in deals.items()}
    deals["opportunity_id"] = numbered_ids("O", len(order))
    return deals


def _walk_stages(rng, deals, accounts, reps):
    """Walk each deal through the open stages: pass or drop at each, sometimes skipping one;
    durations by segment; expected close dates that slip; amounts revised on the way."""
    n = len(deals["account"])
    segment = accounts["segment_index"][deals["account"]]
    kind, start, created = deals["kind"], deals["start"], deals["created"]
    rep = deals["rep"]
    ramp = 0.55 + 0.45 * ramp_share(created - reps["hire_day"][rep])  # new reps win less
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
    quarter_end = quarter_end_day(closed_at)
    push_share = np.where(month_of(closed_at) >= 10, 0.45, 0.25)
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
        happens = updates & (due < closed_at) & (push_at < closed_at) & (push_at <= SNAPSHOT)
        new_due = np.floor(np.fmax(due, push_at) + rng.lognormal(np.log(30), 0.5, n))
        pushes_dates.append(np.where(happens, push_at, np.nan))
        expected.append(np.where(happens, new_due, due))
        now = np.where(happens, push_at, now)

    # Amounts: lognormal by segment and product; renewals repeat the contract with an
    # uplift, expansions are a fraction of it. Revised at Proposal, discounted at Negotiation.
    product = choose_per_row(rng, PRODUCT_MIX[segment])
    base = AMOUNT_MEDIAN[segment] * PRODUCT_SIZE[product] * rng.lognormal(0, 0.6, n)
    parent = deals.get("parent_amount", np.full(n, np.nan))
    base = np.where(kind == 1, parent * rng.uniform(0.2, 0.6, n), base)
    base = np.where(kind == 2, parent * rng.uniform(1.0, 1.1, n), base)
    base = np.where(np.isnan(base), AMOUNT_MEDIAN[segment], base)
    change = np.ones((n, OPEN_STAGES))
    change[:, 3] = np.where(rng.random(n) < 0.4, rng.lognormal(0.03, 0.25, n), 1.0)
    change[:, 4] = np.where(rng.random(n) < 0.35, rng.uniform(0.85, 0.95, n), 1.0)
    change = np.where(stage[None, :] <= start[:, None], 1.0, change)
    amount_by_stage = round_to(base[:, None] * np.cumprod(change, axis=1), AMOUNT_ROUNDING[segment][:, None])
    amount_final = amount_by_stage[np.arange(n), last_stage]
    amount_empty = (outcome == LOST) & (rng.random(n) < 0.25)

    reason = choose_per_row(rng, LOST_REASON_WEIGHTS[last_stage])
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
