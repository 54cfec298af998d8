"""Number formatting shared by tables, tiles, the run index and findings."""

from salesnb.data.formats import format_value


def test_value_formats():
    assert format_value(1234567.8, "currency", "USD") == "$1,234,568"
    assert format_value(1234.0, "currency", "EUR") == "€1,234"
    assert format_value(0.3127, "percent") == "31.3%"
    assert format_value(None, "percent") == "–"
    assert format_value(float("nan"), "days") == "–"


def test_negative_amounts_put_the_sign_before_the_symbol():
    # A waterfall's outflows: "-$591,100", never "$-591,100"; a rounded -0 is "$0".
    assert format_value(-591100.0, "currency", "USD") == "-$591,100"
    assert format_value(-0.0, "currency", "USD") == "$0"
    assert format_value(-0.4, "currency", "USD") == "$0"
