"""06_plan executed with papermill on the sample; the KPIs it records are checked against an
independent computation in plain pandas and numpy on the CSV files, written from the
definitions in docs/metrics.md (section Plan): the target, the open pipeline's expected wins
(the forecast engine's learning redone in pandas), the creation-to-win curve and the reverse
funnel, the lead plan, the levers. The lifetime-value model's repeat revenue and the
simulation have no closed form: they are checked by their structure."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from salesnb.data.playbook import load_playbook
from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook

NAME = "06_plan"
PLAYBOOK = load_playbook()
OPEN_STAGES = PLAYBOOK.open_stages
WON, LOST = PLAYBOOK.won_stages[0], PLAYBOOK.lost_stages[0]
MONTH = 365.25 / 12
T = pd.Timestamp("2025-12-31")  # the sample's data date
P_START, P_END = pd.Timestamp("2026-04-01"), pd.Timestamp("2026-06-30")  # next_fiscal_quarter at T
GROWTH = 0.2


def read(folder):
    deals = pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str, "rep_id": str},
                        parse_dates=["created_at", "close_date"])
    history = pd.read_csv(folder / "opportunity_history.csv", dtype={"opportunity_id": str},
                          parse_dates=["changed_at"]).sort_values(["opportunity_id", "changed_at"], kind="stable")
    history["day"] = history["changed_at"].dt.normalize()
    orders = pd.read_csv(folder / "orders.csv", dtype={"opportunity_id": str}, parse_dates=["ordered_at"])
    leads = pd.read_csv(folder / "leads.csv", dtype={"opportunity_id": str},
                        parse_dates=["created_at", "converted_at"])
    return deals, history, orders, leads


def booked(deals, orders, start, end) -> float:
    """Won deals by close date + repeat orders without a deal (not the account's first order)."""
    won = deals.loc[(deals["stage"] == WON) & deals["close_date"].between(start, end), "amount"].sum()
    ordered = orders.sort_values(["account_id", "ordered_at", "order_id"])
    first = ~ordered.duplicated("account_id")
    repeat = ordered[~first & ordered["opportunity_id"].isna() & ordered["ordered_at"].between(start, end)]
    return float(won + repeat["amount"].sum())


def band(age):
    return np.select([age >= 181, age >= 91, age >= 31, age >= 0], ["over 180 d", "91–180 d", "31–90 d", "0–30 d"],
                     None)


def expected_from_open(deals, history) -> float:
    """The forecast engine's expected wins in P of the deals open at T, learned in pandas."""
    first, last = max((P_START - T).days, 1), (P_END - T).days
    start = min(deals["created_at"].min(), history["day"].min())
    ends = [end for end in pd.date_range(end=T - pd.Timedelta(days=1), periods=12, freq="ME") if end >= start]
    outcome = deals.set_index("opportunity_id")
    rows = []
    for end in ends:
        state = history[history["day"] <= end].groupby("opportunity_id").tail(1).set_index("opportunity_id")
        state = state[state["stage"].isin(OPEN_STAGES)]
        now = outcome.loc[state.index]
        closed = now["stage"].isin([WON, LOST])
        days = ((now["close_date"] - end).dt.days).clip(lower=1)
        won = now["stage"] == WON
        rows.append(pd.DataFrame({"stage": state["stage"], "band": band((end - now["created_at"]).dt.days.to_numpy()),
                                  "closed": closed, "won": won & closed,
                                  "in_window": won & closed & days.between(first, last)})[closed])
    learned = pd.concat(rows)
    cells = learned.groupby(["stage", "band"])[["closed", "won", "in_window"]].sum()
    stages = learned.groupby("stage")[["closed", "won", "in_window"]].sum()
    timing = stages["in_window"].sum() / stages["won"].sum()
    minimum = PLAYBOOK.min_deals_for_ranking
    open_deals = deals[deals["stage"].isin(OPEN_STAGES)]
    total = 0.0
    for row in open_deals.itertuples():
        key = (row.stage, band(np.array([(T - row.created_at).days]))[0])
        if key in cells.index and cells.loc[key, "closed"] >= minimum:
            probability = cells.loc[key, "in_window"] / cells.loc[key, "closed"]
        elif row.stage in stages.index and stages.loc[row.stage, "closed"] >= minimum:
            probability = stages.loc[row.stage, "in_window"] / stages.loc[row.stage, "closed"]
        else:
            probability = PLAYBOOK.probability(row.stage) * timing
        total += probability * (0.0 if pd.isna(row.amount) else row.amount)
    return total


def curve(observed, events, weights=None):
    """n(u), e(u) and the cumulative shares of docs/metrics.md (creation-to-win curve)."""
    observed = np.asarray(observed, dtype=int)
    days = observed.max() + 1
    at_risk = np.array([(observed >= day).sum() for day in range(days)])
    events = np.asarray(events, dtype=float)
    reached = ~np.isnan(events) & (events <= observed)
    counts = np.bincount(events[reached].astype(int), minlength=days)[:days]
    share = np.cumsum(counts / at_risk)
    if weights is None:
        return share
    amounts = np.bincount(events[reached].astype(int), weights=np.asarray(weights)[reached], minlength=days)[:days]
    return share, np.cumsum(amounts / at_risk)


def in_period(values, offsets):
    def value(lag):
        return np.where(lag < 0, 0.0, values[np.clip(lag, 0, len(values) - 1)])
    return value((P_END - T).days - offsets) - value((P_START - T).days - 1 - offsets)


def expected_plan(folder, kpis) -> dict:
    deals, history, orders, leads = read(folder)
    last_year = booked(deals, orders, pd.Timestamp("2025-04-01"), pd.Timestamp("2025-06-30"))
    target = last_year * (1 + GROWTH)
    # The creation-to-win curve over the deals created in the 730 days up to T.
    cohort = deals[deals["created_at"].between(T - pd.Timedelta(days=729), T)]
    won = cohort["stage"] == WON
    lag = (cohort["close_date"] - cohort["created_at"]).dt.days.where(won)
    share, value = curve((T - cohort["created_at"]).dt.days, lag, cohort["amount"])
    offsets = np.arange(1, (P_END - T).days + 1)
    a = in_period(value, offsets)
    gap = target - kpis["expected_from_open_pipeline"] - kpis["plan_expected_repeat_revenue"]
    per_day = gap / a.sum()
    recent = deals[deals["created_at"].between(T - pd.Timedelta(days=364), T)]
    current = deals["created_at"].between(T - pd.Timedelta(days=90), T).sum() / 91
    # Leads: per source (fewer than 30 leads pooled), h(u), f_s and the open leads at T.
    leads = leads[leads["created_at"].dt.normalize().between(T - pd.Timedelta(days=729), T)].copy()
    leads["age"] = (T - leads["created_at"].dt.normalize()).dt.days
    leads["converted"] = (leads["converted_at"].dt.normalize() - leads["created_at"].dt.normalize()).dt.days
    leads.loc[leads["converted"] > leads["age"], "converted"] = np.nan
    counts = leads["source"].value_counts()
    leads["planned"] = leads["source"].where(leads["source"].map(counts) >= 30, "Other sources")
    linked = pd.read_csv(folder / "leads.csv", dtype={"opportunity_id": str}, parse_dates=["created_at"])
    linked = linked.dropna(subset=["opportunity_id"]).sort_values(["created_at", "lead_id"])
    linked = linked.drop_duplicates("opportunity_id")  # each deal credited to its earliest lead
    linked = linked[linked["opportunity_id"].isin(recent["opportunity_id"]) & linked["lead_id"].isin(leads["lead_id"])]
    source_of = leads.set_index("lead_id")["planned"]
    from_source = linked["lead_id"].map(source_of).value_counts()
    padded = np.r_[a, np.zeros(800)]
    leads_per_month = {}
    for source, group in leads.groupby("planned"):
        cumulative = curve(group["age"], group["converted"])
        daily = np.diff(np.r_[0.0, cumulative])
        per_lead = np.array([np.dot(daily, padded[c - 1: c - 1 + len(daily)]) for c in offsets])
        opened = 0.0
        for age in group.loc[group["converted"].isna(), "age"]:
            later = daily[age + 1: age + 1 + len(a)]
            opened += float(np.dot(later, a[:len(later)])) / (1 - cumulative[min(age, len(cumulative) - 1)])
        share_of_deals = from_source.get(source, 0) / len(recent)
        leads_per_month[source] = max(gap * share_of_deals - opened, 0) / per_lead.sum() * MONTH
    leads_per_month["total"] = sum(leads_per_month.values())
    from_leads = from_source.sum() / len(recent)
    new = current * a.sum()
    return {
        "plan_target": target, "plan_booked_so_far": 0.0,
        "expected_from_open_pipeline": expected_from_open(deals, history),
        "plan_gap": gap, "required_new_deals_per_month": per_day * MONTH,
        "required_new_pipeline_per_month": per_day * MONTH * recent["amount"].mean(),
        "current_new_deals_per_month": current * MONTH, "required_vs_current_deals": per_day / current,
        "required_leads_per_month": leads_per_month,
        "lever_impact": {"deal_size_plus_10_percent": 0.1 * new, "lead_to_deal_plus_10_percent": 0.1 * new * from_leads,
                         "win_rate_plus_1_point": (kpis["expected_from_open_pipeline"] + new) * 0.01 / share[-1]},
    }


def test_plan_kpis_on_the_sample(sample_dir, tmp_path):
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir)}, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    expected = expected_plan(sample_dir, recorded)
    for name, value in expected.items():
        if isinstance(value, dict):
            for key, item in value.items():
                assert recorded[name][key] == pytest.approx(item, rel=1e-9), f"{name}[{key}]"
        else:
            assert recorded[name] == pytest.approx(value, rel=1e-9), name
    assert set(recorded["required_leads_per_month"]) == set(expected["required_leads_per_month"])
    # The simulation and the models without a closed form: by their structure.
    assert recorded["plan_gap_p10"] <= recorded["plan_gap_p50"] <= recorded["plan_gap_p90"]
    assert recorded["plan_gap_p90"] <= recorded["plan_target"] - recorded["plan_expected_repeat_revenue"] + 1e-6
    assert 0 < recorded["plan_expected_repeat_revenue"] < 0.3 * recorded["plan_target"]
    reps = pd.read_csv(sample_dir / "reps.csv")
    sellers = reps[reps["team"] != "Sales Leadership"]
    assert set(recorded["required_hires"]) == set(sellers["team"])
    assert all(isinstance(value, int) and value >= 0 for value in recorded["required_hires"].values())
    assert recorded["plan_attrition_per_month"] == 0  # nobody left in 2025; one rep leaves in 2026
    assert set(recorded["lever_impact"]) == {"win_rate_plus_1_point", "deal_size_plus_10_percent",
                                             "cycle_minus_10_days", "lead_to_deal_plus_10_percent",
                                             "one_more_ramped_rep"}
    assert 0.5 < recorded["plan_backtest_ratio"] < 2 and 0.5 < recorded["plan_backtest_leads_ratio"] < 2
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "20% (growth parameter" in shown and re.search("Siobhán O(&#x27;|&#39;|')Brien", shown)  # leaving
    assert ("can be trusted" in shown or "at face value" in shown) and "<pre>None</pre>" not in shown


def test_plan_of_a_team_with_a_target_and_the_next_fiscal_year(sample_dir, tmp_path):
    """A team, a target given, a year ahead: repeat orders are not the team's, spend is not
    split by team, a year-long backtest has no history: each said on the page, never 0."""
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir), "team": "Enterprise",
                                                 "period": "next_fiscal_year", "target": 20_000_000}, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    assert recorded["plan_target"] == 20_000_000 and recorded["plan_expected_repeat_revenue"] is None
    assert recorded["required_new_deals_per_month"] > 0 and recorded["plan_lead_cost_per_month"] is None
    assert set(recorded["required_hires"]) == {"Enterprise"}
    assert recorded["plan_backtest_ratio"] is None
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "belong to no team, rep or source" in shown and "Not enough history to check the plan" in shown
    assert "cannot be split by team" in shown


def test_a_selection_without_deals_has_nothing_to_plan(sample_dir, tmp_path):
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir), "team": "Sales Leadership"}, tmp_path)
    assert recorded == {}
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "No deal belongs to this selection (team Sales Leadership)" in shown
