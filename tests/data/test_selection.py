"""A selection is a plain, frozen value: the same selection is the same key, written the same way."""

from salesnb.data.selection import EVERYTHING, Selection, as_selection, select


def test_values_are_normalised_so_equal_selections_are_equal():
    assert select(team="Alpha") == select(team=["Alpha"]) == Selection(team=("Alpha",))
    assert select(source=["Web", "Referral"]) == select(source=("Referral", "Web"))
    assert hash(select(team="Alpha")) == hash(select(team=("Alpha",)))
    assert select(team=None, segment="") == EVERYTHING and not EVERYTHING


def test_describe_and_change():
    where = select(team="Alpha", source=["Web", "Referral"], period="2025Q3")
    assert where.describe() == "team Alpha · source Referral or Web"
    assert where.dimensions == ["team", "source"]
    assert where.without_period().period is None
    assert where.but(team=None).dimensions == ["source"]
    assert as_selection({"team": "Alpha"}) == select(team="Alpha")
    assert as_selection(None) is EVERYTHING
