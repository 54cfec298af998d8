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

Selections (``where=``, :mod:`salesnb.metrics.scope`). The leads, opportunities and won deals
are those of the selection's leads (``leads.lead_facts``). A spend row carries only its month,
source, campaign and amount: a selection by ``source`` applies to spend too, but spend cannot
be split by team, rep, segment, region or product. For such a selection every spend and cost
column is *not measured* (NaN, ``spend_note`` = ``spend not split by <dimension>``) while the
lead counts still answer; :func:`unmeasured_costs` gives the sentence a report shows.
Pipeline and won value by source (:func:`pipeline_by_source`) are the deals of the selection
(their owner's team, their account's segment and region, their product; source = the view's
lead source).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection, as_selection, select
from salesnb.errors import SalesnbError
from salesnb.metrics import deals as deal_metrics
from salesnb.metrics import leads as lead_metrics
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.scope import metric, restrict
from salesnb.metrics.statistics import MIN_N
from salesnb.metrics.totals import exact_sum

NO_SPEND, SPEND_NO_LEADS = "no spend", "spend, no leads"
NOT_SPLIT = "spend not split by {}"

# What a marketing_spend row carries besides its month and amount: the selection's
# dimensions spend can be split by.
SPEND_DIMENSIONS = ("source",)

# by= option -> the columns both the lead facts and the spend table are grouped by (the
# campaign within its source; None: one row for everything).
COST_GROUPINGS = {
    None: [],
    "source": ["source"],
    "campaign": ["source", "campaign"],
    "month": ["month"],
    "source_month": ["source", "month"],
}

COST, PIPELINE = "marketing-cost", "marketing-pipeline"
declare(
    Measure("spend", "Spend", "currency", "Marketing spend of the period's months (marketing_spend.amount).",
            section=COST),
    Measure("marketing_spend", "Marketing spend", "currency", "Marketing spend of the period's months.",
            section=COST),
    Measure("opportunities_from_leads", "Opportunities from leads", "count", "Distinct deals these leads "
            "converted to (each deal once), plus converted leads without a linked deal.", section=COST),
    Measure("cost_per_lead", "Cost per lead", "currency", "Spend ÷ leads created in the period.", section=COST,
            higher_is_better=False, min_n=MIN_N),
    Measure("cost_per_opportunity", "Cost per opportunity", "currency", "Spend ÷ opportunities from these "
            "leads.", section=COST, higher_is_better=False),
    Measure("cost_per_won_deal", "Cost per won deal", "currency", "Spend ÷ distinct won deals from these leads "
            "(CAC).", section=COST, higher_is_better=False),
    Measure("won_amount_per_spend", "Won amount per spend", "ratio", "Won amount from these leads ÷ spend.",
            section=COST, higher_is_better=True),
    Measure("spend_note", "Spend note", "text", "Why a cost is empty: no spend, spend without leads, or spend "
            "not split by the selection."),
    Measure("pipeline_created", "Pipeline created", "currency", "Sum of the amounts of the deals created in the "
            "period.", section=PIPELINE, higher_is_better=True),
    Measure("won_deals", "Won deals", "count", "Deals won (closed in a won stage) in the period.",
            section=PIPELINE, higher_is_better=True),
    *(Measure(f"share_of_{name}", f"Share of {label}", "percent", f"The source's {label} ÷ the {label} of every "
              "source.", section=PIPELINE)
      for name, label in (("opportunities_created", "opportunities created"),
                          ("pipeline_created", "pipeline created"), ("won_deals", "won deals"),
                          ("won_amount", "won amount"))),
)


def unsplit_dimensions(where: Selection | None) -> list[str]:
    """The dimensions of the selection that spend rows do not carry (all but ``source``)."""
    return [name for name in as_selection(where).dimensions if name not in SPEND_DIMENSIONS]


def spend_measured(where: Selection | None) -> bool:
    """Whether spend (and so every cost) can be given for the selection: only by source."""
    return not unsplit_dimensions(where)


