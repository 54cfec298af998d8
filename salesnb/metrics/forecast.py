"""The period forecast: a Monte Carlo simulation of what the open pipeline and the deals
not created yet will win in the target period, learned from the data's own history.

At a forecast date ``T`` (the data's date, or a past freeze date in the backtest), for a
target period ``P``:

1. **Learn** (:func:`learn`) from the pipeline as it stood on each of the 12 month-ends
   before ``T`` (:func:`salesnb.metrics.snapshots.pipeline_as_of`): for each deal open on a
   month-end, its stage, its age (days since creation) and what became of it by ``T``.
   For each stage and age band, over the deals that have closed since:
   ``win probability`` = won / closed and ``timing`` = the share of the won deals that were
   won within the days the target period leaves after a forecast date (between
   ``P.start - T`` and ``P.end - T`` days later). Their product is the deal's probability
   to be won *in the period*: won in the window / closed.
2. **Simulate** (:func:`simulate`): each deal open at ``T`` is won in the period with that
   probability, independently, in every simulation; deals not created yet arrive as a
   Poisson number with the historical run rate (:func:`new_deal_run_rate`), with amounts
   drawn from the deals that arrived that way before. Vectorised over all deals and
   simulations at once with ``numpy.random.default_rng(seed)``: the same seed gives the
   same numbers.
3. **Report** P10, P50 and P90 of the won amount and count, already won included.

Everything is read through ``pipeline_as_of`` on dates up to ``T``, so a forecast frozen at
a past date uses only what was known then (the backtest relies on it).

:func:`forecast` is the public entry (period, ``where=``, ``simulations``, ``seed``); it returns
a :class:`Forecast` whose fields are documented there. :func:`learn`,
:func:`new_deal_run_rate`, :func:`deal_probabilities` and :func:`simulate` are its steps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import OPEN, WON, amounts_recorded
from salesnb.metrics.pipeline import stage_probability
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import deal_states, pipeline_as_of
from salesnb.metrics.totals import exact_sum

DEFAULT_SIMULATIONS = 2000
DEFAULT_SEED = 42
# Month-ends before the forecast date whose open deals the model learns from.
TRAINING_MONTHS = 12
# Age bands (days since creation), lower bound included: 0-30, 31-90, 91-180, over 180.
AGE_BANDS = ((0, "0–30 d"), (31, "31–90 d"), (91, "91–180 d"), (181, "over 180 d"))
# Previous periods of the same length the run rate of new deals is averaged over.
RUN_RATE_PERIODS = 4
# At most this many random numbers are held at once (simulations are drawn in blocks): 1M is 8 MB
# a block, a few of them alive at once; no slower than 4M on 100,000 deals x 2,000 simulations.
BLOCK_SIZE = 1_000_000
QUANTILES = (0.1, 0.5, 0.9)

declare(
    # The forecast of the period (Forecast.summary) and the report's KPIs.
    Measure("forecast_p10", "Forecast P10", "currency", "10th percentile of the simulated won amount of the period "
            "(already won included): 9 simulations in 10 win more.", section="forecast"),
    Measure("forecast_p50", "Forecast P50", "currency", "Median of the simulated won amount of the period (already "
            "won included).", section="forecast"),
    Measure("forecast_p90", "Forecast P90", "currency", "90th percentile of the simulated won amount of the period "
            "(already won included).", section="forecast"),
    Measure("forecast_already_won", "Already won", "currency", "Amount won from the period's start to the forecast "
            "date.", section="forecast", higher_is_better=True),
    Measure("forecast_from_open_deals", "Expected from open deals", "currency", "sum(probability of being won in the "
            "period × amount) over the deals open at the forecast date.", section="forecast"),
    Measure("forecast_from_new_deals", "Expected from new deals", "currency", "Run rate of deals created and won in "
            "the rest of the period × their mean amount.", section="forecast"),
    Measure("naive_forecast", "Naive forecast", "currency", "Already won + the playbook-weighted pipeline due in the "
            "period.", section="forecast"),
    Measure("forecast_won_deals_p50", "Forecast P50 won deals", "count", "Median of the simulated number of deals "
            "won in the period.", section="forecast"),
    # What the model learned (Model.cells) and each open deal's part (largest_contributions).
    Measure("age_band", "Age band", "text", "Days since creation on the snapshot date: 0–30, 31–90, 91–180, over 180."),
    Measure("won_in_window", "Won in window", "count", "Of the won deals, those won within the period's window after "
            "the snapshot.", section="forecast"),
    Measure("win_probability", "Win probability", "percent", "won ÷ closed over the deals open on the training "
            "month-ends that have closed since.", section="forecast", min_n=10),
    Measure("timing", "Timing", "percent", "won in the window ÷ won: the share of wins that land within the "
            "period's window.", section="forecast", min_n=10),
    Measure("in_period_probability", "Probability in period", "percent", "Probability of being won within the "
            "period: won in the window ÷ closed.", section="forecast", min_n=10),
    Measure("probability_basis", "Probability from", "text", "What the probability rests on: stage and age band, "
            "stage, or the playbook."),
    Measure("expected_won_amount", "Expected", "currency", "Probability of being won in the period × amount.",
            section="forecast"),
)


@dataclass
class Model:
    """What :func:`learn` found: ``cells`` (stage x age band) and ``stages`` (all ages), each
    with ``closed`` (n), ``won``, ``won_in_window``, ``win_probability`` = won / closed,
    ``timing`` = won_in_window / won and ``in_period_probability`` = won_in_window / closed;
    ``window`` the days after a forecast date that fall in the period."""

    as_of: dt.date
    window: tuple[int, int]
    cells: pd.DataFrame
    stages: pd.DataFrame
    overall_timing: float | None
    snapshots: list[dt.date]
    min_n: int

    @property
    def learned(self) -> bool:
        return bool(self.stages["closed"].sum() > 0)


@dataclass
class Forecast:
    """A forecast of the won amount and count in ``period``, made at ``as_of``.

    Fields:

    - ``period``, ``as_of`` (the forecast date), ``simulations``, ``seed``: what was asked;
    - ``measured``: False (with ``reason``, a sentence) when nothing can be learned: no
      history, or no deal open on a month-end has closed yet; the simulated fields are then
      empty and the quantiles None;
    - ``already_won_amount``, ``already_won_count``: deals won from the period's start to
      ``as_of`` (by close date), part of every simulation;
    - ``naive_amount``: already won + sum(amount x playbook stage probability) over the deals
      open at ``as_of`` with an expected close date in the period;
    - ``open_deals``: the deals open at ``as_of`` (``opportunity_id``, ``rep_id``,
      ``rep_name``, ``team``, ``stage``, ``amount``, ``close_date``, ``age_days``,
      ``age_band``) with ``in_period_probability`` (of being won in the period) and
      ``probability_basis`` (stage and age band, stage, or playbook);
    - ``model``: the :class:`Model` learned; ``run_rate``: :func:`new_deal_run_rate`'s result;
    - ``won_amount``, ``won_count``: one value per simulation, already won included;
      ``open_won_amount``: the open deals' part of ``won_amount`` alone (no new deals, not
      the already won), :func:`simulate` of the open deals with the same seed;
    - ``left_out``: open deals of unknown stage (no probability), not simulated;
    - ``amounts_measured``: False when no deal has an amount (counts only).

    :meth:`quantiles` gives P10, P50 and P90, :meth:`summary` the headline numbers by their
    catalogue names, :attr:`expected_from_open` and :attr:`expected_from_new` the expected
    won amount from each source.
    """

    period: Period
    as_of: dt.date
    simulations: int
    seed: int
    measured: bool
    reason: str | None = None
    already_won_amount: float = 0.0
    already_won_count: int = 0
    naive_amount: float | None = None
    open_deals: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: Model | None = None
    run_rate: dict = field(default_factory=dict)
    won_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    won_count: np.ndarray = field(default_factory=lambda: np.zeros(0))
    open_won_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    left_out: int = 0
    amounts_measured: bool = True

    def quantiles(self, what: str = "amount") -> dict:
        """P10, P50 and P90 (linear interpolation) of the simulated won amount or count (the
        amount is not measured when no deal has an amount)."""
        values = self.won_amount if what == "amount" else self.won_count
        if not self.measured or not len(values) or (what == "amount" and not self.amounts_measured):
            return {"p10": None, "p50": None, "p90": None}
        p10, p50, p90 = np.quantile(values, QUANTILES)
        return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}

    @property
    def expected_from_open(self) -> float | None:
        """Expected won amount from the open deals: sum(probability x amount)."""
        if not self.amounts_measured:
            return None
        if self.open_deals.empty:
            return 0.0
        return float((self.open_deals["in_period_probability"] * self.open_deals["amount"].fillna(0)).sum())

    @property
    def expected_from_new(self) -> float | None:
        """Expected won amount from deals not created yet: run rate x mean amount."""
        if not self.amounts_measured:
            return None
        return float(self.run_rate.get("deals_per_period", 0.0) * self.run_rate.get("mean_amount", 0.0))

    def summary(self) -> dict:
        """The forecast's headline numbers by catalogue name (None where not measured):
        ``forecast_p10``, ``forecast_p50``, ``forecast_p90``, ``forecast_already_won``,
        ``forecast_from_open_deals``, ``forecast_from_new_deals``, ``naive_forecast`` and
        ``forecast_won_deals_p50``."""
        amounts, counts = self.quantiles(), self.quantiles("count")
        return {"forecast_p10": amounts["p10"], "forecast_p50": amounts["p50"], "forecast_p90": amounts["p90"],
                "forecast_already_won": self.already_won_amount,
                "forecast_from_open_deals": self.expected_from_open if self.measured else None,
                "forecast_from_new_deals": self.expected_from_new if self.measured else None,
                "naive_forecast": self.naive_amount, "forecast_won_deals_p50": counts["p50"]}


def _period_window(period: Period, as_of: dt.date) -> tuple[int, int]:
    """Days after the forecast date that fall in the period: (first, last), first >= 1."""
    return max((period.start - as_of).days, 1), (period.end - as_of).days


def _age_band(age: ibis.Value) -> ibis.Value:
    cases = [(age >= lower, label) for lower, label in reversed(AGE_BANDS)]
    return ibis.cases(*cases, else_=ibis.null()).cast("string")


def _training_dates(dataset: Dataset, as_of: dt.date) -> list[dt.date]:
    """The month-ends before ``as_of`` (at most TRAINING_MONTHS), from the data's first day on."""
    first = data_start(dataset)
    ends = pd.date_range(end=pd.Timestamp(as_of) - pd.Timedelta(days=1), periods=TRAINING_MONTHS, freq="ME")
    return [end.date() for end in ends if first is not None and end.date() >= first]


