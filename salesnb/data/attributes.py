"""Attributes: the extra columns of a user's own (a lead's job title, a company size, a web-visit
count), kept beside the canonical tables and typed as numbers or categories.

A data folder's CSV or Parquet file may carry columns the data model does not name; for
``opportunities``, ``leads`` and ``accounts`` (``ATTRIBUTE_TABLES``) each such column is kept
as an attribute of the row (``salesnb import`` writes the ones a mapping lists under
``attributes:``, docs/importing.md). An attribute is a **number** when every value it holds
reads as one (``12``, ``3.5``; ``nan`` and ``inf`` count as empty), else a **category**
(text, trimmed; untrusted like all CRM text, escaped wherever it is shown). A column empty on
every row, and a column whose name is a model column's in other letter case, is not an
attribute. Attributes never change a canonical table: they live in a table of their own per
table (the key and the attributes), which only the analyses that use them join
(``Dataset.attributes``), so no join elsewhere meets an unexpected column.

Typed once with the canonical tables, into the same cache entry (``<table>.attributes.parquet``);
this module is part of the cache key (``dataset.CODE_FILES``).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir

from salesnb.data import backends, cache
from salesnb.data.backends import as_count
from salesnb.data.model import TABLES, convert, stripped_or_null

ATTRIBUTE_TABLES = ("opportunities", "leads", "accounts")
NUMBER, CATEGORY = "number", "category"
# The file of a table's attributes in a cache entry.
SUFFIX = ".attributes.parquet"


def extra_columns(name: str, raw: ir.Table) -> list[str]:
    """The columns of ``raw`` that are not columns of the model's table ``name`` (in any letter case)."""
    known = {column.lower() for column in TABLES[name].column_names}
    return [column for column in raw.columns if column.strip() and column.strip().lower() not in known]


def _present(value: ir.Value) -> ir.BooleanValue:
    """A value is written (``nan`` and ``inf``, which read as numbers but are none, count as empty)."""
    number = convert(value, "number")
    not_a_number = (number.isnan() | number.isinf()).fill_null(False)
    return stripped_or_null(value.cast("string")).notnull() & ~not_a_number


def _number(value: ir.Value) -> ir.FloatingValue:
    """The value as a finite number, else NULL (text that is no number, nan, inf)."""
    number = convert(value, "number")
    return ibis.ifelse(number.isnan() | number.isinf(), ibis.null("float64"), number)


def kinds(name: str, raw: ir.Table) -> dict[str, str]:
    """Attribute name -> ``number`` or ``category``, for the extra columns of ``raw`` that hold a
    value on some row (one pass over the table)."""
    columns = extra_columns(name, raw)
    if not columns:
        return {}
    counts = raw.aggregate(**{
        **{f"present_{index}": _present(raw[column]).cast("int64").sum() for index, column in enumerate(columns)},
        **{f"numbers_{index}": _number(raw[column]).notnull().cast("int64").sum() for index, column in enumerate(columns)},
    }).execute().iloc[0]
    found = {}
    for index, column in enumerate(columns):
        present, numbers = as_count(counts[f"present_{index}"]), as_count(counts[f"numbers_{index}"])
        if present:
            found[column.strip()] = NUMBER if numbers == present else CATEGORY
    return found


def typed(name: str, raw: ir.Table, attribute_kinds: dict[str, str]) -> ir.Table:
    """The key of table ``name`` and each attribute in its type (a category is trimmed text)."""
    key = TABLES[name].key
    by_name = {column.strip(): column for column in raw.columns}
    return raw.select(**{key: convert(raw[key], "id")}, **{
        attribute: _number(raw[by_name[attribute]]) if kind == NUMBER else convert(raw[by_name[attribute]], "category")
        for attribute, kind in attribute_kinds.items()})


def type_tables(connection, raw_tables: dict[str, ir.Table], typed_tables: dict[str, ir.Table],
                typed_dir: Path | None = None) -> dict[str, ir.Table]:
    """The attribute table of every table of ``ATTRIBUTE_TABLES`` that has attributes and passed
    its column checks (it is in ``typed_tables``): streamed into ``typed_dir`` (a cache entry
    being built) and read back, or materialized in the backend without a cache."""
    found = {}
    for name in ATTRIBUTE_TABLES:
        if name not in typed_tables or name not in raw_tables:
            continue
        attribute_kinds = kinds(name, raw_tables[name])
        if not attribute_kinds:
            continue
        expression = typed(name, raw_tables[name], attribute_kinds)
        if typed_dir is not None:
            import duckdb

            path = Path(typed_dir) / f"{name}{SUFFIX}"
            try:
                backends.write_parquet(connection, expression, path)
            except duckdb.Error as error:  # a full disk or a read-only cache, as DuckDB reports it
                raise cache.cache_write_error(Path(typed_dir).parent, error) from None
            found[name] = connection.read_parquet(path, table_name=f"attributes_{name}")
        else:
            found[name] = backends.materialize(connection, f"attributes_{name}", expression)
    return found


def read_cached(connection, entry: Path) -> dict[str, ir.Table]:
    """The attribute tables kept in a cache entry."""
    return {name: connection.read_parquet(Path(entry) / f"{name}{SUFFIX}", table_name=f"attributes_{name}")
            for name in ATTRIBUTE_TABLES if (Path(entry) / f"{name}{SUFFIX}").is_file()}


def kinds_of(name: str, table: ir.Table) -> dict[str, str]:
    """Attribute name -> ``number`` or ``category`` of a typed attribute table."""
    key = TABLES[name].key
    return {column: NUMBER if table[column].type().is_numeric() else CATEGORY
            for column in table.columns if column != key}
