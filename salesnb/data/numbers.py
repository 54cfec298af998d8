"""Numbers people type into options and settings: ``--timeout``, ``--lock-wait``, a plan's
``timeout_seconds``.

Python reads ``nan``, ``inf`` and ``1e999`` as floats, and YAML reads ``.nan`` and ``.inf``
too: each compares false with every bound (``nan < 1`` and ``nan >= 1`` are both false), so
a check like ``value < minimum`` lets it through and the run later "times out after nan s".
YAML's ``true`` is the integer 1 in Python. :func:`number_problem` refuses all of them.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from salesnb.errors import OptionError


def number_problem(value, name: str, *, minimum: float | None = None, whole: bool = False,
                   meaning: str = "") -> str | None:
    """What is wrong with ``value`` as the number ``name``, or None when it is a usable one.

    A usable number is a real number (not a bool, not text), finite, whole when ``whole``,
    and at least ``minimum``. ``meaning`` (e.g. "per-notebook time limit in seconds") is
    added to the message.
    """
    about = f" ({meaning})" if meaning else ""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, Real):
        return f"{name}: {value!r} is not {kind}" + (f"; {meaning}." if meaning else ".")
    if not math.isfinite(value):
        at_least = f" of at least {minimum:g}" if minimum is not None else ""
        return f"{name}: {value!r} is not a finite number{about}; give {kind}{at_least}."
    if whole and not (isinstance(value, Integral) or float(value).is_integer()):
        return f"{name}: {value!r} is not a whole number" + (f"; {meaning}." if meaning else ".")
    if minimum is not None and value < minimum:
        return f"{name}: {value!r} is too small; it must be at least {minimum:g}{about}."
    return None


def finite_number(value, name: str, *, minimum: float | None = None, whole: bool = False, meaning: str = ""):
    """``value`` when it is a usable number (see :func:`number_problem`), None when it is None
    (an option not given); else :class:`salesnb.errors.OptionError` naming ``name``."""
    if value is None:
        return None
    problem = number_problem(value, name, minimum=minimum, whole=whole, meaning=meaning)
    if problem:
        raise OptionError(problem)
    return int(value) if whole else value
