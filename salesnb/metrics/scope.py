"""One way to ask any metric for any slice: ``where=`` (a selection) and ``period`` in any form.

Every public metric is wrapped by :func:`metric`, which gives it the kit's one calling
convention::

    conversion.win_rates(dataset, "2025Q3", by="product", where=salesnb.select(team="Enterprise"))

- ``period`` (where the metric has one) may be any form :func:`salesnb.data.periods.parse_period`
  reads ("2025Q3", "2025-07", "last_12_months", two dates, a :class:`Period`); without one,
  the selection's period, else the metric's default (the twelve full months up to the data's date);
- ``where`` is a :class:`~salesnb.data.selection.Selection`, a mapping or None;
- the keywords of earlier releases (``team=``, ``segment=``, ``rep=``) still work for one
  release, with a ``DeprecationWarning``, and become a selection.

:func:`restrict` is the one place a selection is applied to rows: what team, rep, segment,
source, product and region mean for a deal, a lead, an order, an activity, a rep or a quota.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import warnings

import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, parse_period, undated_period
from salesnb.data.selection import Selection, SelectionError, as_selection

# Keywords of earlier releases that a selection replaces.
LEGACY_KEYWORDS = ("team", "segment", "rep")
# The attribute of a returned frame that marks it as a metric's result (for the notebook display).
RESULT_ATTRIBUTE = "salesnb_metric"

# Every function wrapped by :func:`metric`, by "module.function".
PUBLIC_METRICS: dict[str, object] = {}


def resolve_period(dataset: Dataset, spec, default: str = "last_12_months") -> Period:
    """``spec`` (any period form) as dates, against the dataset's date, span and fiscal year.
    On data without dates: ``periods.UNDATED`` (every row) for no period, a rule or ``all``."""
    if isinstance(spec, Period):
        return spec
    if not dataset.dated:
        return undated_period(spec)
    return parse_period(spec, as_of=dataset.as_of, span=dataset.span,
                        fiscal_year_start_month=dataset.playbook.fiscal_year_start_month, default=default)


def metric(function=None, *, default_period: str = "last_12_months"):
    """Give a metric function the one calling convention (see the module docstring).

    The wrapped function is written as ``f(dataset, period, ..., *, by=..., where: Selection)``:
    it receives ``period`` as a :class:`Period` and ``where`` as a :class:`Selection` (never
    None), and is registered in :data:`PUBLIC_METRICS`. A returned DataFrame is marked
    (``frame.attrs``) so a notebook shows it labelled and formatted from the catalogue.
    """
    if function is None:
        return functools.partial(metric, default_period=default_period)
    signature = inspect.signature(function)
    if "where" not in signature.parameters:
        raise TypeError(f"{function.__qualname__}: a metric takes where= (a selection)")
    takes_period = "period" in signature.parameters

    @functools.wraps(function)
    def wrapper(dataset, *args, where=None, **kwargs):
        where = as_selection(where)
        legacy = {name: kwargs.pop(name) for name in LEGACY_KEYWORDS
                  if name in kwargs and name not in signature.parameters}
        legacy = {name: value for name, value in legacy.items() if value not in (None, "")}
        if legacy:
            warnings.warn(f"{function.__name__}({', '.join(f'{name}=' for name in legacy)}...) is replaced by "
                          f"where=salesnb.select({', '.join(f'{name}=...' for name in legacy)}); the keywords go in "
                          "the next release.", DeprecationWarning, stacklevel=2)
            clash = [name for name in legacy if getattr(where, name) is not None]
            if clash:
                raise SelectionError(f"{', '.join(clash)} given both as a keyword and in where=; give it once.")
            where = where.but(**legacy)
        if takes_period:
            bound = signature.bind_partial(dataset, *args, **kwargs)
            spec = bound.arguments.get("period")
            if spec is None:
                spec = where.period
            elif where.period is not None and resolve_period(dataset, where.period) != resolve_period(dataset, spec):
                raise SelectionError(f"The period is given twice, differently: {spec!r} and where.period "
                                     f"{where.period!r}; give it once.")
            bound.arguments["period"] = resolve_period(dataset, spec, default_period)
            args, kwargs = bound.args[1:], bound.kwargs
        result = function(dataset, *args, where=where.without_period(), **kwargs)
        if isinstance(result, pd.DataFrame):
            result.attrs[RESULT_ATTRIBUTE] = f"{function.__module__.rsplit('.', 1)[-1]}.{function.__name__}"
            result.attrs["currency"] = dataset.playbook.currency
        return result

    PUBLIC_METRICS[f"{function.__module__.rsplit('.', 1)[-1]}.{function.__name__}"] = wrapper
    return wrapper


# ----------------------------------------------------------------------------- restricting rows

def _distinct(column: ir.Value) -> list[str]:
    values = column.name("value").as_table().distinct().execute()["value"].dropna()
    return sorted({str(value) for value in values})


def known_values(dataset: Dataset, dimension: str) -> list[str]:
    """Every value of ``dimension`` in the data (sorted): what a selection may name."""
    def compute():
        sources = {
            "team": [("reps", "team")],
            "rep": [("reps", "rep_id"), ("reps", "rep_name"), ("opportunities", "rep_id"), ("leads", "rep_id")],
            "segment": [("accounts", "segment")],
            "source": [("opportunities", "source"), ("leads", "source"), ("marketing_spend", "source")],
            "product": [("opportunities", "product"), ("orders", "product")],
            "region": [("accounts", "region"), ("reps", "region")],
        }[dimension]
        found: set[str] = set()
        for table, column in sources:
            if dataset.has(table):
                found.update(_distinct(dataset.table(table)[column]))
        return sorted(found)
    return dataset.memo(("selection values", dimension), compute)


def check_selection(dataset: Dataset, where: Selection) -> None:
    """A value the data does not hold is a typo, not an empty report: refuse it, listing the values."""
    for dimension, values in where.items():
        known = known_values(dataset, dimension)
        for value in values:
            if value not in known:
                if not known:
                    raise SelectionError(f"{dimension} = {value!r}: the data records no {dimension} at all "
                                         f"({_where_recorded(dimension)}); remove it from the selection.")
                close = difflib.get_close_matches(value, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
                raise SelectionError(f"{dimension} = {value!r} matches no data.{hint} The {dimension} values are: "
                                     f"{shown}.")


def _where_recorded(dimension: str) -> str:
    return {"team": "reps.team", "rep": "reps or a rep_id on deals and leads", "segment": "accounts.segment",
            "source": "the source of deals, leads or spend", "product": "the product of deals or orders",
            "region": "accounts.region or reps.region"}[dimension]


def rep_ids(dataset: Dataset, values: tuple[str, ...]) -> list[str]:
    """The rep_ids a rep selection means: a rep_id as written, else every rep of that name."""
    ids: set[str] = set()
    people = dataset.table("reps") if dataset.has("reps") else None
    for value in values:
        named = _distinct(people.filter(people.rep_name == value).rep_id) if people is not None else []
        ids.update(named or [value])
    return sorted(ids)


def restrict(dataset: Dataset, table: ir.Table, where: Selection | None, *, rows: str = "rows") -> ir.Table:
    """``table`` keeping only the rows the selection names.

    What each dimension means for a row, from the row's own columns first:

    - ``rep``: the row's ``rep_id`` (a deal's owner, a lead's owner, who did an activity),
      else its deal's owner (an order through its ``opportunity_id``); a rep may be named by
      ``rep_id`` or by ``rep_name``;
    - ``team``: the ``team`` column when the rows carry one, else the team (``reps.team``) of
      the rep above;
    - ``segment``: the ``segment`` column, else the segment of the row's account
      (``account_id``, or its deal's account);
    - ``source``, ``product``: the row's own column, else its deal's (through ``opportunity_id``),
      else its lead's source (through ``lead_id``);
    - ``region``: the ``region`` column, else the account's region (``accounts.region``) and,
      for rows without an account region, the rep's (``reps.region``).

    A dimension the rows cannot reach (a segment for quotas, which are per rep) is a
    :class:`SelectionError` that names it; ``rows`` ("deals", "quotas", ...) is the word the
    message uses. Values are checked first (:func:`check_selection`).
    """
    where = as_selection(where)
    if not where:
        return table
    check_selection(dataset, where)
    for dimension, values in where.items():
        table = _restrict_one(dataset, table, dimension, values, rows)
    return table


def _in(column: ir.Value, values) -> ir.BooleanValue:
    """Membership in a list of values or in another table's column (a semi-join)."""
    return column.isin(values if isinstance(values, ir.Value) else list(values)).fill_null(False)


def _restrict_one(dataset: Dataset, table: ir.Table, dimension: str, values: tuple[str, ...], rows: str) -> ir.Table:
    columns = set(table.columns)
    if dimension == "rep":
        ids = rep_ids(dataset, values)
        if "rep_id" in columns:
            return table.filter(_in(table.rep_id, ids))
        return _through_deal(dataset, table, "rep_id", ids, dimension, rows)
    if dimension == "team":
        if "team" in columns:
            return table.filter(_in(table.team, values))
        members = _members(dataset, "team", values, rows)
        if "rep_id" in columns:
            return table.filter(_in(table.rep_id, members))
        return _through_deal(dataset, table, "rep_id", members, dimension, rows)
    if dimension in ("segment", "region"):
        if dimension in columns:
            return table.filter(_in(table[dimension], values))
        return _by_account(dataset, table, dimension, values, rows)
    # source, product: the row's own column, else its deal's, else (source) its lead's.
    if dimension in columns:
        return table.filter(_in(table[dimension], values))
    if "opportunity_id" in columns and dataset.has("opportunities"):
        return _through_deal(dataset, table, dimension, list(values), dimension, rows)
    if dimension == "source" and "lead_id" in columns and dataset.has("leads"):
        leads = dataset.table("leads")
        chosen = leads.filter(_in(leads.source, values)).lead_id
        return table.filter(_in(table.lead_id, chosen))
    raise _unreachable(dimension, rows, table)


def _members(dataset: Dataset, dimension: str, values, rows: str):
    """The rep_ids of the reps whose ``dimension`` (team, region) is one of ``values``."""
    if not dataset.has("reps"):
        raise SelectionError(f"Selecting {rows} by {dimension} needs the 'reps' table (rep_id, {dimension}); add "
                             f"reps.csv or leave {dimension} out of the selection.")
    reps = dataset.table("reps")
    return reps.filter(_in(reps[dimension], values)).rep_id


def _through_deal(dataset: Dataset, table: ir.Table, column: str, values, dimension: str, rows: str) -> ir.Table:
    """Rows whose deal (``opportunity_id``) has ``column`` in ``values``."""
    if "opportunity_id" not in table.columns or not dataset.has("opportunities"):
        raise _unreachable(dimension, rows, table)
    deals = dataset.table("opportunities")
    chosen = deals.filter(_in(deals[column], values)).opportunity_id
    return table.filter(_in(table.opportunity_id, chosen))


def _by_account(dataset: Dataset, table: ir.Table, dimension: str, values, rows: str) -> ir.Table:
    """Rows whose account's segment or region is one of ``values`` (region: the rep's region
    for rows whose account records none)."""
    columns = set(table.columns)
    account = table.account_id if "account_id" in columns else None
    if account is None and "opportunity_id" in columns and dataset.has("opportunities"):
        deals = dataset.table("opportunities").select("opportunity_id", selection_account="account_id")
        table = table.left_join(deals, "opportunity_id").drop("opportunity_id_right")
        account = table.selection_account
    reachable_by_account = account is not None and dataset.has("accounts")
    if dimension == "segment":
        if not reachable_by_account:
            if not dataset.has("accounts"):
                raise SelectionError(f"Selecting {rows} by segment needs the 'accounts' table (account_id, segment); "
                                     "add accounts.csv or leave segment out of the selection.")
            raise _unreachable(dimension, rows, table)
        accounts = dataset.table("accounts")
        keep = _in(account, accounts.filter(_in(accounts.segment, values)).account_id)
    else:
        keep = None
        if reachable_by_account:
            accounts = dataset.table("accounts")
            in_region = _in(account, accounts.filter(_in(accounts.region, values)).account_id)
            recorded = _in(account, accounts.filter(accounts.region.notnull()).account_id)
            keep = in_region
        rep = table.rep_id if "rep_id" in table.columns else None
        if rep is not None and dataset.has("reps"):
            by_rep = _in(rep, _members(dataset, "region", values, rows))
            keep = by_rep if keep is None else (keep | (~recorded & by_rep))
        if keep is None:
            if account is not None and not dataset.has("accounts"):
                raise SelectionError(f"Selecting {rows} by region needs the 'accounts' table (account_id, region) or "
                                     "the reps' region; add accounts.csv or leave region out of the selection.")
            raise _unreachable(dimension, rows, table)
    table = table.filter(keep)
    return table.drop("selection_account") if "selection_account" in table.columns else table


def _unreachable(dimension: str, rows: str, table: ir.Table) -> SelectionError:
    needs = {"rep": "rep_id (or a deal's opportunity_id)", "team": "rep_id (or a deal's opportunity_id)",
             "segment": "account_id (or a deal's opportunity_id)", "region": "account_id or rep_id",
             "source": "source (or a deal's opportunity_id, or a lead_id)",
             "product": "product (or a deal's opportunity_id)"}[dimension]
    return SelectionError(f"{rows[:1].upper() + rows[1:]} cannot be selected by {dimension}: they carry no "
                          f"{needs}. Leave {dimension} out of the selection for this view.")
