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