def unmeasured_costs(dataset: Dataset, where: Selection | None) -> list[str]:
    """One sentence when the selection's spend is not measured (a team, rep, segment, region or
    product: spend rows carry month, source and campaign only); none otherwise, and none
    without spend data or without any lead in the selection (other notes say so)."""
    unsplit = unsplit_dimensions(where)
    if not unsplit or not dataset.has("marketing_spend") or not lead_metrics.any_leads(dataset, where):
        return []
    return [f"Cost is not measured for {as_selection(where).describe()}: marketing spend is recorded by month, "
            f"source and campaign only, so it cannot be split by {' or '.join(unsplit)}. Spend, cost per lead, "
            "per opportunity and per won deal are left empty (–); the leads, opportunities and won deals are "
            "the selection's."]


def spend_in(dataset: Dataset, period: Period, where: Selection | None = None) -> ir.Table:
    """Spend rows of the months the period touches, with ``month`` on the month's first day
    and an empty campaign labelled like the leads' (``(no campaign)``), of the selection's
    sources. A selection by another dimension is a ``SelectionError`` (spend rows carry no
    owner, account or product): ask :func:`spend_measured` first."""
    spend = dataset.table("marketing_spend", needed_for="cost per lead, per opportunity and per won deal")
    spend = restrict(dataset, spend, where, rows="marketing spend")
    first_month = period.start.replace(day=1)
    spend = spend.mutate(month=spend.month.truncate("M"),
                         campaign=spend.campaign.fill_null(lead_metrics.NO_CAMPAIGN))
    return spend.filter(spend.month.between(first_month, period.end))


def _safe_ratio(numerator: pd.Series, denominator: pd.Series, spend: pd.Series) -> pd.Series:
    """numerator / denominator where spend > 0 and the denominator > 0; NaN otherwise."""
    valid = (spend > 0) & (denominator > 0)
    return (numerator / denominator.where(valid)).where(valid)


@metric
def marketing_costs(dataset: Dataset, period: Period | None = None, by: str | None = "source", *,
                    where: Selection) -> pd.DataFrame:
    """Cost per lead, per opportunity and per won deal, and won value per unit of spend.

    For each group (``by``: ``source``, ``campaign`` (source and campaign), ``month``,
    ``source_month``, or None for one row): ``spend`` = sum of marketing_spend.amount in the
    period; ``leads`` = leads created in the period; ``opportunities_from_leads`` = distinct
    opportunities of those leads (each linked deal once, plus each converted lead without a
    linked deal); ``won_deals_from_leads`` = distinct won deals of those leads;
    ``won_amount_from_leads`` = the sum of those won deals' amounts, each deal once. A deal
    linked from several leads is credited to the earliest of them (its group, month and period).

    - ``cost_per_lead`` = spend / leads
    - ``cost_per_opportunity`` = spend / opportunities_from_leads
    - ``cost_per_won_deal`` = spend / won_deals_from_leads
    - ``won_amount_per_spend`` = won_amount_from_leads / spend

    Each is NaN where spend is 0 or absent, or the count is 0 (``spend_note`` says which).
    Groups that have spend but no leads, or leads but no spend, both appear.

    ``where``: a selection by ``source`` applies to the leads and to spend. Spend rows carry no
    team, rep, segment, region or product: with one of those in the selection, the leads'
    columns are the selection's and ``spend`` and every cost are NaN (not measured,
    ``spend_note`` "spend not split by team"); :func:`unmeasured_costs` says so in a sentence.
    ``by`` cannot be such a dimension either (a ``SalesnbError``).
    """
    if by not in COST_GROUPINGS:
        raise SalesnbError(f"Cost can be grouped by {', '.join(name for name in COST_GROUPINGS if name)} or None, "
                           f"not {by!r}: marketing spend is recorded by month, source and campaign only. For the "
                           "leads of each team, rep or segment use leads.lead_conversion(by=...).")
    keys = COST_GROUPINGS[by] or ["_all"]
    steps = lead_metrics.measured_steps(dataset)
    value_measured = lead_metrics.won_value_measured(dataset)
    facts = lead_metrics.created_in(lead_metrics.lead_facts(dataset, where), period)
    facts = facts.mutate(month=facts.cohort_month, _all=ibis.literal(""))
    unknown = ibis.null().cast("float64")
    outcomes = facts.group_by(keys).aggregate(
        leads=facts.count(),
        opportunities_from_leads=facts.counts_opportunity.cast("int64").sum() if steps["opportunity"] else unknown,
        won_deals_from_leads=facts.counts_won_deal.cast("int64").sum() if steps["won"] else unknown,
        won_amount_from_leads=exact_sum(facts.won_amount).fill_null(0.0) if value_measured else unknown,
    )
    unsplit = unsplit_dimensions(where)
    spend = spend_in(dataset, period, select(source=where.source))
    spend = spend.mutate(_all=ibis.literal(""))
    spend = spend.group_by(keys).aggregate(spend=exact_sum(spend.amount))
    if unsplit:
        # Spend cannot be split by the selection: only the leads' side answers (no spend-only rows).
        spend = spend.filter(ibis.literal(False))
    joined = outcomes.outer_join(spend, [outcomes[key] == spend[key] for key in keys])
    table = joined.select(
        **{key: joined[key].fill_null(joined[f"{key}_right"]) for key in keys},
        spend=joined.spend.fill_null(0.0),
        leads=joined.leads.fill_null(0),
        opportunities_from_leads=(joined.opportunities_from_leads.cast("float64").fill_null(0.0)
                                  if steps["opportunity"] else unknown),
        won_deals_from_leads=joined.won_deals_from_leads.cast("float64").fill_null(0.0) if steps["won"] else unknown,
        won_amount_from_leads=joined.won_amount_from_leads.fill_null(0.0) if value_measured else unknown,
    )
    frame = table.execute()
    if unsplit:
        frame["spend"] = float("nan")
    spend_values = frame["spend"]
    frame["cost_per_lead"] = _safe_ratio(spend_values, frame["leads"].astype("float64"), spend_values)
    frame["cost_per_opportunity"] = _safe_ratio(spend_values, frame["opportunities_from_leads"], spend_values)
    frame["cost_per_won_deal"] = _safe_ratio(spend_values, frame["won_deals_from_leads"], spend_values)
    frame["won_amount_per_spend"] = (frame["won_amount_from_leads"] / spend_values.where(spend_values > 0))
    frame["spend_note"] = ""
    frame.loc[spend_values <= 0, "spend_note"] = NO_SPEND
    frame.loc[(spend_values > 0) & (frame["leads"] == 0), "spend_note"] = SPEND_NO_LEADS
    if unsplit:
        frame["spend_note"] = NOT_SPLIT.format(" or ".join(unsplit))
    return frame.sort_values(keys, ignore_index=True).drop(columns=["_all"], errors="ignore")


