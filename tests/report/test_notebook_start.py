"""salesnb.report.notebook.start: the header every report opens with."""

from unittest import mock

from salesnb.report import notebook
from tests.deal_fixtures import OPPORTUNITIES


def _shown(tmp_path, **periods):
    OPPORTUNITIES.to_csv(tmp_path / "opportunities.csv", index=False)
    with mock.patch.object(notebook, "display") as display:
        report = notebook.start("Test", tmp_path, **periods)
    html = "".join(call.args[0].data for call in display.call_args_list)
    return report, html


def test_header_states_period_and_data_date(tmp_path):
    report, html = _shown(tmp_path, period_start="2025-01-01", period_end="2025-03-31")
    assert "01 Jan 2025 – 31 Mar 2025" in html and "10 Apr 2025" in html
    assert "Nothing in the data falls" not in html


def test_an_empty_period_says_so(tmp_path):
    _, html = _shown(tmp_path, period_start="2020-01-01", period_end="2020-12-31")
    assert "Nothing in the data falls in this period (01 Jan 2020 – 31 Dec 2020)" in html


def test_a_period_with_only_orders_is_not_empty(tmp_path):
    # The account report reads orders: a period with orders but no deal or lead is not empty.
    (tmp_path / "orders.csv").write_text("order_id,account_id,ordered_at,amount\nO1,A1,2020-06-01,10\n")
    _, html = _shown(tmp_path, period_start="2020-01-01", period_end="2020-12-31")
    assert "Nothing in the data falls" not in html


def test_header_names_the_filters_that_are_set_escaped(tmp_path):
    report, html = _shown(tmp_path, period_start="2025-01-01", period_end="2025-03-31",
                          filters={"team": "<b>Alpha</b>", "segment": None})
    assert "team <strong>&lt;b&gt;Alpha&lt;/b&gt;</strong>" in html
    assert "segment" not in html  # a filter left at None is not a filter
    assert report.filters == {"team": "<b>Alpha</b>"}


def test_a_report_can_default_to_the_fiscal_quarter(tmp_path):
    # The fixture's data date is 10 Apr 2025: the quarter still open is Q2 2025.
    report, html = _shown(tmp_path, default_period="fiscal_quarter")
    assert (str(report.period.start), str(report.period.end)) == ("2025-04-01", "2025-06-30")
    assert "01 Apr 2025 – 30 Jun 2025" in html
    report, _ = _shown(tmp_path, period_start="2025-01-01", default_period="fiscal_quarter")
    assert str(report.period.end) == "2025-03-31"
