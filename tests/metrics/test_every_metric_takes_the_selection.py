"""Every public metric answers for any slice: each is called with a non-trivial selection on
the sample, and its answer must change (a metric that ignored ``where`` would give the
company's numbers for a team)."""

from __future__ import annotations

import inspect
import warnings

import pandas as pd
import pytest

import salesnb
from salesnb.data.selection import SelectionError
from salesnb.metrics import catalogue, scope

# Whether an analysis is supported depends on which columns hold data; a team's slice of
# the sample fills the same columns as the whole company.
SAME_FOR_A_TEAM = {
    "health.supported_analyses",
    # Counted over every rep's activities: one without a rep belongs to no team, and each
    # team's page says how many of the period's activities no team could be credited with.
    "activity.activity_exclusions",
}
# Fewer simulations and backtest periods: this test is about the selection, not the numbers.
QUICK = {"simulations": 100, "periods": 4}


def everything():
    catalogue.entries()  # imports every metrics module, each registering its metrics
    return sorted(scope.PUBLIC_METRICS.items())


@pytest.fixture(scope="module")
def sample(sample_dir):
    return salesnb.open(sample_dir)


def _comparable(result) -> str:
    if isinstance(result, pd.DataFrame):
        return result.to_csv()
    if hasattr(result, "__dict__"):
        return repr(sorted((key, repr(value)) for key, value in vars(result).items()))
    return repr(result)


def _call(function, dataset, where=None):
    parameters = inspect.signature(function).parameters
    with warnings.catch_warnings():
        # No metric may call another the old way (team=...): that keyword form goes next release.
        warnings.filterwarnings("error", message=".*is replaced by where=salesnb.select", category=DeprecationWarning)
        return function(dataset, where=where, **{key: value for key, value in QUICK.items() if key in parameters})


def test_there_is_a_metric_per_report():
    modules = {name.split(".")[0] for name, _ in everything()}
    assert {"leads", "marketing", "conversion", "funnel", "pipeline", "forecast", "waterfall", "quota", "ramp",
            "repeat", "retention", "clv"} <= modules


@pytest.mark.parametrize("name, function", everything(), ids=[name for name, _ in everything()])
def test_each_metric_answers_for_a_team_and_the_answer_changes(sample, name, function):
    team = _call(function, sample, salesnb.select(team="Enterprise"))
    company = _call(function, sample)
    if name in SAME_FOR_A_TEAM:
        assert _comparable(team) == _comparable(company)
    else:
        assert _comparable(team) != _comparable(company), f"{name} gave the company's answer for one team"


@pytest.mark.parametrize("name, function", everything(), ids=[name for name, _ in everything()])
def test_each_metric_takes_a_deal_dimension_or_names_what_it_cannot_split(sample, name, function):
    where = salesnb.select(source=["Webinar", "Referral"], region="East")
    try:
        _call(function, sample, where)
    except SelectionError as refused:
        # Quotas are per rep: coverage against quota cannot be split by a deal's source.
        assert "source" in str(refused) or "region" in str(refused), str(refused)
