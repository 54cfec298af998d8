"""Customer lifetime value: expected purchases (BG/NBD) and spend (Gamma-Gamma).

Two published "buy till you die" models, fitted by maximum likelihood with scipy on one row
per customer (no maintained library installs within the kit's pinned stack without a
compiler at run time; see ``docs/metrics.md``):

- **BG/NBD** (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): while
  alive, a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each purchase it
  drops out with probability p ~ Beta(a, b). Input per customer: x = repeat purchases,
  t_x = time of the last purchase and T = time observed, both from the first purchase.
- **Gamma-Gamma** (Fader and Hardie 2013, "The Gamma-Gamma model of monetary value"): the
  value of each repeat purchase ~ Gamma(p, nu) with nu ~ Gamma(q, gamma). Input: x and the
  mean value m_x of the repeat purchases.

Here a *purchase* is a purchase day (orders of one account on one day are one purchase,
their amounts summed), time is in days, and CLV over a horizon is expected purchases x
expected value per purchase (undiscounted). The fit is checked on the page: fitted on the
orders before a holdout window, it predicts each customer's repeat purchases in the
window, and the prediction is compared with what happened (:func:`holdout_check`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from salesnb.data.dataset import Dataset
from salesnb.data.selection import Selection
from salesnb.errors import SalesnbError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.orders import as_day, customer_history, purchase_days
from salesnb.metrics.scope import metric
from salesnb.metrics.statistics import MIN_N

MIN_CUSTOMERS = MIN_N  # fewer customers than this: the models are not fitted
MIN_REPEAT_CUSTOMERS = 10  # customers with a repeat purchase the fit needs (and the spend model, with amounts)
FREQUENCY_BUCKETS = (0, 1, 2, 3, 4, 5, 6)  # repeat purchases before the holdout window; the last means "6 or more"

declare(
    Measure("x", "Repeat purchases", "count", "Order days after the first, up to the state date (BG/NBD's x)",
            section="customer-lifetime-value"),
    Measure("t_x", "Days to the last purchase", "days", "Last order day - first order day (BG/NBD's t_x)",
            section="customer-lifetime-value"),
    Measure("T", "Days observed", "days", "State date - first order day (BG/NBD's T)",
            section="customer-lifetime-value"),
    Measure("repeat_values", "Repeat purchases with an amount", "count", "Order days after the first that have a "
            "known amount (the spend model's x)", section="customer-lifetime-value"),
    Measure("mean_repeat_value", "Mean repeat purchase value", "currency", "Mean known amount of those order days "
            "(the spend model's m)", section="customer-lifetime-value"),
    Measure("probability_alive", "Probability still a customer", "percent", "BG/NBD: P(the customer has not "
            "dropped out | its purchases)", section="customer-lifetime-value", higher_is_better=True),
    Measure("expected_purchases", "Expected purchases", "number", "BG/NBD: expected order days in the horizon",
            section="customer-lifetime-value", higher_is_better=True),
    Measure("expected_value_per_purchase", "Expected value per purchase", "currency", "Gamma-Gamma: expected value "
            "of the customer's future purchases", section="customer-lifetime-value", higher_is_better=True),
    Measure("spend_model", "Spend model", "text", "The Gamma-Gamma fit that values the customer: its segment's or "
            "the pooled one."),
    Measure("lifetime_value", "Lifetime value", "currency", "expected_purchases x expected_value_per_purchase over "
            "the horizon (not discounted)", section="customer-lifetime-value", higher_is_better=True),
    Measure("valued_customers", "Customers valued", "count", "Customers with an expected value per purchase",
            section="customer-lifetime-value"),
    Measure("repeat_purchases_before", "Repeat purchases before the holdout", "text", "Bucket of the customer's "
            "repeat purchases (order days) before the holdout window."),
    Measure("actual_purchases", "Actual repeat purchases", "count", "Order days of the row's customers in the "
            "holdout window", section="customer-lifetime-value"),
    Measure("predicted_purchases", "Predicted repeat purchases", "number", "BG/NBD's expected order days of the "
            "row's customers in the holdout window", section="customer-lifetime-value"),
    Measure("actual_purchases_per_customer", "Actual per customer", "number", "actual_purchases ÷ customers",
            section="customer-lifetime-value"),
    Measure("predicted_purchases_per_customer", "Predicted per customer", "number", "predicted_purchases ÷ "
            "customers", section="customer-lifetime-value"),
    Measure("clv_holdout_actual_purchases", "Actual repeat purchases (holdout)", "count", "Order days of the "
            "calibration customers in the holdout window", section="customer-lifetime-value"),
    Measure("clv_holdout_predicted_purchases", "Predicted repeat purchases (holdout)", "number", "Their sum "
            "predicted by BG/NBD fitted on the orders before the window", section="customer-lifetime-value"),
    Measure("clv_holdout_error", "CLV model error (holdout)", "percent", "(predicted - actual) ÷ actual repeat "
            "purchases in the holdout window (above 0: the model expects too many)",
            section="customer-lifetime-value"),
    Measure("clv_model", "Model", "text", "BG/NBD (purchases) or Gamma-Gamma (value per purchase)."),
    Measure("fitted_on", "Fitted on", "text", "The customers a model was fitted on: all, or a segment's."),
    Measure("fitted_parameters", "Parameters", "text", "The fitted parameters."),
    Measure("model_used", "Used", "flag", "Whether any customer's value comes from the fit."),
)


# ----------------------------------------------------------------------------- the models


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters (time unit: days) and whether the optimiser converged."""

    r: float
    alpha: float
    a: float
    b: float
    converged: bool = True


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (money in the playbook currency)."""

    p: float
    q: float
    gamma: float
    converged: bool = True


def bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """Log-likelihood of each customer (FHL 2005, eq. 6):

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] * B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
    """
    return _Histories(x, t_x, T).bgnbd_log_likelihood(r, alpha, a, b)


class _Histories:
    """Customers' (x, t_x, T) prepared once for the many likelihoods an optimiser asks.

    A fit evaluates the likelihood a few hundred times over every customer, and its special
    functions (log-gamma, log-beta) were most of the accounts report's time at scale (5.3 s
    of 207,171 customers on the large sample). Customers share few distinct values (31 purchase
    counts, about 700 days): each term is worked out once per distinct value and spread to the
    customers by index. Every customer's value is the one the formula gives it directly (the
    same operations on the same numbers, in the same order), so the sums, the fits and the
    reports do not change.
    """

    def __init__(self, x, t_x, T):
        x, t_x, T = (np.asarray(value, dtype=float) for value in (x, t_x, T))
        self.x, self.repeat = x, x > 0
        self.x_values, self.x_index = np.unique(x, return_inverse=True)
        self.T_values, self.T_index = np.unique(T, return_inverse=True)
        self.repeat_x_index = self.x_index[self.repeat]
        self.repeat_x = x[self.repeat]
        self.t_x_values, self.t_x_index = np.unique(t_x[self.repeat], return_inverse=True)

    def bgnbd_log_likelihood(self, r, alpha, a, b) -> np.ndarray:
        """:func:`bgnbd_log_likelihood` of every customer."""
        x, values = self.x, self.x_values
        common = (special.gammaln(r + values) - special.gammaln(r) + r * np.log(alpha))[self.x_index]
        still_alive = ((special.betaln(a, b + values) - special.betaln(a, b))[self.x_index]
                       - (r + x) * np.log(alpha + self.T_values)[self.T_index])
        dropped = np.full_like(x, -np.inf)
        dropped[self.repeat] = ((special.betaln(a + 1, b + values - 1) - special.betaln(a, b))[self.repeat_x_index]
                                - (r + self.repeat_x) * np.log(alpha + self.t_x_values)[self.t_x_index])
        return common + np.logaddexp(still_alive, dropped)


def fit_bgnbd(x, t_x, T) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters (log-parameterised, :func:`_minimise`).

    Times are rescaled so the longest observation is 10 units while fitting (alpha is
    scaled back), which keeps the optimiser well conditioned whatever the time unit.
    """
    x, t_x, T = (np.asarray(value, dtype=float) for value in (x, t_x, T))
    scale = T.max() / 10.0 if T.max() > 0 else 1.0
    histories = _Histories(x, t_x / scale, T / scale)

    def negative(log_params):
        r, alpha, a, b = np.exp(log_params)
        total = histories.bgnbd_log_likelihood(r, alpha, a, b).sum()
        return -total if np.isfinite(total) else np.inf

    result = _minimise(negative, np.zeros(4))
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(float(r), float(alpha * scale), float(a), float(b), bool(result.success))