def data_start(dataset: Dataset) -> dt.date | None:
    """The first day anything happened to a deal: earliest creation or history row."""
    return dataset.memo("deal_data_start", lambda: _data_start(dataset))


def _data_start(dataset: Dataset) -> dt.date | None:
    deals = dataset.table("opportunities")
    dates = [deals.created_at.min().execute()]
    if dataset.has("opportunity_history"):
        dates.append(deal_states(dataset).day.min().execute())
    dates = [pd.Timestamp(date).date() for date in dates if date is not None and not pd.isna(date)]
    return min(dates) if dates else None


def learn(dataset: Dataset, period: Period, as_of: dt.date, *, where: Selection | None = None) -> Model:
    """Win probability and timing by stage and age band, from the month-ends before ``as_of``.

    For each deal open (with a known stage) on a month-end ``d`` before ``as_of`` and closed
    by ``as_of``: closed = 1, won = 1 if it was won, won_in_window = 1 if it was won between
    ``first`` and ``last`` days after ``d`` (the period's window after ``as_of``; a close
    dated on or before ``d`` counts as day 1). A deal open on several month-ends counts once
    per month-end (deals that stay open long weigh more, as they do in any open pipeline).
    """
    return learn_many(dataset, [(period, as_of)], where=where)[0]


def learn_many(dataset: Dataset, plans: list[tuple[Period, dt.date]], *,
               where: Selection | None = None) -> list[Model]:
    """:func:`learn` for several (period, forecast date) pairs, one :class:`Model` each, in one
    query: the backtests ask the same question for each past period with other dates, and
    their training month-ends overlap (a quarter apart, 12 month-ends each), so each date's
    pipeline is read once and each pair's month-ends are joined to the states at its own
    forecast date; the counts are those of :func:`learn` on each pair alone."""
    plans = list(plans)
    windows = [_period_window(period, as_of) for period, as_of in plans]
    snapshots = [_training_dates(dataset, as_of) for _, as_of in plans]
    cells = {}
    # One query per set of pairs with distinct forecast dates (a pair is told apart by its date).
    remaining = [index for index in range(len(plans)) if snapshots[index]]
    while remaining:
        batch, seen = [], set()
        for index in remaining:
            if plans[index][1] not in seen:
                batch.append(index)
                seen.add(plans[index][1])
        remaining = [index for index in remaining if index not in batch]
        counted = _count_closed(dataset, [(index, plans[index][1], snapshots[index], windows[index])
                                          for index in batch], where)
        for index in batch:
            cells[index] = counted[counted["plan_index"] == index].drop(columns="plan_index").reset_index(drop=True)
    empty = pd.DataFrame(columns=["stage", "age_band", "closed", "won", "won_in_window"])
    return [_model(dataset, as_of, windows[index], cells.get(index, empty), snapshots[index])
            for index, (_, as_of) in enumerate(plans)]


