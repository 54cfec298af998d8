"""Numbers in options and plan keys: ``nan``, ``inf``, ``.nan`` and ``true`` are refused by name.

Before (issue 24): ``--timeout nan``, ``--lock-wait nan`` and ``timeout_seconds: .nan`` were
accepted ("nan < 1" is false, so "at least 1" let it through), and a notebook then "timed out
after nan s". The check lives in the data layer (``salesnb.data.numbers``) so the command line
and the run plans call the same function.
"""

from __future__ import annotations

import pytest
import yaml

from salesnb.data.numbers import finite_number, number_problem
from salesnb.errors import OptionError, SalesnbError


@pytest.mark.parametrize(("value", "words"), [
    pytest.param(float("nan"), "--timeout: nan is not a finite number (per-notebook time limit in seconds); give a "
                               "number of at least 1.", id="nan"),
    pytest.param(float("inf"), "--timeout: inf is not a finite number", id="inf"),
    pytest.param(float("-inf"), "--timeout: -inf is not a finite number", id="minus-inf"),
    pytest.param(0.5, "--timeout: 0.5 is too small; it must be at least 1 (per-notebook time limit in seconds).",
                 id="too-small"),
    pytest.param(True, "--timeout: True is not a number; per-notebook time limit in seconds.", id="bool"),
    pytest.param("soon", "--timeout: 'soon' is not a number", id="text"),
])
def test_unusable_numbers_are_refused_naming_the_option(value, words):
    with pytest.raises(OptionError) as refused:
        finite_number(value, "--timeout", minimum=1, meaning="per-notebook time limit in seconds")
    assert words in str(refused.value)
    assert isinstance(refused.value, SalesnbError)  # the command line prints it and exits 2


def test_usable_numbers_pass_through():
    assert finite_number(None, "--lock-wait", minimum=0) is None  # an option not given
    assert finite_number(0, "--lock-wait", minimum=0) == 0
    assert finite_number(900.5, "--timeout", minimum=1) == 900.5
    assert finite_number(3.0, "keep", minimum=1, whole=True) == 3 and isinstance(finite_number(3.0, "keep", whole=True),
                                                                                  int)
    with pytest.raises(OptionError, match=r"keep: 2.5 is not a whole number"):
        finite_number(2.5, "keep", minimum=1, whole=True)


@pytest.mark.parametrize("text", ["timeout_seconds: .nan", "timeout_seconds: .inf", "lock_wait_seconds: .NaN"])
def test_yaml_non_finite_numbers_in_a_plan_are_problems(text):
    # How YAML reads them, and the sentence a plan's problem list gets.
    key, value = next(iter(yaml.safe_load(text).items()))
    assert number_problem(value, key, minimum=0).startswith(f"{key}: {value!r} is not a finite number")
