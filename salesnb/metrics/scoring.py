"""Lead and deal scoring: which leads and deals will convert, why, and how sure we are.

A score is learned from the company's own closed history and tested out of sample
(:mod:`salesnb.metrics.scoring_models`), after the leakage guard has left out the columns filled
in or decided after the outcome (:mod:`salesnb.metrics.leakage`). Open records are scored;
closed ones explain (docs/metrics.md#scoring):

- **leads** (:func:`score_leads`): the outcome is *converted to a deal* (``converted_at``, or a
  deal linked to the lead) against *closed without converting* (a status that is not one of the
  playbook's ``open_lead_statuses``); leads in an open status are scored. What the model may
  use: the lead's source, campaign, owner's team, account segment, industry and region, its
  first-response time in hours (empty: never answered), the activities logged on it before it
  converted (or, not converted, all of them), and every attribute of the lead and its account.
  Dated by ``created_at`` for the out-of-time test. The baseline: the conversion rate of the
  lead's source.
- **deals** (:func:`score_deals`): won against lost; open deals are scored. With the stage
  history a deal is an example **at each open stage it was in** (the history's open-stage
  rows), so the model answers "how likely is a deal at this stage, with these attributes, to be
  won", and an open deal is scored at its current stage; without history, one example per deal,
  and the stage is not used (a closed deal's stage before it closed is unknown). What the model
  may use: source, type, product, owner's team, account segment, industry and region, amount, the
  CRM's probability, the loss reason (the guard leaves both out when they are set at closing, as
  they are in most CRMs), the activities logged before the end of the stage visit (without
  history: before the close), the stage, and every attribute of the deal and its account. Dated
  by ``close_date``. The baseline: the win rate of the stage (needs the stage history).

Never a feature: IDs, dates, and the columns that define the outcome (a lead's status, its
conversion, MQL and SQL dates; a deal's current stage). The model learns from every closed
record of the company; ``where`` (a selection) chooses the records listed and exported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from salesnb.data import backends
from salesnb.data.dataset import Dataset
from salesnb.data.model import TABLES
from salesnb.data.selection import Selection
from salesnb.metrics import deals as deal_metrics
from salesnb.metrics import leads as lead_metrics
from salesnb.metrics import leakage, scoring_models
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.leakage import CATEGORY, NUMBER
from salesnb.metrics.scoring_models import DECILES
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import history_order

SEED = 42
# Beyond this many examples the leakage guard checks a seeded sample (see _guard_positions).
GUARD_EXAMPLES = 250_000
# An open deal whose score is below this share of its stage's playbook probability is flagged
# for the pipeline review: the model gives it less than half the chance its stage suggests.
FAR_BELOW_STAGE = 0.5
QUALITY, DRIVERS, LEAKAGE, LIST = "scoring-quality", "scoring-drivers", "scoring-leakage", "scoring-list"

declare(
    Measure("record_id", "Record", "text", "The lead's or deal's ID in the CRM."),
    Measure("current_stage", "Stage", "text", "The stage an open deal is in now."),
    Measure("score", "Score", "percent", "The model's probability that the record converts (a lead) or is won (a "
            "deal)", section=LIST, higher_is_better=True),
    Measure("decile", "Decile", "count", "10 = the highest tenth of the out-of-sample scores, 1 = the lowest",
            section=QUALITY),
    Measure("records", "Records", "count", "Closed records of the decile in the out-of-sample test",
            section=QUALITY),
    Measure("positives", "Converted or won", "count", "Records of the decile that converted (leads) or were won "
            "(deals)", section=QUALITY),
    Measure("observed_rate", "Observed rate", "percent", "positives ÷ records of the decile", section=QUALITY),
    Measure("predicted_rate", "Predicted rate", "percent", "Mean out-of-sample score of the decile's records",
            section=QUALITY),
    Measure("lift", "Lift", "ratio", "observed rate of the group ÷ the base rate", section=QUALITY,
            higher_is_better=True),
    Measure("model", "Model", "text", "The score (logistic regression or gradient boosting) or the baseline."),
    Measure("auc", "AUC", "number", "Out-of-sample AUC: the chance that a converted (won) record scores above a "
            "record that did not (0.5: a coin, 1: perfect)", section=QUALITY, higher_is_better=True),
    Measure("brier_score", "Brier score", "number", "Mean of (score − outcome)² over the out-of-sample records "
            "(lower is better calibrated)", section=QUALITY, higher_is_better=False),
    Measure("chosen", "Chosen", "flag", "The model with the higher out-of-sample AUC, used for the scores."),
    Measure("driver", "Attribute", "text", "A column the score learns from."),
    Measure("importance", "Importance", "number", "How much the out-of-sample AUC falls when the column's values "
            "are shuffled (permutation importance)", section=DRIVERS, higher_is_better=True),
    Measure("strongest_value", "Strongest value", "text", "The column's value (or range) whose rate is furthest "
            "from the base rate, on at least 30 closed records."),
    Measure("value_rate", "Rate of the value", "percent", "Converted (won) ÷ closed records with the value",
            section=DRIVERS),
    Measure("value_records", "Closed records with it", "count", "Closed records with the value", section=DRIVERS),
    Measure("sentence", "In words", "text", "What the driver means, for a manager."),
    Measure("top_reasons", "Top reasons", "text", "The record's values that move its score most (lift against the "
            "average)."),
    Measure("stage_probability", "Stage probability", "percent", "The playbook's win probability of the deal's "
            "stage", section=LIST),
    Measure("far_below_stage", "Far below its stage", "flag", "Score below half the stage's probability: one for the "
            "pipeline review."),
    Measure("top_decile", "In the top decile", "count", "Open records scored in decile 10", section=LIST,
            higher_is_better=True),
    Measure("mean_score", "Mean score", "percent", "Mean score of the rep's open records", section=LIST,
            higher_is_better=True),
    Measure("far_below_stage_deals", "Far below their stage", "count", "Open deals scored below half their stage's "
            "probability", section=LIST, higher_is_better=False),
    Measure("lead_score_auc", "Lead score AUC", "number", "Out-of-sample AUC of the lead score", section=QUALITY,
            higher_is_better=True),
    Measure("lead_score_baseline_auc", "Source baseline AUC", "number", "Out-of-sample AUC of the lead source's "
            "conversion rate, on the same folds", section=QUALITY),
    Measure("lead_score_top_decile_rate", "Top-decile conversion", "percent", "Conversion rate of the out-of-sample "
            "leads in the score's top decile", section=QUALITY, higher_is_better=True),
    Measure("lead_base_rate", "Lead conversion (base rate)", "percent", "Converted ÷ closed leads in the "
            "out-of-sample test", section=QUALITY),
    Measure("lead_score_out_of_time", "Lead score tested out of time", "flag", "1: tested out of time (dates); "
            "0: stratified k-fold"),
    Measure("lead_score_folds", "Lead score folds", "count", "Folds of the lead score's out-of-sample test",
            section=QUALITY),
    Measure("lead_score_tested", "Leads tested", "count", "Closed leads scored out of sample (the n of the AUC)",
            section=QUALITY),
    Measure("deal_score_auc", "Deal score AUC", "number", "Out-of-sample AUC of the deal score", section=QUALITY,
            higher_is_better=True),
    Measure("deal_score_baseline_auc", "Stage baseline AUC", "number", "Out-of-sample AUC of the stage's win rate, "
            "on the same folds", section=QUALITY),
    Measure("deal_score_top_decile_rate", "Top-decile win rate", "percent", "Win rate of the out-of-sample deal "
            "examples in the score's top decile", section=QUALITY, higher_is_better=True),
    Measure("deal_base_rate", "Deal win rate (base rate)", "percent", "Won ÷ closed deal examples in the "
            "out-of-sample test", section=QUALITY),
    Measure("deal_score_out_of_time", "Deal score tested out of time", "flag", "1: tested out of time (dates); "
            "0: stratified k-fold"),
    Measure("deal_score_folds", "Deal score folds", "count", "Folds of the deal score's out-of-sample test",
            section=QUALITY),
    Measure("deal_score_tested", "Deal examples tested", "count", "Closed deal examples (a deal at a stage) scored "
            "out of sample (the n of the AUC)", section=QUALITY),
    Measure("leakage_suspects", "Leakage suspects", "number", "Columns the leakage guard flagged, each with its AUC "
            "alone", section=LEAKAGE),
    Measure("scored_leads", "Open leads scored", "count", "Open leads of the selection given a score",
            section=LIST),
    Measure("scored_deals", "Open deals scored", "count", "Open deals of the selection given a score",
            section=LIST),
)

# The labels lead_facts gives empty groups.
EMPTY_LABELS = {"source": lead_metrics.NO_SOURCE, "campaign": lead_metrics.NO_CAMPAIGN, "team": lead_metrics.NO_TEAM,
                "segment": lead_metrics.NO_SEGMENT, "region": lead_metrics.NO_REGION}

# The words of each kind of record.
WORDS = {"leads": {"noun": "leads", "one": "lead", "outcomes": ("converted", "not converted"), "verb": "convert",
                   "key": "lead_id", "baseline": "the source's conversion rate"},
         "deals": {"noun": "deals", "one": "deal", "outcomes": ("won", "lost"), "verb": "are won",
                   "key": "opportunity_id", "baseline": "the stage's win rate"}}


@dataclass
class Examples:
    """One row per example (a lead; a deal, or a deal at a stage): ``record_id``, ``stage`` (the
    stage a deal example is at, deals only), ``date`` (for the out-of-time test), ``outcome``
    (1, 0, NaN while open), ``rep_id``, ``rep_name``, the list's own columns and the candidate
    columns (``kinds``: name -> number or category)."""

    what: str
    frame: pd.DataFrame
    kinds: dict[str, str]
    baseline: str | None  # the candidate column the baseline groups by (source, stage), or None
    list_columns: list[str]
    notes: list[str] = field(default_factory=list)
    # Beyond the caps (more than GUARD_EXAMPLES examples or MAX_TRAINING_EXAMPLES closed ones),
    # ``frame`` holds only each example's keys and outcome, in the same order, and ``source`` is
    # the query of every column: learning reads from it only the examples it uses (the guard's
    # and the learning samples, the records it scores), not millions of rows into memory.
    source: ir.Table | None = None
    # The query of every column of the examples of the records whose ID is in a column: what
    # ``source`` gives, filtered (the leads' before the joins: the engine then works on them alone).
    source_of: Callable[[ir.Column], ir.Table] | None = None
    stage_probabilities: dict[str, float] = field(default_factory=dict)  # deals: the playbook's, by stage

    @property
    def complete(self) -> bool:
        return self.source is None


@dataclass
class Scoring:
    """A score learned, tested and applied (see the module docstring). ``measured`` is False
    (with ``reason``) when the data has too few closed records to learn and test one."""

    what: str
    measured: bool
    reason: str | None = None
    method: str | None = None  # "out of time" or "k-fold"
    folds: int = 0
    tested: int = 0
    base_rate: float | None = None
    auc: dict = field(default_factory=dict)  # model or "baseline" -> out-of-sample AUC
    chosen: str | None = None
    brier_score: float | None = None
    models: pd.DataFrame = field(default_factory=pd.DataFrame)
    deciles: pd.DataFrame = field(default_factory=pd.DataFrame)
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    suspects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=leakage.SUSPECT_COLUMNS))
    unusable: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["column", "why"]))
    features: list[str] = field(default_factory=list)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per example of the selection
    # The positions in ``scores`` of the selection's open records, best first (see open_list).
    open_order: np.ndarray = field(default_factory=lambda: np.array([], dtype="int64"))
    notes: list[str] = field(default_factory=list)

    @property
    def open_list(self) -> pd.DataFrame:
        """The selection's open records, highest score first (ties by ID): what reps work
        through. Taken from ``scores`` when asked, not kept beside them: at xlarge the copy of
        2.5 million open leads was held while the deals were scored."""
        if self.scores.empty and not len(self.scores.columns):
            return pd.DataFrame()
        return _open_list(self.scores, self.what, self.open_order)

    @property
    def words(self) -> dict:
        return WORDS[self.what]

    @property
    def score_auc(self) -> float | None:
        return self.auc.get(self.chosen) if self.chosen else None

    @property
    def baseline_auc(self) -> float | None:
        return self.auc.get("baseline")

    @property
    def top_decile_rate(self) -> float | None:
        if self.deciles.empty:
            return None
        rate = self.deciles.set_index("decile")["observed_rate"].get(DECILES)
        return None if rate is None or pd.isna(rate) else float(rate)

    def kpis(self) -> dict:
        """The KPIs a report records (``lead_score_auc``, ... or ``deal_score_auc``, ...)."""
        prefix = self.what[:-1]
        return {
            f"{prefix}_score_auc": self.score_auc, f"{prefix}_score_baseline_auc": self.baseline_auc,
            f"{prefix}_score_top_decile_rate": self.top_decile_rate, f"{prefix}_base_rate": self.base_rate,
            f"{prefix}_score_out_of_time": None if self.method is None else self.method == scoring_models.OUT_OF_TIME,
            f"{prefix}_score_folds": self.folds or None, f"{prefix}_score_tested": self.tested or None,
            f"scored_{self.what}": len(self.open_order),
        }

    def how_measured(self) -> str:
        """How the AUC was measured, in words: "out of time, 4 folds, 5,210 closed leads"."""
        if not self.measured:
            return f"not measured: {self.reason}"
        blocks = "each fold tested on later records than it learned from" if self.method == \
            scoring_models.OUT_OF_TIME else "records without dates, so folds drawn at random (stratified)"
        # With the stage history a deal is an example at each open stage it was in (deal_examples).
        examples = "deal examples (a deal at a stage it was in)" if self.what == "deals" and \
            self.baseline_auc is not None else self.words["noun"]
        return f"{self.method}, {self.folds} folds ({blocks}), {self.tested:,} closed {examples} scored out of sample"

    def verdict(self) -> str:
        """Whether the score beats the baseline a manager already has, plainly."""
        if not self.measured:
            return f"No {self.words['one']} score: {self.reason}."
        score = f"The {self.words['one']} score ({self.chosen}) has an out-of-sample AUC of {self.score_auc:.2f}"
        baseline = self.baseline_auc
        if baseline is None:
            return (f"{score}. There is no baseline to compare it with ({self.words['baseline']} needs the stage "
                    "history).")
        gap = self.score_auc - baseline
        if gap >= 0.02:
            return f"{score}, against {baseline:.2f} for {self.words['baseline']}: the model beats the baseline."
        if gap > -0.02:
            return (f"{score}, against {baseline:.2f} for {self.words['baseline']}: no better than the baseline; "
                    f"use {self.words['baseline']}, it is simpler.")
        return (f"{score}, against {baseline:.2f} for {self.words['baseline']}: worse than the baseline; use "
                f"{self.words['baseline']}.")


# ----------------------------------------------------------------------------- examples from the data


def _with_attributes(dataset: Dataset, table: ir.Table, name: str, key: str, taken: set) -> tuple[ir.Table, dict]:
    """``table`` with the attributes of table ``name`` joined on ``key``; an attribute whose name
    is already taken gets the table's word ("Size (account)")."""
    attributes = dataset.attributes(name)
    if attributes is None:
        return table, {}
    kinds = dataset.attribute_kinds(name)
    suffix = {"accounts": "account", "leads": "lead", "opportunities": "deal"}[name]
    renamed = {}
    for column in kinds:
        label = column if column not in taken else f"{column} ({suffix})"
        taken.add(label)
        renamed[label] = column
    own_key = TABLES[name].key
    right = attributes.select(__attribute_key=attributes[own_key], **{label: attributes[column]
                                                                      for label, column in renamed.items()})
    joined = table.left_join(right, table[key] == right["__attribute_key"]).drop("__attribute_key")
    return joined, {label: kinds[column] for label, column in renamed.items()}


