"""Bad playbooks: every setting that would silently give a wrong report, or crash later, is
refused when the playbook is read, with the setting named (exit 2)."""

from __future__ import annotations

import pytest

from tests.robustness_fixtures import assert_refused, validate, write_dataset

PLAYBOOK = """currency: USD
fiscal_year_start_month: 1
stages:
  - {name: Prospecting, probability: 0.05}
  - {name: Qualification, probability: 0.15}
  - {name: Discovery, probability: 0.30}
  - {name: Proposal, probability: 0.50}
  - {name: Negotiation, probability: 0.75}
  - {name: Closed Won, probability: 1.0, outcome: won}
  - {name: Closed Lost, probability: 0.0, outcome: lost}
qualified_stage: Qualification
lead_response_sla_hours: 24
stale_deal_days: 30
"""


def check(tmp_path, text: str | bytes):
    data = write_dataset(tmp_path / "data")
    playbook = tmp_path / "playbook.yaml"
    if isinstance(text, bytes):
        playbook.write_bytes(text)
    else:
        playbook.write_text(text, encoding="utf-8")
    return validate(data, "--config", playbook)


def test_the_clean_playbook_is_accepted(tmp_path):
    assert check(tmp_path, PLAYBOOK).code == 0


@pytest.mark.parametrize(("old", "new", "words"), [
    # Before: accepted, and every weighted pipeline number became NaN.
    pytest.param("probability: 0.50}", "probability: .nan}", ["stage 'Proposal'", "probability", "nan"],
                 id="probability-nan"),
    pytest.param("probability: 0.50}", "probability: .inf}", ["stage 'Proposal'", "between 0 and 1"],
                 id="probability-inf"),
    pytest.param("probability: 0.50}", "probability: 50}", ["stage 'Proposal'", "0.25, not 25"],
                 id="probability-percent"),
    pytest.param("probability: 0.50}", "probability: true}", ["stage 'Proposal' probability must be a number between 0 and 1, not True"],
                 id="probability-bool"),
    # Before: accepted; no lead was ever inside the SLA.
    pytest.param("lead_response_sla_hours: 24", "lead_response_sla_hours: .nan",
                 ["lead_response_sla_hours must be a positive number"], id="sla-nan"),
    # Before: a traceback (OverflowError: cannot convert float infinity to integer).
    pytest.param("stale_deal_days: 30", "stale_deal_days: .inf", ["stale_deal_days must be a positive whole number"],
                 id="stale-days-inf"),
    pytest.param("stale_deal_days: 30", "stale_deal_days: -5", ["stale_deal_days must be a positive whole number"],
                 id="stale-days-negative"),
    # Before: accepted as January (YAML's true is the integer 1 in Python).
    pytest.param("fiscal_year_start_month: 1", "fiscal_year_start_month: true",
                 ["fiscal_year_start_month must be a month number 1..12"], id="fiscal-month-bool"),
    pytest.param("fiscal_year_start_month: 1", "fiscal_year_start_month: 13",
                 ["fiscal_year_start_month must be a month number 1..12"], id="fiscal-month-13"),
    pytest.param("qualified_stage: Qualification", "qualified_stage: Qualified",
                 ["qualified_stage 'Qualified' is not one of the open stages"], id="qualified-stage-unknown"),
    pytest.param("currency: USD", "currency: USD\nstale_days: 30", ["unknown setting 'stale_days' (did you mean 'stale_deal_days'?)"],
                 id="unknown-setting"),
    pytest.param("  - {name: Closed Won, probability: 1.0, outcome: won}\n", "",
                 ["exactly one stage must have 'outcome: won'"], id="no-won-stage"),
    pytest.param("stages:", "stages: [\n", ["is not valid YAML"], id="broken-yaml"),
])
def test_bad_settings_are_refused_by_name(tmp_path, old, new, words):
    assert old in PLAYBOOK
    assert_refused(check(tmp_path, PLAYBOOK.replace(old, new, 1)), 2, "Playbook config", *words)


def test_a_latin1_playbook_says_to_save_it_as_utf8(tmp_path):
    # Before: a UnicodeDecodeError traceback.
    text = PLAYBOOK.replace("Negotiation", "Négociation").encode("latin-1")
    assert_refused(check(tmp_path, text), 2, "Playbook config", "is not UTF-8 text", "save it as UTF-8")


def test_a_missing_playbook(tmp_path):
    data = write_dataset(tmp_path / "data")
    assert_refused(validate(data, "--config", tmp_path / "nope.yaml"), 2, "Playbook config", "does not exist")


@pytest.mark.parametrize(("old", "new", "words"), [
    # Before (issue 24): each was accepted and gave a wrong report, or a stage "None".
    pytest.param("stale_deal_days: 30", "stale_deal_days: 30\nopen_lead_statuses: [1, null]",
                 ["open_lead_statuses item 1 must be a lead status, as text, not 1", "item 2", "not None"],
                 id="lead-statuses-not-text"),
    pytest.param("stale_deal_days: 30", "stale_deal_days: 30\nmin_deals_for_ranking: 2.5",
                 ["min_deals_for_ranking must be a positive whole number of deals, not 2.5"], id="ranking-2.5"),
    pytest.param("{name: Proposal, probability: 0.50}", "{name: null, probability: 0.50}",
                 ["stage 4 name must be text", "not None"], id="stage-name-null"),
    pytest.param("{name: Proposal, probability: 0.50}", "{name: Proposal, probability: 0.50, probabilty: 0.6}",
                 ["stage 'Proposal' has an unknown key 'probabilty' (did you mean 'probability'?)"],
                 id="stage-key-typo"),
    pytest.param("probability: 0.50}", "probability: -0.5}",
                 ["stage 'Proposal' probability must be a number between 0 and 1, not -0.5"], id="probability-negative"),
    pytest.param("stale_deal_days: 30", "stale_deal_days:", ["stale_deal_days must be a positive whole number of days, "
                                                            "not None"], id="setting-left-empty"),
])
def test_schema_refuses_wrong_types_ranges_and_keys(tmp_path, old, new, words):
    assert old in PLAYBOOK
    assert_refused(check(tmp_path, PLAYBOOK.replace(old, new, 1)), 2, "Playbook config", *words)


def test_every_problem_of_a_playbook_is_listed_in_one_message(tmp_path):
    # Before: only the first problem was named; fixing it showed the next one, run after run.
    text = (PLAYBOOK.replace("probability: 0.50}", "probability: .nan}")
            .replace("stale_deal_days: 30", "stale_deal_days: 30\nmin_deals_for_ranking: 2.5\nstale_days: 3")
            .replace("fiscal_year_start_month: 1", "fiscal_year_start_month: 13"))
    outcome = check(tmp_path, text)
    assert_refused(outcome, 2, "has 4 problems:", "- unknown setting 'stale_days'", "- fiscal_year_start_month",
                   "- min_deals_for_ranking", "- stage 'Proposal' probability must be a number between 0 and 1, not nan")


def test_config_pointing_at_a_folder_says_it_is_a_folder(tmp_path):
    # Before: "does not exist", though the folder is right there.
    data = write_dataset(tmp_path / "data")
    (tmp_path / "settings").mkdir()
    outcome = validate(data, "--config", tmp_path / "settings")
    assert_refused(outcome, 2, "Playbook config", "is a folder, not a file", str(tmp_path / "settings" / "playbook.yaml"))
    assert "does not exist" not in outcome.text
