"""Sums, means and spreads that come out the same in every run and on every engine.

A sum of floating-point values depends on the order it adds them in, in the last digits: an
engine that splits a table among threads combines their partial sums in whatever order the
threads finish. On the large sample the calibrated weighted pipeline (the sum of 40,000 open
deals' amount x probability) differed in its 16th digit from one run to the next, so two runs
of the same data wrote different ``metrics.json`` files. :func:`exact_sum` adds the values as
decimals instead (each value to :data:`EXACT_SCALE` decimal places, by the engine's own
conversion: within a few billionths of the value at a hundred million, far below a cent), and
decimal addition gives the same total in any order.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

EXACT_SCALE = 10
# Values this large (or NaN, infinite) are summed as floats, as before: the decimal total must
# stay within the 28 whole digits of DECIMAL(38, 10), which ten billion rows below the bound do.
# Squares of amounts reach it (retention's and attainment's intervals add squares of revenue
# and deal amounts): at 1e15 an account of $32M already fell back to the float sum.
EXACT_BOUND = 1e18
_DECIMAL = dt.Decimal(38, EXACT_SCALE)


def exact_sum(values: ir.NumericColumn, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """Σ ``values`` as a float, added exactly: each value converted to a decimal of
    ``EXACT_SCALE`` places and summed as a decimal, so the total does not depend on the order
    of the rows.
    Empty values are left out (none at all: empty, as SQL's ``SUM``). When any value is NaN,
    infinite or at least ``EXACT_BOUND`` in size, the plain float sum instead (NaN stays NaN).
    ``where``: only the rows where it holds, as ``sum(where=...)``."""
    values = values.cast("float64")
    if where is not None:
        values = ibis.cases((where, values), else_=ibis.null("float64"))
    outside = values.isnan() | values.isinf() | (values.abs() >= EXACT_BOUND)
    exact = ibis.ifelse(outside, 0.0, values).cast(_DECIMAL).sum().cast("float64")
    return ibis.ifelse(outside.any(), values.sum(), exact)


def exact_mean(values: ir.NumericColumn, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """The mean of the filled ``values`` (``where``: of the rows where it holds), as
    :func:`exact_sum` ÷ their count: the same in any row order, where an engine's ``AVG`` of
    floats is not. Empty when no value is filled, NaN when any is NaN."""
    return exact_sum(values, where) / values.count(where=where)


def exact_std(values: ir.NumericColumn) -> ir.FloatingScalar:
    """The sample standard deviation, sqrt((Σx² - (Σx)² / n) / (n - 1)), from :func:`exact_sum`
    of the values and of their squares: the same in any row order, where an engine's streaming
    ``STDDEV_SAMP`` is not. For whole numbers such as days, whose sums are then exact; the
    formula loses digits only when the spread is tiny against the values (about 1e-8 of them),
    which a count of days never is. Empty with fewer than two filled values."""
    values = values.cast("float64")
    count = values.count()
    total, squares = exact_sum(values), exact_sum(values * values)
    variance = (squares - total * total / count) / (count - 1)
    return ibis.ifelse(count > 1, ibis.greatest(variance, 0.0).sqrt(), ibis.null("float64"))
