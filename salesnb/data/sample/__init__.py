"""A realistic, deterministic sample dataset of a B2B software company.

``generate_sample(out_dir, seed, scale)`` writes every table of the canonical model
(``salesnb.data.model``) into ``out_dir``: about two years of CRM data ending on the fixed
snapshot date :data:`SNAPSHOT_DATE`, so the same seed always gives byte-identical files.
``docs/sample-data.md`` describes what the data contains and which patterns the reports
should show.

How the data is made, in dependency order (each step is vectorised numpy over all rows;
the only Python loops run over teams, months, stages or campaigns, never over rows):

1. reps (teams, managers, skill, hire dates; ``people.py``) and accounts (segment,
   region, industry; ``accounts.py``); which reps have given notice (``reps.left_on``, a
   date after the snapshot) is drawn last, from a stream of its own;
2. leads (``leads.py``): seasonal creation dates, sources and campaigns, response time,
   the funnel New -> MQL -> SQL -> converted, cut off at the snapshot;
3. new-business deals (``deals.py``) from converted leads and from outbound prospecting,
   then expansion and renewal deals for the customers those deals won; each deal walks
   the playbook stages with a drop probability per stage, and slips its expected close date;
4. opportunity history (``history.py``), derived from the same events, and the deals'
   current state taken from their last history row (so the two always agree);
5. activities (``activity.py``), orders (``orders.py``: first order plus repeat orders
   until the customer churns, and self-serve buyers without a deal), quotas (``quotas.py``: calibrated on the bookings of
   established reps) and marketing spend (``leads.py``).

All times are kept as float days since :data:`START_DATE` (``timeline.py``) until
``tables.py`` turns them into the model's tables; this module writes them to files.

Every step draws from one shared random generator, in the fixed order of
:func:`build_sample`: changing that order (or adding a draw) changes every file. (Orders
draw their newer patterns from a child stream spawned from it, which leaves the shared
stream as it was.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.data.model import TABLE_NAMES, TABLES
from salesnb.data.sample.accounts import (
    ACCOUNT_SUFFIXES,
    ACCOUNT_TRADES,
    ACCOUNT_WORDS,
    INDUSTRIES,
    SEGMENTS,
    SPECIAL_ACCOUNT_NAMES,
    make_accounts,
)
from salesnb.data.sample.activity import ACTIVITY_TYPES, make_activities
from salesnb.data.sample.deals import (
    AMOUNT_MEDIAN,
    AMOUNT_ROUNDING,
    LOST,
    LOST_REASON_WEIGHTS,
    LOST_REASONS,
    OPEN_STAGES,
    PASS_RATE,
    PRODUCT_MIX,
    PRODUCT_SIZE,
    PRODUCTS,
    SEGMENT_PACE,
    SEGMENT_QUALITY,
    SKIP_RATE,
    STAGE_DAYS,
    STAGES,
    WON,
    make_deals,
)
from salesnb.data.sample.currencies import in_currencies
from salesnb.data.sample.history import make_history
from salesnb.data.sample.leads import (
    CAMPAIGNS,
    EXISTING_CUSTOMER,
    LEAD_STATUSES,
    SOURCE_NAMES,
    SOURCES,
    make_leads,
    make_marketing_spend,
)
from salesnb.data.sample.orders import make_orders
from salesnb.data.sample.people import FIRST_NAMES, LAST_NAMES, TEAMS, leaving_days, make_reps
from salesnb.data.sample.quotas import make_quotas
from salesnb.data.sample.tables import to_frames
from salesnb.data.sample.timeline import SNAPSHOT_DATE, START_DATE
from salesnb.errors import SalesnbError

__all__ = [
    "generate_sample", "build_sample", "SCALES", "START_DATE", "SNAPSHOT_DATE",
    "STAGES", "OPEN_STAGES", "WON", "LOST", "TEAMS", "SEGMENTS",
    "FIRST_NAMES", "LAST_NAMES", "ACCOUNT_WORDS", "ACCOUNT_TRADES", "ACCOUNT_SUFFIXES", "SPECIAL_ACCOUNT_NAMES",
    "INDUSTRIES", "SOURCES", "SOURCE_NAMES", "EXISTING_CUSTOMER", "CAMPAIGNS", "LEAD_STATUSES",
    "PRODUCTS", "PRODUCT_MIX", "PRODUCT_SIZE", "AMOUNT_MEDIAN", "AMOUNT_ROUNDING", "STAGE_DAYS", "SEGMENT_PACE",
    "SEGMENT_QUALITY", "PASS_RATE", "SKIP_RATE", "LOST_REASONS", "LOST_REASON_WEIGHTS", "ACTIVITY_TYPES",
]

SCALES = {
    # reps (quota-carrying), accounts, leads, deals created directly by outbound prospecting;
    # with ``shards``, each size is one shard's and the company is that many shards (below).
    "small": dict(reps=18, accounts=600, leads=8_000, outbound_deals=450),
    "medium": dict(reps=150, accounts=6_000, leads=80_000, outbound_deals=4_500),
    "large": dict(reps=225, accounts=37_500, leads=500_000, outbound_deals=28_125, shards=8),
    "xlarge": dict(reps=225, accounts=37_500, leads=500_000, outbound_deals=28_125, shards=80),
}


def generate_sample(out_dir, seed: int = 42, scale: str = "small", file_format: str | None = None,
                    currencies: bool = False) -> list[str]:
    """Write the sample dataset into ``out_dir`` and return the names of the tables written.

    Parameters
    ----------
    out_dir : folder to write to (created if needed). Files of the same tables in the other
        format are removed, so the loader cannot pick up a stale copy.
    seed : random seed; the same seed and scale give byte-identical files.
    scale : ``small`` (about 2,000 deals), ``medium`` (10x), ``large`` (about 1M deals and
        12M activities) or ``xlarge`` (10x large), the last two written as Parquet.
    file_format : ``csv`` or ``parquet``; by default CSV, except Parquet for ``large`` and ``xlarge``.
    currencies : deals, their history and orders in USD, EUR and GBP by account, with a monthly
        ``exchange_rates`` table (``currencies.py``); off by default, and the default sample's
        files never change because of it.

    ``large`` and ``xlarge`` are made of shards (regional business units: their own reps,
    accounts, leads and deals, IDs tagged with the shard, e.g. ``O03-000123``), each drawn
    from its own generator seeded with (seed, shard) and appended to the files before the
    next is made, so memory stays that of one shard whatever the scale.
    """
    if scale not in SCALES:
        raise SalesnbError(f"Unknown sample scale {scale!r}; use one of {', '.join(SCALES)}.")
    file_format = file_format or ("parquet" if SCALES[scale].get("shards") else "csv")
    if file_format not in ("csv", "parquet"):
        raise SalesnbError(f"Unknown file format {file_format!r}; use csv or parquet.")
    folder = Path(out_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    shards = SCALES[scale].get("shards")
    names = [name for name in TABLE_NAMES if currencies or name not in CURRENCY_TABLES]
    _remove_stale(folder, [name for name in TABLE_NAMES if name not in names])
    if not shards:
        frames = build_sample(seed=seed, scale=scale, currencies=currencies)
        for name in names:
            _write_table(frames[name], name, folder, file_format)
        return names
    writers = {name: _TableWriter(name, folder, file_format) for name in names}
    spend = []
    try:
        for shard in range(shards):
            frames = build_sample(seed=seed, scale=scale, shard=shard, currencies=currencies)
            spend.append(frames.pop("marketing_spend"))  # one row per month and campaign, summed below
            rates = frames.pop("exchange_rates", None)  # the same in every shard: written once
            for name, frame in frames.items():
                writers[name].append(frame)
            del frames
        writers["marketing_spend"].append(_summed_spend(spend))
        if rates is not None:
            writers["exchange_rates"].append(rates)
        for writer in writers.values():
            writer.finish()
    finally:
        for writer in writers.values():
            writer.abandon()
    return names


# Tables only the multi-currency sample has.
CURRENCY_TABLES = ("exchange_rates",)


def _remove_stale(folder: Path, names: list[str]) -> None:
    """Remove the files of tables this sample does not write (a multi-currency sample written
    into the folder before): the loader must not pick up a stale rate table."""
    for name in names:
        for suffix in (".csv", ".parquet"):
            (folder / f"{name}{suffix}").unlink(missing_ok=True)


def build_sample(seed: int = 42, scale: str = "small", shard: int | None = None,
                 currencies: bool = False) -> dict[str, pd.DataFrame]:
    """The sample tables as pandas frames, times still as ``datetime64`` values; for a
    sharded scale, the tables of one ``shard``; with ``currencies``, in three currencies with
    the ``exchange_rates`` table (``currencies.py``)."""
    sizes = SCALES[scale]
    if sizes.get("shards") and shard is None:
        raise SalesnbError(f"The {scale} sample is built one shard at a time: pass shard=0..{sizes['shards'] - 1}.")
    rng = np.random.default_rng(seed if shard is None else [seed, shard])
    tag = "" if shard is None else f"{shard:02d}-"
    reps = tagged(make_reps(rng, sizes["reps"]), tag, "rep_id", "manager_id")
    accounts = tagged(make_accounts(rng, sizes["accounts"]), tag, "account_id")
    leads = tagged(make_leads(rng, sizes["leads"], accounts, reps), tag, "lead_id")
    deals = tagged(make_deals(rng, leads, accounts, reps, sizes["outbound_deals"]), tag, "opportunity_id")
    history, current = make_history(deals)
    activities = make_activities(rng, deals, current, leads, reps)
    orders = make_orders(rng, deals, current, accounts)
    quotas = make_quotas(reps, deals, current)
    spend = make_marketing_spend(rng, leads)
    # Drawn last, from a stream of its own: the leaving dates change no other table.
    reps["left_day"] = leaving_days(rng.spawn(1)[0], reps)
    frames = to_frames(rng, reps, accounts, leads, deals, history, current, activities, orders, quotas, spend, tag=tag)
    return in_currencies(frames, seed, shard) if currencies else frames


def tagged(columns: dict, tag: str, *id_columns: str) -> dict:
    """IDs of one shard made unique across shards: ``O000123`` -> ``O03-000123``."""
    if not tag:
        return columns
    columns = dict(columns)
    for name in id_columns:
        values = np.array(columns[name], dtype=object)
        present = pd.notna(values)
        values[present] = [value[:1] + tag + value[1:] for value in values[present]]
        columns[name] = values
    return columns


def _summed_spend(frames: list[pd.DataFrame]) -> pd.DataFrame:
    spend = pd.concat(frames, ignore_index=True)
    summed = spend.groupby(["month", "source", "campaign"], as_index=False, sort=True)["amount"].sum()
    return summed.assign(amount=summed["amount"].round(2))[TABLES["marketing_spend"].column_names]


class _TableWriter:
    """One table's file written shard by shard: Parquet row groups appended with one
    writer, or CSV rows appended after one header; atomic (a partial file is renamed at the end)."""

    def __init__(self, name: str, folder: Path, file_format: str):
        self.name, self.folder, self.file_format = name, folder, file_format
        self.suffix = ".csv" if file_format == "csv" else ".parquet"
        self.staging = folder / f".{name}{self.suffix}.partial"
        self.writer = None
        self.schema = None
        self.rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        if self.file_format == "csv":
            _text_frame(frame, self.name).to_csv(self.staging, index=False, lineterminator="\n", encoding="utf-8",
                                                 mode="a" if self.rows else "w", header=not self.rows)
        else:
            import pyarrow.parquet as pq

            table = _arrow_table(frame, self.name)
            if self.writer is None:
                self.schema = table.schema
                self.writer = pq.ParquetWriter(self.staging, self.schema, compression="zstd")
            self.writer.write_table(table.cast(self.schema))
        self.rows += len(frame)

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        os.replace(self.staging, self.folder / f"{self.name}{self.suffix}")
        other = self.folder / f"{self.name}{'.parquet' if self.suffix == '.csv' else '.csv'}"
        if other.exists():
            other.unlink()

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.staging.unlink(missing_ok=True)


def _write_table(frame: pd.DataFrame, name: str, folder: Path, file_format: str) -> None:
    """Write one table atomically; remove a copy in the other format."""
    suffix = ".csv" if file_format == "csv" else ".parquet"
    other = folder / f"{name}{'.parquet' if suffix == '.csv' else '.csv'}"
    target = folder / f"{name}{suffix}"
    staging = folder / f".{name}{suffix}.partial"
    if file_format == "csv":
        _text_frame(frame, name).to_csv(staging, index=False, lineterminator="\n", encoding="utf-8")
    else:
        import pyarrow.parquet as pq

        pq.write_table(_arrow_table(frame, name), staging, compression="zstd")
    os.replace(staging, target)
    if other.exists():
        other.unlink()


def _arrow_table(frame: pd.DataFrame, name: str):
    """The frame as Arrow: calendar dates as Parquet dates, categoricals as plain text."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for position, column in enumerate(column for column in TABLES[name].columns if column.name in frame):
        if column.type == "date":  # calendar dates as Parquet dates, not timestamps
            table = table.set_column(position, column.name, table[column.name].cast(pa.date32()))
        elif pa.types.is_dictionary(table.schema.field(position).type):  # categorical -> plain text
            table = table.set_column(position, column.name, table[column.name].cast(pa.large_string()))
    return table


def _text_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Dates as YYYY-MM-DD, timestamps as YYYY-MM-DD HH:MM:SS, money with two decimals."""
    text = {}
    for column in (column for column in TABLES[name].columns if column.name in frame):
        values = frame[column.name]
        if column.type in ("date", "timestamp"):
            unit = "D" if column.type == "date" else "s"
            strings = np.datetime_as_string(values.to_numpy().astype(f"datetime64[{unit}]"), unit=unit)
            strings = pd.Series(strings, dtype=object).str.replace("T", " ", regex=False)
            text[column.name] = strings.where(values.notna().to_numpy(), "")
        elif column.type in ("money", "number"):
            numbers = values.to_numpy(dtype=float)
            digits = "%.4f" if (name, column.name) == ("exchange_rates", "rate") else "%.2f"  # rates as published
            strings = pd.Series(np.char.mod(digits, numbers), dtype=object)
            text[column.name] = strings.where(~np.isnan(numbers), "")
        else:
            text[column.name] = values.astype(object).where(values.notna(), "")
    return pd.DataFrame(text)