def _industry(dataset: Dataset, table: ir.Table) -> ir.Table:
    accounts = dataset.table_or_empty("accounts").select(__industry_key="account_id", industry="industry")
    return table.left_join(accounts, table.account_id == accounts["__industry_key"]).drop("__industry_key")


def _activities_before(dataset: Dataset, rows: ir.Table, link: str, keys: list[str], until: str) -> ir.Table:
    """``rows`` with ``activities``: the activities linked by ``link`` logged before the row's
    ``until`` (a timestamp; NULL: every one)."""
    activities = dataset.table("activities")
    logged = activities.filter(activities[link].notnull()).select(__link=activities[link],
                                                                  __at=activities.occurred_at)
    ends = rows.select(*keys, __until=rows[until])
    joined = logged.join(ends, logged["__link"] == ends[keys[0]])
    counted = (joined.filter(joined["__until"].isnull() | (joined["__at"] < joined["__until"]))
               .group_by(keys).aggregate(activities=lambda t: t.count()))
    with_counts = rows.left_join(counted, [rows[key] == counted[key] for key in keys])
    with_counts = with_counts.drop(*[f"{key}_right" for key in keys if f"{key}_right" in with_counts.columns])
    return with_counts.mutate(activities=with_counts.activities.fill_null(0).cast("float64"))


