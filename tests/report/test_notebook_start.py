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


def test_the_data_quality_banner_writes_rows_as_people_read_them():
    from salesnb.data.playbook import load_playbook
    from salesnb.data.validate import Finding, make_finding
    from salesnb.data.model import TABLES

    finding = make_finding("warning", TABLES["opportunities"], "close_date", "past_close_date", 73,
                           "are open deals whose expected close date is before the data date 2025-12-31",
                           "Close them out.", [{"opportunity_id": "O000595", "stage": "Qualification",
                                                "close_date": "2024-11-14"},
                                               {"opportunity_id": "O000678", "stage": "Closed Won",
                                                "close_date": "2024-12-04"}])
    assert isinstance(finding, Finding) and "(opportunity_id='O000595'" in finding.message
    assert notebook.readable_message(finding, load_playbook()) == (
        "opportunities.close_date: 73 rows are open deals whose expected close date is before the data date "
        "2025-12-31, e.g. deal O000595 (Qualification, expected 14 Nov 2024); deal O000678 (Closed Won, closed "
        "04 Dec 2024). Close them out.")
    one = make_finding("error", TABLES["leads"], "created_at", "unparsable", 1, "have a date that cannot be read",
                       "Fix it.", [{"lead_id": "L3", "created_at": "31/02/2025"}])
    assert notebook.readable_message(one) == ("leads.created_at: 1 row has a date that cannot be read, e.g. lead L3 "
                                              "(created at 31/02/2025). Fix it.")


def test_every_printed_page_is_headed_by_the_report_and_its_period_escaped(tmp_path):
    _, html = _shown(tmp_path, period_start="2025-01-01", period_end="2025-03-31",
                     filters={"team": 'Al"pha</style>'})
    assert ('@top-left { content: "Test · team Al\\"pha\\3c /style> · 01 Jan 2025 – 31 Mar 2025"; ' in html)


def test_a_small_file_is_reported_whole_and_the_header_says_so(tmp_path):
    """Ten deals from 3 Mar to 8 Jul 2025: the last twelve full months (Jul 2024 - Jun 2025) would
    show 9 of them; the period is the data's own months, 01 Mar - 08 Jul 2025."""
    rows = ["opportunity_id,stage,amount,created_at,close_date"] + [
        f"D{index},{stage},1000,{created},{closed}" for index, (stage, created, closed) in enumerate([
            ("Closed Won", "2025-03-03", "2025-04-10"), ("Closed Lost", "2025-03-10", "2025-04-20"),
            ("Closed Won", "2025-03-15", "2025-05-02"), ("Proposal", "2025-04-01", "2025-07-30"),
            ("Closed Lost", "2025-04-11", "2025-05-15"), ("Closed Won", "2025-04-20", "2025-06-01"),
            ("Negotiation", "2025-05-02", "2025-07-15"), ("Closed Lost", "2025-05-20", "2025-06-20"),
            ("Closed Won", "2025-06-01", "2025-07-08"), ("Discovery", "2025-07-01", "2025-08-30")], start=1)]
    (tmp_path / "opportunities.csv").write_text("\n".join(rows) + "\n")
    with mock.patch.object(notebook, "display") as display:
        report = notebook.start("Test", tmp_path, period="last_12_months")
    html = "".join(call.args[0].data for call in display.call_args_list)
    assert (str(report.period.start), str(report.period.end)) == ("2025-03-01", "2025-07-08")
    assert "(chosen from the data)" in html and "The period was chosen from the data" in html
    # Dates given: the header does not claim the data chose them.
    with mock.patch.object(notebook, "display") as display:
        notebook.start("Test", tmp_path, period_start="2025-04-01", period_end="2025-06-30")
    assert "chosen from the data" not in "".join(call.args[0].data for call in display.call_args_list)


def test_a_missing_table_is_recorded_for_the_summary(tmp_path):
    from salesnb.report import kpis

    report, _ = _shown(tmp_path, period_start="2025-01-01", period_end="2025-03-31")
    with mock.patch.object(notebook, "display"), mock.patch.object(kpis, "_record_output") as record:
        assert report.requires("leads", section="This whole report") is False
    mime_type, payload = record.call_args.args
    assert mime_type == kpis.FINDINGS_MIME_TYPE and payload["needs"] is True and payload["sentences"] == []
    assert payload["nothing_found"].startswith("This whole report needs the 'leads' table")