def expected_purchases(model: BgNbd, t, x, t_x, T) -> np.ndarray:
    """Expected purchases in the next ``t`` days of a customer with history (x, t_x, T) (FHL 2005, eq. 10):

    E[Y(t)] = (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
              / (1 + [x > 0] * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))
    """
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x, t_x, T = (np.asarray(value, dtype=float) for value in (x, t_x, T))
    hypergeometric = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    purchases = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hypergeometric)
    return purchases / _dropout_odds(model, x, t_x, T)


def probability_alive(model: BgNbd, x, t_x, T) -> np.ndarray:
    """P(still a customer | x, t_x, T) = 1 / (1 + [x > 0] * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))."""
    x, t_x, T = (np.asarray(value, dtype=float) for value in (x, t_x, T))
    return 1.0 / _dropout_odds(model, x, t_x, T)


def _dropout_odds(model: BgNbd, x, t_x, T) -> np.ndarray:
    repeat = x > 0
    odds = np.ones_like(x)
    odds[repeat] += (model.a / (model.b + x[repeat] - 1)
                     * ((model.alpha + T[repeat]) / (model.alpha + t_x[repeat])) ** (model.r + x[repeat]))
    return odds


def gamma_gamma_log_likelihood(p, q, gamma, x, m) -> np.ndarray:
    """Log-likelihood of each customer's mean repeat value m (x >= 1 values, Fader and Hardie 2013):

    f(m | x) = G(px+q) / (G(px) G(q)) * gamma^q * m^(px-1) * x^(px) / (gamma + m x)^(px+q)
    """
    return _RepeatValues(x, m).gamma_gamma_log_likelihood(p, q, gamma)