def lead_examples(dataset: Dataset) -> Examples:
    """Every lead as an example (see the module docstring)."""
    keys, source, kinds = _lead_queries(dataset)
    return _examples(keys, what="leads", kinds=kinds, baseline="source", list_columns=["source", "created_at"],
                     source=source, source_of=lambda ids: _lead_queries(dataset, ids)[1])


def _lead_queries(dataset: Dataset, only: ir.Column | None = None) -> tuple[ir.Table, ir.Table, dict]:
    """The leads' keys, every column of them, and the candidate columns' kinds; with ``only``
    (a column of lead IDs), of those leads alone, chosen before the joins (the engine then
    counts the activities of those leads, not of every lead)."""
    playbook = dataset.playbook
    facts = lead_metrics.lead_facts(dataset)
    if only is not None:
        facts = facts.filter(facts.lead_id.isin(only))
    table = _industry(dataset, facts)
    open_status = table.status.isin(list(playbook.open_lead_statuses)).fill_null(False)
    table = table.mutate(
        outcome=ibis.ifelse(table.reached_opportunity, 1.0, ibis.ifelse(open_status, ibis.null("float64"), 0.0)),
        # The day it converted (creation + days to the deal); activities that day or later are the deal's.
        converted_on=ibis.ifelse(
            table.reached_opportunity,
            (table.created_date + table.days_to_opportunity.cast("int64").as_interval("D")).cast("timestamp"),
            ibis.null("timestamp")),
    )
    kinds = {"source": CATEGORY, "campaign": CATEGORY, "team": CATEGORY, "segment": CATEGORY, "industry": CATEGORY,
             "region": CATEGORY, "response hours": NUMBER}
    # The facts label empty groups ("(no source)"): the guard and the model see them as empty.
    table = table.mutate(**{"response hours": table.response_hours},
                         **{column: table[column].nullif(label) for column, label in EMPTY_LABELS.items()})
    keys = table.select(record_id=table.lead_id, outcome=table.outcome)  # before the joins: one row per lead
    if dataset.has("activities"):
        table = _activities_before(dataset, table, "lead_id", ["lead_id"], "converted_on")
        kinds["activities"] = NUMBER
    taken = set(kinds)
    table, lead_kinds = _with_attributes(dataset, table, "leads", "lead_id", taken)
    table, account_kinds = _with_attributes(dataset, table, "accounts", "account_id", taken)
    kinds |= lead_kinds | account_kinds
    reps = dataset.table_or_empty("reps").select(__rep_key="rep_id", rep_name="rep_name")
    table = table.left_join(reps, table.rep_id == reps["__rep_key"]).drop("__rep_key")
    source = table.select(
        record_id=table.lead_id, date=table.created_date, outcome=table.outcome, rep_id=table.rep_id,
        rep_name=table.rep_name.fill_null(table.rep_id), created_at=table.created_at,
        **{name: table[name] for name in kinds},
    )
    return keys, source, kinds


