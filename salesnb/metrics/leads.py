"""Lead generation: volume, cohort quality and conversion, response speed, backlog.

Every metric starts from :func:`lead_facts`, one row per lead with how far it got, so
volume, conversion and speed all count the same leads the same way.

Conventions (also in ``docs/metrics.md``):

- A lead belongs to the period (and to the monthly cohort) of its ``created_at`` date.
- Skipped steps count as passed: reached opportunity = ``converted_at`` or an opportunity
  linked to the lead; reached SQL = ``sql_at`` or reached opportunity; reached MQL =
  ``mql_at`` or reached SQL; won = the linked opportunity is in a won stage.
- The linked opportunity is ``leads.opportunity_id``; failing that, the earliest
  opportunity whose ``lead_id`` is the lead.
- Several leads can link the same deal. Counts of deals and sums of deal amounts credit
  each deal once, to the earliest lead linked to it (by ``created_at``, then ``lead_id``):
  that lead's cohort, source and campaign get it (``marketing.deals_with_lead_source`` uses
  the same rule). Lead-level rates (the share of leads that reached won) stay per lead.
- Without any ``first_response_at`` value in the dataset, response speed is *not measured*:
  its counts, shares and medians are NaN (never 0 % within SLA, never "all never answered"),
  and :func:`unmeasured_response_time` says which column would enable it.
- A step whose column holds no data at all in this dataset is *unknown*: its counts and
  rates are NaN (not 0), and :func:`unmeasured_steps` says which column would enable it.

Every metric takes the kit's selection (``where=``, :mod:`salesnb.metrics.scope`) and applies
it to the leads (:func:`lead_facts`): ``rep`` and ``team`` are the lead owner's (``rep_id``,
its ``reps.team``), ``source`` the lead's own, ``segment`` and ``region`` its account's
(``account_id``; region: the owner's where the account records none) and ``product`` the
product of the deal it converted to. Every dimension reaches leads, so no selection is refused.
Deals are credited to their earliest lead over *all* leads before the selection is applied: a
selection never moves a deal from one lead to another.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, within
from salesnb.data.selection import Selection, as_selection
from salesnb.errors import SalesnbError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import amounts_recorded, outcome
from salesnb.metrics.exclusions import Excluded
from salesnb.metrics.scope import metric, restrict
from salesnb.metrics.statistics import MIN_N, share_reached_by_day
from salesnb.metrics.totals import exact_sum

NO_SOURCE, NO_CAMPAIGN, UNASSIGNED = "(no source)", "(no campaign)", "(unassigned)"
# A lead whose owner has no team, whose account has no segment or region, or that reached no
# deal with a product, in a view grouped by that dimension.
NO_TEAM, NO_SEGMENT, NO_REGION, NO_PRODUCT = "(no team)", "(no segment)", "(no region)", "(no product)"

# A monthly cohort needs this many days after its last day before its won rate is read
# as final; 90 days covers most B2B lead-to-deal cycles. Notebooks expose it as a parameter.
DEFAULT_MATURITY_DAYS = 90

STEPS = ("mql", "sql", "opportunity", "won")

# First-response buckets: (label, lower bound in hours inclusive, upper bound exclusive).
RESPONSE_BUCKETS = (
    ("< 1 h", 0, 1), ("1–4 h", 1, 4), ("4–24 h", 4, 24), ("1–3 d", 24, 72), ("> 3 d", 72, None),
)
NEVER_ANSWERED = "never answered"

# Age of open leads at the snapshot date, in days: (label, lowest age, highest age).
BACKLOG_AGE_BUCKETS = (("0–7 d", 0, 7), ("8–30 d", 8, 30), ("31–90 d", 31, 90), ("> 90 d", 91, None))

# by= -> the column of the lead facts; the selection's dimensions and the lead's own groupings.
GROUPINGS = {"source": "source", "campaign": "campaign", "rep": "rep_id", "team": "team", "segment": "segment",
             "region": "region", "product": "product", "month": "cohort_month"}

# The numbers lead metrics return and the report records, each once (salesnb.metrics.catalogue).
VOLUME, CONVERSION, RESPONSE, BACKLOG = "lead-volume", "lead-conversion", "lead-response", "lead-backlog"
declare(
    Measure("leads", "Leads", "count", "Leads created in the period (by created_at).", section=VOLUME),
    Measure("leads_created", "Leads created", "count", "Leads created in the period (by created_at).",
            section=VOLUME, higher_is_better=True),
    Measure("leads_by_source", "Leads by source", "count", "Leads created in the period, per lead source.",
            section=VOLUME),
    Measure("leads_previous_period", "Leads, previous period", "count", "Leads created in the previous period "
            "of the same length.", section=VOLUME),
    Measure("leads_year_earlier", "Leads, a year earlier", "count", "Leads created in the same dates a year "
            "earlier.", section=VOLUME),
    Measure("change_vs_previous", "Change vs previous period", "percent", "leads ÷ leads in the previous period "
            "− 1 (– when there were none).", section=VOLUME, higher_is_better=True),
    Measure("change_vs_year_earlier", "Change vs a year earlier", "percent", "leads ÷ leads a year earlier − 1 "
            "(– when there were none).", section=VOLUME, higher_is_better=True),
    Measure("cohort_month", "Cohort", "month", "The month the leads were created in."),
    Measure("reached_mql", "Reached MQL", "count", "Leads that became marketing-qualified (or skipped to a later "
            "step).", section=CONVERSION),
    Measure("reached_sql", "Reached SQL", "count", "Leads that became sales-qualified (or skipped to a later "
            "step).", section=CONVERSION),
    Measure("reached_opportunity", "Reached opportunity", "count", "Leads that converted to a deal.",
            section=CONVERSION),
    Measure("won_leads", "Won leads", "count", "Leads whose deal was won (two leads of one deal are two).",
            section=CONVERSION),
    Measure("mql_rate", "MQL rate", "percent", "Leads that reached MQL ÷ leads created in the period.",
            section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("sql_rate", "SQL rate", "percent", "Leads that reached SQL ÷ leads created in the period.",
            section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("opportunity_rate", "Opportunity rate", "percent", "Leads that reached an opportunity ÷ leads "
            "created in the period.", section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("won_rate", "Won rate", "percent", "Leads whose deal was won ÷ leads created in the period.",
            section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("lead_to_opportunity_rate", "Lead → opportunity", "percent", "Leads created in the period that "
            "reached an opportunity ÷ leads created.", section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("lead_to_won_rate", "Lead → won (mature months)", "percent", "Leads created in the mature cohort "
            "months of the period whose deal was won ÷ those leads; not measured when no month is mature.",
            section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("lead_to_won_rate_by_source", "Lead → won by source", "percent", "Lead → won rate per lead source.",
            section=CONVERSION, higher_is_better=True, min_n=MIN_N),
    Measure("won_deals_from_leads", "Won deals from leads", "count", "Distinct won deals credited to these leads "
            "(each deal once, to its earliest lead), whenever won.", section=CONVERSION, higher_is_better=True),
    Measure("won_amount_from_leads", "Won amount from leads", "currency", "Sum of the amounts of the won deals "
            "credited to these leads, each deal once.", section=CONVERSION, higher_is_better=True),
    Measure("median_hours_to_mql", "Median hours to MQL", "hours", "Median hours from lead creation to MQL "
            "(or the step it skipped to).", section=CONVERSION, higher_is_better=False),
    Measure("median_hours_to_sql", "Median hours to SQL", "hours", "Median hours from lead creation to SQL "
            "(or the step it skipped to).", section=CONVERSION, higher_is_better=False),
    Measure("median_days_to_opportunity", "Median days to opportunity", "days", "Median days from the lead's "
            "creation date to its conversion.", section=CONVERSION, higher_is_better=False),
    Measure("median_days_to_won", "Median days to won", "days", "Median days from the lead's creation date to "
            "its won deal's close date.", section=CONVERSION, higher_is_better=False),
    Measure("p75_days_to_won", "P75 days to won", "days", "75th percentile of the days from lead creation to "
            "the won deal's close date.", section=CONVERSION, higher_is_better=False),
    Measure("mature_leads", "Mature leads", "count", "Leads of cohort months that had maturity_days to convert.",
            section=CONVERSION),
    Measure("mature", "Mature", "flag", "Whether every lead of the row had maturity_days to convert."),
    Measure("ranking", "Ranking", "text", "Ranked, or not ranked when too few mature leads to judge."),
    Measure("rank", "Rank", "count", "Position by won rate, then opportunity rate (1 = best); – when not ranked.",
            section=CONVERSION),
    Measure("answered", "Answered", "count", "Leads with a first response.", section=RESPONSE),
    Measure("never_answered", "Never answered", "count", "Leads without a first response.", section=RESPONSE,
            higher_is_better=False),
    Measure("leads_never_answered", "Never answered", "count", "Leads created in the period without a first "
            "response.", section=RESPONSE, higher_is_better=False),
    Measure("within_sla", "Within SLA", "count", "Leads answered within the playbook's response SLA.",
            section=RESPONSE, higher_is_better=True),
    Measure("share_within_sla", "Share within SLA", "percent", "Leads answered within the SLA ÷ all leads "
            "(never-answered leads count as misses).", section=RESPONSE, higher_is_better=True, min_n=MIN_N),
    Measure("share_responded_within_sla", "Answered within SLA", "percent", "Leads created in the period answered "
            "within the SLA ÷ all of them.", section=RESPONSE, higher_is_better=True, min_n=MIN_N),
    Measure("share_never_answered", "Share never answered", "percent", "Leads without a first response ÷ "
            "leads.", section=RESPONSE, higher_is_better=False),
    Measure("median_first_response_hours", "Median first response", "hours", "Median hours from lead creation "
            "to the first response, over answered leads.", section=RESPONSE, higher_is_better=False),
    Measure("p75_first_response_hours", "P75 first response", "hours", "75th percentile of the hours to the "
            "first response, over answered leads.", section=RESPONSE, higher_is_better=False),
    Measure("response_bucket", "First response", "text", "How fast the lead was first answered."),
    Measure("age_bucket", "Age", "text", "Days since the open lead was created."),
    Measure("open_leads", "Open leads", "count", "Leads whose status is open at the data's date.",
            section=BACKLOG, higher_is_better=False),
    Measure("median_lead_age_days", "Median age", "days", "Median days since creation of the open leads.",
            section=BACKLOG, higher_is_better=False),
)
# The backlog by owner (or team, source) has one column per age bucket, named by its label.
declare(*(Measure(label, label, "count", f"Open leads {label.replace(' d', ' days')} old.", section=BACKLOG)
          for label, _, _ in BACKLOG_AGE_BUCKETS))


# ----------------------------------------------------------------------------- data present


def column_has_data(dataset: Dataset, table: str, column: str) -> bool:
    """True if ``table.column`` exists in the dataset and holds at least one value."""
    if not dataset.has(table):
        return False
    # Asked by most lead metrics: one query per column and dataset, not one per call.
    return dataset.memo(("has_data", table, column),
                        lambda: int(dataset.table(table)[column].count().execute()) > 0)


def _has_opportunity_link(dataset: Dataset) -> bool:
    return column_has_data(dataset, "leads", "opportunity_id") or column_has_data(dataset, "opportunities", "lead_id")


def measured_steps(dataset: Dataset) -> dict[str, bool]:
    """Which funnel steps this dataset can measure (a column with no data measures nothing)."""
    link = _has_opportunity_link(dataset)
    opportunity = link or column_has_data(dataset, "leads", "converted_at")
    return {
        "mql": column_has_data(dataset, "leads", "mql_at"),
        "sql": column_has_data(dataset, "leads", "sql_at"),
        "opportunity": opportunity,
        "won": link,
    }


def won_value_measured(dataset: Dataset) -> bool:
    """Whether won value can be added up: won deals are linked to leads and deals have
    amounts (without any amount, won value is not measured, never 0)."""
    return measured_steps(dataset)["won"] and amounts_recorded(dataset)


def response_time_measured(dataset: Dataset) -> bool:
    """True if ``leads.first_response_at`` holds at least one value in this dataset."""
    return column_has_data(dataset, "leads", "first_response_at")


def unmeasured_response_time(dataset: Dataset) -> list[str]:
    """One sentence if response speed cannot be measured (no first response recorded anywhere)."""
    if response_time_measured(dataset):
        return []
    return ["Response speed cannot be measured: the leads table has no first_response_at values (when sales "
            "first answered the lead). The SLA share, the median first response and the never-answered counts "
            "are left empty rather than shown as 0 % answered or every lead never answered; add "
            "leads.first_response_at to see them."]


def unmeasured_steps(dataset: Dataset) -> list[str]:
    """One sentence per step that cannot be measured, saying which data would enable it."""
    needs = {
        "mql": "leads.mql_at (when the lead became marketing-qualified)",
        "sql": "leads.sql_at (when the lead became sales-qualified)",
        "opportunity": "leads.converted_at, leads.opportunity_id or opportunities.lead_id",
        "won": "a link between leads and deals: leads.opportunity_id or opportunities.lead_id",
    }
    return [
        f"The {step.upper() if step in ('mql', 'sql') else step} step cannot be measured: the data has no "
        f"{needs[step]}. Its counts and rates are left empty rather than shown as 0."
        for step, measured in measured_steps(dataset).items() if not measured
    ]


def any_leads(dataset: Dataset, where: Selection | None = None) -> bool:
    """Whether the selection holds at least one lead, in any period (a team whose reps own no
    lead, e.g. the managers' team of an ``--each team`` run, holds none)."""
    return dataset.has("leads") and int(lead_facts(dataset, where).count().execute()) > 0


def unmeasured(dataset: Dataset, where: Selection | None = None) -> list[str]:
    """What the lead report cannot show for this data and selection, one sentence each: a
    selection without any lead (then only that), else the steps and the response speed the
    data does not record (:func:`unmeasured_steps`, :func:`unmeasured_response_time`)."""
    where = as_selection(where)
    if not any_leads(dataset, where) and where:
        return [f"No lead belongs to {where.describe()} (a team's leads are those its reps own; a segment's those "
                "of its accounts), in any period: there is nothing to show about leads for this selection."]
    if not any_leads(dataset, where):
        return ["The leads table holds no lead at all: there is nothing to show about leads."]
    return unmeasured_steps(dataset) + unmeasured_response_time(dataset)


# ----------------------------------------------------------------------------- one row per lead


def _hours_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    return (later.epoch_seconds().cast("int64") - earlier.epoch_seconds().cast("int64")).cast("float64") / 3600.0


def lead_facts(dataset: Dataset, where: Selection | None = None) -> ir.Table:
    """One row per lead of the selection ``where``: its groups, first response and how far it got.

    Columns: ``lead_id``, ``created_at``, ``created_date``, ``cohort_month`` (first day of
    the creation month), ``source``, ``campaign``, ``rep_id`` (labels filled in for empty
    values), ``team`` (the owner's), ``segment`` and ``region`` (the account's; region the
    owner's where the account has none), ``product`` (the product of the lead's deal), each
    labelled ``(no team)`` ... when empty, ``account_id``, ``status``, ``response_hours``
    (first_response_at - created_at in hours, 0 when the response is recorded before the
    lead; NULL if never answered), ``reached_mql``,
    ``reached_sql``, ``reached_opportunity``, ``reached_won`` (booleans, skipped steps count as
    passed), ``hours_to_mql``, ``hours_to_sql`` (from creation to the step, or to the later
    step it skipped to), ``days_to_opportunity``, ``days_to_won`` (calendar days from the
    creation date to the conversion date or the won deal's close date),
    ``linked_opportunity_id`` and ``opportunity_amount`` (the linked deal and its amount);
    ``deal_credited`` (True on the one lead its linked deal is credited to: the earliest lead
    linking it, by ``created_at`` then ``lead_id``); ``counts_opportunity`` (reached an
    opportunity and it is not a deal already credited to another lead: sum it to count
    distinct opportunities); ``counts_won_deal`` (won and the deal is credited here: sum it to
    count distinct won deals); ``won_amount`` (the won deal's amount on the credited lead only,
    NULL elsewhere: sum it to add up each won deal once).

    The facts of every lead are built (and deals credited) once per dataset, and kept in the
    cache for the next report on the same data (``Dataset.derived``); a selection then keeps
    its leads (:func:`salesnb.metrics.scope.restrict`, on the columns above), materialized
    once per selection.
    """
    leads = dataset.table("leads", needed_for="the lead generation analysis")
    facts = dataset.derived("lead_facts", lambda: _lead_facts(dataset, leads))
    where = as_selection(where).without_period()
    if not where:
        return facts
    return dataset.materialized(("lead_facts", where), lambda: restrict(dataset, facts, where, rows="leads"))


def _lead_facts(dataset: Dataset, leads: ir.Table) -> ir.Table:
    # Without deals the lead steps up to opportunity still count (converted_at, opportunity_id).
    opportunities = dataset.table_or_empty("opportunities")
    deal_columns = dict(
        deal_created=opportunities.created_at, deal_close=opportunities.close_date,
        deal_amount=opportunities.amount, deal_product=opportunities.product,
        deal_won=outcome(opportunities.stage, dataset.playbook) == "won",
    )
    by_id = opportunities.select(direct_id=opportunities.opportunity_id,
                                 **{f"direct_{name}": value for name, value in deal_columns.items()})
    # A deal that names its lead links it when the lead does not name its deal; if several
    # do, the earliest (then lowest id) is the lead's opportunity.
    first = ibis.row_number().over(group_by=opportunities.lead_id,
                                   order_by=[opportunities.created_at, opportunities.opportunity_id])
    by_lead = (
        opportunities.filter(opportunities.lead_id.notnull())
        .mutate(rank=first).filter(lambda t: t["rank"] == 0)
    )
    by_lead = by_lead.select(named_lead_id=by_lead.lead_id, named_id=by_lead.opportunity_id,
                             named_deal_created=by_lead.created_at, named_deal_close=by_lead.close_date,
                             named_deal_amount=by_lead.amount, named_deal_product=by_lead.product,
                             named_deal_won=outcome(by_lead.stage, dataset.playbook) == "won")

    joined = leads.left_join(by_id, leads.opportunity_id == by_id.direct_id)
    joined = joined.left_join(by_lead, joined.lead_id == by_lead.named_lead_id)
    # The owner's team and region, the account's segment and region: what a selection means for a lead.
    reps = dataset.table_or_empty("reps").select(owner_id="rep_id", owner_team="team", owner_region="region")
    accounts = dataset.table_or_empty("accounts").select(account_key="account_id", account_segment="segment",
                                                         account_region="region")
    joined = joined.left_join(reps, joined.rep_id == reps.owner_id)
    joined = joined.left_join(accounts, joined.account_id == accounts.account_key)
    direct = joined.direct_id.notnull()

    def linked(name):
        return ibis.ifelse(direct, joined[f"direct_{name}"], joined[f"named_{name}"])

    has_deal = direct | joined.named_id.notnull()
    deal_won = linked("deal_won").fill_null(False) & has_deal
    facts = joined.mutate(
        created_date=joined.created_at.date(),
        cohort_month=joined.created_at.truncate("M").date(),
        source=joined.source.fill_null(NO_SOURCE),
        campaign=joined.campaign.fill_null(NO_CAMPAIGN),
        rep_id=joined.rep_id.fill_null(UNASSIGNED),
        team=joined.owner_team.fill_null(NO_TEAM),
        segment=joined.account_segment.fill_null(NO_SEGMENT),
        region=joined.account_region.fill_null(joined.owner_region).fill_null(NO_REGION),
        product=ibis.ifelse(has_deal, linked("deal_product"), ibis.null().cast("string")).fill_null(NO_PRODUCT),
        reached_opportunity=joined.converted_at.notnull() | joined.opportunity_id.notnull() | has_deal,
        reached_won=deal_won,
        opportunity_date=joined.converted_at.date().fill_null(linked("deal_created")),
        deal_close=linked("deal_close"),
        opportunity_amount=ibis.ifelse(has_deal, linked("deal_amount"), ibis.null().cast("float64")),
        linked_opportunity_id=ibis.ifelse(direct, joined.direct_id, joined.named_id),
    )
    facts = facts.mutate(reached_sql=facts.sql_at.notnull() | facts.reached_opportunity)
    facts = facts.mutate(reached_mql=facts.mql_at.notnull() | facts.reached_sql)
    # The time a skipped step was passed is the time of the later step the lead jumped to.
    sql_time = facts.sql_at.fill_null(facts.converted_at)
    mql_time = facts.mql_at.fill_null(sql_time)
    response = _hours_between(facts.first_response_at, facts.created_at)
    # A deal linked from several leads is credited once, to the earliest of them (the same
    # rule as marketing.deals_with_lead_source), so deal counts and amounts are not doubled.
    # Ranked among the linked leads only, on three columns: over every lead the leads without
    # a deal made one partition with every column (35M rows of the xlarge sample), which
    # DuckDB could not sort within its 700 MB limit.
    linked = facts.filter(facts.linked_opportunity_id.notnull()).select("lead_id", "linked_opportunity_id",
                                                                        "created_at")
    earliest = ibis.row_number().over(group_by=linked.linked_opportunity_id,
                                      order_by=[linked.created_at, linked.lead_id])
    credited = linked.mutate(rank=earliest).filter(lambda t: t["rank"] == 0)
    credited = credited.select(credited_lead_id="lead_id").distinct()  # one row per lead, even for a repeated ID
    facts = facts.left_join(credited, facts.lead_id == credited.credited_lead_id)
    facts = facts.mutate(deal_credited=facts.credited_lead_id.notnull())
    return facts.select(
        "lead_id", "created_at", "created_date", "cohort_month", "source", "campaign", "rep_id", "team", "segment",
        "region", "product", "account_id", "status",
        "first_response_at", "linked_opportunity_id",
        # DuckDB's GREATEST skips NULLs, which would turn never-answered into 0 h: compare instead.
        response_hours=ibis.ifelse(response < 0, 0.0, response),
        reached_mql=facts.reached_mql, reached_sql=facts.reached_sql,
        reached_opportunity=facts.reached_opportunity, reached_won=facts.reached_won,
        hours_to_mql=_hours_between(mql_time, facts.created_at),
        hours_to_sql=_hours_between(sql_time, facts.created_at),
        days_to_opportunity=facts.opportunity_date.delta(facts.created_date, unit="day").cast("float64"),
        days_to_won=ibis.ifelse(facts.reached_won, facts.deal_close.delta(facts.created_date, unit="day"),
                                ibis.null().cast("int64")).cast("float64"),
        opportunity_amount=facts.opportunity_amount,
        deal_credited=facts.deal_credited,
        counts_opportunity=facts.reached_opportunity & (facts.linked_opportunity_id.isnull() | facts.deal_credited),
        counts_won_deal=facts.reached_won & facts.deal_credited,
        won_amount=ibis.ifelse(facts.reached_won & facts.deal_credited, facts.opportunity_amount,
                               ibis.null().cast("float64")),
    )


def created_in(facts: ir.Table, period: Period) -> ir.Table:
    """Leads created in the period (by creation date, both ends included); every lead in
    ``periods.UNDATED`` (data without dates)."""
    return facts.filter(within(facts.created_date, period))


def _group_columns(by) -> list[str]:
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)
    unknown = [name for name in names if name not in GROUPINGS]
    if unknown:
        raise SalesnbError(f"by must be one or more of {', '.join(GROUPINGS)}, not {', '.join(map(repr, unknown))}.")
    return [GROUPINGS[name] for name in names]


