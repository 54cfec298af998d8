"""The playbook config: the default loads, and mistakes get a message saying what to fix."""

import pytest

from salesnb.data.playbook import load_playbook, playbook_from_dict
from salesnb.errors import ConfigError


def test_default_playbook():
    playbook = load_playbook()
    assert playbook.open_stages == ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"]
    assert playbook.won_stages == ["Closed Won"] and playbook.lost_stages == ["Closed Lost"]
    assert playbook.qualified_stages == ["Qualification", "Discovery", "Proposal", "Negotiation"]
    assert playbook.currency == "USD" and playbook.fiscal_year_start_month == 1


def _stages(**override):
    stages = [{"name": "Open", "probability": 0.2}, {"name": "Won", "probability": 1, "outcome": "won"},
              {"name": "Lost", "probability": 0, "outcome": "lost"}]
    return {"stages": stages, **override}


@pytest.mark.parametrize("raw, message", [
    ({"stages": [{"name": "A", "probability": 20}]}, "give probabilities as 0..1"),
    (_stages(fiscal_year_start_month=13), "fiscal_year_start_month must be a month number"),
    (_stages(qualified_stage="Nope"), "qualified_stage 'Nope' is not one of the open stages"),
    (_stages(colour="red"), "unknown setting 'colour'"),
    ({"stages": [{"name": "Open", "probability": 0.2}, {"name": "Lost", "probability": 0, "outcome": "lost"}]},
     "exactly one stage must have 'outcome: won'"),
])
def test_config_mistakes_are_explained(raw, message):
    with pytest.raises(ConfigError, match="Playbook config") as error:
        playbook_from_dict(raw, source="my.yaml")
    assert message in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_playbook(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stages: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_playbook(path)


def test_funnel_only_playbooks_are_valid():
    # only won deals recorded (a marketing funnel), or only won and lost: no stage needs inventing
    won_only = playbook_from_dict({"stages": [{"name": "Won", "probability": 1.0, "outcome": "won"}]})
    assert (won_only.open_stages, won_only.lost_stages, won_only.qualified_stages) == ([], [], [])
    closed_only = playbook_from_dict({"stages": [{"name": "Won", "probability": 1, "outcome": "won"},
                                                 {"name": "Lost", "probability": 0, "outcome": "lost"}]})
    assert closed_only.open_stages == [] and closed_only.lost_stages == ["Lost"]


def test_every_problem_is_listed_with_did_you_mean():
    raw = _stages(stale_days=3, open_lead_statuses=["New", None], min_deals_for_ranking=2.5)
    raw["stages"][0]["probabilty"] = 0.3
    raw["stages"][1]["probability"] = float("nan")
    with pytest.raises(ConfigError) as error:
        playbook_from_dict(raw, source="my.yaml")
    assert str(error.value).splitlines() == [
        "Playbook config my.yaml has 5 problems:",
        "- unknown setting 'stale_days' (did you mean 'stale_deal_days'?). The settings are currency, "
        "fiscal_year_start_month, stages, qualified_stage, lead_response_sla_hours, stale_deal_days, "
        "open_lead_statuses, min_deals_for_ranking, exchange_rates.",
        "- min_deals_for_ranking must be a positive whole number of deals, not 2.5.",
        "- open_lead_statuses item 2 must be a lead status, as text, not None.",
        "- stage 'Open' has an unknown key 'probabilty' (did you mean 'probability'?); a stage has name, probability, "
        "outcome.",
        "- stage 'Won' probability must be a number between 0 and 1, not nan.",
    ]


@pytest.mark.parametrize("raw, message", [
    ({"stages": [{"name": None, "probability": 1, "outcome": "won"}]}, "stage 1 name must be text"),
    ({"stages": [{"name": "  ", "probability": 1, "outcome": "won"}]}, "stage 1 name must be text"),
    ({"stages": [{"name": "Won", "outcome": "won"}]}, "stage 'Won' needs 'probability'"),
    ({"stages": [{"name": "Won", "probability": 1, "outcome": "closed"}]}, "stage 'Won' outcome must be 'won', 'lost'"),
    ({"stages": []}, "stages must be a list of stages"),
    ({}, "the playbook needs 'stages'"),
    (_stages(lead_response_sla_hours=0), "lead_response_sla_hours must be a positive number of hours, not 0"),
    (_stages(currency=""), "currency must be a currency code such as USD"),
    (_stages(qualified_stage="Won"), "qualified_stage 'Won' is not one of the open stages (Open)"),
    (_stages(stages=None), "stages must be a list of stages"),
])
def test_types_ranges_and_shapes(raw, message):
    with pytest.raises(ConfigError) as error:
        playbook_from_dict(raw, source="my.yaml")
    assert message in str(error.value)


def test_names_and_settings_are_read_without_surrounding_spaces():
    playbook = playbook_from_dict({**_stages(qualified_stage=" Open "), "currency": " EUR ",
                                   "open_lead_statuses": [" New "]})
    assert (playbook.qualified_stage, playbook.currency, playbook.open_lead_statuses) == ("Open", "EUR", ("New",))


def test_config_pointing_at_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        load_playbook(tmp_path)


def test_common_names_of_the_closed_stages():
    playbook = load_playbook()
    assert [playbook.stage_meant_by(value) for value in ("Won", "won", "Closed-Won", "closed won", "WON ")] == \
        ["Closed Won"] * 5
    assert [playbook.stage_meant_by(value) for value in ("Lost", "Closed - Lost", "loss")] == ["Closed Lost"] * 3
    # A stage of the playbook itself, or no common name, means nothing else.
    assert [playbook.stage_meant_by(value) for value in ("Closed Won", "Signed", "Proposal")] == [None] * 3


def test_loading_a_playbook_skips_jsonschemas_slow_optional_import_and_still_checks_it():
    import subprocess
    import sys
    from pathlib import Path

    # Every report kernel loads the playbook: rfc3987_syntax would build a grammar there (3-5 s)
    # for a format check the schema never asks. The default loads, a wrong setting is still caught.
    code = ("import sys\n"
            "from salesnb.data.playbook import load_playbook, playbook_from_dict\n"
            "from salesnb.errors import ConfigError\n"
            "load_playbook()\n"
            "try:\n"
            "    playbook_from_dict({'stages': 'not a list'})\n"
            "except ConfigError as error:\n"
            "    print('caught', 'stages' in str(error))\n"
            "print(sys.modules.get('rfc3987_syntax', 'absent'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.split() == ["caught", "True", "None"]