def _count_closed(dataset: Dataset, pairs: list, where: Selection | None) -> pd.DataFrame:
    """closed, won and won_in_window by ``plan_index``, stage and age band, for pairs of
    (plan_index, forecast date, its month-ends, its window) with distinct forecast dates."""
    # The month-ends' states and the states at the forecast dates are two reads of the pipeline, joined and
    # counted in one query: no deal's state is kept between queries (the states of 13 dates were
    # cached as one table before: 13 rows per deal, a kernel's largest table at scale). The pairs
    # are literals in the query (no in-memory table), so the same question is the same query.
    states = pipeline_as_of(dataset, sorted({day for _, _, days, _ in pairs for day in days}), where=where)
    at_as_of = pipeline_as_of(dataset, sorted(as_of for _, as_of, _, _ in pairs), where=where)
    later = at_as_of.select(later_id="opportunity_id", later_date="as_of_date", outcome_later="outcome",
                            closed_on="close_date")
    then = states.filter((states.outcome == OPEN) & states.stage.notnull())
    belongs = ibis.or_(*[(later.later_date == as_of) & then.as_of_date.isin(days) for _, as_of, days, _ in pairs])
    rows = then.join(later, [then.opportunity_id == later.later_id, belongs])
    rows = rows.filter(rows.outcome_later != OPEN)

    def of_pair(values: list) -> ir.IntegerValue:  # the value of the pair each row belongs to
        return ibis.cases(*[(rows.later_date == pair[1], value) for pair, value in zip(pairs, values)]).cast("int64")

    days = ibis.greatest(rows.closed_on.delta(rows.as_of_date, unit="day"), 1)
    won = rows.outcome_later == WON
    # An empty window (last < first) counts nothing: BETWEEN is false then.
    in_window = won & days.between(of_pair([window[0] for *_, window in pairs]),
                                   of_pair([window[1] for *_, window in pairs])).fill_null(False)
    rows = rows.mutate(plan_index=of_pair([pair[0] for pair in pairs]),
                       age_band=_age_band(rows.as_of_date.delta(rows.created_at, unit="day")),
                       is_won=won.cast("int64"), is_won_in_window=in_window.cast("int64"))
    return rows.group_by(["plan_index", "stage", "age_band"]).aggregate(
        closed=rows.count(), won=rows.is_won.sum(), won_in_window=rows.is_won_in_window.sum()).execute()