def with_rep_names(dataset: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``rep_name`` after ``rep_id`` (the id itself when there is no reps table or match)."""
    if "rep_id" not in frame.columns:
        return frame
    names = pd.Series(dtype="object")
    if dataset.has("reps"):
        reps = dataset.table("reps").select("rep_id", "rep_name").execute()
        names = reps.drop_duplicates("rep_id").set_index("rep_id")["rep_name"]
    result = frame.copy()
    mapped = result["rep_id"].map(names)
    result.insert(list(result.columns).index("rep_id") + 1, "rep_name", mapped.where(mapped.notna(), result["rep_id"]))
    return result


def month_spine(period: Period) -> list[dt.date]:
    """First day of every month the period touches (so empty months show as 0)."""
    months = pd.date_range(pd.Timestamp(period.start).replace(day=1), pd.Timestamp(period.end), freq="MS")
    return [month.date() for month in months]


# ----------------------------------------------------------------------------- volume


@metric
def leads_by_month(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                   where: Selection) -> pd.DataFrame:
    """Leads created per month of the period.

    ``leads`` = count by ``created_at`` month, of the leads of the selection ``where``. Every month of the period appears, with 0 where no lead was created; with ``by``
    (``source``, ``campaign``, ``rep``, ``team``, ``segment``, ``region``, ``product``)
    every month appears for every group seen in the period.
    """
    facts = created_in(lead_facts(dataset, where), period)
    groups = _group_columns(by)
    counts = facts.group_by(["cohort_month", *groups]).aggregate(leads=facts.count())
    spine = ibis.memtable(pd.DataFrame({"month": pd.to_datetime(month_spine(period))})).mutate(
        month=lambda t: t.month.date())
    if groups:
        spine = spine.cross_join(facts.select(groups).distinct())
    predicates = [spine.month == counts.cohort_month] + [spine[name] == counts[name] for name in groups]
    table = spine.left_join(counts, predicates)
    table = table.select("month", *groups, leads=table.leads.fill_null(0))
    return table.order_by(["month", *groups]).execute()


@metric
def leads_against_year_earlier(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Leads per month of the period beside the same month a year earlier (seasonality).

    ``leads`` created in each month of the period (``month``, its first day) and
    ``leads_year_earlier``, the leads of the same month a year earlier
    (``Period.year_earlier()``; 0 where none), of the leads of the selection ``where``. No
    ``by``: one line per period is what a seasonal chart compares."""
    now = leads_by_month(dataset, period, where=where)
    earlier = leads_by_month(dataset, period.year_earlier(), where=where)
    # Month k of the period against month k of the same dates a year earlier (a period that
    # starts on 29 February touches one month fewer a year earlier: that month is unknown).
    return now.assign(leads_year_earlier=earlier["leads"].reindex(range(len(now))).to_numpy())


def _count_by(facts: ir.Table, groups: list[str], period: Period, name: str) -> ir.Table:
    chosen = created_in(facts, period)
    if not groups:
        return chosen.aggregate(**{name: chosen.count()}).mutate(_all=ibis.literal(1))
    return chosen.group_by(groups).aggregate(**{name: chosen.count()})


@metric
def lead_volume_comparison(dataset: Dataset, period: Period | None = None, by=None, *,
                           where: Selection) -> pd.DataFrame:
    """Leads this period against the previous period and the same period a year earlier.

    ``change_vs_previous`` = leads / leads_previous_period - 1 (NaN when the previous
    period had none); ``change_vs_year_earlier`` likewise. Groups seen in any of the three
    periods appear, with 0 where they had no leads. ``by``: None (one row) or one or more of
    the groupings of :func:`leads_by_month`; ``where``: the leads of a selection.
    """
    facts = lead_facts(dataset, where)
    groups = _group_columns(by) or ["_all"]
    windows = {"leads": period, "leads_previous_period": period.previous(),
               "leads_year_earlier": period.year_earlier()}
    parts = {name: _count_by(facts, [] if groups == ["_all"] else groups, window, name)
             for name, window in windows.items()}
    keys = ibis.union(*[part.select(groups) for part in parts.values()], distinct=True)
    table = keys
    for name, part in parts.items():
        table = table.left_join(part, [table[g] == part[g] for g in groups]).drop(
            *[f"{g}_right" for g in groups])
        table = table.mutate(**{name: table[name].fill_null(0)})
    frame = table.execute()
    frame["change_vs_previous"] = _relative_change(frame["leads"], frame["leads_previous_period"])
    frame["change_vs_year_earlier"] = _relative_change(frame["leads"], frame["leads_year_earlier"])
    frame = frame.drop(columns=["_all"], errors="ignore")
    order = [column for column in frame.columns if column in groups]
    return frame.sort_values(["leads", *order], ascending=[False] + [True] * len(order), ignore_index=True)


def _relative_change(current: pd.Series, before: pd.Series) -> pd.Series:
    before = before.astype("float64")
    return (current / before.where(before > 0)) - 1


# ----------------------------------------------------------------------------- quality


def mature_through(dataset: Dataset, maturity_days: int = DEFAULT_MATURITY_DAYS) -> dt.date:
    """The last cohort month that is mature: at least ``maturity_days`` have passed between
    the month's last day and the snapshot date ``dataset.as_of``."""
    cutoff = pd.Timestamp(dataset.as_of) - pd.Timedelta(days=maturity_days)
    return ((cutoff + pd.Timedelta(days=1)).replace(day=1) - pd.DateOffset(months=1)).date()


def _conversion_aggregates(facts: ir.Table, steps: dict[str, bool], value_measured: bool) -> dict:
    unknown = ibis.null().cast("float64")
    leads = facts.count()
    reached = {
        "mql": facts.reached_mql, "sql": facts.reached_sql,
        "opportunity": facts.reached_opportunity, "won": facts.reached_won,
    }
    columns = {"leads": leads}
    for step in STEPS:
        count_name = "won_leads" if step == "won" else f"reached_{step}"
        rate_name = f"{step}_rate"
        measured = steps[step]
        count = reached[step].cast("int64").sum() if measured else unknown
        columns[count_name] = count
        columns[rate_name] = count.cast("float64") / leads if measured else unknown
    lags = {"median_hours_to_mql": ("mql", facts.hours_to_mql), "median_hours_to_sql": ("sql", facts.hours_to_sql),
            "median_days_to_opportunity": ("opportunity", facts.days_to_opportunity),
            "median_days_to_won": ("won", facts.days_to_won)}
    for name, (step, value) in lags.items():
        columns[name] = value.median() if steps[step] else unknown
    # Deals, unlike leads, are counted once each (see lead_facts: deal_credited).
    columns["won_deals_from_leads"] = facts.counts_won_deal.cast("int64").sum() if steps["won"] else unknown
    columns["won_amount_from_leads"] = exact_sum(facts.won_amount).fill_null(0.0) if value_measured else unknown
    return columns


@metric
def lead_conversion(dataset: Dataset, period: Period | None = None, by=None, *, where: Selection,
                    maturity_days: int = DEFAULT_MATURITY_DAYS, mature_only: bool = False) -> pd.DataFrame:
    """Cohort conversion of the leads created in the period, optionally by group.

    For the leads created in the period (``leads``): ``reached_mql``, ``reached_sql``,
    ``reached_opportunity`` and ``won_leads`` count the leads that reached each step (skipped
    steps count as passed); each ``<step>_rate`` = that count / leads (``mql_rate``,
    ``sql_rate``, ``opportunity_rate``, ``won_rate``). Lags are medians over the leads that
    reached the step, measured from lead creation: ``median_hours_to_mql``,
    ``median_hours_to_sql`` (hours), ``median_days_to_opportunity``, ``median_days_to_won``
    (calendar days). ``won_deals_from_leads`` = count of distinct won deals credited to these
    leads and ``won_amount_from_leads`` = sum of their amounts, each deal once (a deal linked
    from several leads is credited to the earliest; ``won_leads`` still counts leads, for the
    per-lead ``won_rate``).

    ``mature_leads`` counts the leads in cohort months that are mature (see
    :func:`mature_through`); ``mature`` is True when all of a group's leads are. With
    ``mature_only`` the immature months are left out entirely (use it for rankings).
    ``by``: None, ``month`` or a grouping of :func:`leads_by_month`, or a list of them;
    ``where``: the leads of a selection.
    """
    steps = measured_steps(dataset)
    last_mature = mature_through(dataset, maturity_days)
    facts = created_in(lead_facts(dataset, where), period)
    facts = facts.mutate(is_mature=facts.cohort_month <= last_mature)
    if mature_only:
        facts = facts.filter(facts.is_mature)
    groups = _group_columns(by)
    aggregates = _conversion_aggregates(facts, steps, won_value_measured(dataset))
    aggregates["mature_leads"] = facts.is_mature.cast("int64").sum()
    table = facts.group_by(groups).aggregate(**aggregates) if groups else facts.aggregate(**aggregates)
    frame = table.execute()
    frame["mature_leads"] = frame["mature_leads"].fillna(0).astype("int64")
    frame["mature"] = frame["mature_leads"] == frame["leads"]
    if groups:
        frame = frame.sort_values(groups, ignore_index=True)
    if "rep_id" in groups:
        frame = with_rep_names(dataset, frame)
    return frame


@metric
def lead_to_won_lag(dataset: Dataset, by=None, *, where: Selection) -> pd.DataFrame:
    """Days from lead creation to the won deal's close date, over every won lead in the data.

    No period: it helps choose ``maturity_days``. ``won_leads``, ``median_days_to_won``,
    ``p75_days_to_won`` over the won leads of the selection ``where``; ``by`` as for
    :func:`lead_conversion`."""
    facts = lead_facts(dataset, where)
    won = facts.filter(facts.reached_won)
    groups = _group_columns(by)
    aggregates = dict(won_leads=won.count(), median_days_to_won=won.days_to_won.median(),
                      p75_days_to_won=won.days_to_won.quantile(0.75))
    if not groups:
        return won.aggregate(**aggregates).execute()
    return won.group_by(groups).aggregate(**aggregates).order_by(groups).execute()


RANKED, NOT_RANKED = "ranked", "not ranked (n < {min_n})"


@metric
def source_quality_ranking(dataset: Dataset, period: Period | None = None, *, where: Selection,
                           maturity_days: int = DEFAULT_MATURITY_DAYS, min_n: int | None = None) -> pd.DataFrame:
    """Sources ranked by lead quality, over the mature cohort months of the period only.

    The leads of the selection ``where``; no ``by``: the rows are the sources.

    ``rank`` (1 = best, empty when not ranked), ``source``, ``ranking`` (``ranked`` when the
    source has at least ``min_n`` mature leads, default ``statistics.MIN_N`` = 30; else
    ``not ranked (n < 30)``), then the columns of :func:`lead_conversion` (``by="source"``,
    ``mature_only=True``; without ``mature_leads`` and ``mature``: every lead here is mature).
    Rows come already ordered: ranked sources first, by ``won_rate`` (then
    ``opportunity_rate``) highest first, then the sources too small to rank, in the same
    order; ties by source name. No row when no month is mature.
    """
    min_n = MIN_N if min_n is None else min_n
    frame = lead_conversion(dataset, period, by="source", where=where, maturity_days=maturity_days,
                            mature_only=True)
    is_ranked = frame["leads"] >= min_n
    frame = frame.assign(ranking=is_ranked.map({True: RANKED, False: NOT_RANKED.format(min_n=min_n)}),
                         _small=~is_ranked)
    # Sort keys are explicit (not the label text), so "not ranked" can never sort first.
    frame = frame.sort_values(["_small", "won_rate", "opportunity_rate", "source"],
                              ascending=[True, False, False, True], na_position="last", ignore_index=True)
    ranks = pd.Series(range(1, len(frame) + 1), dtype="Int64").where(~frame["_small"])
    frame = frame.drop(columns=["_small", "mature_leads", "mature"]).assign(rank=ranks)
    return frame[["rank", "source", "ranking", *[column for column in frame if column not in ("rank", "source", "ranking")]]]


# ----------------------------------------------------------------------------- speed


@metric
def response_speed(dataset: Dataset, period: Period | None = None, by=None, *, where: Selection) -> pd.DataFrame:
    """First-response speed of the leads created in the period, optionally by group.

    ``by`` as for :func:`lead_conversion`; ``where``: the leads of a selection.

    response hours = first_response_at - created_at (a response recorded before the lead
    counts as 0). ``median_first_response_hours`` and ``p75_first_response_hours`` are over
    the ``answered`` leads. ``share_within_sla`` = leads answered within the playbook's
    ``lead_response_sla_hours`` / ALL leads: never-answered leads stay in the denominator
    and are counted in ``never_answered`` (``share_never_answered`` = never_answered / leads).

    Without any ``first_response_at`` value in the dataset every column but ``leads`` is NaN
    (not measured, see :func:`unmeasured_response_time`).
    """
    sla = float(dataset.playbook.lead_response_sla_hours)
    measured = response_time_measured(dataset)
    facts = created_in(lead_facts(dataset, where), period)
    groups = _group_columns(by)
    answered = facts.response_hours.notnull()
    aggregates = dict(
        leads=facts.count(),
        answered=answered.cast("int64").sum(),
        never_answered=(~answered).cast("int64").sum(),
        within_sla=(facts.response_hours <= sla).fill_null(False).cast("int64").sum(),
        median_first_response_hours=facts.response_hours.median(),
        p75_first_response_hours=facts.response_hours.quantile(0.75),
    )
    table = facts.group_by(groups).aggregate(**aggregates) if groups else facts.aggregate(**aggregates)
    table = table.mutate(share_within_sla=table.within_sla.cast("float64") / table.leads,
                         share_never_answered=table.never_answered.cast("float64") / table.leads)
    frame = table.execute()
    if not measured:
        # No first response anywhere means "not recorded", not "nobody answered".
        unknown = [name for name in frame.columns if name not in (*groups, "leads")]
        frame[unknown] = float("nan")
    if groups:
        frame = frame.sort_values(groups, ignore_index=True)
    if "rep_id" in groups:
        frame = with_rep_names(dataset, frame)
    return frame


def _response_bucket(hours: ir.FloatingValue) -> ir.StringValue:
    cases = []
    for label, low, high in RESPONSE_BUCKETS:
        condition = hours >= low if high is None else (hours >= low) & (hours < high)
        cases.append((condition, label))
    return ibis.cases(*cases, else_=NEVER_ANSWERED)


@metric
def conversion_by_response_time(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Does speed pay? Conversion of the period's leads by how fast they were first answered.

    The leads of the selection ``where``; no ``by``: the rows are the buckets.

    Buckets: < 1 h, 1–4 h, 4–24 h, 1–3 d, > 3 d, never answered (every bucket is listed,
    0 leads where empty). ``opportunity_rate`` = reached_opportunity / leads and
    ``won_rate`` = won_leads / leads within each bucket (NaN for an empty bucket). Without any
    ``first_response_at`` value in the dataset no lead can be bucketed: every count and rate
    is NaN (rather than every lead in "never answered").
    """
    steps = measured_steps(dataset)
    facts = created_in(lead_facts(dataset, where), period)
    facts = facts.mutate(response_bucket=_response_bucket(facts.response_hours))
    aggregates = _conversion_aggregates(facts, steps, won_value_measured(dataset))
    wanted = ["leads", "reached_opportunity", "opportunity_rate", "won_leads", "won_rate"]
    counts = facts.group_by("response_bucket").aggregate(**{name: aggregates[name] for name in wanted})
    labels = [label for label, _, _ in RESPONSE_BUCKETS] + [NEVER_ANSWERED]
    spine = ibis.memtable(pd.DataFrame({"bucket": labels, "bucket_order": range(len(labels))}))
    table = spine.left_join(counts, spine.bucket == counts.response_bucket)
    table = table.mutate(leads=table.leads.fill_null(0)).order_by("bucket_order")
    frame = table.select("bucket", *wanted).rename(response_bucket="bucket").execute()
    if not response_time_measured(dataset):
        frame[wanted] = float("nan")
    return frame


# ----------------------------------------------------------------------------- backlog


def _age_bucket(age_days: ir.IntegerValue) -> ir.StringValue:
    cases = []
    for label, low, high in BACKLOG_AGE_BUCKETS:
        condition = age_days >= low if high is None else (age_days >= low) & (age_days <= high)
        cases.append((condition, label))
    return ibis.cases(*cases, else_=BACKLOG_AGE_BUCKETS[0][0])


@metric
def open_lead_backlog(dataset: Dataset, by: str | None = None, *, where: Selection) -> pd.DataFrame:
    """Open leads at the data's snapshot date, by age or by owner.

    Open = status in the playbook's ``open_lead_statuses``; the leads of the selection
    ``where``; no period: the backlog is "open now". Age = ``dataset.as_of`` - creation date, in days. ``by`` None (or ``"age"``):
    ``open_leads`` and ``never_answered`` per age bucket (0–7, 8–30, 31–90, > 90 days; every
    bucket listed). ``by="rep"`` (or another grouping of :func:`leads_by_month`): per group,
    ``open_leads``, one column of counts per age bucket, ``never_answered`` and
    ``median_lead_age_days``; largest backlog first. ``never_answered`` is NaN when the dataset has
    no ``first_response_at`` value at all (not measured).
    """
    facts = lead_facts(dataset, where)
    open_leads = facts.filter(facts.status.isin(list(dataset.playbook.open_lead_statuses)))
    open_leads = open_leads.mutate(age_days=ibis.literal(dataset.as_of).delta(open_leads.created_date, unit="day"))
    open_leads = open_leads.mutate(age_bucket=_age_bucket(open_leads.age_days),
                                   unanswered=open_leads.response_hours.isnull().cast("int64"))
    labels = [label for label, _, _ in BACKLOG_AGE_BUCKETS]
    if by in (None, "age"):
        counts = open_leads.group_by("age_bucket").aggregate(open_leads=open_leads.count(),
                                                             never_answered=open_leads.unanswered.sum())
        spine = ibis.memtable(pd.DataFrame({"bucket": labels, "bucket_order": range(len(labels))}))
        table = spine.left_join(counts, spine.bucket == counts.age_bucket).order_by("bucket_order")
        table = table.select(age_bucket=table.bucket, open_leads=table.open_leads.fill_null(0),
                             never_answered=table.never_answered.fill_null(0))
        return _unanswered_not_measured(dataset, table.execute())
    groups = _group_columns(by)
    per_bucket = {label: (open_leads.age_bucket == label).cast("int64").sum() for label in labels}
    table = open_leads.group_by(groups).aggregate(
        open_leads=open_leads.count(), **per_bucket, never_answered=open_leads.unanswered.sum(),
        median_lead_age_days=open_leads.age_days.median())
    frame = table.execute().sort_values(["open_leads", *groups], ascending=[False] + [True] * len(groups),
                                        ignore_index=True)
    frame = _unanswered_not_measured(dataset, frame)
    return with_rep_names(dataset, frame) if "rep_id" in groups else frame


def _unanswered_not_measured(dataset: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    if not response_time_measured(dataset):
        frame = frame.assign(never_answered=float("nan"))
    return frame


# ----------------------------------------------------------------------------- lead to deal, by lag

# Creation cohorts the lead-to-deal curve learns from (as the deals' curve, conversion.LAG_LEARNING_DAYS).
LAG_LEARNING_DAYS = 730

declare(
    Measure("leads_observed", "Leads observed", "count", "Leads of the source's creation cohorts observed at least "
            "this many days after creation: the n of the day's rate.", section="lead-to-deal"),
    Measure("converted_on_day", "Converted that day", "count", "Of those, leads that reached an opportunity exactly "
            "this many days after creation.", section="lead-to-deal"),
    Measure("converted_share_by_day", "Converted by this day", "percent", "Σ over the days up to this one of "
            "converted that day ÷ leads observed that day: the share of leads that reach a deal within this many "
            "days.", section="lead-to-deal", higher_is_better=True),
)


def lead_to_deal_lag(dataset: Dataset, as_of=None, where: Selection | None = None,
                     learning_days: int = LAG_LEARNING_DAYS) -> tuple[pd.DataFrame, list[Excluded]]:
    """How soon leads become deals, per lead source: the share of created leads that reached
    an opportunity within each number of days (a building block of the plan,
    :mod:`salesnb.metrics.planning`).

    Over the leads of the selection (:func:`lead_facts`) created in the ``learning_days`` up
    to ``as_of`` (default the data's date): a lead reached its opportunity on its conversion
    day (``days_to_opportunity``: ``converted_at``, else its deal's creation), counted only
    when that day is on or before ``as_of`` (a past date sees only what was known then). Per
    ``source`` and day u, ``leads_observed`` n(u), ``converted_on_day`` and
    ``converted_share_by_day`` Q(d) (:func:`salesnb.metrics.statistics.share_reached_by_day`:
    the cohort estimate, recent leads are not counted as failures). The last Q of a source is
    its lead → deal rate. Returns the frame and what it left out (leads that reached an
    opportunity on an unknown day).
    """
    as_of = pd.Timestamp(as_of or dataset.as_of).date()
    first = (pd.Timestamp(as_of) - pd.Timedelta(days=learning_days - 1)).date()
    facts = created_in(lead_facts(dataset, where), Period(first, as_of))
    rows = facts.select("lead_id", "source", "created_date", "reached_opportunity", "days_to_opportunity") \
        .order_by("lead_id").execute()
    undated = rows["reached_opportunity"].fillna(False).astype(bool) & rows["days_to_opportunity"].isna()
    excluded = [Excluded(int(undated.sum()), len(rows), "leads created in the window",
                         "reached an opportunity on an unknown day (no converted_at and no deal creation date)")]
    rows = rows[~undated]
    observed = (pd.Timestamp(as_of) - pd.to_datetime(rows["created_date"])).dt.days
    converted = rows["days_to_opportunity"].where(rows["reached_opportunity"].fillna(False).astype(bool))
    frames = []
    for source, index in rows.groupby("source", sort=True).groups.items():
        curve = share_reached_by_day(observed[index], converted[index])
        frames.append(pd.DataFrame({"source": source, "days_since_creation": curve["day"],
                                    "leads_observed": curve["observed"], "converted_on_day": curve["reached"],
                                    "converted_share_by_day": curve["share_by_day"]}))
    columns = ["source", "days_since_creation", "leads_observed", "converted_on_day", "converted_share_by_day"]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)), excluded
