"""05_accounts executed with papermill; every KPI it records is checked against an
independent computation in plain pandas (and, for the CLV check, a separate BG/NBD fit in
numpy/scipy) on the sample CSV files, without salesnb's metric code."""

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook

START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")
PREVIOUS_START, PREVIOUS_END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")
HORIZON = 365


def read_orders(folder, segment=None):
    orders = pd.read_csv(folder / "orders.csv", dtype={"order_id": str, "account_id": str}, parse_dates=["ordered_at"])
    if segment is not None:
        accounts = pd.read_csv(folder / "accounts.csv", dtype={"account_id": str})
        orders = orders[orders["account_id"].isin(accounts.loc[accounts["segment"] == segment, "account_id"])]
    return orders.sort_values(["account_id", "ordered_at", "order_id"], ignore_index=True)


def order_days(orders, until):
    """Distinct (account, day) pairs up to ``until``, numbered per account, with the gap in days."""
    days = orders.loc[orders["ordered_at"] <= until, ["account_id", "ordered_at"]].drop_duplicates()
    days = days.sort_values(["account_id", "ordered_at"], ignore_index=True)
    days["number"] = days.groupby("account_id").cumcount() + 1
    days["gap"] = days.groupby("account_id")["ordered_at"].diff().dt.days
    return days


def quintiles(values, higher_is_better=True):
    """1 + floor(5 x (customers strictly worse) / customers), by brute-force comparison."""
    values = np.asarray(values, dtype=float)
    worse = (values[None, :] < values[:, None]) if higher_is_better else (values[None, :] > values[:, None])
    return 1 + np.floor(5 * worse.sum(axis=1) / len(values))


def rfm_name(r, f):
    if r >= 4 and f >= 4:
        return "Champions"
    if r >= 3 and f >= 4:
        return "Loyal"
    if r >= 3 and f >= 2:
        return "Potential loyalists"
    if r >= 4:
        return "New customers"
    if r == 3:
        return "Need attention"
    if f >= 3:
        return "At risk"
    return "Hibernating" if r == 2 else "Lost"