class _RepeatValues:
    """Customers' (x, m) prepared once for an optimiser's many likelihoods, as :class:`_Histories`:
    the log-gamma terms once per distinct x, the logarithms of x and m once per fit. Each
    customer's value is the formula's own (same operations, same order)."""

    def __init__(self, x, m):
        self.x, self.m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        self.x_values, self.x_index = np.unique(self.x, return_inverse=True)
        self.log_x, self.log_m = np.log(self.x), np.log(self.m)

    def gamma_gamma_log_likelihood(self, p, q, gamma) -> np.ndarray:
        """:func:`gamma_gamma_log_likelihood` of every customer."""
        values, x = self.x_values, self.x
        of_x = (special.gammaln(p * values + q) - special.gammaln(p * values) - special.gammaln(q)
                + q * np.log(gamma))[self.x_index]
        return of_x + (p * x - 1) * self.log_m + p * x * self.log_x - (p * x + q) * np.log(gamma + self.m * x)


def fit_gamma_gamma(x, m) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters over customers with x >= 1 and m > 0
    (amounts rescaled to a mean of 1 while fitting; gamma is scaled back)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    scale = m.mean()
    values = _RepeatValues(x, m / scale)

    def negative(log_params):
        p, q, gamma = np.exp(log_params)
        total = values.gamma_gamma_log_likelihood(p, q, gamma).sum()
        return -total if np.isfinite(total) else np.inf

    result = _minimise(negative, np.zeros(3))
    p, q, gamma = np.exp(result.x)
    return GammaGamma(float(p), float(q), float(gamma * scale), bool(result.success))


