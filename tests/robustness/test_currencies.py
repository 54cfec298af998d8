"""Bad currency input: an amount without a rate on the date that converts it, a rate that is
not a positive number or is given twice, rates in two places, a bad fixed rate in the
playbook. Each is refused with the table or setting, the currency, example rows and what to
do (exit 1 for the data, 2 for the playbook), never a traceback, a silent rate of 1 or a
dropped deal; the files are never changed (``validate`` checks it)."""

from __future__ import annotations

import pytest

from tests.robustness.test_playbooks import PLAYBOOK
from tests.robustness_fixtures import OPPORTUNITIES, assert_refused, validate, write_dataset

# O1 (won 02-10) and O3 (won 04-15) in EUR, O4 open in GBP; the data's date is 2025-05-20 (O5 lost).
DEALS = OPPORTUNITIES.replace("lost_reason\n", "lost_reason,currency\n")
DEALS = "\n".join(line if index == 0 else line + "," + {"O1": "EUR", "O3": " eur", "O4": "GBP"}.get(line[:2], "")
                  for index, line in enumerate(DEALS.strip().splitlines())) + "\n"
RATES = """currency,valid_from,rate
EUR,2025-01-01,1.10
EUR,2025-03-01,1.20
GBP,2025-01-01,1.30
"""


def check(tmp_path, rates: str | None = RATES, deals: str = DEALS, *extra: str):
    return validate(write_dataset(tmp_path / "data", opportunities=deals, exchange_rates=rates), *extra)


def test_deals_in_three_currencies_with_their_rates_are_accepted(tmp_path):
    outcome = check(tmp_path)
    assert outcome.code == 0, outcome.text


def test_a_currency_without_any_rate_suggests_the_table_or_the_playbook(tmp_path):
    assert_refused(check(tmp_path, RATES.replace("GBP,2025-01-01,1.30\n", "")), 1,
                   "opportunities.currency: 1 row(s) are deals with an amount in 'GBP', a currency the data has no "
                   "exchange rate for (needed on 2025-05-20)", "opportunity_id='O4'",
                   "Add GBP rates to the exchange_rates table", "'exchange_rates: {GBP: <rate>}' in the playbook")


def test_no_rate_table_at_all(tmp_path):
    assert_refused(check(tmp_path, None), 1, "'EUR', a currency the data has no exchange rate for",
                   "'GBP', a currency the data has no exchange rate for")


def test_a_date_before_the_first_rate_names_the_currency_the_dates_and_the_deals(tmp_path):
    late = RATES.replace("EUR,2025-01-01,1.10\n", "")  # EUR rates from 03-01: O1 (won 02-10) has none
    assert_refused(check(tmp_path, late), 1,
                   "opportunities.amount: 1 row(s) are deals in EUR that need a rate on a date without one: on "
                   "2025-02-10, before the first EUR rate", "opportunity_id='O1'",
                   "Add EUR rates valid from 2025-02-10 on")


@pytest.mark.parametrize(("rate", "words"), [
    pytest.param("0", ["exchange_rates.rate: 1 row(s) have a rate of 0 or less", "valid_from='2025-03-01'"], id="zero"),
    pytest.param("-1.2", ["have a rate of 0 or less"], id="negative"),
    pytest.param('"1,20"', ["exchange_rates.rate: 1 row(s) have a rate that is not a number",
                          "currency='EUR', valid_from='2025-03-01', rate='1,20'"], id="decimal-comma"),
    pytest.param("USD", ["have a rate that is not a number"], id="text"),
    pytest.param("inf", ["exchange_rates.rate: 1 row(s) have a value that is not a finite number"], id="infinite"),
])
def test_a_rate_that_is_not_a_positive_number(tmp_path, rate, words):
    assert_refused(check(tmp_path, RATES.replace("EUR,2025-03-01,1.20", f"EUR,2025-03-01,{rate}")), 1, *words)


def test_two_rates_for_one_currency_and_date(tmp_path):
    assert_refused(check(tmp_path, RATES + "eur,2025-03-01,1.25\n"), 1,
                   "exchange_rates.valid_from: 2 row(s) give a currency a second rate for the same date",
                   "(currency='EUR', valid_from='2025-03-01', copies=2)", "Keep one rate per currency")


def test_a_rate_table_without_its_rate_column(tmp_path):
    assert_refused(check(tmp_path, "currency,valid_from,value\nEUR,2025-01-01,1.1\n"), 1,
                   "exchange_rates: the required column 'rate' is missing")


def test_rates_in_the_table_and_in_the_playbook(tmp_path):
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(PLAYBOOK + "exchange_rates: {EUR: 1.15}\n", encoding="utf-8")
    assert_refused(check(tmp_path, RATES, DEALS, "--config", playbook), 1,
                   "give rates for EUR, which the playbook also fixes (exchange_rates)")


def test_fixed_playbook_rates_are_accepted(tmp_path):
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(PLAYBOOK + "exchange_rates: {EUR: 1.15, gbp: 1.3}\n", encoding="utf-8")
    outcome = check(tmp_path, None, DEALS, "--config", playbook)
    assert outcome.code == 0, outcome.text


@pytest.mark.parametrize(("setting", "words"), [
    pytest.param("{EUR: 0}", ["exchange_rates EUR must be a number above 0"], id="zero"),
    pytest.param("{EUR: .nan}", ["exchange_rates EUR must be a number above 0", "nan"], id="nan"),
    pytest.param("{EUR: '1,1'}", ["exchange_rates EUR must be a number above 0", "'1,1'"], id="text"),
    pytest.param("{Euro: 1.1}", ["exchange_rates has 'Euro', which is not a currency code"], id="not-a-code"),
    pytest.param("{EUR: 1.1, eur: 1.2}", ["exchange_rates names EUR more than once"], id="twice"),
    pytest.param("{USD: 1.1}", ["exchange_rates gives the playbook currency USD the rate 1.1"], id="own-currency"),
    pytest.param("[EUR, 1.1]", ["exchange_rates must be a mapping of three-letter currency codes"], id="a-list"),
])
def test_a_bad_fixed_rate_in_the_playbook(tmp_path, setting, words):
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(PLAYBOOK + f"exchange_rates: {setting}\n", encoding="utf-8")
    assert_refused(check(tmp_path, None, DEALS, "--config", playbook), 2, "Playbook config", *words)
