"""The same metrics on two engines: what each report's metric layer returns, flattened, and
a comparison that is exact for counts and within 1e-9 for rates and amounts.

``METRIC_SETS`` names, per report, a function of (dataset, period) returning every number the
report's metric layer gives (its KPIs and its tables). A new report's metrics are one more
line there.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from salesnb.data.periods import Period, resolve_quarter
from salesnb.data.selection import select
from salesnb.metrics import (
    backtest,
    conversion,
    coverage,
    findings,
    forecast,
    funnel,
    health,
    inspection,
    leads,
    marketing,
    orders,
    pipeline,
    snapshots,
    waterfall,
)
from salesnb.report.findings.conversion import conversion_findings
from salesnb.report.findings.leads import lead_generation_findings
from salesnb.report.findings.pipeline import pipeline_review_findings

PERIOD = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
TOLERANCE = 1e-9


def conversion_metrics(dataset, period: Period) -> dict:
    return {
        "summary": conversion.summary(dataset, period),
        "summary_previous": conversion.summary(dataset, period.previous()),
        "velocity": conversion.sales_velocity(dataset, period),
        **{f"win_rates_by_{by}": conversion.win_rates(dataset, period, by=by)
           for by in ("rep", "team", "source", "segment", "month", "quarter")},
        "sales_cycle_by_segment": conversion.sales_cycle(dataset, period, by="segment"),
        "open_deal_age": conversion.open_deal_age(dataset),
        "loss_reasons": conversion.loss_reasons(dataset, period),
        "stage_funnel": funnel.stage_funnel(dataset, period),
        "time_in_stage": funnel.time_in_stage(dataset, period),
        "team_filter": conversion.summary(dataset, period, where=select(team="Enterprise")),
        "findings": _conversion_findings(dataset, period),
    }


def _conversion_findings(dataset, period: Period) -> list[str]:
    """The conversion report's findings, from the views it computes for both periods."""
    both = (period, period.previous())
    return findings.sentences(conversion_findings(
        win_rates={by: [conversion.win_rates(dataset, window, by=by) for window in both] for by in ("team", "source")},
        deals_created=[conversion.deals_created(dataset, window, by="source") for window in both],
        sales_cycle=[conversion.sales_cycle(dataset, window) for window in both]))


def lead_metrics(dataset, period: Period) -> dict:
    return {
        "measured_steps": leads.measured_steps(dataset),
        "conversion": leads.lead_conversion(dataset, period),
        "conversion_by_source": leads.lead_conversion(dataset, period, by="source"),
        "conversion_by_month": leads.lead_conversion(dataset, period, by="month"),
        "source_ranking": leads.source_quality_ranking(dataset, period),
        "lead_to_won_lag": leads.lead_to_won_lag(dataset),
        "response_speed": leads.response_speed(dataset, period),
        "response_speed_by_rep": leads.response_speed(dataset, period, by="rep"),
        "conversion_by_response_time": leads.conversion_by_response_time(dataset, period),
        "leads_by_month": leads.leads_by_month(dataset, period, by="source"),
        "volume_comparison": leads.lead_volume_comparison(dataset, period, by="source"),
        "backlog_by_age": leads.open_lead_backlog(dataset, by="age"),
        "backlog_by_rep": leads.open_lead_backlog(dataset, by="rep"),
        "costs_by_campaign": marketing.marketing_costs(dataset, period, by="campaign"),
        "total_costs": marketing.total_costs(dataset, period),
        "pipeline_by_source": marketing.pipeline_by_source(dataset, period),
        "pipeline_by_source_month": marketing.pipeline_by_source_month(dataset, period),
        "findings": findings.sentences(lead_findings(dataset, period)),
    }


def lead_findings(dataset, period: Period) -> list:
    """The lead report's findings, from its views as 01_lead_generation computes them."""
    both = (period, period.previous())
    speed, by_source, by_rep = ([leads.response_speed(dataset, window, by=by) for window in both]
                                for by in (None, "source", "rep"))
    return lead_generation_findings(
        mature=[leads.lead_conversion(dataset, window, mature_only=True) for window in both],
        mature_by_source=[leads.source_quality_ranking(dataset, window) for window in both],
        speed=speed, speed_by_source=by_source, speed_by_rep=by_rep,
        volume_by_source=leads.lead_volume_comparison(dataset, period, by="source"),
        campaign_costs=marketing.marketing_costs(dataset, period, by="campaign"),
        sla_hours=dataset.playbook.lead_response_sla_hours, currency=dataset.playbook.currency)


