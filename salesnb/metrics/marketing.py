"""Marketing cost and marketing-sourced pipeline.

Cost metrics need the optional ``marketing_spend`` table; pipeline and won value by source
need only opportunities (and leads, to give a deal its lead's source).

Conventions (also in ``docs/metrics.md``):

- Spend counts for the period when its ``month`` (truncated to the first day of the
  month) lies between the first day of the period's first month and the period's end.
- Leads, opportunities and won deals are the *cohort* of leads created in the period (see
  ``salesnb.metrics.leads``): the opportunities and won deals those leads produced, whenever.
  Recent months' leads have not finished converting, so their cost per won deal is high.
- Opportunities and won deals are counted as distinct deals: a deal linked from several
  leads counts once, for the earliest of them (``leads.lead_facts``: ``deal_credited``), the
  same lead that gives the deal its source in :func:`deals_with_lead_source`.
- Cost per X = spend / X only where spend > 0 and X > 0; otherwise NaN (shown as "–"),
  never 0 or infinity. ``spend_note`` says why: ``no spend`` (no or zero spend recorded)
  or ``spend, no leads``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.metrics import leads as lead_metrics
from salesnb.metrics.deals import amounts_recorded, outcome

NO_SPEND, SPEND_NO_LEADS = "no spend", "spend, no leads"

# by= option -> (columns in the lead facts, columns in the spend table after labelling)
COST_GROUPINGS = {
    "source": ["source"],
    "campaign": ["source", "campaign"],
    "month": ["month"],
    "source_month": ["source", "month"],
}


def spend_in(dataset: Dataset, period: Period) -> ir.Table:
    """Spend rows of the months the period touches, with ``month`` on the month's first day
    and an empty campaign labelled like the leads' (``(no campaign)``)."""
    spend = dataset.table("marketing_spend", needed_for="cost per lead, per opportunity and per won deal")
    first_month = period.start.replace(day=1)
    spend = spend.mutate(month=spend.month.truncate("M"),
                         campaign=spend.campaign.fill_null(lead_metrics.NO_CAMPAIGN))
    return spend.filter(spend.month.between(first_month, period.end))


def _safe_ratio(numerator: pd.Series, denominator: pd.Series, spend: pd.Series) -> pd.Series:
    """numerator / denominator where spend > 0 and the denominator > 0; NaN otherwise."""
    valid = (spend > 0) & (denominator > 0)
    return (numerator / denominator.where(valid)).where(valid)