def _model(dataset: Dataset, as_of: dt.date, window: tuple[int, int], cells: pd.DataFrame,
           snapshots: list[dt.date]) -> Model:
    """The :class:`Model` of the counts by stage and age band."""
    stage_order = {stage: index for index, stage in enumerate(dataset.playbook.open_stages)}
    band_order = {label: index for index, (_, label) in enumerate(AGE_BANDS)}
    cells = cells.assign(stage_index=cells["stage"].map(stage_order), band_index=cells["age_band"].map(band_order))
    cells = cells.sort_values(["stage_index", "band_index"], na_position="last").drop(columns=["stage_index", "band_index"])
    stages = cells.groupby("stage", sort=False)[["closed", "won", "won_in_window"]].sum().reindex(
        dataset.playbook.open_stages).fillna(0).astype("int64").reset_index()
    cells = cells.dropna(subset=["age_band"]).reset_index(drop=True)
    for frame in (cells, stages):
        frame[["closed", "won", "won_in_window"]] = frame[["closed", "won", "won_in_window"]].astype("int64")
        _rates(frame)
    won_total = int(stages["won"].sum())
    overall_timing = float(stages["won_in_window"].sum() / won_total) if won_total else None
    return Model(as_of, window, cells, stages, overall_timing, snapshots, dataset.playbook.min_deals_for_ranking)