def deal_examples(dataset: Dataset) -> Examples:
    """Every deal as an example, or every deal at each open stage it was in (with the stage
    history; see the module docstring)."""
    playbook = dataset.playbook
    table = _industry(dataset, deal_metrics.deals(dataset))
    table = table.mutate(
        outcome=ibis.cases((table.outcome == deal_metrics.WON, 1.0), (table.outcome == deal_metrics.LOST, 0.0),
                           else_=ibis.null("float64")),
        current_stage=table.stage,
    )
    kinds = {"source": CATEGORY, "type": CATEGORY, "product": CATEGORY, "team": CATEGORY, "segment": CATEGORY,
             "industry": CATEGORY, "region": CATEGORY, "amount": NUMBER, "CRM probability": NUMBER,
             "lost reason": CATEGORY}
    table = table.mutate(**{"CRM probability": table.probability, "lost reason": table.lost_reason})
    with_history = dataset.has("opportunity_history") and bool(playbook.open_stages)
    notes = []
    if with_history:
        history = dataset.table("opportunity_history")
        window = ibis.window(group_by=history.opportunity_id, order_by=history_order(history, playbook))
        visits = history.mutate(left_at=history.changed_at.lead().over(window))
        visits = visits.filter(visits.stage.isin(playbook.open_stages))
        visits = visits.group_by(visit_deal="opportunity_id", visit_stage="stage").aggregate(
            visit_left=visits.left_at.max())
        closed = table.filter(table.outcome.notnull())
        closed = closed.join(visits, closed.opportunity_id == visits.visit_deal)
        closed = closed.mutate(example_stage=closed.visit_stage, until=closed.visit_left).drop(
            "visit_deal", "visit_stage", "visit_left")
        open_ = table.filter(table.outcome.isnull()).mutate(example_stage=table.stage,
                                                            until=ibis.null().cast(closed.until.type()))
        rows = closed.union(open_.select(closed.columns))
        kinds["stage"] = CATEGORY
        notes.append("A deal with stage history is an example at each open stage it was in (closed deals) or at its "
                     "current stage (open ones).")
    else:
        rows = table.mutate(example_stage=table.stage,
                            until=ibis.ifelse(table.outcome.notnull(), table.close_date.cast("timestamp"),
                                              ibis.null("timestamp")))
    rows = rows.mutate(stage=rows.example_stage)
    keys = rows.select(record_id=rows.opportunity_id, stage=rows.stage, outcome=rows.outcome)
    if dataset.has("activities"):
        rows = _activities_before(dataset, rows, "opportunity_id", ["opportunity_id", "stage"], "until")
        kinds["activities"] = NUMBER
    taken = set(kinds)
    rows, deal_kinds = _with_attributes(dataset, rows, "opportunities", "opportunity_id", taken)
    rows, account_kinds = _with_attributes(dataset, rows, "accounts", "account_id", taken)
    kinds |= deal_kinds | account_kinds
    source = rows.select(
        record_id=rows.opportunity_id, date=ibis.ifelse(rows.outcome.notnull(), rows.close_date,
                                                        ibis.null("date")),
        outcome=rows.outcome, rep_id=rows.rep_id, rep_name=rows.rep_name, current_stage=rows.current_stage,
        close_date=rows.close_date, **({} if "stage" in kinds else {"stage": rows.stage}),
        **{name: rows[name] for name in kinds},
    )
    probabilities = {stage.name: stage.probability for stage in playbook.stages}
    # The records asked for are chosen on the whole query's rows. Chosen before the joins, as the
    # leads are, the query ran out of DuckDB's 700 MB at xlarge (1.3 million deal IDs), where
    # this one completes.
    return _examples(keys, what="deals", kinds=kinds, baseline="stage" if with_history else None,
                     list_columns=["current_stage", "amount", "close_date", "stage_probability"], notes=notes,
                     source=source, source_of=lambda ids: source.filter(source.record_id.isin(ids)),
                     stage_probabilities=probabilities)