def bgnbd_holdout_prediction(x, t_x, T, t):
    """BG/NBD in the paper's factorised form (A1 A2 (A3 + delta A4)), fitted with Nelder-Mead
    from a different start; the expected purchases in (T, T + t] summed over customers."""
    x, t_x, T = (np.asarray(value, dtype=float) for value in (x, t_x, T))

    def negative(log_params):
        r, alpha, a, b = np.exp(log_params)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
        a3 = np.exp(-(r + x) * np.log(alpha + T))
        a4 = np.where(x > 0, a / np.where(x > 0, b + x - 1, 1) * np.exp(-(r + x) * np.log(alpha + t_x)), 0)
        total = (a1 + a2 + np.log(a3 + a4)).sum()
        return -total if np.isfinite(total) else np.inf

    start = np.log([0.5, float(np.mean(T)) / 4, 0.5, 2.0])
    fit = optimize.minimize(negative, start, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40_000, "maxfev": 40_000})
    r, alpha, a, b = np.exp(fit.x)
    expected = ((a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
                                             * special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))))
    expected /= 1 + (x > 0) * a / np.where(x > 0, b + x - 1, 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return float(expected.sum())


def expected_kpis(folder, segment=None):
    orders = read_orders(folder, segment)
    until = orders[orders["ordered_at"] <= END]
    in_period = until[until["ordered_at"] >= START]
    first = orders.groupby("account_id")["ordered_at"].min()
    second = orders.groupby("account_id")["ordered_at"].nth(1)
    second = pd.Series(second.to_numpy(), index=orders.loc[second.index, "account_id"])
    customers = in_period["account_id"].unique()
    counts = until.groupby("account_id").size()
    is_first = ~orders.duplicated("account_id")  # the first row of each account, sorted by date then id
    repeat_revenue = orders.loc[~is_first & orders.index.isin(in_period.index), "amount"].sum()
    kpis = {
        "customers": len(customers),
        "orders": len(in_period),
        "revenue": in_period["amount"].sum(),
        "new_customers": int(first.between(START, END).sum()),
        "repeat_purchase_rate": float((counts.reindex(customers) >= 2).mean()),
        "revenue_from_repeat_share": repeat_revenue / in_period["amount"].sum(),
        "same_day_orders": int((in_period.groupby(["account_id", "ordered_at"]).size() - 1).sum()),
    }
    for horizon in (90, 180, 365):
        window = first[first.between(START - pd.Timedelta(days=horizon), END - pd.Timedelta(days=horizon))]
        repeated = (second.reindex(window.index) - window).dt.days <= horizon
        kpis[f"repeat_purchase_rate_{horizon}d"] = float(repeated.mean())

    def revenue(frame, low, high):
        return frame[frame["ordered_at"].between(low, high)].groupby("account_id")["amount"].sum()

    before, now = revenue(orders, PREVIOUS_START, PREVIOUS_END), revenue(orders, START, END)
    base = before[before > 0]
    after = now.reindex(base.index).fillna(0)
    kpis["nrr"] = after.sum() / base.sum()
    kpis["grr"] = np.minimum(after, base).sum() / base.sum()
    kpis["top10_revenue_share"] = now.sort_values(ascending=False).head(10).sum() / now.sum()

    days = order_days(orders, END)
    kpis["median_days_between_orders"] = days.loc[(days["number"] > 1) & (days["ordered_at"] >= START), "gap"].median()
    per_account = days.groupby("account_id").agg(n=("ordered_at", "size"), last=("ordered_at", "max"),
                                                 median_gap=("gap", "median"))
    regular = per_account[per_account["n"] >= 3]
    kpis["overdue_accounts"] = int(((END - regular["last"]).dt.days > 2 * regular["median_gap"]).sum())

    history = until.groupby("account_id").agg(last=("ordered_at", "max"), orders=("order_id", "size"))
    r = quintiles((END - history["last"]).dt.days, higher_is_better=False)
    f = quintiles(history["orders"])
    names = pd.Series([rfm_name(r_score, f_score) for r_score, f_score in zip(r, f)])
    kpis["rfm_segment_counts"] = {name: int((names == name).sum()) for name in
                                  ["Champions", "Loyal", "Potential loyalists", "New customers", "Need attention",
                                   "At risk", "Hibernating", "Lost"]}

    calibration_end = END - pd.Timedelta(days=HORIZON)
    calibration = order_days(orders, calibration_end).groupby("account_id").agg(
        days=("ordered_at", "size"), first=("ordered_at", "min"), last=("ordered_at", "max"))
    holdout = order_days(orders, END)
    holdout = holdout[holdout["ordered_at"] > calibration_end].groupby("account_id").size()
    actual = int(holdout.reindex(calibration.index).fillna(0).sum())
    predicted = bgnbd_holdout_prediction(calibration["days"] - 1, (calibration["last"] - calibration["first"]).dt.days,
                                         (calibration_end - calibration["first"]).dt.days, HORIZON)
    kpis.update(clv_holdout_actual_purchases=actual, clv_holdout_predicted_purchases=predicted,
                clv_holdout_error=(predicted - actual) / actual)
    return kpis


PARAMETERS = {"period_start": str(START.date()), "period_end": str(END.date()), "clv_horizon_days": HORIZON}
EXACT = ["customers", "orders", "new_customers", "same_day_orders", "overdue_accounts", "clv_holdout_actual_purchases"]
CLV_MODEL = ["clv_holdout_predicted_purchases", "clv_holdout_error"]


@pytest.fixture(scope="module")
def sample_run(sample_dir, tmp_path_factory):
    _, kpis = execute_notebook("05_accounts", {"data_dir": str(sample_dir), **PARAMETERS},
                               tmp_path_factory.mktemp("accounts"))
    return kpis


def test_accounts_notebook_kpis(sample_dir, sample_run):
    expected = expected_kpis(sample_dir)
    assert set(expected) <= set(sample_run)
    for name in EXACT:
        assert sample_run[name] == expected[name], name
    assert sample_run["rfm_segment_counts"] == expected["rfm_segment_counts"]
    for name in set(expected) - set(EXACT) - set(CLV_MODEL) - {"rfm_segment_counts"}:
        assert sample_run[name] == pytest.approx(expected[name], rel=1e-9), name
    # Two different fits of the same likelihood (optimiser, start, algebra) agree closely.
    for name in CLV_MODEL:
        assert sample_run[name] == pytest.approx(expected[name], rel=1e-3, abs=1e-3), name
    # The sample is shaped like a B2B customer base: sanity bounds, not exact values.
    assert 0.3 < sample_run["repeat_purchase_rate"] < 0.8
    assert abs(sample_run["clv_holdout_error"]) < 0.3


def test_accounts_notebook_never_reads_the_deals(sample_dir, sample_run, tmp_path):
    # The same orders and accounts beside one unrelated deal (instead of ~2,000 deals, their
    # history, leads and activities): every recorded number is the same, so the account
    # report uses nothing from opportunities.
    folder = tmp_path / "data"
    folder.mkdir()
    for table in ("orders", "accounts"):
        shutil.copy(sample_dir / f"{table}.csv", folder / f"{table}.csv")
    (folder / "opportunities.csv").write_text(
        "opportunity_id,created_at,close_date,stage,amount\nX1,2025-12-31,2026-03-31,Prospecting,1000\n")
    _, kpis = execute_notebook("05_accounts", {"data_dir": str(folder), **PARAMETERS, "cohort_grain": "quarter"},
                               tmp_path)
    assert kpis == sample_run


def test_accounts_notebook_segment_filter(sample_dir, tmp_path):
    _, kpis = execute_notebook("05_accounts", {"data_dir": str(sample_dir), **PARAMETERS, "segment": "SMB"}, tmp_path)
    expected = expected_kpis(sample_dir, segment="SMB")
    for name in ("customers", "orders", "overdue_accounts"):
        assert kpis[name] == expected[name], name
    for name in ("revenue", "repeat_purchase_rate", "nrr", "grr", "top10_revenue_share"):
        assert kpis[name] == pytest.approx(expected[name], rel=1e-9), name
    assert kpis["rfm_segment_counts"] == expected["rfm_segment_counts"]