@metric
def total_costs(dataset: Dataset, period: Period | None = None, *, where: Selection) -> dict:
    """Blended cost per lead and per won deal of the period: all spend over all leads.

    ``spend``, ``leads``, ``won_deals_from_leads`` and ``cost_per_lead`` = total spend / all
    leads created in the period (every source, paid or not), ``cost_per_won_deal`` = total
    spend / the distinct won deals of those leads (each deal once, see
    :func:`marketing_costs`; NaN without spend or without won deals).

    ``where`` as for :func:`marketing_costs`: by source, the source's spend and leads; by a
    dimension spend does not carry, ``spend`` and both costs are NaN (not measured)."""
    frame = marketing_costs(dataset, period, by="source", where=where)
    nan = float("nan")
    spend = float(frame["spend"].sum()) if spend_measured(where) else nan
    leads_created = float(frame["leads"].sum())
    won = (float(frame["won_deals_from_leads"].sum(min_count=1)) if frame["won_deals_from_leads"].notna().any()
           else nan)
    return {
        "spend": spend, "leads": leads_created, "won_deals_from_leads": won,
        "cost_per_lead": spend / leads_created if spend > 0 and leads_created > 0 else nan,
        "cost_per_won_deal": spend / won if spend > 0 and won > 0 else nan,
    }


# ----------------------------------------------------------------------------- marketing and sales


def deals_with_lead_source(dataset: Dataset, where: Selection | None = None) -> ir.Table:
    """The deals of the selection (``deals.deals``: with ``outcome``, ``team``, ``segment``,
    ``region``) with ``source``: the source of the lead they came from when they are linked to
    one, else the deal's own source, else ``(no source)``. A selection by source means this
    source (the lead's), the one the views below credit the deal to."""
    table = deal_metrics.deals(dataset)
    if dataset.has("leads"):
        facts = lead_metrics.lead_facts(dataset)
        # Two leads naming the same deal: the earlier lead is its source; lead_facts marks that
        # lead, so cost per won deal credits the deal to the same lead.
        linked = facts.filter(facts.deal_credited)
        linked = linked.select(deal_id=linked.linked_opportunity_id, lead_source=linked.source)
        table = table.left_join(linked, table.opportunity_id == linked.deal_id)
        table = table.mutate(source=table.lead_source.fill_null(table.source)).drop("deal_id", "lead_source")
    table = table.mutate(source=table.source.fill_null(lead_metrics.NO_SOURCE))
    return restrict(dataset, table, where, rows="deals")