def pipeline_metrics(dataset, period: Period) -> dict:
    """The pipeline review's metrics on its default target (the quarter still open at the
    data's date); the simulation with few runs (the same inputs give the same draws)."""
    quarter = resolve_quarter(None, None, dataset.as_of, dataset.playbook.fiscal_year_start_month)
    calibration = pipeline.stage_calibration(dataset)
    calibrated = pipeline.calibrated_probabilities(calibration)
    checks = inspection.inspect_open_deals(dataset)
    moved = waterfall.waterfall(dataset, quarter, start_date=waterfall.compare_date(None, dataset.as_of))
    states = snapshots.pipeline_as_of(dataset, [dt.date(2025, 6, 30), dataset.as_of]).execute()
    outlook = forecast.forecast(dataset, quarter, simulations=200)
    return {
        "as_of": states.sort_values(["as_of_date", "opportunity_id"]),
        "open_pipeline": pipeline.open_pipeline(dataset, calibrated=calibrated),
        **{f"open_pipeline_by_{by}": pipeline.open_pipeline(dataset, by=by, calibrated=calibrated)
           for by in ("stage", "close_month", "team", "rep")},
        "calibration": calibration,
        "coverage_by_team": coverage.coverage(dataset, quarter, by="team"),
        "coverage_by_rep": coverage.coverage(dataset, quarter, by="rep"),
        "inspection": checks.deals, "inspection_by_rep": inspection.by_rep(checks),
        "waterfall": moved.totals, "waterfall_counts": moved.counts, "waterfall_deals": moved.deals,
        "forecast": outlook.quantiles(), "forecast_count": outlook.quantiles("count"),
        "forecast_model": outlook.model.cells, "forecast_deals": outlook.open_deals,
        "backtest": backtest.backtest(dataset, quarter, periods=4, simulations=200),
        "findings": findings.sentences(pipeline_review_findings(
            moved, checks, coverage.coverage(dataset, quarter, by="team"), currency=dataset.playbook.currency)),
    }


METRIC_SETS = {
    "conversion": conversion_metrics,
    "leads": lead_metrics,
    "pipeline": pipeline_metrics,
}


def currency_metrics(dataset, period: Period) -> dict:
    """What the conversion of amounts in several currencies feeds (the multi-currency sample):
    the converted tables, won and lost amounts (close-date rates), the open pipeline (the data
    date's), orders (order-date rates), the pipeline on past dates and a waterfall over a month
    end (a rate change: its currency effect), the amounts by currency of the data health report."""
    quarter = resolve_quarter(None, None, dataset.as_of, dataset.playbook.fiscal_year_start_month)
    over_a_rate_change = waterfall.waterfall(dataset, quarter, start_date="2025-11-20")
    return {
        "opportunities": dataset.table("opportunities").execute().sort_values("opportunity_id"),
        "orders": dataset.table("orders").execute().sort_values("order_id"),
        "win_rates_by_month": conversion.win_rates(dataset, period, by="month"),
        "open_pipeline_by_stage": pipeline.open_pipeline(dataset, by="stage"),
        "as_of": snapshots.pipeline_as_of(dataset, [dt.date(2025, 3, 31), dt.date(2025, 9, 30)]).execute()
        .sort_values(["as_of_date", "opportunity_id"]),
        "waterfall": over_a_rate_change.totals, "waterfall_deals": over_a_rate_change.deals,
        "reconciles": over_a_rate_change.reconciles,
        "amounts_by_currency": health.amounts_by_currency(dataset),
        "order_values": orders.order_facts(dataset).execute().sort_values("order_id")[["order_id", "amount"]],
    }


def _plain(value):
    """One cell as a comparable Python value: dates and timestamps as ISO text (engines
    differ in time-zone tagging and date types), numbers as float, missing as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_convert(None) if stamp.tzinfo else stamp
        return stamp.isoformat()
    if isinstance(value, dt.date):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) or hasattr(value, "__float__"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def flatten(result) -> dict:
    """``{name: value}`` for a dict or frame: a frame's cells keyed by row number and column."""
    if isinstance(result, pd.DataFrame):
        frame = result.reset_index(drop=True)
        return {f"[{row}].{column}": _plain(frame.at[row, column]) for row in frame.index for column in frame.columns}
    if isinstance(result, pd.Series):
        return flatten(result.to_dict())
    if isinstance(result, list):  # e.g. the findings' sentences, numbers formatted in them
        return flatten({f"[{index}]": item for index, item in enumerate(result)})
    if isinstance(result, dict):
        flat = {}
        for key, value in result.items():
            inner = flatten(value) if isinstance(value, (dict, list, pd.DataFrame, pd.Series)) else {"": _plain(value)}
            flat.update({f"{key}{name}": item for name, item in inner.items()})
        return flat
    return {"": _plain(result)}


def differences(expected: dict, actual: dict) -> list[str]:
    """Every number that differs: counts (whole numbers) exactly, others within 1e-9
    (relative, or absolute near 0); text and missing values exactly."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in expected or name not in actual:
            problems.append(f"{name}: only on {'the first' if name in expected else 'the second'} engine")
            continue
        left, right = expected[name], actual[name]
        if isinstance(left, float) and isinstance(right, float):
            if left.is_integer() and right.is_integer():
                same = left == right
            else:
                same = math.isclose(left, right, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
        else:
            same = left == right
        if not same:
            problems.append(f"{name}: {left!r} != {right!r}")
    return problems