def _rates(frame: pd.DataFrame) -> None:
    closed, won = frame["closed"].astype(float), frame["won"].astype(float)
    frame["win_probability"] = (frame["won"] / closed).where(closed > 0)
    frame["timing"] = (frame["won_in_window"] / won).where(won > 0)
    frame["in_period_probability"] = (frame["won_in_window"] / closed).where(closed > 0)


def deal_probabilities(model: Model, open_deals: pd.DataFrame, playbook) -> pd.DataFrame:
    """Each open deal's ``in_period_probability`` of being won in the period, and its
    ``probability_basis``.

    The stage-and-age-band cell when it has at least ``min_deals_for_ranking`` closed deals;
    else the stage over all ages when that has; else the playbook's stage probability times
    the share of all won deals that were won within the window (``overall_timing``, 0 when
    nothing was won yet).
    """
    if open_deals.empty:
        return open_deals.assign(in_period_probability=pd.Series(dtype=float), probability_basis=pd.Series(dtype=object))
    cells = model.cells[["stage", "age_band", "closed", "in_period_probability"]]
    stages = model.stages[["stage", "closed", "in_period_probability"]]
    merged = open_deals[["stage", "age_band"]].merge(cells, on=["stage", "age_band"], how="left") \
        .merge(stages, on="stage", how="left", suffixes=("_cell", "_stage"))
    use_cell = merged["closed_cell"].fillna(0).to_numpy() >= model.min_n
    use_stage = ~use_cell & (merged["closed_stage"].fillna(0).to_numpy() >= model.min_n)
    fallback = open_deals["stage"].map(playbook.probability).to_numpy(dtype=float) * (model.overall_timing or 0.0)
    probability = np.select([use_cell, use_stage], [merged["in_period_probability_cell"].to_numpy(dtype=float),
                                                    merged["in_period_probability_stage"].to_numpy(dtype=float)], fallback)
    basis = np.select([use_cell, use_stage], ["stage and age", "stage"], "playbook")
    return open_deals.assign(in_period_probability=probability, probability_basis=basis)