def _order(what: str) -> list[str]:
    """The examples' one order: by record ID (and, for deals, the example's stage)."""
    return ["record_id", "stage"] if what == "deals" else ["record_id"]


def _sorted(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """Examples in their one order (:func:`_order`)."""
    return frame.sort_values(_order(what), kind="stable").reset_index(drop=True)


def _sorted_keys(keys: ir.Table, what: str) -> pd.DataFrame:
    """The examples' keys executed, in their one order (:func:`_order`), sorted by Arrow before
    they become a frame: the order :func:`_sorted` gives (both stable, empty values last, text
    by its characters), for a third less memory. At xlarge (40 million leads) pandas' sort peaked
    at 4.0 GB, Arrow's at 2.6 GB (benchmarks/README.md)."""
    import pyarrow.compute as pc

    table = keys.to_pyarrow()
    order = pc.sort_indices(table, sort_keys=[(name, "ascending", "at_end") for name in _order(what)])
    table = table.take(order)
    del order
    frame = backends.arrow_frame(table, keys.schema())
    del table
    backends.release_arrow_memory()  # what the sort and the unsorted keys took
    return frame


def _read(examples: Examples, rows: ir.Table) -> pd.DataFrame:
    """``rows`` (of ``examples.source``) executed, with each deal's stage probability from the
    playbook, in the examples' order."""
    frame = rows.execute()
    if examples.what == "deals":
        frame["stage_probability"] = frame["current_stage"].map(examples.stage_probabilities).astype("float64")
    return _sorted(frame, examples.what)


def _examples(keys: ir.Table, **fields) -> Examples:
    """The :class:`Examples` of ``fields`` (``source`` their query), read: the ``keys`` first,
    then, when the data is within the caps, every column of every example at once."""
    examples = Examples(frame=_sorted_keys(keys, fields["what"]), **fields)
    closed = int(examples.frame["outcome"].notna().sum())
    if len(examples.frame) <= GUARD_EXAMPLES and closed <= scoring_models.MAX_TRAINING_EXAMPLES:
        examples.frame, examples.source, examples.source_of = _read(examples, examples.source), None, None
    return examples


def _rows(examples: Examples, positions: np.ndarray, numbers: np.ndarray) -> pd.DataFrame:
    """The examples at ``positions`` (and the other examples of their records) with every
    column, indexed by position: ``frame`` itself when complete, else read from the engine
    (only the records needed: a semi-join to their IDs). ``numbers``: the examples' record
    numbers (:func:`_record_numbers`)."""
    if examples.complete:
        return examples.frame
    keys = examples.frame
    wanted_numbers = np.zeros(int(numbers[-1]) + 1 if len(numbers) else 0, dtype=bool)
    wanted_numbers[numbers[positions]] = True
    needed = wanted_numbers[numbers]  # the examples of the records at positions (a record's are adjacent)
    wanted = keys["record_id"].iloc[positions].unique()
    source = examples.source
    if needed.all():
        rows = _read(examples, source)
    else:
        ids = ibis.memtable(pd.DataFrame({"__record": pd.Series(wanted, dtype=keys["record_id"].dtype)}))
        rows = _read(examples, examples.source_of(ids["__record"]))
    # Compared in the IDs' own (Arrow) type: as Python objects, millions of IDs would take gigabytes.
    if len(rows) != int(needed.sum()) or _differ(rows["record_id"], keys["record_id"][needed]):
        # The joins are on validated unique IDs, so this is the kit's error, never the data's:
        # stop rather than score one record with another's columns.
        raise RuntimeError(f"salesnb: the {examples.what}' keys and their full rows disagree ({int(needed.sum()):,} "
                           f"keys, {len(rows):,} rows); please report this")
    rows.index = np.flatnonzero(needed)
    return rows


def _record_numbers(ids: pd.Series) -> np.ndarray:
    """Each example's record number (0, 0, 1, 2, 2, ...) in IDs sorted so that a record's
    examples are adjacent: how many times the ID changed before it. Compared in the IDs' own
    type (Arrow strings for text): turned into Python objects, the 40 million lead IDs of a
    large CRM would take gigabytes."""
    values = ids.array
    changed = np.asarray(values[1:] != values[:-1], dtype=bool)
    return np.concatenate([[0], np.cumsum(changed)]).astype("int64") if len(values) else np.array([], "int64")


def _differ(left: pd.Series, right: pd.Series) -> bool:
    """Whether two equally long ID columns differ anywhere, compared in their own type."""
    return bool(np.asarray(left.array != right.array, dtype=bool).any())


# ----------------------------------------------------------------------------- learning and scoring


def _selected(dataset: Dataset, what: str, where: Selection) -> pd.Series | None:
    """The IDs (as text) of the records of the selection, or None for everything. A column, not
    a Python set: a team of a large CRM has millions of leads."""
    if not where:
        return None
    rows = lead_metrics.lead_facts(dataset, where).select(key="lead_id") if what == "leads" else \
        deal_metrics.deals(dataset, where).select(key="opportunity_id")
    return rows.key.execute().dropna().astype(str).drop_duplicates().reset_index(drop=True)




def learn(examples: Examples, *, where_ids=None, use_suspects=(), seed: int = SEED) -> Scoring:
    """Guard, learn, test and apply a score to ``examples`` (:func:`lead_examples`,
    :func:`deal_examples`); the list and the scores keep the records of ``where_ids`` (IDs as text,
    a list, set or column; None: all).
    ``use_suspects`` names columns the leakage guard flagged that the model may use anyway."""
    with scoring_models.one_thread():
        return _learn(examples, where_ids, tuple(use_suspects), seed)


def _learn(examples: Examples, where_ids, use_suspects: tuple, seed: int) -> Scoring:
    words = WORDS[examples.what]
    frame, kinds = examples.frame, examples.kinds
    outcome = frame["outcome"]
    closed = outcome.notna().to_numpy()
    unknown = sorted(set(use_suspects) - set(kinds))
    notes = list(examples.notes)
    if unknown:
        notes.append(f"use_suspects names {', '.join(map(repr, unknown))}, which the {words['noun']} do not have "
                     f"(their columns: {', '.join(kinds)}).")
    numbers = _record_numbers(frame["record_id"])
    guarded = _guard_positions(len(frame), seed)
    if len(guarded) < len(frame):
        records = int(numbers[-1]) + 1
        # A deal with stage history is an example at each stage it was in: say examples, not deals.
        whole = f"{len(frame):,} {words['noun']}" if records == len(frame) else \
            f"{len(frame):,} examples ({records:,} {words['noun']}, each at the stages it was in)"
        notes.append(f"The leakage guard checked a random sample of {len(guarded):,} of the {whole} (seed {seed}); "
                     "the counts in its sentences are of that sample.")
    training = _training_positions(frame, closed, seed, numbers)
    in_sample = np.zeros(len(frame), dtype=bool)
    in_sample[training] = True
    keep = np.ones(len(frame), dtype=bool) if where_ids is None else \
        frame["record_id"].astype(str).isin(where_ids).to_numpy()
    keep = keep & (~closed | in_sample)  # every record, when the model learns from all the closed ones
    # Every column of the examples used below: all of them within the caps; beyond, the samples' and the scored.
    rows = _rows(examples, np.union1d(np.union1d(guarded, training), np.flatnonzero(keep)), numbers)
    sample = rows.loc[guarded]
    suspects = leakage.suspects(sample, kinds, sample["outcome"], noun=words["noun"], outcomes=words["outcomes"],
                                forced=use_suspects, seed=seed)
    left_out = set(suspects.loc[suspects["left_out_of_model"].astype(bool), "suspect_column"])
    candidates = {name: kind for name, kind in kinds.items() if name not in left_out}
    # Which columns can be learned from is judged on what the model learns from: every closed
    # example, or beyond the cap the learning sample (the data's other rows are not read).
    learning = rows.loc[training]
    sampled = len(training) < closed.sum()
    features, unusable = scoring_models.usable_features(learning, candidates, np.ones(len(learning), dtype=bool),
                                                        " of the learning sample" if sampled else "")
    unusable = pd.DataFrame(unusable, columns=["column", "why"])
    positives = int(outcome[closed].sum())
    negatives = int(closed.sum()) - positives
    if closed.sum() < scoring_models.MIN_EXAMPLES or min(positives, negatives) < scoring_models.MIN_PER_CLASS:
        reason = (f"{int(closed.sum()):,} closed {words['noun']} ({positives:,} {words['outcomes'][0]}, {negatives:,} "
                  f"{words['outcomes'][1]}); a score needs at least {scoring_models.MIN_EXAMPLES} closed "
                  f"{words['noun']} with {scoring_models.MIN_PER_CLASS} of each outcome to be learned and tested")
        return Scoring(examples.what, False, reason=reason, suspects=suspects, unusable=unusable, notes=notes)
    if not features:
        return Scoring(examples.what, False, reason=f"none of the {words['noun']}' columns can be learned from",
                       suspects=suspects, unusable=unusable, notes=notes)

    numbers = [name for name in features if kinds[name] == NUMBER]
    categories = [name for name in features if kinds[name] == CATEGORY]
    if sampled:
        notes.append(f"The model learned from and was tested on a random sample of {len(training):,} of the "
                     f"{int(closed.sum()):,} closed examples (seed {seed}), and which columns it can learn from "
                     "was judged on that sample. Every open record is scored; the "
                     f"{int(closed.sum()) - len(training):,} closed ones outside the sample are not (their outcome "
                     "is known, a score adds nothing to act on, and scoring millions of them would take most of "
                     "the report's time).")
    vocabulary = scoring_models.category_vocabulary(learning, categories)
    features_frame = scoring_models.matrix(learning, numbers, categories, vocabulary)
    target = learning["outcome"].to_numpy(dtype="int64")
    baseline = learning[examples.baseline] if examples.baseline else None
    evaluation = scoring_models.evaluate(features_frame, target, learning["record_id"].to_numpy(),
                                         learning["date"], baseline, numbers, categories, seed)
    chosen_scores = evaluation.scores[evaluation.chosen]
    tested_target = target[evaluation.tested]
    thresholds = scoring_models.decile_thresholds(chosen_scores)
    deciles = scoring_models.lift_table(scoring_models.decile_of(chosen_scores, thresholds), chosen_scores,
                                        tested_target)
    base_rate = float(tested_target.mean())

    final = scoring_models.fitted(scoring_models.build_model(evaluation.chosen, numbers, categories, seed),
                                  features_frame, target)
    scored = rows if keep.all() else rows.loc[np.flatnonzero(keep)]
    del rows, sample  # what follows holds the scored records only (2.6 million at xlarge)
    score = scoring_models.scored(final, scored, numbers, categories, vocabulary)
    out_of_sample = np.zeros(len(frame), dtype=bool)
    oos_score = np.full(len(frame), np.nan)
    positions = training[evaluation.tested]
    out_of_sample[positions] = True
    oos_score[positions] = chosen_scores
    score = np.where(out_of_sample[keep], oos_score[keep], score)

    importance = scoring_models.importances(evaluation, features_frame, target, seed)
    drivers, lifts, top = _drivers(learning, kinds, importance, target, words)
    reasons = _open_reasons(scored, kinds, top, lifts, score, base_rate)
    # The columns keep their own types (.array): texts stay Arrow strings, not millions of
    # Python objects (2.5 million open leads at xlarge).
    scores = pd.DataFrame({
        "record_type": examples.what[:-1], "record_id": scored["record_id"].astype(str).array,
        "stage": scored["stage"].array if "stage" in scored else None,
        "rep_id": scored["rep_id"].array, "rep_name": scored["rep_name"].array,
        "score": score, "decile": scoring_models.decile_of(score, thresholds),
        "out_of_sample": out_of_sample[keep], "outcome": scored["outcome"].to_numpy(),
        "top_reasons": reasons,
        **{column: scored[column].array for column in examples.list_columns},
    })
    models = pd.DataFrame({"model": [*scoring_models.MODELS, *(["baseline"] if baseline is not None else [])]})
    models["auc"] = models["model"].map(evaluation.auc)
    models["chosen"] = models["model"] == evaluation.chosen
    models["model"] = models["model"].replace({"baseline": f"baseline: {words['baseline']}"})
    brier = float(np.mean((chosen_scores - tested_target) ** 2))
    return Scoring(
        examples.what, True, method=evaluation.method, folds=evaluation.folds, tested=len(evaluation.tested),
        base_rate=base_rate, auc=evaluation.auc, chosen=evaluation.chosen, brier_score=brier, models=models,
        deciles=deciles, drivers=drivers, suspects=suspects, unusable=unusable, features=features,
        scores=scores, open_order=_open_order(scores), notes=notes,
    )


def _open_reasons(scored: pd.DataFrame, kinds: dict, top: list[str], lifts: scoring_models.LevelLifts,
                  score: np.ndarray, base_rate: float) -> pd.api.extensions.ExtensionArray:
    """Each scored record's top reasons in words (open records; "" for closed ones), as Arrow
    strings: worked out ``SCORING_CHUNK`` records at a time, so the value groups and the Python
    texts of one chunk are held at once, not those of millions of open records."""
    labels = {name: name for name in top}
    parts = []
    for start in range(0, len(scored), scoring_models.SCORING_CHUNK):
        chunk = scored.iloc[start:start + scoring_models.SCORING_CHUNK]
        is_open = chunk["outcome"].isna().to_numpy()
        texts = np.full(len(chunk), "", dtype=object)
        if is_open.any():
            values = scoring_models.record_lifts(chunk[is_open], kinds, top, lifts)
            texts[is_open] = scoring_models.reasons(values, top, labels,
                                                    score[start:start + len(chunk)][is_open], base_rate)
        parts.append(pd.array(texts, dtype="str"))
    return pd.concat([pd.Series(part) for part in parts], ignore_index=True).array if parts else \
        pd.array([], dtype="str")


def _guard_positions(records: int, seed: int) -> np.ndarray:
    """The positions of the examples the leakage guard checks: all, or a seeded sample of
    ``GUARD_EXAMPLES`` (closed and open alike, so its shares estimate the whole data's): its
    checks are shares and rates, which a sample this size measures to a fraction of a point."""
    if records <= GUARD_EXAMPLES:
        return np.arange(records)
    return np.sort(np.random.default_rng(seed).choice(records, GUARD_EXAMPLES, replace=False))


def _training_positions(frame: pd.DataFrame, closed: np.ndarray, seed: int, numbers: np.ndarray) -> np.ndarray:
    """The positions of the closed examples to learn and test on: all, or a seeded sample of
    whole records (a deal's stage rows together) of at most ``MAX_TRAINING_EXAMPLES`` examples.
    ``numbers``: the examples' record numbers (:func:`_record_numbers`)."""
    positions = np.flatnonzero(closed)
    if len(positions) <= scoring_models.MAX_TRAINING_EXAMPLES:
        return positions
    # The sample is the one the sorted unique IDs of the closed examples would give: a record's
    # number among them is how many times the record changed before it.
    of_closed = numbers[positions]
    numbers = np.concatenate([[0], np.cumsum(of_closed[1:] != of_closed[:-1])])
    share = scoring_models.MAX_TRAINING_EXAMPLES / len(positions)
    unique = int(numbers[-1]) + 1
    chosen = np.zeros(unique, dtype=bool)
    chosen[np.random.default_rng(seed).choice(unique, int(unique * share), replace=False)] = True
    return positions[chosen[numbers]]


def _drivers(closed: pd.DataFrame, kinds: dict, importance: pd.Series, outcome: np.ndarray,
             words: dict) -> tuple[pd.DataFrame, scoring_models.LevelLifts, list[str]]:
    """What drives the score: the columns by importance (at most ``TOP_DRIVERS``, those that
    matter), each with its strongest value in words; the value lifts; the columns reasons use."""
    ranked = [name for name in importance.sort_values(ascending=False, kind="stable").index
              if importance[name] >= scoring_models.MIN_IMPORTANCE][:scoring_models.TOP_DRIVERS]
    lifts = scoring_models.level_lifts(closed, kinds, ranked, outcome)
    base = outcome.mean()
    rows = []
    for name in ranked:
        table = lifts.lifts[name]
        if table.empty:
            continue
        strongest = table.iloc[np.argmax(np.abs(np.log(table["lift"].clip(lower=1e-9))).to_numpy())]
        value = scoring_models.level_words(strongest["level"])
        times = strongest["lift"]
        subject = f"{words['noun'].capitalize()} with {name} {'of ' if kinds[name] == NUMBER else ''}{value}"
        rate = (f"({strongest['rate']:.0%} of {int(strongest['records']):,} closed {words['noun']}, against "
                f"{base:.0%} overall)")
        if strongest["rate"] == 0:
            sentence = f"{subject} never {words['verb']} {rate}."
        elif 1 / scoring_models.MIN_DRIVER_LIFT < times < scoring_models.MIN_DRIVER_LIFT:
            sentence = (f"{words['noun'].capitalize()} {words['verb']} about as often whatever their {name} (at "
                        f"most {times:.1f}x the average, {value}): the score uses {name} together with the other "
                        "columns.")
        elif times >= 1:
            sentence = f"{subject} {words['verb']} {times:.1f}x as often as the average {rate}."
        else:
            sentence = f"{subject} {words['verb']} {1 / times:.1f}x less often than the average {rate}."
        rows.append({
            "driver": name, "importance": float(importance[name]), "strongest_value": value,
            "value_rate": float(strongest["rate"]), "lift": float(times), "value_records": int(strongest["records"]),
            "sentence": sentence,
        })
    columns = ["driver", "importance", "strongest_value", "value_rate", "lift", "value_records", "sentence"]
    return pd.DataFrame(rows, columns=columns), lifts, [row["driver"] for row in rows]


def _open_order(scores: pd.DataFrame) -> np.ndarray:
    """The positions of the open records in ``scores``, highest score first, ties by ID. Ordered
    by Arrow (stable, as pandas' sort): pandas' two-column sort of 2.5 million open leads at
    xlarge took a gigabyte beside them."""
    import pyarrow
    import pyarrow.compute as pc

    positions = np.flatnonzero(scores["outcome"].isna().to_numpy())
    by = pyarrow.table({"score": pyarrow.array(scores["score"].to_numpy()[positions], from_pandas=True),
                        "record_id": pyarrow.array(scores["record_id"].iloc[positions].array, from_pandas=True)})
    order = pc.sort_indices(by, sort_keys=[("score", "descending", "at_end"), ("record_id", "ascending", "at_end")])
    return positions[order.to_numpy()]


def _open_list(scores: pd.DataFrame, what: str, order: np.ndarray | None = None) -> pd.DataFrame:
    """The open records of ``scores`` in ``order`` (:func:`_open_order`, worked out when None);
    deals with ``far_below_stage``."""
    open_ = scores.take(_open_order(scores) if order is None else order).reset_index(drop=True)
    if what == "deals":
        open_["far_below_stage"] = (open_["score"] < FAR_BELOW_STAGE * open_["stage_probability"]).fillna(False)
    return open_


# ----------------------------------------------------------------------------- the public metrics


@metric
def score_leads(dataset: Dataset, *, where: Selection, use_suspects=(), seed: int = SEED) -> Scoring:
    """Lead scoring: P(a lead converts to a deal), learned from the closed leads, tested out of
    sample against the source's conversion rate, applied to the open leads of the selection
    ``where``. See the module docstring and docs/metrics.md#scoring. No period (all history);
    no ``by``."""
    if not dataset.has("leads"):
        return Scoring("leads", False, reason="the data has no leads table")
    # The engine gets less memory while the examples, samples and models are held here (backends.memory_lowered).
    with backends.memory_lowered(dataset.connection):
        result = learn(lead_examples(dataset), where_ids=_selected(dataset, "leads", where),
                       use_suspects=use_suspects, seed=seed)
    backends.release_arrow_memory()  # the examples' keys are gone: 40 million leads at xlarge
    return result


@metric
def score_deals(dataset: Dataset, *, where: Selection, use_suspects=(), seed: int = SEED) -> Scoring:
    """Deal scoring: P(a deal is won), learned from the closed deals (at each open stage they
    were in, with the stage history), tested out of sample against the stage's win rate, applied
    to the open deals of the selection ``where``. No period (all history); no ``by``."""
    if not dataset.has("opportunities"):
        return Scoring("deals", False, reason="the data has no opportunities table")
    if not dataset.playbook.lost_stages:
        return Scoring("deals", False, reason="the process records no lost deals, so won cannot be told from lost")
    with backends.memory_lowered(dataset.connection):  # as score_leads
        result = learn(deal_examples(dataset), where_ids=_selected(dataset, "deals", where),
                       use_suspects=use_suspects, seed=seed)
    backends.release_arrow_memory()
    return result


def rep_summary(result: Scoring) -> pd.DataFrame:
    """Per rep: open records, how many in the top decile, the mean score and (deals) how many
    are far below their stage's probability; most open records first."""
    open_ = result.open_list
    count = "open_leads" if result.what == "leads" else "open_deals"
    if open_.empty:
        return pd.DataFrame(columns=["rep_name", count, "top_decile", "mean_score"])
    grouped = open_.assign(rep_name=open_["rep_name"].fillna("(unassigned)"),
                           top=open_["decile"] == DECILES).groupby("rep_name", dropna=False)
    table = grouped.agg(**{count: ("record_id", "size"), "top_decile": ("top", "sum"), "mean_score": ("score", "mean")})
    if result.what == "deals":
        table["far_below_stage_deals"] = grouped["far_below_stage"].sum()
    table = table.reset_index().sort_values([count, "rep_name"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def leakage_kpi(*results: Scoring) -> dict:
    """``leakage_suspects``: "leads: <column>" / "deals: <column>" -> its AUC alone, for every
    column the guard flagged (forced-in ones too)."""
    found = {}
    for result in results:
        for row in result.suspects.itertuples():
            found[f"{result.what}: {row.suspect_column}"] = row.auc_alone
    return found


EXPORT_COLUMNS = ["record_type", "record_id", "stage", "score", "decile", "out_of_sample", "outcome", "rep_id",
                  "top_reasons"]


def export_frame(*results: Scoring) -> pd.DataFrame:
    """One row per scored example of the selection, for ``scores.csv`` (docs/metrics.md#scoring-list):
    ``record_type`` (lead, deal), ``record_id``, ``stage`` (a deal example's stage), ``score``
    (0..1, 4 decimals), ``decile``, ``out_of_sample`` (the score came from the out-of-sample test:
    these rows give the reported AUC), ``outcome`` (1, 0, empty while open), ``rep_id``,
    ``top_reasons`` (open records)."""
    frames = [result.scores[[column for column in EXPORT_COLUMNS if column in result.scores]]
              for result in results if result.measured and not result.scores.empty]
    if not frames:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    frame = pd.concat(frames, ignore_index=True).reindex(columns=EXPORT_COLUMNS)
    frame["score"] = frame["score"].round(4)
    frame["outcome"] = frame["outcome"].astype("Int64")
    return frame
