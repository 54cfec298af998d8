"""What moved most in lead generation (report ``01_lead_generation``), this period against the
previous one, composed from the views the notebook has already computed and shown.

The notebook computes each view once, for the period and for ``period.previous()``, shows
what it shows, and hands the frames here; nothing is computed a second time. The change
detectors (:func:`~salesnb.metrics.findings.rate_changes`, ``count_changes``,
``value_outliers``) and their thresholds are the generic ones of :mod:`salesnb.metrics.findings`.
"""

from __future__ import annotations

import math

import pandas as pd

from salesnb.data.formats import format_value
from salesnb.data.selection import Selection, as_selection
# The generic detectors' own ordering and rep labelling, shared with the other reports' findings.
from salesnb.metrics.findings import Movement, rep_labels, strongest, count_changes, rate_changes, value_outliers
from salesnb.metrics.statistics import MIN_N

# (this period, previous period): the same view for both.
Pair = tuple[pd.DataFrame, pd.DataFrame]


def lead_generation_findings(*, mature: Pair, mature_by_source: Pair, speed: Pair, speed_by_source: Pair,
                             speed_by_rep: Pair, volume_by_source: pd.DataFrame,
                             campaign_costs: pd.DataFrame | None, sla_hours: float, currency: str = "USD",
                             where: Selection | None = None, min_n: int = MIN_N) -> list[Movement]:
    """What moved most in lead generation, this period against the previous one.

    The views, each as the notebook computed it for the same selection:

    - ``mature``, ``mature_by_source``: ``leads.lead_conversion(..., mature_only=True)`` and
      ``leads.source_quality_ranking(...)`` (mature cohort months only) for both periods;
    - ``speed``, ``speed_by_source``, ``speed_by_rep``: ``leads.response_speed`` (no ``by``,
      ``by="source"``, ``by="rep"``) for both periods;
    - ``volume_by_source``: ``leads.lead_volume_comparison(..., by="source")`` (it holds the
      previous period's count beside this one's);
    - ``campaign_costs``: ``marketing.marketing_costs(..., by="campaign")`` of this period,
      None without marketing spend.

    In this order, at most :data:`~salesnb.metrics.findings.PER_TOPIC` per topic, strongest first:

    1. conversion: lead-to-opportunity rate overall and by source, over mature cohort months
       (immature months of either period are left out);
    2. speed: share of leads answered within the SLA (over all leads), overall, by source
       and by rep (matched by ``rep_id``, shown by name);
    3. volume: leads created, overall and by source;
    4. cost: campaigns that spent money and produced no lead, and campaigns whose cost per
       lead is unusual against the other campaigns (this period).

    A step or a speed the data does not record is NaN in its views and so never "moves"; a
    cost the selection cannot split (a team: spend has none) is NaN too. ``where``, the
    selection of the views, names the overall row ("Leads of team Enterprise", else "All leads").
    """
    where = as_selection(where)
    overall = f"Leads of {where.describe()}" if where else "All leads"
    found: list[Movement] = []
    conversion: list[Movement] = []
    for (now, before), key, prefix in ((mature, None, ""), (mature_by_source, "source", "Source ")):
        conversion += rate_changes(now, before, key=key, successes="reached_opportunity", trials="leads",
                                   what="lead-to-opportunity conversion (mature cohorts)", topic="conversion",
                                   subject_prefix=prefix, min_n=min_n, overall=overall)
    found += strongest(conversion)

    timely: list[Movement] = []
    for (now, before), key, prefix in ((speed, None, ""), (speed_by_source, "source", "Source "),
                                       (speed_by_rep, "rep_id", "Rep ")):
        if key == "rep_id":
            # Match reps by id (two reps may share a name); show the name, with the id when shared.
            now, before = rep_labels(now), rep_labels(before)
        timely += rate_changes(now, before, key=key, successes="within_sla", trials="leads",
                               what=f"share of leads answered within the {sla_hours:g} h SLA", topic="speed",
                               subject_prefix=prefix, min_n=min_n, label="rep_label" if key == "rep_id" else None,
                               overall=overall)
    found += strongest(timely)

    volume: list[Movement] = []
    total = volume_by_source.sum(numeric_only=True).to_frame().T
    for frame, key, prefix in ((total, None, ""), (volume_by_source, "source", "Source ")):
        now = frame.rename(columns={"leads": "count"})
        before = frame.rename(columns={"leads_previous_period": "count"}).drop(columns=["leads"])
        volume += count_changes(now, before, key=key, count="count", what="leads created", topic="volume",
                                subject_prefix=prefix, min_n=min_n, overall=overall)
    found += strongest(volume)

    if campaign_costs is not None:
        costs = campaign_costs.assign(label=campaign_costs["campaign"].astype(str) + " ("
                                      + campaign_costs["source"].astype(str) + ")")
        wasted = costs[(costs["spend"] > 0) & (costs["leads"] == 0)].sort_values(["spend", "label"],
                                                                                 ascending=[False, True])
        cost = [
            Movement("cost", f"Campaign {row.label}",
                     f"Campaign {row.label}: {format_value(row.spend, 'currency', currency)} spent in the period "
                     "and no lead created.", math.inf, 0)
            for row in wasted.itertuples(index=False)
        ]
        cost += value_outliers(costs, key="label", value="cost_per_lead", n="leads", what="cost per lead",
                               topic="cost", n_label="leads", subject_prefix="Campaign ", min_n=min_n,
                               format_value=lambda value: format_value(value, "currency", currency))
        found += strongest(cost)
    return found
