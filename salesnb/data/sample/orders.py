"""Orders: the first order of each won deal, then repeat orders by the customer's habit
until the customer churns."""

import numpy as np
import pandas as pd

from salesnb.data.sample.arrays import round_to
from salesnb.data.sample.deals import WON
from salesnb.data.sample.timeline import SNAPSHOT


def make_orders(rng, deals, current, accounts):
    """Every won deal books an order; customers then reorder by habit until they churn."""
    won = np.flatnonzero(current["stage"] == WON)
    first = pd.DataFrame({"account": deals["account"][won], "at": deals["closed_at"][won], "deal": won})
    new_business = first[deals["kind"][won] == 0].sort_values(["at", "deal"], kind="stable")
    customers = new_business.drop_duplicates("account")
    account = customers["account"].to_numpy()
    start = customers["at"].to_numpy()
    base_amount = current["amount"][customers["deal"].to_numpy()]
    end = np.minimum(start + accounts["lifetime"][account], SNAPSHOT)
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
    amount = round_to(base_amount[customer] * share[customer] * rng.lognormal(0, 0.3, len(customer)), 10.0)
    frame = pd.DataFrame({
        "account": np.r_[deals["account"][won], account[customer]],
        "at": np.r_[deals["closed_at"][won], at],
        "amount": np.r_[current["amount"][won], amount],
        "product": np.r_[deals["product"][won], deals["product"][customers["deal"].to_numpy()][customer]],
        "deal": np.r_[won, np.full(len(customer), -1)],
    })
    frame["day"] = np.floor(frame["at"]).astype(np.int64)
    return frame.sort_values(["day", "account", "deal"], kind="stable", ignore_index=True)
