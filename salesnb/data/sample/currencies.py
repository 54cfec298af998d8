"""The multi-currency sample (``salesnb sample --currencies``): the same company selling in
USD, EUR and GBP, with a monthly rate table as finance publishes it.

Each account buys in one currency (its deals and orders are written in it); amounts are the
sample's USD amounts turned into the local currency at the rate of the month the deal was
created (the rep quoted in local currency then) or the order was placed, so converting them
back at other dates' rates moves them a little, as real exchange rates do. Quotas and
marketing spend stay in the playbook currency (USD).

Draws come from a generator of their own, seeded with (seed, :data:`STREAM`): the shared
stream of every other table is untouched, so the default sample stays byte-identical and
every date, stage and ID of this one equals the default's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.data.sample.timeline import SNAPSHOT_DATE, START_DATE

STREAM = 2525  # names this module's own random stream
# The currencies, the share of accounts buying in each, and each rate's first month (to USD).
CURRENCIES = ("USD", "EUR", "GBP")
ACCOUNT_SHARE = (0.6, 0.25, 0.15)
FIRST_RATES = {"EUR": 1.08, "GBP": 1.27}
MONTHLY_VOLATILITY = 0.02  # standard deviation of a month's relative rate move
# Rates run from the first month of the data to the month after the snapshot (a rate table is
# published ahead: the last row is valid "from then on").
RATE_MONTHS = pd.date_range(pd.Timestamp(START_DATE), pd.Timestamp(SNAPSHOT_DATE) + pd.offsets.MonthBegin(1),
                            freq="MS")


def monthly_rates(seed: int) -> pd.DataFrame:
    """The ``exchange_rates`` table: one row per currency and month, a random walk from
    :data:`FIRST_RATES`, four decimals. The same for every shard of a sharded sample."""
    rng = np.random.default_rng([seed, STREAM])
    frames = []
    for currency, first in FIRST_RATES.items():
        moves = np.exp(rng.normal(0.0, MONTHLY_VOLATILITY, len(RATE_MONTHS) - 1))
        rates = np.round(first * np.concatenate([[1.0], np.cumprod(moves)]), 4)
        frames.append(pd.DataFrame({"currency": currency, "valid_from": RATE_MONTHS.to_numpy().astype("datetime64[D]"),
                                    "rate": rates}))
    return pd.concat(frames, ignore_index=True)


def _rate_on(rates: pd.DataFrame, currency: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The rate of each row's currency valid on its day (1 for USD and for rows without a day)."""
    result = np.ones(len(currency))
    months = pd.DatetimeIndex(days).to_period("M").to_timestamp().to_numpy()
    for code in FIRST_RATES:
        table = rates[rates["currency"] == code].set_index("valid_from")["rate"]
        table.index = pd.DatetimeIndex(table.index)
        rows = (currency == code) & ~pd.isna(months)
        result[rows] = table.reindex(pd.DatetimeIndex(months[rows])).to_numpy()
    return result


def in_currencies(frames: dict[str, pd.DataFrame], seed: int, shard: int | None = None) -> dict[str, pd.DataFrame]:
    """The sample ``frames`` with deals, their history and orders in their account's currency,
    and the ``exchange_rates`` table (:func:`monthly_rates`)."""
    rng = np.random.default_rng([seed, STREAM, 0 if shard is None else shard + 1])
    rates = monthly_rates(seed)
    accounts = frames["accounts"]["account_id"].astype(object).to_numpy()
    account_currency = dict(zip(accounts, rng.choice(np.array(CURRENCIES, dtype=object), len(accounts),
                                                      p=ACCOUNT_SHARE)))
    frames = dict(frames)

    deals = frames["opportunities"].copy()
    deal_currency = deals["account_id"].astype(object).map(account_currency).fillna("USD").to_numpy(dtype=object)
    # The rep quotes in the local currency at the month the deal was created.
    quoted = _rate_on(rates, deal_currency, deals["created_at"].to_numpy())
    factor = pd.Series(quoted, index=deals["opportunity_id"].astype(object).to_numpy())
    deals["amount"] = np.round(deals["amount"].to_numpy(dtype=float) / quoted, 2)
    deals["currency"] = deal_currency
    frames["opportunities"] = deals

    history = frames["opportunity_history"].copy()
    history_factor = history["opportunity_id"].astype(object).map(factor).fillna(1.0).to_numpy(dtype=float)
    history["amount"] = np.round(history["amount"].to_numpy(dtype=float) / history_factor, 2)
    frames["opportunity_history"] = history

    orders = frames["orders"].copy()
    order_currency = orders["account_id"].astype(object).map(account_currency).fillna("USD").to_numpy(dtype=object)
    orders["amount"] = np.round(orders["amount"].to_numpy(dtype=float)
                                / _rate_on(rates, order_currency, orders["ordered_at"].to_numpy()), 2)
    orders["currency"] = order_currency
    frames["orders"] = orders
    frames["exchange_rates"] = rates
    return frames
