"""The canonical data model: the tables a dataset may hold and every column's type.

A dataset is a folder with one file per table (``opportunities.csv`` or
``opportunities.parquet``). No table is required: every analysis says which tables it
needs, and a deal table needs only ``opportunity_id`` and ``stage`` (every other column
may be absent or empty; each analysis leaves out only the deals lacking what it needs). ``docs/data-model.md`` documents the same model for users;
this module is the single source the loader, the validator, the importer and the sample
generator all read.

Column types:

- ``id``: an identifier, always kept as text (leading zeros matter).
- ``text``: free text from the CRM (names, reasons): untrusted, escaped when shown.
- ``category``: a short label used for grouping (team, source, stage).
- ``date``: a calendar date (``YYYY-MM-DD``); timestamps are truncated to their date.
- ``timestamp``: a date and time (``YYYY-MM-DD HH:MM:SS``), naive, in the CRM's time zone.
- ``money``: an amount: in the row's ``currency`` where the table has that column (empty
  means the playbook currency), else in the playbook currency. Metrics see every amount
  converted to the playbook currency (``salesnb.data.currency``).
- ``number``: any other number (e.g. a probability in 0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

# Bump when a table or column changes meaning: it invalidates the Parquet cache.
MODEL_VERSION = "5"  # 5: exchange_rates and reps.left_on together

COLUMN_TYPES = ("id", "text", "category", "date", "timestamp", "money", "number")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    description: str
    references: str | None = None  # name of the table whose key this column holds


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: str | None = None  # the column that identifies a row, unique
    required: bool = False
    enables: str = ""  # what an analysis gains from this table (shown when it is missing)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name, type_, required, description, references=None):
    return Column(name, type_, required, description, references)


TABLES: dict[str, Table] = {
    table.name: table
    for table in [
        Table(
            "opportunities",
            "One row per deal (opportunity), in its current state.",
            (
                _c("opportunity_id", "id", True, "Unique deal ID."),
                _c("account_id", "id", False, "The customer account.", "accounts"),
                _c("rep_id", "id", False, "The deal owner.", "reps"),
                _c("lead_id", "id", False, "The lead the deal came from.", "leads"),
                _c("source", "category", False, "First-touch source (e.g. Webinar, Outbound)."),
                _c("type", "category", False, "New business, expansion, renewal."),
                _c("product", "category", False, "Main product."),
                _c("created_at", "date", False, "When the deal was created."),
                _c("close_date", "date", False, "Actual close date for closed deals; expected close date for open ones."),
                _c("stage", "category", True, "Current stage; must be a stage of the playbook."),
                _c("amount", "money", False, "Deal value, in the deal's currency."),
                _c("lost_reason", "text", False, "Why a lost deal was lost."),
                _c("currency", "category", False, "Currency code of amount (EUR, GBP, ...); empty means the playbook currency. Other currencies are converted with exchange_rates."),
                _c("probability", "number", False, "The CRM's own win probability, 0..1 (the playbook's stage probabilities are used where empty)."),
            ),
            key="opportunity_id",
            enables="every deal analysis: win rates, funnel, cycle, pipeline, velocity, loss reasons",
        ),
        Table(
            "opportunity_history",
            "Each row is a deal's state from changed_at on: stage, amount and close-date changes.",
            (
                _c("opportunity_id", "id", True, "The deal.", "opportunities"),
                _c("changed_at", "timestamp", True, "When this state began."),
                _c("stage", "category", True, "Stage from changed_at on."),
                _c("amount", "money", False, "Amount from changed_at on, in the deal's currency."),
                _c("close_date", "date", False, "Expected close date from changed_at on."),
            ),
            enables="stage-by-stage funnel from real history, time in stage, where lost deals were lost, slipped deals",
        ),
        Table(
            "reps",
            "Sales reps and their teams.",
            (
                _c("rep_id", "id", True, "Unique rep ID."),
                _c("rep_name", "text", True, "Display name."),
                _c("team", "category", False, "Team name."),
                _c("manager_id", "id", False, "The rep's manager (a rep_id)."),
                _c("region", "category", False, "Sales region."),
                _c("hire_date", "date", False, "Start date, for ramp."),
                _c("left_on", "date", False, "Last day of employment of a rep who left or gave notice; empty while "
                   "employed. For attrition."),
            ),
            key="rep_id",
            enables="rep names, team filters and team roll-ups",
        ),
        Table(
            "quotas",
            "Quota per rep and period.",
            (
                _c("rep_id", "id", True, "The rep.", "reps"),
                _c("period_start", "date", True, "First day of the quota period."),
                _c("period_end", "date", True, "Last day of the quota period."),
                _c("amount", "money", True, "Quota amount, in the playbook currency."),
            ),
            enables="quota attainment and coverage",
        ),
        Table(
            "accounts",
            "Customer and prospect accounts.",
            (
                _c("account_id", "id", True, "Unique account ID."),
                _c("account_name", "text", True, "Display name."),
                _c("segment", "category", False, "e.g. SMB, Mid-Market, Enterprise."),
                _c("industry", "category", False, "Industry."),
                _c("region", "category", False, "Region."),
            ),
            key="account_id",
            enables="segment filters and account views",
        ),
        Table(
            "leads",
            "Leads (people or companies showing interest) and how far they got.",
            (
                _c("lead_id", "id", True, "Unique lead ID."),
                _c("created_at", "timestamp", False, "When the lead was created: on every lead, or on none (a lead "
                   "list without dates, docs/data-model.md)."),
                _c("source", "category", False, "Lead source (channel)."),
                _c("campaign", "category", False, "Marketing campaign."),
                _c("rep_id", "id", False, "Lead owner.", "reps"),
                _c("status", "category", False, "Current status (e.g. New, Working, Converted, Disqualified)."),
                _c("first_response_at", "timestamp", False, "First outbound touch by sales; empty if never answered."),
                _c("mql_at", "timestamp", False, "When the lead became marketing-qualified."),
                _c("sql_at", "timestamp", False, "When the lead became sales-qualified."),
                _c("converted_at", "timestamp", False, "When the lead was converted to a deal."),
                _c("opportunity_id", "id", False, "The deal it converted to.", "opportunities"),
                _c("account_id", "id", False, "The account.", "accounts"),
            ),
            key="lead_id",
            enables="lead volume, quality, response speed and source attribution",
        ),
        Table(
            "activities",
            "Calls, emails, meetings and other touches.",
            (
                _c("activity_id", "id", True, "Unique activity ID."),
                _c("rep_id", "id", False, "Who did it.", "reps"),
                _c("type", "category", True, "call, email, meeting, demo, ..."),
                _c("occurred_at", "timestamp", True, "When it happened."),
                _c("lead_id", "id", False, "Related lead.", "leads"),
                _c("opportunity_id", "id", False, "Related deal.", "opportunities"),
                _c("account_id", "id", False, "Related account.", "accounts"),
            ),
            key="activity_id",
            enables="activity per rep, stale deals, activity-to-outcome ratios",
        ),
        Table(
            "orders",
            "Orders (bookings) placed by accounts, including repeat orders.",
            (
                _c("order_id", "id", True, "Unique order ID."),
                _c("account_id", "id", True, "Who ordered.", "accounts"),
                _c("ordered_at", "date", True, "Order date."),
                _c("amount", "money", True, "Order value, in the order's currency."),
                _c("product", "category", False, "Product."),
                _c("opportunity_id", "id", False, "The deal it came from.", "opportunities"),
                _c("currency", "category", False, "Currency code of amount; empty means the playbook currency."),
            ),
            key="order_id",
            enables="repeat orders, retention cohorts and revenue retention",
        ),
        Table(
            "marketing_spend",
            "Marketing spend per month, source and campaign.",
            (
                _c("month", "date", True, "First day of the month."),
                _c("source", "category", True, "Source (same labels as leads.source)."),
                _c("campaign", "category", False, "Campaign."),
                _c("amount", "money", True, "Spend in the playbook currency."),
            ),
            enables="cost per lead, per opportunity and per won deal",
        ),
        Table(
            "exchange_rates",
            "Dated exchange rates: what one unit of a currency is worth in the playbook currency, from valid_from "
            "until the currency's next row (as finance publishes them, monthly or daily).",
            (
                _c("currency", "category", True, "Currency code (EUR, GBP, ...)."),
                _c("valid_from", "date", True, "First day the rate applies."),
                _c("rate", "number", True, "Value of one unit of the currency in the playbook currency "
                   "(EUR 1.08 with a USD playbook: 1 EUR = 1.08 USD); above 0."),
            ),
            enables="deals and orders in other currencies, converted at the rate of their date",
        ),
    ]
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

# File endings the loader reads, in order of preference when both exist.
FILE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv")



# What ``StringValue.strip`` removes: below every other character, so a text whose first and
# last characters are above it has nothing to strip.
_STRIPPED_BELOW = 32  # ord(" "); the others are \t \n \v \f \r


def stripped_or_null(text):
    """``text.strip().nullif("")`` (the value without the whitespace around it, NULL when nothing
    is left), stripping only the values that start or end with a character at or below the
    space. The engines' TRIM of a set of characters is slow: on DuckDB 10 times a scan of the
    column (12.5M activity IDs of the large sample), and most IDs and names have nothing to
    strip; the first and last characters are tested at a third of that cost. A value is
    unchanged when both are above the space, and never empty then, so the result is the same."""
    import ibis

    clean = (text.ascii_str() > _STRIPPED_BELOW) & (text.right(1).ascii_str() > _STRIPPED_BELOW)
    return ibis.ifelse(clean.fill_null(False), text, text.strip().nullif(""))


def convert(value, column_type: str):
    """Ibis expression turning a raw column (text from a CSV, or any Parquet type) into
    its canonical type. Values that cannot be read become NULL; the validator reports them.
    """
    import ibis
    import ibis.expr.datatypes as dt

    source = value.type()
    if column_type in ("id", "text", "category"):
        return stripped_or_null(value.cast("string"))
    if column_type in ("money", "number"):
        if source.is_numeric():
            return value.cast("float64")
        return stripped_or_null(value.cast("string")).try_cast("float64")
    if column_type in ("date", "timestamp"):
        if source.is_timestamp():
            stamp = value.cast(dt.Timestamp())  # drop any time zone: compare wall-clock dates
        elif source.is_date():
            stamp = value.cast("timestamp")
        else:
            stamp = stripped_or_null(value.cast("string")).try_cast("timestamp")
        # A year past 9999 (a typo such as 20240) is stored by the engine but cannot become a
        # Python date: unreadable, like any other date the validator reports.
        stamp = ibis.ifelse(stamp.year().between(1, 9999), stamp, ibis.null("timestamp"))
        return stamp.date() if column_type == "date" else stamp
    raise ValueError(f"unknown column type {column_type!r}")


def ibis_type(column_type: str) -> str:
    """The Ibis type a canonical column has after :func:`convert`."""
    return {
        "id": "string", "text": "string", "category": "string", "date": "date",
        "timestamp": "timestamp", "money": "float64", "number": "float64",
    }[column_type]