def expected_average_value(model: GammaGamma, x, m) -> np.ndarray:
    """Expected value of a customer's future purchases: (gamma + m x) p / (p x + q - 1) with
    x >= 1 known repeat values of mean m; the population mean p gamma / (q - 1) without any
    (x = 0 or m unknown). Needs q > 1 (otherwise the mean is infinite: NaN)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    if model.q <= 1:
        return np.full_like(x, np.nan)
    population = model.p * model.gamma / (model.q - 1)
    known = (x > 0) & np.isfinite(m)
    individual = (model.gamma + np.where(known, m, 0) * x) * model.p / (model.p * x + model.q - 1)
    return np.where(known, individual, population)


def _minimise(negative, start):
    """Quasi-Newton (L-BFGS-B, bounded log-parameters) first; Nelder-Mead from where it stopped
    when it did not converge. Both are deterministic."""
    result = optimize.minimize(negative, start, method="L-BFGS-B", bounds=[(-20.0, 20.0)] * len(start))
    if result.success and np.isfinite(result.fun):
        return result
    return optimize.minimize(negative, result.x if np.isfinite(result.fun) else start, method="Nelder-Mead",
                             options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20_000, "maxfev": 20_000})


# ----------------------------------------------------------------------------- from the orders


def purchase_history(dataset: Dataset, until: dt.date, where: Selection | None = None) -> pd.DataFrame:
    """One row per customer of the selection with the models' inputs at ``until`` (days): ``x`` = purchase days
    - 1, ``t_x`` = last - first purchase day, ``T`` = ``until`` - first purchase day,
    ``repeat_values`` (repeat purchase days with a known amount) and ``mean_repeat_value``
    (their mean amount; NaN without any)."""
    history = customer_history(dataset, until, where)
    first, last = history["first_order"], history["last_order"]
    return pd.DataFrame({
        "account_id": history["account_id"], "account_name": history["account_name"], "segment": history["segment"],
        "x": history["order_days"] - 1, "t_x": (last - first).dt.days,
        "T": (pd.Timestamp(until) - first).dt.days,
        "repeat_values": history["repeat_days_with_amount"].astype("int64"),
        "mean_repeat_value": history["repeat_day_revenue"] / history["repeat_days_with_amount"].where(
            history["repeat_days_with_amount"] > 0),
    })


ALL_SEGMENTS = "(all segments)"


@dataclass
class LifetimeValue:
    """CLV of the customers at a date: the fitted models, one row per customer, or why not."""

    at: dt.date
    horizon_days: int
    purchases: BgNbd | None = None
    spend: dict[str, GammaGamma] = field(default_factory=dict)  # by segment, and ALL_SEGMENTS (pooled)
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)
    not_measured: str | None = None  # why values are missing (too little data, no convergence)


def _fit_purchases(history: pd.DataFrame) -> tuple[BgNbd | None, str | None]:
    """BG/NBD fitted on ``history`` (:func:`purchase_history`), or None and why not."""
    repeat = int((history["x"] > 0).sum())
    if len(history) < MIN_CUSTOMERS or repeat < MIN_REPEAT_CUSTOMERS:
        return None, (f"The purchase model needs at least {MIN_CUSTOMERS} customers, {MIN_REPEAT_CUSTOMERS} of them "
                      f"with a repeat purchase; this data has {len(history):,} customers and {repeat:,} with a "
                      "repeat purchase.")
    model = fit_bgnbd(history["x"], history["t_x"], history["T"])
    if not model.converged:
        return None, "The purchase model (BG/NBD) did not converge on this data; no prediction is shown."
    return model, None


def fit_spend_by_segment(history: pd.DataFrame) -> dict[str, GammaGamma]:
    """Gamma-Gamma fitted on all customers with repeat values (``ALL_SEGMENTS``) and on each
    segment that has at least :data:`MIN_REPEAT_CUSTOMERS` of them.

    Segments differ in order size by an order of magnitude; one spend distribution pooled
    over them is often so wide that its mean does not exist (q <= 1). A customer's value
    uses its segment's fit when that fit converged with q > 1, else the pooled one
    (:func:`value_per_purchase`).
    """
    values = history[(history["repeat_values"] > 0) & (history["mean_repeat_value"] > 0)]
    groups = [(ALL_SEGMENTS, values)] + list(values.groupby("segment", sort=True))
    return {str(name): fit_gamma_gamma(group["repeat_values"], group["mean_repeat_value"])
            for name, group in groups if len(group) >= MIN_REPEAT_CUSTOMERS}


def usable(model: GammaGamma | None) -> bool:
    """A spend fit whose mean exists: converged, with q > 1."""
    return model is not None and model.converged and model.q > 1


def value_per_purchase(spend: dict[str, GammaGamma], history: pd.DataFrame) -> pd.DataFrame:
    """``expected_value_per_purchase`` (:func:`expected_average_value`) of each customer and
    ``spend_model`` (which fit gave it: the segment's, or the pooled one); NaN without a usable fit."""
    chosen = [segment if usable(spend.get(segment)) else (ALL_SEGMENTS if usable(spend.get(ALL_SEGMENTS)) else None)
              for segment in history["segment"].astype(str)]
    value = np.full(len(history), np.nan)
    for name in set(chosen) - {None}:
        rows = np.array([choice == name for choice in chosen])
        value[rows] = expected_average_value(spend[name], history["repeat_values"].to_numpy()[rows],
                                             history["mean_repeat_value"].to_numpy()[rows])
    return pd.DataFrame({"expected_value_per_purchase": value, "spend_model": chosen}, index=history.index)


def check_horizon(horizon_days) -> int:
    """The CLV horizon as a whole number of days (a user parameter: a clear error otherwise)."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, float)) or horizon_days < 1 \
            or float(horizon_days) != int(horizon_days):
        raise SalesnbError(f"clv_horizon_days must be a whole number of days, at least 1 (e.g. 365), not {horizon_days!r}.")
    return int(horizon_days)


@metric
def customer_lifetime_value(dataset: Dataset, at: dt.date | str | None = None, *, where: Selection,
                            horizon_days: int = 365) -> LifetimeValue:
    """Fit the models on the orders of the selection up to ``at`` (a date; default the data's
    date) and value each customer over the next ``horizon_days``.

    Per customer (``customers``, beside the inputs of :func:`purchase_history`):
    ``probability_alive``, ``expected_purchases`` (purchase days in the horizon, BG/NBD),
    ``expected_value_per_purchase`` (Gamma-Gamma, by segment where it fits:
    :func:`fit_spend_by_segment`), ``spend_model`` and ``lifetime_value`` =
    expected_purchases x expected_value_per_purchase; sorted by lifetime value.
    ``not_measured`` says why values are missing when a model cannot be fitted. The fit is
    deterministic (no random start) and runs on one row per customer. No ``by``: the result
    is one fitted model; ask each value with its own ``where``.
    """
    horizon_days = check_horizon(horizon_days)
    at = as_day(dataset, at)
    history = purchase_history(dataset, at, where)
    result = LifetimeValue(at, horizon_days)
    result.purchases, result.not_measured = _fit_purchases(history)
    if result.purchases is None:
        return result
    result.spend = fit_spend_by_segment(history)
    customers = history.assign(
        probability_alive=probability_alive(result.purchases, history["x"], history["t_x"], history["T"]),
        expected_purchases=expected_purchases(result.purchases, horizon_days, history["x"], history["t_x"], history["T"]),
    ).join(value_per_purchase(result.spend, history))
    unvalued = int(customers["expected_value_per_purchase"].isna().sum())
    if unvalued:
        result.not_measured = (
            f"{unvalued:,} of {len(customers):,} customers have no expected value per purchase: the spend model "
            f"(Gamma-Gamma) needs at least {MIN_REPEAT_CUSTOMERS} customers with repeat purchases that have an amount, "
            "and a fit whose mean exists (q > 1; a smaller q means spend varies too widely between customers). "
            "Their expected purchases are shown, their value is not.")
    customers["lifetime_value"] = customers["expected_purchases"] * customers["expected_value_per_purchase"]
    result.customers = customers.sort_values(["lifetime_value", "expected_purchases", "account_id"],
                                             ascending=[False, False, True], na_position="last", ignore_index=True)
    return result


@dataclass
class HoldoutCheck:
    """Predicted against actual repeat purchases in a held-out window, by frequency bucket."""

    calibration_end: dt.date
    holdout_end: dt.date
    purchases: BgNbd | None = None
    by_frequency: pd.DataFrame = field(default_factory=pd.DataFrame)
    customers: int = 0
    predicted: float | None = None
    actual: int | None = None
    relative_error: float | None = None
    not_measured: str | None = None


@metric
def holdout_check(dataset: Dataset, at: dt.date | str | None = None, *, where: Selection,
                  holdout_days: int = 365) -> HoldoutCheck:
    """Fit BG/NBD on the orders of the selection up to ``at - holdout_days`` (calibration;
    ``at`` a date, default the data's date), predict each calibration customer's repeat
    purchases in the following ``holdout_days`` up to ``at``, and compare with the purchase
    days that happened there.

    ``by_frequency``: per bucket of calibration repeat purchases (0..5, 6 or more):
    ``customers``, ``actual_purchases`` and ``predicted_purchases`` (sums) and their means
    per customer. ``relative_error`` = (predicted - actual) / actual over all calibration
    customers (signed: above 0 the model expects too many purchases). No ``by``, as for
    :func:`customer_lifetime_value`.
    """
    holdout_days = check_horizon(holdout_days)
    end = as_day(dataset, at)
    calibration_end = end - dt.timedelta(days=holdout_days)
    check = HoldoutCheck(calibration_end, end)
    history = purchase_history(dataset, calibration_end, where)
    check.purchases, check.not_measured = _fit_purchases(history)
    if check.purchases is None:
        return check
    days = purchase_days(dataset, where)
    later = days.filter(days.ordered_at > calibration_end).filter(days.ordered_at <= end)
    actual = later.group_by("account_id").aggregate(actual=later.count()).execute()
    history = history.merge(actual, on="account_id", how="left").fillna({"actual": 0})
    history["predicted"] = expected_purchases(check.purchases, holdout_days, history["x"], history["t_x"], history["T"])
    top = FREQUENCY_BUCKETS[-1]
    history["bucket"] = history["x"].clip(upper=top)
    table = history.groupby("bucket").agg(customers=("account_id", "size"), actual_purchases=("actual", "sum"),
                                          predicted_purchases=("predicted", "sum"))
    table = table.reindex(FREQUENCY_BUCKETS, fill_value=0).reset_index()
    table.insert(0, "repeat_purchases_before", [str(bucket) if bucket < top else f"{top} or more"
                                                for bucket in table["bucket"]])
    table["actual_purchases"] = table["actual_purchases"].astype("int64")
    size = table["customers"].where(table["customers"] > 0)
    table["actual_purchases_per_customer"] = table["actual_purchases"] / size
    table["predicted_purchases_per_customer"] = table["predicted_purchases"] / size
    check.by_frequency = table.drop(columns="bucket")
    check.customers = len(history)
    check.actual = int(history["actual"].sum())
    check.predicted = float(history["predicted"].sum())
    check.relative_error = (check.predicted - check.actual) / check.actual if check.actual else None
    return check


def model_parameters(value: LifetimeValue) -> pd.DataFrame:
    """The fitted parameters, one row per model (``clv_model``, ``fitted_on``,
    ``fitted_parameters``): BG/NBD (r, alpha in days, a, b) and each Gamma-Gamma fit (p, q,
    gamma), with ``model_used``: whether any customer's value comes from it (a segment's fit
    when it converged with q > 1, else the pooled one)."""
    rows = []
    chosen = set(value.customers["spend_model"].dropna()) if "spend_model" in value.customers else set()
    if value.purchases is not None:
        model = value.purchases
        rows.append({"clv_model": "BG/NBD (purchases)", "fitted_on": ALL_SEGMENTS,
                     "fitted_parameters": f"r={model.r:.3g}, alpha={model.alpha:.3g} days, a={model.a:.3g}, "
                                          f"b={model.b:.3g}", "model_used": model.converged})
    for name, model in value.spend.items():
        rows.append({"clv_model": "Gamma-Gamma (value per purchase)", "fitted_on": name,
                     "fitted_parameters": f"p={model.p:.3g}, q={model.q:.3g}, gamma={model.gamma:,.0f}",
                     "model_used": name in chosen})
    return pd.DataFrame(rows, columns=["clv_model", "fitted_on", "fitted_parameters", "model_used"])


def totals(value: LifetimeValue) -> dict:
    """``lifetime_value`` (sum over the valued customers; None when none is valued),
    ``expected_purchases`` (sum over all customers), ``customers`` and ``valued_customers``."""
    customers = value.customers
    if customers.empty:
        return {"lifetime_value": None, "expected_purchases": None, "customers": 0, "valued_customers": 0}
    valued = customers["lifetime_value"].notna()
    return {"lifetime_value": float(customers.loc[valued, "lifetime_value"].sum()) if valued.any() else None,
            "expected_purchases": float(customers["expected_purchases"].sum()),
            "customers": len(customers), "valued_customers": int(valued.sum())}
