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


def test_numbers_get_the_digits_they_deserve():
    # "282.84 predicted purchases", "21.21 activities per rep-week", "2.00 meetings": too many digits.
    assert format_value(282.84, "number") == "283"
    assert format_value(21.21, "number") == "21.2"
    assert format_value(2.0, "number") == "2"
    assert format_value(1.824, "number") == "1.82"
    assert format_value(1234.5, "number") == "1,234"
    assert format_value(16.34, "ratio") == "16.3x" and format_value(1.824, "ratio") == "1.82x"
    assert format_value(121.3, "hours") == "121 h" and format_value(2.13, "hours") == "2.1 h"
    assert format_value(float("inf"), "number") == "–"
    # A table column's own decimals, so that its digits line up.
    assert format_value(2.0, "number", digits=2) == "2.00"


def test_a_column_takes_the_decimals_of_its_median_value():
    from salesnb.data.formats import column_decimals

    assert column_decimals([52.14, 2.5, 1.0], "number") == 2  # median 2.5: two decimals
    assert column_decimals([52.14, 21.2, 130.0], "number") == 1  # median 52.14: one
    assert column_decimals([2.0, 3.0, None], "number") == 0  # whole numbers: none
    assert column_decimals([0.5], "percent") is None  # percents keep their one decimal


def test_plurals_as_people_write_them():
    from salesnb.data.formats import plural

    assert plural(1, "deal") == "1 deal" and plural(6, "deal") == "6 deals"
    assert plural(2, "opportunity") == "2 opportunities" and plural(3, "match") == "3 matches"
    assert plural(1_200, "report") == "1,200 reports" and plural(0, "warning") == "0 warnings"


def test_optional_plurals_written_out():
    from salesnb.data.formats import plurals_written_out

    assert plurals_written_out("7 finding(s), this period") == "7 findings, this period"
    assert plurals_written_out("Past due: 1 deal(s)") == "Past due: 1 deal"
    assert plurals_written_out("1,200 report(s) and 3 warning(s)") == "1,200 reports and 3 warnings"