@metric
def pipeline_by_source(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Pipeline created and value won in the period, by the lead's source.

    Over the deals of the selection ``where`` (:func:`deals_with_lead_source`; no ``by``: the
    rows are sources).

    ``opportunities_created`` and ``pipeline_created`` = count and sum of amount of the
    opportunities created in the period (by created_at, whatever their stage now);
    ``won_deals`` and ``won_amount`` = deals won with close_date in the period. Each
    ``share_of_*`` = the source's value / the total over all sources (NaN if the total is 0).
    Amounts add up the deals that have one; when no deal has an amount, ``pipeline_created``,
    ``won_amount`` and their shares are NaN (not measured), never 0. Deals without a
    ``created_at`` (or, for won value, a ``close_date``) fall in no period and are left out.
    Largest pipeline first (most deals created, without amounts).
    """
    deals = deals_with_lead_source(dataset, where)
    created = deals.filter(deals.created_at.between(period.start, period.end))
    created = created.group_by("source").aggregate(
        opportunities_created=created.count(), pipeline_created=exact_sum(created.amount).fill_null(0.0))
    won = deals.filter((deals.outcome == "won") & deals.close_date.between(period.start, period.end))
    won = won.group_by("source").aggregate(won_deals=won.count(), won_amount=exact_sum(won.amount).fill_null(0.0))
    joined = created.outer_join(won, created.source == won.source)
    table = joined.select(
        source=joined.source.fill_null(joined.source_right),
        opportunities_created=joined.opportunities_created.fill_null(0),
        pipeline_created=joined.pipeline_created.fill_null(0.0),
        won_deals=joined.won_deals.fill_null(0),
        won_amount=joined.won_amount.fill_null(0.0),
    )
    # In a fixed order: the shares below divide by a float total, which depends on the order it adds the rows in.
    frame = table.order_by(list(table.columns)).execute()
    if not deal_metrics.amounts_recorded(dataset):
        frame[["pipeline_created", "won_amount"]] = float("nan")
    for column in ("opportunities_created", "pipeline_created", "won_deals", "won_amount"):
        total = float(frame[column].sum())
        frame[f"share_of_{column}"] = frame[column] / total if total > 0 else float("nan")
    ordered = ["source", "opportunities_created", "share_of_opportunities_created", "pipeline_created",
               "share_of_pipeline_created", "won_deals", "share_of_won_deals", "won_amount", "share_of_won_amount"]
    return frame[ordered].sort_values(["pipeline_created", "opportunities_created", "source"],
                                      ascending=[False, False, True], na_position="last", ignore_index=True)


@metric
def pipeline_by_source_month(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Pipeline created per lead source and month.

    ``pipeline_created`` = sum of amount of the opportunities created that month,
    ``opportunities_created`` = their count, over the deals of the selection ``where``; every
    month of the period appears for every source with pipeline in the period, 0 where none."""
    deals = deals_with_lead_source(dataset, where)
    created = deals.filter(deals.created_at.between(period.start, period.end))
    created = created.mutate(month=created.created_at.truncate("M"))
    counts = created.group_by(["month", "source"]).aggregate(
        opportunities_created=created.count(), pipeline_created=exact_sum(created.amount).fill_null(0.0))
    months = pd.to_datetime(lead_metrics.month_spine(period))
    spine = ibis.memtable(pd.DataFrame({"spine_month": months})).mutate(spine_month=lambda t: t.spine_month.date())
    spine = spine.cross_join(created.select(spine_source=created.source).distinct())
    table = spine.left_join(counts, (spine.spine_month == counts.month) & (spine.spine_source == counts.source))
    table = table.select(month=table.spine_month, source=table.spine_source,
                         opportunities_created=table.opportunities_created.fill_null(0),
                         pipeline_created=table.pipeline_created.fill_null(0.0))
    return table.order_by(["month", "source"]).execute()
