"""Orders: the first order of each won deal, then repeat orders by the customer's habit
until the customer churns; accounts that never bought through sales may buy self-serve.

What the account report should find in them: most customers buy once, a loyal minority
buys often (monthly or quarterly), customers churn, repeat spend drifts up for some and
down for others, occasional and self-serve orders follow the seasons (weekdays, the Q4
push, the summer dip), and a few customers place two identical orders on one day.
"""

import numpy as np
import pandas as pd

from salesnb.data.sample.arrays import choose_per_row, round_to
from salesnb.data.sample.deals import PRODUCT_MIX, WON
from salesnb.data.sample.timeline import DAYS, SNAPSHOT, seasonal_day_weights

HABIT_PERIOD = np.array([np.inf, 30.4, 91.3, 120.0])  # days between repeat orders: one-off, monthly, quarterly, occasional
HABIT_SHARE = np.array([0, 0.06, 0.18, 0.12])  # a deal customer's repeat order as a share of its first deal
# Self-serve buyers (no deal): first order size by segment, and how many of those with a
# repeat habit drop it (most self-serve customers buy once).
SELF_SERVE_CHANCE = np.array([0.55, 0.35, 0.15])  # of accounts without a won deal, by segment
SELF_SERVE_MEDIAN = np.array([900.0, 2_500.0, 6_000.0])
SELF_SERVE_ONE_OFF = 0.4
SAME_DAY_SHARE = 0.03  # repeat orders placed twice on the same day, with the same amount


def make_orders(rng, deals, current, accounts):
    """Every won deal books an order; customers then reorder by habit until they churn."""
    # New draws come from a child stream, so the shared stream (and every other table) is
    # the same as before they were added.
    extra = rng.spawn(1)[0]
    won = np.flatnonzero(current["stage"] == WON)
    first = pd.DataFrame({"account": deals["account"][won], "at": deals["closed_at"][won], "deal": won})
    new_business = first[deals["kind"][won] == 0].sort_values(["at", "deal"], kind="stable")
    customers = new_business.drop_duplicates("account")
    account = customers["account"].to_numpy()
    start = customers["at"].to_numpy()
    base_amount = current["amount"][customers["deal"].to_numpy()]
    end = np.minimum(start + accounts["lifetime"][account], SNAPSHOT)
    habit = accounts["order_habit"][account]
    repeats = _repeat_orders(rng, extra, start, end, habit, base_amount * HABIT_SHARE[habit], 10.0)
    deal_orders = pd.DataFrame({
        "account": np.r_[deals["account"][won], account[repeats["customer"]]],
        "at": np.r_[deals["closed_at"][won], repeats["at"]],
        "amount": np.r_[current["amount"][won], repeats["amount"]],
        "product": np.r_[deals["product"][won], deals["product"][customers["deal"].to_numpy()][repeats["customer"]]],
        "deal": np.r_[won, np.full(len(repeats["at"]), -1)],
    })
    self_serve = _self_serve_orders(extra, accounts, np.unique(deals["account"][won]))
    frame = pd.concat([deal_orders, self_serve], ignore_index=True)
    frame["day"] = np.floor(frame["at"]).astype(np.int64)
    return frame.sort_values(["day", "account", "deal"], kind="stable", ignore_index=True)


def _repeat_orders(rng, extra, start, end, habit, repeat_amount, rounding):
    """Repeat orders of customers who first ordered at ``start`` and stop at ``end``.

    Occasional buyers (habit 3) reorder at random times that follow the seasons; the others
    on a schedule with some jitter. Each customer's spend drifts by a yearly factor (some
    expand, some shrink), and a few orders are placed twice on the same day. ``rng`` draws
    what the generator drew before these patterns were added (in the same order), ``extra``
    the rest.
    """
    period = HABIT_PERIOD[habit]
    counts = np.where(habit == 3, rng.poisson((end - start) / period),
                      np.floor((end - start) / np.where(np.isinf(period), 1, period)))
    counts = np.where(habit == 0, 0, counts).astype(np.int64)
    customer = np.repeat(np.arange(len(start)), counts)
    step = np.arange(len(customer)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    scheduled = start[customer] + step * period[customer] + rng.normal(0, 3, len(customer))
    random_times = _seasonal_times(start[customer], end[customer], rng.random(len(customer)))
    at = np.where(habit[customer] == 3, random_times, scheduled)
    at = np.clip(at, start[customer] + 1, end[customer])
    noise = rng.lognormal(0, 0.3, len(customer))
    yearly_growth = extra.lognormal(0.03, 0.25, len(start))
    growth = yearly_growth[customer] ** ((at - start[customer]) / 365.0)
    amount = round_to(repeat_amount[customer] * noise * growth, rounding)
    twice = extra.random(len(customer)) < SAME_DAY_SHARE
    return {"customer": np.r_[customer, customer[twice]], "at": np.r_[at, at[twice]],
            "amount": np.r_[amount, amount[twice]]}


def _seasonal_times(start, end, uniform):
    """Times in [start, end] spread like the seasonal lead volume (inverse of its cumulative
    distribution), one per uniform draw: more on weekdays and in Q4, fewer in summer."""
    cumulative = np.r_[0.0, np.cumsum(seasonal_day_weights())]
    days = np.arange(DAYS + 1, dtype=float)
    low, high = np.interp(start, days, cumulative), np.interp(end, days, cumulative)
    return np.interp(low + uniform * (high - low), cumulative, days)


def _self_serve_orders(rng, accounts, deal_accounts):
    """Accounts that never won a deal but buy online: a small first order at a seasonal
    time, then (for a minority) repeat orders by the account's habit until it churns."""
    candidates = np.setdiff1d(np.arange(len(accounts["account_id"])), deal_accounts)
    segment = accounts["segment_index"][candidates]
    buyers = candidates[rng.random(len(candidates)) < SELF_SERVE_CHANCE[segment]]
    segment = accounts["segment_index"][buyers]
    start = _seasonal_times(np.zeros(len(buyers)), np.full(len(buyers), SNAPSHOT), rng.random(len(buyers)))
    first_amount = round_to(SELF_SERVE_MEDIAN[segment] * rng.lognormal(0, 0.5, len(buyers)), 10.0)
    habit = np.where(rng.random(len(buyers)) < SELF_SERVE_ONE_OFF, 0, accounts["order_habit"][buyers])
    end = np.minimum(start + accounts["lifetime"][buyers] * 0.6, SNAPSHOT)
    product = choose_per_row(rng, PRODUCT_MIX[segment])
    repeats = _repeat_orders(rng, rng, start, end, habit, first_amount * 0.8, 10.0)
    return pd.DataFrame({
        "account": np.r_[buyers, buyers[repeats["customer"]]],
        "at": np.r_[start, repeats["at"]],
        "amount": np.r_[first_amount, repeats["amount"]],
        "product": np.r_[product, product[repeats["customer"]]],
        "deal": np.full(len(buyers) + len(repeats["at"]), -1),
    })