def marketing_costs(dataset: Dataset, period: Period, by: str = "source") -> pd.DataFrame:
    """Cost per lead, per opportunity and per won deal, and won value per unit of spend.

    For each group (``by``: ``source``, ``campaign`` (source and campaign), ``month`` or
    ``source_month``): ``spend`` = sum of marketing_spend.amount in the period;
    ``leads`` = leads created in the period; ``opportunities`` = distinct opportunities of
    those leads (each linked deal once, plus each converted lead without a linked deal);
    ``won_deals`` = distinct won deals of those leads; ``won_amount`` = the sum of those won
    deals' amounts, each deal once. A deal linked from several leads is credited to the
    earliest of them (its group, month and period).

    - ``cost_per_lead`` = spend / leads
    - ``cost_per_opportunity`` = spend / opportunities
    - ``cost_per_won_deal`` = spend / won_deals
    - ``won_amount_per_spend`` = won_amount / spend

    Each is NaN where spend is 0 or absent, or the count is 0 (``spend_note`` says which).
    Groups that have spend but no leads, or leads but no spend, both appear.
    """
    if by not in COST_GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(COST_GROUPINGS)}, not {by!r}")
    keys = COST_GROUPINGS[by]
    steps = lead_metrics.measured_steps(dataset)
    value_measured = lead_metrics.won_value_measured(dataset)
    facts = lead_metrics.created_in(lead_metrics.lead_facts(dataset), period)
    facts = facts.mutate(month=facts.cohort_month)
    unknown = ibis.null().cast("float64")
    outcomes = facts.group_by(keys).aggregate(
        leads=facts.count(),
        opportunities=facts.counts_opportunity.cast("int64").sum() if steps["opportunity"] else unknown,
        won_deals=facts.counts_won_deal.cast("int64").sum() if steps["won"] else unknown,
        won_amount=facts.won_amount.sum().fill_null(0.0) if value_measured else unknown,
    )
    spend = spend_in(dataset, period)
    spend = spend.group_by(keys).aggregate(spend=spend.amount.sum())
    joined = outcomes.outer_join(spend, [outcomes[key] == spend[key] for key in keys])
    table = joined.select(
        **{key: joined[key].fill_null(joined[f"{key}_right"]) for key in keys},
        spend=joined.spend.fill_null(0.0),
        leads=joined.leads.fill_null(0),
        opportunities=joined.opportunities.cast("float64").fill_null(0.0) if steps["opportunity"] else unknown,
        won_deals=joined.won_deals.cast("float64").fill_null(0.0) if steps["won"] else unknown,
        won_amount=joined.won_amount.fill_null(0.0) if value_measured else unknown,
    )
    frame = table.execute()
    spend_values = frame["spend"]
    frame["cost_per_lead"] = _safe_ratio(spend_values, frame["leads"].astype("float64"), spend_values)
    frame["cost_per_opportunity"] = _safe_ratio(spend_values, frame["opportunities"], spend_values)
    frame["cost_per_won_deal"] = _safe_ratio(spend_values, frame["won_deals"], spend_values)
    frame["won_amount_per_spend"] = (frame["won_amount"] / spend_values.where(spend_values > 0))
    frame["spend_note"] = ""
    frame.loc[spend_values <= 0, "spend_note"] = NO_SPEND
    frame.loc[(spend_values > 0) & (frame["leads"] == 0), "spend_note"] = SPEND_NO_LEADS
    return frame.sort_values(keys, ignore_index=True)


def total_costs(dataset: Dataset, period: Period) -> dict:
    """Blended totals for the period: ``spend``, ``leads``, ``won_deals`` and
    ``cost_per_lead`` = total spend / all leads created in the period (every source, paid or
    not), ``cost_per_won_deal`` = total spend / the distinct won deals of those leads (each
    deal once, see :func:`marketing_costs`; NaN without spend or without won deals)."""
    frame = marketing_costs(dataset, period, by="source")
    spend, leads_created = float(frame["spend"].sum()), float(frame["leads"].sum())
    won = float(frame["won_deals"].sum(min_count=1)) if frame["won_deals"].notna().any() else float("nan")
    nan = float("nan")
    return {
        "spend": spend, "leads": leads_created, "won_deals": won,
        "cost_per_lead": spend / leads_created if spend > 0 and leads_created > 0 else nan,
        "cost_per_won_deal": spend / won if spend > 0 and won > 0 else nan,
    }


# ----------------------------------------------------------------------------- marketing and sales


def deals_with_lead_source(dataset: Dataset) -> ir.Table:
    """Opportunities with ``source``: the source of the lead they came from when they are
    linked to one, else the deal's own source, else ``(no source)``; and ``outcome``."""
    opportunities = dataset.table("opportunities")
    deals = opportunities.mutate(outcome=outcome(opportunities.stage, dataset.playbook))
    if not dataset.has("leads"):
        return deals.mutate(source=deals.source.fill_null(lead_metrics.NO_SOURCE))
    facts = lead_metrics.lead_facts(dataset)
    # Two leads naming the same deal: the earlier lead is its source; lead_facts marks that
    # lead, so cost per won deal credits the deal to the same lead.
    linked = facts.filter(facts.deal_credited)
    linked = linked.select(deal_id=linked.linked_opportunity_id, lead_source=linked.source)
    joined = deals.left_join(linked, deals.opportunity_id == linked.deal_id)
    return joined.mutate(source=joined.lead_source.fill_null(joined.source).fill_null(lead_metrics.NO_SOURCE)).drop(
        "deal_id", "lead_source")