def new_deal_run_rate(dataset: Dataset, period: Period, as_of: dt.date, *, where: Selection | None = None) -> dict:
    """Deals not created yet that will be created and won within the period, from history.

    The rest of the period from ``as_of`` is ``[first creation day, period.end]`` (the whole
    period when it has not started). In each of the last :data:`RUN_RATE_PERIODS` periods
    of the same length that ended by ``as_of`` and started on or after the data's first day,
    the same stretch (as many days from its start) is looked at: the deals created in it
    and won by that period's end (as known at ``as_of``). ``deals_per_period`` is their mean
    count per period, ``amounts`` their amounts (the pool new deals' amounts are drawn from).
    """
    first_day = max(period.start, as_of + dt.timedelta(days=1))
    offset = (first_day - period.start).days
    result = {"deals_per_period": 0.0, "amounts": np.zeros(0), "mean_amount": 0.0, "periods": [], "counts": []}
    if first_day > period.end:
        return result
    start = data_start(dataset)
    windows, earlier = [], period
    for _ in range(RUN_RATE_PERIODS):
        earlier = earlier.previous()
        if start is None or earlier.start < start:
            break
        if earlier.end <= as_of:
            windows.append((earlier, earlier.start + dt.timedelta(days=offset)))
    if not windows:
        return result
    states = pipeline_as_of(dataset, [as_of], where=where)
    won = states.filter((states.outcome == WON) & states.created_at.notnull() & states.close_date.notnull())
    # One selection per window, stacked: literals only (no in-memory table), so the query's
    # SQL is compiled once and kept (salesnb.data.compiled).
    stretches = [won.filter(won.created_at.between(first, earlier.end) & (won.close_date <= earlier.end)
                            & (won.close_date >= won.created_at))
                 .select(window=ibis.literal(index, type="int64"), opportunity_id=won.opportunity_id, amount=won.amount)
                 for index, (earlier, first) in enumerate(windows)]
    rows = ibis.union(*stretches, distinct=False).order_by(["window", "opportunity_id"]).execute()
    counts = [int((rows["window"] == index).sum()) for index in range(len(windows))]
    amounts = rows["amount"].dropna().to_numpy(dtype=float)
    return {"deals_per_period": float(np.mean(counts)), "amounts": amounts,
            "mean_amount": float(amounts.mean()) if len(amounts) else 0.0,
            "periods": [earlier for earlier, _ in windows], "counts": counts}


def simulate(probabilities, amounts, *, simulations: int = DEFAULT_SIMULATIONS, seed: int = DEFAULT_SEED,
             new_deals_per_period: float = 0.0, new_deal_amounts=()) -> tuple[np.ndarray, np.ndarray]:
    """Won amount and won count in each simulation (without the already won part).

    Deal i is won with ``probabilities[i]``, independently, in every simulation (a missing
    amount counts as 0 in the amount, 1 in the count). New deals: a Poisson number with
    mean ``new_deals_per_period``, each with an amount drawn (with replacement) from
    ``new_deal_amounts``. Simulations are drawn in blocks of rows, which consumes the random
    stream exactly as one draw would: the result does not depend on the block size.
    """
    rng = np.random.default_rng(seed)
    won_amount, won_count = _open_deal_wins(rng, probabilities, amounts, simulations)
    return _with_new_deals(rng, won_amount, won_count, new_deals_per_period, new_deal_amounts)


