"""The forecast's backtest: how accurate the method has been on this data.

As time-series libraries do it (darts' historical forecasts): freeze at the start of each
of the last few periods of the same length as the target period, forecast that period from
what was known on the freeze date only (:func:`salesnb.metrics.forecast.forecast` reads
everything through ``pipeline_as_of`` up to that date), and compare with what was actually
won. The naive forecast, the playbook-weighted pipeline due in the period on the same
date, is scored beside it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import WON, deals
from salesnb.metrics.forecast import DEFAULT_SEED, DEFAULT_SIMULATIONS, data_start, forecast, learn_many
from salesnb.metrics.scope import metric
from salesnb.metrics.totals import exact_sum

DEFAULT_PERIODS = 6
MIN_PERIODS, MAX_PERIODS = 4, 8

declare(
    # One row per backtest period (backtest), and the report's KPIs over them (summary).
    Measure("period", "Period", "text", "The period, by its short label (e.g. Jan–Mar 2025)."),
    Measure("in_band", "In P10–P90", "flag", "What was won fell between the forecast's P10 and P90."),
    Measure("forecast_accuracy", "Accuracy", "percent", "1 − |actual − P50| ÷ actual: the forecast frozen the day "
            "before the period began against what was won.", section="backtest", higher_is_better=True),
    Measure("forecast_bias", "Bias", "percent", "(P50 − actual) ÷ actual: above 0 the forecast was too high.",
            section="backtest"),
    Measure("naive_accuracy", "Naive accuracy", "percent", "1 − |actual − naive forecast| ÷ actual.",
            section="backtest", higher_is_better=True),
    Measure("naive_bias", "Naive bias", "percent", "(naive forecast − actual) ÷ actual.", section="backtest"),
    Measure("simulation_closer", "Simulation closer", "flag", "The simulation's P50 was nearer the actual than the "
            "naive forecast."),
    Measure("backtest_accuracy", "Backtest accuracy", "percent", "Median over the backtest periods of 1 − |actual − "
            "P50| ÷ actual.", section="backtest", higher_is_better=True),
    Measure("backtest_bias", "Backtest bias", "percent", "Median over the backtest periods of (P50 − actual) ÷ "
            "actual.", section="backtest"),
    Measure("backtest_p10_p90_hit_rate", "P10–P90 hit rate", "percent", "Share of the backtest periods whose actual "
            "fell between P10 and P90 (about 80% when well calibrated).", section="backtest"),
    Measure("naive_backtest_accuracy", "Naive backtest accuracy", "percent", "Median over the backtest periods of "
            "the naive forecast's accuracy.", section="backtest", higher_is_better=True),
)


def backtest_periods(dataset: Dataset, period: Period, periods: int = DEFAULT_PERIODS) -> list[Period]:
    """The last ``periods`` periods of the same length before ``period`` that ended by the
    data's date and have at least one whole period of data before them (something to learn
    from), oldest first."""
    periods = min(max(periods, MIN_PERIODS), MAX_PERIODS)
    start = data_start(dataset)
    chosen, earlier = [], period
    for _ in range(periods):
        earlier = earlier.previous()
        if start is None or earlier.previous().start < start:
            break
        if earlier.end <= dataset.as_of:
            chosen.append(earlier)
    return chosen[::-1]


def accuracy(forecast_amount, actual) -> float | None:
    """1 - |actual - forecast| / actual; None when nothing was won (no scale to judge by)."""
    if forecast_amount is None or actual is None or actual <= 0:
        return None
    return 1 - abs(actual - forecast_amount) / actual


def bias(forecast_amount, actual) -> float | None:
    """(forecast - actual) / actual: above 0 the forecast was too high."""
    if forecast_amount is None or actual is None or actual <= 0:
        return None
    return (forecast_amount - actual) / actual


def actual_won(dataset: Dataset, period: Period, *, where: Selection | None = None) -> tuple[float | None, int]:
    """What the selection won in the period, as the data knows it now: amount and count of
    the deals won with a close date in the period (a building block of :func:`backtest`)."""
    table = deals(dataset, where)
    won = table.filter((table.outcome == WON) & table.close_date.between(period.start, period.end))
    row = won.aggregate(count=won.count(), amount=exact_sum(won.amount)).execute().iloc[0]
    count = int(row["count"] or 0)
    # Nothing won: 0. Won deals without any amount: the amount is not known (None), not 0.
    return (float(row["amount"]) if pd.notna(row["amount"]) else (0.0 if count == 0 else None)), count


# The columns of backtest(), in order.
COLUMNS = ["period", "period_start", "period_end", "freeze_date", "won_amount", "won", "forecast_p10", "forecast_p50",
           "forecast_p90", "in_band", "forecast_accuracy", "forecast_bias", "naive_forecast", "naive_accuracy",
           "naive_bias", "simulation_closer"]


@metric(default_period="fiscal_quarter")
def backtest(dataset: Dataset, period: Period | None = None, *, where: Selection, periods: int = DEFAULT_PERIODS,
             simulations: int = DEFAULT_SIMULATIONS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The forecast frozen before each of the last periods, against what was won: one row per period.

    The periods are those before ``period`` (default: the fiscal quarter open at the data's
    date; :func:`backtest_periods`), oldest first. Every selection dimension applies, as in
    :func:`salesnb.metrics.forecast.forecast`.

    Frozen on ``freeze_date`` = the day before the period starts (the pipeline as it stood
    when the period began): ``forecast_p10``, ``forecast_p50``, ``forecast_p90`` of the
    simulated won amount, and ``naive_forecast`` (already won + the playbook-weighted
    pipeline due in the period on that date). Against what happened, ``won_amount`` (won
    with a close date in the period, as known now; ``won`` the deals): ``forecast_accuracy``
    = 1 - |actual - P50| / actual, ``forecast_bias`` = (P50 - actual) / actual, ``in_band`` =
    P10 <= actual <= P90, and ``naive_accuracy``, ``naive_bias`` likewise for the naive
    forecast. ``simulation_closer``: the simulation's P50 was nearer the actual than the naive
    forecast. A period whose forecast is not measured (no history then) has empty forecasts.
    """
    rows = []
    chosen = [(earlier, earlier.start - dt.timedelta(days=1))
              for earlier in backtest_periods(dataset, period, periods)]
    # Every period's model learned in one query (the same question with other dates); without the
    # history the forecast says so itself.
    models = learn_many(dataset, chosen, where=where) if dataset.has("opportunity_history") \
        else [None] * len(chosen)
    for (earlier, freeze), model in zip(chosen, models):
        frozen = forecast(dataset, earlier, where=where, as_of=freeze, simulations=simulations, seed=seed,
                          model=model)
        quantiles = frozen.quantiles()
        actual, won_deals = actual_won(dataset, earlier, where=where)
        p50, naive = quantiles["p50"], frozen.naive_amount
        rows.append({
            "period": earlier.short_label(), "period_start": earlier.start, "period_end": earlier.end, "freeze_date": freeze,
            "won_amount": actual, "won": won_deals, "forecast_p10": quantiles["p10"], "forecast_p50": p50,
            "forecast_p90": quantiles["p90"], "naive_forecast": naive,
            "in_band": (quantiles["p10"] <= actual <= quantiles["p90"]) if p50 is not None and actual is not None else None,
            "forecast_accuracy": accuracy(p50, actual), "forecast_bias": bias(p50, actual),
            "naive_accuracy": accuracy(naive, actual), "naive_bias": bias(naive, actual),
            "simulation_closer": (abs(p50 - actual) < abs(naive - actual)) if None not in (p50, naive, actual) else None,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(results: pd.DataFrame) -> dict:
    """Over the backtest periods: ``backtest_accuracy`` and ``backtest_bias`` (medians),
    ``backtest_p10_p90_hit_rate`` (share of periods whose actual fell in P10..P90),
    ``naive_backtest_accuracy`` and ``naive_backtest_bias`` (medians), ``periods`` (n) and
    ``simulation_closer`` (periods where the simulation's P50 beat the naive forecast).
    None where no period could be scored."""
    def median(column):
        values = pd.to_numeric(results[column], errors="coerce").dropna()
        return float(np.median(values)) if len(values) else None

    scored = results.dropna(subset=["forecast_p50"]) if len(results) else results
    hits = scored["in_band"].dropna().astype(bool) if len(scored) else pd.Series(dtype=bool)
    closer = scored["simulation_closer"].dropna().astype(bool) if len(scored) else pd.Series(dtype=bool)
    return {
        "backtest_accuracy": median("forecast_accuracy"), "backtest_bias": median("forecast_bias"),
        "backtest_p10_p90_hit_rate": float(hits.mean()) if len(hits) else None,
        "naive_backtest_accuracy": median("naive_accuracy"), "naive_backtest_bias": median("naive_bias"),
        "periods": int(len(scored)), "simulation_closer": int(closer.sum()),
    }


def verdict(stats: dict) -> str:
    """One plain sentence: did the simulation beat the naive forecast on this data?"""
    if not stats["periods"] or stats["backtest_accuracy"] is None or stats["naive_backtest_accuracy"] is None:
        return "Not enough history to backtest the forecast on this data: no past period could be scored."
    ours, naive, periods = stats["backtest_accuracy"], stats["naive_backtest_accuracy"], stats["periods"]
    closer = f"its P50 was closer to the actual in {stats['simulation_closer']} of {periods} periods"
    if ours > naive:
        return (f"On this data the simulation beat the naive forecast: median accuracy {ours:.0%} against "
                f"{naive:.0%} for the playbook-weighted pipeline, and {closer}.")
    if ours < naive:
        return (f"On this data the simulation did NOT beat the naive forecast: median accuracy {ours:.0%} against "
                f"{naive:.0%} for the playbook-weighted pipeline ({closer}). Prefer the naive number here.")
    return f"On this data the simulation and the naive forecast were equally accurate (median {ours:.0%}); {closer}."