def pipeline_by_source(dataset: Dataset, period: Period) -> pd.DataFrame:
    """Pipeline created and value won in the period, by the lead's source.

    ``opportunities_created`` and ``pipeline_created`` = count and sum of amount of the
    opportunities created in the period (by created_at, whatever their stage now);
    ``won_deals`` and ``won_amount`` = deals won with close_date in the period. Each
    ``share_of_*`` = the source's value / the total over all sources (NaN if the total is 0).
    Amounts add up the deals that have one; when no deal has an amount, ``pipeline_created``,
    ``won_amount`` and their shares are NaN (not measured), never 0. Deals without a
    ``created_at`` (or, for won value, a ``close_date``) fall in no period and are left out.
    Largest pipeline first (most deals created, without amounts).
    """
    deals = deals_with_lead_source(dataset)
    created = deals.filter(deals.created_at.between(period.start, period.end))
    created = created.group_by("source").aggregate(
        opportunities_created=created.count(), pipeline_created=created.amount.sum().fill_null(0.0))
    won = deals.filter((deals.outcome == "won") & deals.close_date.between(period.start, period.end))
    won = won.group_by("source").aggregate(won_deals=won.count(), won_amount=won.amount.sum().fill_null(0.0))
    joined = created.outer_join(won, created.source == won.source)
    table = joined.select(
        source=joined.source.fill_null(joined.source_right),
        opportunities_created=joined.opportunities_created.fill_null(0),
        pipeline_created=joined.pipeline_created.fill_null(0.0),
        won_deals=joined.won_deals.fill_null(0),
        won_amount=joined.won_amount.fill_null(0.0),
    )
    frame = table.execute()
    if not amounts_recorded(dataset):
        frame[["pipeline_created", "won_amount"]] = float("nan")
    for column in ("opportunities_created", "pipeline_created", "won_deals", "won_amount"):
        total = float(frame[column].sum())
        frame[f"share_of_{column}"] = frame[column] / total if total > 0 else float("nan")
    ordered = ["source", "opportunities_created", "share_of_opportunities_created", "pipeline_created",
               "share_of_pipeline_created", "won_deals", "share_of_won_deals", "won_amount", "share_of_won_amount"]
    return frame[ordered].sort_values(["pipeline_created", "opportunities_created", "source"],
                                      ascending=[False, False, True], na_position="last", ignore_index=True)


def pipeline_by_source_month(dataset: Dataset, period: Period) -> pd.DataFrame:
    """Pipeline created per source and month (``pipeline_created`` = sum of amount of the
    opportunities created that month, ``opportunities_created`` = their count); every month
    of the period appears for every source with pipeline in the period, 0 where none."""
    deals = deals_with_lead_source(dataset)
    created = deals.filter(deals.created_at.between(period.start, period.end))
    created = created.mutate(month=created.created_at.truncate("M"))
    counts = created.group_by(["month", "source"]).aggregate(
        opportunities_created=created.count(), pipeline_created=created.amount.sum().fill_null(0.0))
    months = pd.to_datetime(lead_metrics.month_spine(period))
    spine = ibis.memtable(pd.DataFrame({"spine_month": months})).mutate(spine_month=lambda t: t.spine_month.date())
    spine = spine.cross_join(created.select(spine_source=created.source).distinct())
    table = spine.left_join(counts, (spine.spine_month == counts.month) & (spine.spine_source == counts.source))
    table = table.select(month=table.spine_month, source=table.spine_source,
                         opportunities_created=table.opportunities_created.fill_null(0),
                         pipeline_created=table.pipeline_created.fill_null(0.0))
    return table.order_by(["month", "source"]).execute()