def _open_deal_wins(rng: np.random.Generator, probabilities, amounts,
                    simulations: int) -> tuple[np.ndarray, np.ndarray]:
    """The open deals' part of :func:`simulate` (drawn first from the stream)."""
    probabilities = np.asarray(probabilities, dtype=float)
    amounts = np.nan_to_num(np.asarray(amounts, dtype=float))
    deals = len(probabilities)
    won_amount, won_count = np.zeros(simulations), np.zeros(simulations)
    block = max(1, min(simulations, BLOCK_SIZE // max(deals, 1)))
    draws, won, won_amounts = np.empty((block, deals)), np.empty((block, deals), dtype=bool), np.empty((block, deals))
    for first in range(0, simulations, block):  # blocks of simulations, never a loop over deals
        rows = min(block, simulations - first)
        drawn = rng.random(out=draws[:rows])  # into one buffer: the same numbers as rng.random((rows, deals))
        np.less(drawn, probabilities, out=won[:rows])
        # The won amounts as amount x won (1 or 0): three times faster than np.where(won, amount, 0.0),
        # and the same sums (a lost negative amount gives -0.0, and x + -0.0 == x; numpy's sum of
        # zeros is 0.0: a test checks both against np.where, bit for bit).
        # A sum per row (not a matrix product, whose summation order depends on the block).
        won_amount[first:first + rows] = np.multiply(won[:rows], amounts, out=won_amounts[:rows]).sum(axis=1)
        won_count[first:first + rows] = np.count_nonzero(won[:rows], axis=1)
    return won_amount, won_count


def _with_new_deals(rng: np.random.Generator, won_amount: np.ndarray, won_count: np.ndarray,
                    new_deals_per_period: float, new_deal_amounts) -> tuple[np.ndarray, np.ndarray]:
    """The new deals' part of :func:`simulate`, added to the open deals' (in place)."""
    simulations = len(won_amount)
    new_deal_amounts = np.asarray(new_deal_amounts, dtype=float)
    if new_deals_per_period > 0:
        arrivals = rng.poisson(new_deals_per_period, simulations)
        won_count += arrivals
        if len(new_deal_amounts):
            won_amount += _new_deal_amounts(rng, new_deal_amounts, arrivals)
    return won_amount, won_count


def _new_deal_amounts(rng: np.random.Generator, pool: np.ndarray, arrivals: np.ndarray) -> np.ndarray:
    """The summed amount of each simulation's new deals, each drawn with replacement from ``pool``.

    Drawn a block of simulations at a time, at most :data:`BLOCK_SIZE` amounts (and as many
    simulation numbers) at once: at scale the arrivals of all simulations at once are tens of
    millions (a third of a kernel's peak memory on the large sample). The draws are the same as
    ``rng.choice(pool, size=arrivals.sum())`` in one call, in the same order: numpy draws each
    index from the same stream whatever the size asked, and each simulation's amounts are added
    up in the same order."""
    simulations = len(arrivals)
    totals = np.zeros(simulations)
    ends = np.cumsum(arrivals)
    first = 0
    while first < simulations:
        drawn_before = int(ends[first - 1]) if first else 0
        # The simulations whose draws fit in a block, at least one (its own draws may exceed it).
        last = max(int(np.searchsorted(ends, drawn_before + BLOCK_SIZE, side="right")), first + 1)
        counts = arrivals[first:last]
        drawn = pool[rng.integers(0, len(pool), size=int(counts.sum()))]
        totals[first:last] = np.bincount(np.repeat(np.arange(last - first), counts), weights=drawn,
                                         minlength=last - first)
        first = last
    return totals


@metric(default_period="fiscal_quarter")
def forecast(dataset: Dataset, period: Period | None = None, *, where: Selection, as_of: dt.date | None = None,
             simulations: int = DEFAULT_SIMULATIONS, seed: int = DEFAULT_SEED, model: Model | None = None) -> Forecast:
    """Monte Carlo forecast of the won amount and count of the period, P10 to P90.

    ``period`` defaults to the fiscal quarter open at the data's date, ``as_of`` (the
    forecast date) to the data's date. Every selection dimension applies: the model learns
    from the selection's own history.

    won = already won (deals won from the period's start to ``as_of``, by close date) +
    simulated wins of the deals open at ``as_of`` + simulated new deals (module doc).
    ``naive_amount`` = already won + sum(amount x playbook stage probability) over the deals
    open at ``as_of`` with an expected close date in the period (the weighted pipeline a
    CRM would forecast). Open deals of unknown stage are left out (counted in ``left_out``).
    ``model``: what :func:`learn` gives for this period and ``as_of``, when already learned
    (:func:`learn_many`, the backtests); None learns it. Returns a :class:`Forecast` (its
    fields are documented there).
    """
    as_of = as_of or dataset.as_of
    result = Forecast(period, as_of, simulations, seed, measured=False)
    no_history = ("the forecast learns win probabilities and close timing from the pipeline's history: "
                  "it needs the 'opportunity_history' table")
    if not dataset.has("opportunity_history") and as_of < dataset.as_of:
        result.reason = no_history
        return result
    playbook = dataset.playbook
    result.amounts_measured = amounts_recorded(dataset)
    now = pipeline_as_of(dataset, [as_of], where=where)
    won_so_far = now.filter((now.outcome == WON) & now.close_date.between(period.start, min(period.end, as_of)))
    already = won_so_far.aggregate(count=won_so_far.count(), amount=exact_sum(won_so_far.amount)).execute().iloc[0]
    result.already_won_count = int(already["count"] or 0)
    result.already_won_amount = float(already["amount"]) if pd.notna(already["amount"]) else 0.0
    open_now = now.filter(now.outcome == OPEN)
    open_now = open_now.mutate(age_days=ibis.date(as_of.isoformat()).delta(open_now.created_at, unit="day"))
    open_now = open_now.mutate(age_band=_age_band(open_now.age_days))
    open_deals = open_now.select("opportunity_id", "rep_id", "rep_name", "team", "stage", "amount", "close_date",
                                 "age_days", "age_band").order_by("opportunity_id").execute()
    unknown = open_deals["stage"].isna()
    result.left_out = int(unknown.sum())
    open_deals = open_deals[~unknown].reset_index(drop=True)
    due = open_now.filter(open_now.close_date.between(period.start, period.end))
    probability_of_stage = stage_probability(due.stage, {stage: playbook.probability(stage) for stage in playbook.open_stages})
    weighted = due.aggregate(weighted=exact_sum(due.amount * probability_of_stage)).execute().iloc[0]["weighted"]
    result.naive_amount = result.already_won_amount + (float(weighted) if pd.notna(weighted) else 0.0)
    if not result.amounts_measured:  # no deal has an amount: counts only, amounts not measured
        result.already_won_amount = result.naive_amount = None
    if not dataset.has("opportunity_history"):
        result.reason = no_history
        return result

    model = learn(dataset, period, as_of, where=where) if model is None else model
    result.model = model
    if not model.learned:
        result.reason = (f"no deal open on a month-end before {as_of:%d %b %Y} has closed since: there is no "
                         "history to learn win probabilities and close timing from yet")
        return result
    result.open_deals = deal_probabilities(model, open_deals, playbook)
    result.run_rate = new_deal_run_rate(dataset, period, as_of, where=where)
    # simulate() in two steps, to keep the open deals' part: the plan's simulated gap is that part
    # (it was drawn a second time with the same seed before).
    rng = np.random.default_rng(seed)
    won_amount, won_count = _open_deal_wins(rng, result.open_deals["in_period_probability"].to_numpy(),
                                            result.open_deals["amount"].to_numpy(dtype=float), simulations)
    result.open_won_amount = won_amount.copy()
    won_amount, won_count = _with_new_deals(rng, won_amount, won_count, result.run_rate["deals_per_period"],
                                            result.run_rate["amounts"])
    result.won_amount = won_amount + (result.already_won_amount or 0.0)
    result.won_count = won_count + result.already_won_count
    result.measured = True
    return result


def largest_contributions(result: Forecast) -> pd.DataFrame:
    """The open deals that carry the forecast: ``expected_won_amount`` = in_period_probability x
    amount, largest first."""
    columns = ["opportunity_id", "rep_name", "stage", "age_days", "amount", "in_period_probability",
               "probability_basis", "expected_won_amount"]
    deals = result.open_deals
    if deals.empty:
        return pd.DataFrame(columns=columns)
    deals = deals.assign(expected_won_amount=deals["in_period_probability"] * deals["amount"])
    deals = deals.sort_values(["expected_won_amount", "opportunity_id"], ascending=[False, True], na_position="last")
    return deals[columns].reset_index(drop=True)
