"""Amounts in several currencies, converted the way finance does (salesnb/data/currency.py):
every number worked out by hand on a few deals in EUR, GBP and USD, the bad rates refused
with their messages, and the multi-currency sample against an independent pandas conversion.

The EUR rates of the fixtures (to USD, the default playbook's currency):

    valid from 2025-01-01: 1.10   2025-03-01: 1.20   2025-05-01: 1.30
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames, open_dataset
from salesnb.data import currency
from salesnb.data.periods import Period
from salesnb.data.playbook import load_playbook, playbook_from_dict
from salesnb.data.validate import errors
from salesnb.errors import DataValidationError, ExchangeRateError
from salesnb.metrics import conversion, orders, pipeline, snapshots, waterfall

D = dt.date
RATES = pd.DataFrame({"currency": ["EUR", "EUR", "EUR"], "valid_from": ["2025-01-01", "2025-03-01", "2025-05-01"],
                      "rate": ["1.10", "1.20", "1.30"]})


def deals(**changes) -> pd.DataFrame:
    """W won in March (EUR), L lost in January (EUR), O open (EUR), U won in USD (no currency
    written), N a deal created on 2025-05-10: the data's date."""
    frame = pd.DataFrame({
        "opportunity_id": ["W", "L", "O", "U", "N"],
        "created_at": ["2025-01-10", "2025-01-05", "2025-02-01", "2025-01-07", "2025-05-10"],
        "close_date": ["2025-03-15", "2025-01-20", "2025-06-30", "2025-02-10", "2025-07-31"],
        "stage": ["Closed Won", "Closed Lost", "Proposal", "Closed Won", "Prospecting"],
        "amount": ["1000", "500", "2000", "300", ""],
        "currency": ["EUR", " eur", "EUR", "", "EUR"],
    })
    return frame.assign(**changes)


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames({"opportunities": deals(), "exchange_rates": RATES})


def amounts(dataset) -> dict:
    table = dataset.table("opportunities").execute().set_index("opportunity_id")
    return {deal: (row["amount"], row["amount_original"], row["currency"], row["exchange_rate"])
            for deal, row in table.iterrows() if pd.notna(row["amount"])}


def test_a_deal_won_in_march_converts_at_marchs_rate(dataset):
    assert dataset.as_of == D(2025, 5, 10)
    converted = amounts(dataset)
    assert converted["W"] == (pytest.approx(1200.0), 1000.0, "EUR", 1.20)  # closed 03-15: March's 1.20
    assert converted["L"] == (pytest.approx(550.0), 500.0, "EUR", 1.10)  # closed 01-20: January's 1.10
    assert converted["U"] == (300.0, 300.0, "USD", 1.0)  # no currency written: the playbook's


def test_an_open_deal_converts_at_the_data_dates_rate(dataset):
    # O is open; the data's date is 05-10, so May's 1.30 applies (not its expected close date's).
    assert amounts(dataset)["O"] == (pytest.approx(2600.0), 2000.0, "EUR", 1.30)
    open_now = pipeline.open_pipeline(dataset)
    assert open_now["amount"].iloc[0] == pytest.approx(2600.0)


def test_metrics_see_one_currency(dataset):
    # Won in Q1: W 1,200 + U 300; lost: L 550. Never 1,000 + 300 EUR-and-USD.
    rates = conversion.win_rates(dataset, Period(D(2025, 1, 1), D(2025, 3, 31)))
    assert rates["won_amount"].iloc[0] == pytest.approx(1500.0)
    assert rates["lost_amount"].iloc[0] == pytest.approx(550.0)


def test_an_order_converts_at_its_order_dates_rate():
    frame = pd.DataFrame({"order_id": ["1", "2", "3"], "account_id": ["A", "A", "B"],
                          "ordered_at": ["2025-02-10", "2025-03-01", "2025-04-30"],
                          "amount": ["100", "100", "50"], "currency": ["EUR", "EUR", "USD"]})
    dataset = dataset_from_frames({"orders": frame, "exchange_rates": RATES})
    facts = orders.order_facts(dataset).execute().set_index("order_id")["amount"]
    # 02-10: January's 1.10; 03-01, the first day of March's rate: 1.20; a USD order as it is.
    assert facts.to_dict() == {"1": pytest.approx(110.0), "2": pytest.approx(120.0), "3": 50.0}


def test_fixed_playbook_rates_apply_on_every_date():
    playbook = playbook_from_dict({**_stages(), "exchange_rates": {"eur": 1.5}})
    dataset = dataset_from_frames({"opportunities": deals()}, playbook)
    converted = amounts(dataset)
    assert converted["W"][0] == pytest.approx(1500.0) and converted["O"][0] == pytest.approx(3000.0)


def test_data_in_one_currency_is_left_as_it_was():
    dataset = dataset_from_frames({"opportunities": deals(currency="USD"), "exchange_rates": RATES})
    table = dataset.table("opportunities")
    assert not currency.is_converted(dataset)
    assert "exchange_rate" not in table.columns and table.execute()["amount"].sum() == 3800.0


def _stages() -> dict:
    playbook = load_playbook()
    return {"stages": [{"name": stage.name, "probability": stage.probability,
                        **({"outcome": stage.outcome} if stage.outcome else {})} for stage in playbook.stages]}


# ----------------------------------------------------------------------------- the waterfall


def history_frames() -> dict:
    """A (EUR) due in Q2 at 1,000 on 04-25, raised to 1,500 on 05-05; B (EUR) 800 due in Q2,
    won on 05-02; C (USD) 500 due in Q2 throughout. Rates: April 1.20, May 1.30."""
    opportunities = pd.DataFrame({
        "opportunity_id": ["A", "B", "C"], "created_at": ["2025-04-01"] * 3,
        "close_date": ["2025-06-15", "2025-05-02", "2025-06-20"],
        "stage": ["Proposal", "Closed Won", "Proposal"], "amount": ["1500", "800", "500"],
        "currency": ["EUR", "EUR", "USD"],
    })
    history = pd.DataFrame({
        "opportunity_id": ["A", "A", "B", "B", "C"],
        "changed_at": ["2025-04-01 09:00", "2025-05-05 09:00", "2025-04-01 09:00", "2025-05-02 09:00",
                       "2025-04-01 09:00"],
        "stage": ["Proposal", "Proposal", "Proposal", "Closed Won", "Proposal"],
        "amount": ["1000", "1500", "800", "800", "500"],
        "close_date": ["2025-06-15", "2025-06-15", "2025-05-20", "2025-05-02", "2025-06-20"],
    })
    lead = pd.DataFrame({"lead_id": ["L1"], "created_at": ["2025-05-10 08:00"]})  # the data's date: 05-10
    return {"opportunities": opportunities, "opportunity_history": history, "exchange_rates": RATES, "leads": lead}


@pytest.fixture(scope="module")
def movement():
    dataset = dataset_from_frames(history_frames())
    assert dataset.as_of == D(2025, 5, 10)
    return waterfall.waterfall(dataset, Period(D(2025, 4, 1), D(2025, 6, 30)), start_date="2025-04-25")


def test_the_waterfall_over_a_rate_change_has_a_currency_effect_bar(movement):
    # A: in 1,000 x 1.20 = 1,200; amount change (1,500 - 1,000) x 1.20 = 600 (at the start's
    #    rate); currency effect 1,500 x (1.30 - 1.20) = 150; out 1,500 x 1.30 = 1,950.
    # B: in 800 x 1.20 = 960; won on 05-02 at 800 x 1.30 = 1,040: currency effect 80.
    # C: 500 USD throughout.
    rows = movement.deals.set_index("opportunity_id")
    assert rows.loc["A", ["amount_in", "amount_change", "currency_effect", "amount_out"]].tolist() == \
        pytest.approx([1200.0, 600.0, 150.0, 1950.0])
    assert rows.loc["B", ["amount_in", "amount_change", "currency_effect", "amount_out"]].tolist() == \
        pytest.approx([960.0, 0.0, 80.0, 1040.0])
    assert movement.totals == pytest.approx({"start": 2660.0, "new": 0.0, "pulled_in": 0.0, "pushed_out": 0.0,
                                             "won": 1040.0, "lost": 0.0, "amount_change": 600.0,
                                             "currency_effect": 230.0, "end": 2450.0})
    assert list(movement.totals) == list(waterfall.CURRENCY_BUCKETS)


def test_the_currency_effect_reconciles_exactly(movement):
    # 2,660 - 1,040 + 600 + 230 = 2,450: the pipeline due on 05-10 at May's rate (1,950 + 500).
    assert movement.reconciles
    assert movement.check["pipeline_start"] == pytest.approx(2660.0)
    assert movement.check["pipeline_end"] == pytest.approx(2450.0)
    table = movement.table()
    assert table["waterfall_step"].tolist() == ["Start", "New", "Pulled in", "Pushed out", f"Won since {movement.start_date:%d %b}",
                                                f"Lost since {movement.start_date:%d %b}",
                                                "Amount changes", "Currency effect", "End"]
    assert table["amount"].tolist() == pytest.approx([2660, 0, 0, 0, -1040, 0, 600, 230, 2450])
    assert "± currency effect" in movement.check_note()
    shown = waterfall.deals_behind_bars(movement)
    assert "currency_effect" in shown.columns and set(shown["opportunity_id"]) == {"A", "B"}


def test_a_waterfall_without_a_rate_change_has_no_currency_effect():
    # Both dates in May: one rate, so A's raise is all amount change.
    dataset = dataset_from_frames(history_frames())
    result = waterfall.waterfall(dataset, Period(D(2025, 4, 1), D(2025, 6, 30)), start_date="2025-05-03")
    assert result.totals["currency_effect"] == 0.0 and result.totals["amount_change"] == pytest.approx(650.0)
    assert result.reconciles


def test_the_pipeline_on_a_past_date_uses_that_dates_rate():
    dataset = dataset_from_frames(history_frames())
    states = snapshots.pipeline_as_of(dataset, ["2025-04-25", "2025-05-10"]).execute()
    amount = states.set_index(["opportunity_id", states["as_of_date"].astype(str)])["amount"]
    assert amount[("A", "2025-04-25")] == pytest.approx(1200.0) and amount[("A", "2025-05-10")] == pytest.approx(1950.0)
    # B was won on 05-02: at its close date's rate on any later date.
    assert amount[("B", "2025-05-10")] == pytest.approx(1040.0)


def test_a_past_date_before_the_first_rate_is_an_error_not_a_guess():
    frames = history_frames()
    frames["exchange_rates"] = RATES[RATES["valid_from"] >= "2025-05-01"]  # EUR rates start in May
    dataset = dataset_from_frames(frames)
    assert "exchange_rates_start_late" in {finding.check for finding in dataset.findings}
    with pytest.raises(ExchangeRateError, match=r"2 deal\(s\) in EUR on 2025-04-25"):
        snapshots.pipeline_as_of(dataset, ["2025-04-25"])


# ----------------------------------------------------------------------------- bad rates


def refused(frames, playbook=None) -> str:
    with pytest.raises(DataValidationError) as raised:
        dataset_from_frames(frames, playbook)
    return str(raised.value)


def test_a_currency_without_any_rate_names_where_to_add_one():
    message = refused({"opportunities": deals(currency=["GBP", "EUR", "EUR", "", "EUR"]), "exchange_rates": RATES})
    assert "opportunities.currency: 1 row(s) are deals with an amount in 'GBP', a currency the data has no " \
           "exchange rate for (needed on 2025-03-15)" in message
    assert "exchange_rates table" in message and "'exchange_rates: {GBP: <rate>}' in the playbook" in message
    # the data may be all in one other currency: the playbook's reporting currency is then the fix
    assert "If GBP is the currency you report in, set 'currency: GBP' in the playbook instead" in message


def test_a_date_before_the_first_rate_names_the_currency_the_dates_and_the_deals():
    late = RATES[RATES["valid_from"] >= "2025-03-01"]  # no January rate: L (01-20) and U is USD
    message = refused({"opportunities": deals(close_date=["2025-02-15", "2025-01-20", "2025-06-30", "2025-02-10",
                                                          "2025-07-31"]), "exchange_rates": late})
    assert ("opportunities.amount: 2 row(s) are deals in EUR that need a rate on a date without one: from "
            "2025-01-20 to 2025-02-15, before the first EUR rate") in message
    assert "opportunity_id='L'" in message and "Add EUR rates valid from 2025-01-20 on" in message


@pytest.mark.parametrize("rates, expected", [
    (RATES.assign(rate=["1.10", "0", "-1.3"]), "exchange_rates.rate: 2 row(s) have a rate of 0 or less"),
    (RATES.assign(rate=["1.10", "abc", "1.30"]), "exchange_rates.rate: 1 row(s) have a rate that is not a number, "
                                                 "e.g. (currency='EUR', valid_from='2025-03-01', rate='abc')"),
    (RATES.assign(valid_from=["2025-01-01", "2025-03-01", "2025-03-01"]),
     "exchange_rates.valid_from: 2 row(s) give a currency a second rate for the same date, e.g. (currency='EUR', "
     "valid_from='2025-03-01', copies=2)"),
    (pd.concat([RATES, pd.DataFrame({"currency": ["usd"], "valid_from": ["2025-01-01"], "rate": ["0.9"]})]),
     "give the playbook currency USD a rate other than 1"),
], ids=["not_positive", "not_a_number", "duplicated", "own_currency"])
def test_bad_rates_are_errors(rates, expected):
    assert expected in refused({"opportunities": deals(), "exchange_rates": rates})


def test_a_currency_with_rates_in_the_table_and_the_playbook_is_refused():
    playbook = playbook_from_dict({**_stages(), "exchange_rates": {"EUR": 1.5}})
    assert "give rates for EUR, which the playbook also fixes" in refused(
        {"opportunities": deals(), "exchange_rates": RATES}, playbook)


def test_a_dataset_with_currency_errors_still_opens_for_the_health_report():
    dataset = dataset_from_frames({"opportunities": deals(currency=["GBP", "EUR", "EUR", "", "EUR"]),
                                   "exchange_rates": RATES}, strict=False)
    assert [finding.check for finding in errors(dataset.findings)] == ["no_exchange_rate"]
    converted = dataset.table("opportunities").execute().set_index("opportunity_id")
    assert pd.isna(converted.loc["W", "amount"])  # no rate: no amount, never the GBP amount as dollars


# ----------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def currency_sample(currency_sample_dir):
    return currency_sample_dir


def test_the_default_sample_has_no_rate_table_and_is_unchanged_by_the_option(sample_dir, currency_sample):
    assert not (sample_dir / "exchange_rates.csv").exists()
    for name in ("reps", "accounts", "leads", "activities", "quotas", "marketing_spend"):
        assert (sample_dir / f"{name}.csv").read_bytes() == (currency_sample / f"{name}.csv").read_bytes(), name
    default = pd.read_csv(sample_dir / "opportunities.csv")
    multi = pd.read_csv(currency_sample / "opportunities.csv")
    # The same deals, dates and stages; only amounts and currencies differ.
    assert default.drop(columns=["amount", "currency"]).equals(multi.drop(columns=["amount", "currency"]))
    assert sorted(multi["currency"].unique()) == ["EUR", "GBP", "USD"]
    rates = pd.read_csv(currency_sample / "exchange_rates.csv")
    assert sorted(rates["currency"].unique()) == ["EUR", "GBP"] and len(rates) == 2 * 25  # monthly, Jan 24 .. Jan 26


def pandas_conversion(folder, as_of: str) -> tuple[pd.Series, pd.Series]:
    """Deal and order amounts in USD, converted independently with pandas: each row's rate
    is the latest valid_from on or before its date (merge_asof)."""
    rates = pd.read_csv(folder / "exchange_rates.csv", parse_dates=["valid_from"]).sort_values("valid_from")
    frames = []
    for name, key, date in (("opportunities", "opportunity_id", None), ("orders", "order_id", "ordered_at")):
        frame = pd.read_csv(folder / f"{name}.csv", dtype={key: str}, parse_dates=["close_date"] if date is None
                            else [date])
        if date is None:
            closed = frame["stage"].isin(["Closed Won", "Closed Lost"])
            frame["day"] = frame["close_date"].where(closed, pd.Timestamp(as_of))
        else:
            frame["day"] = frame[date]
        frame = frame.sort_values("day")
        merged = pd.merge_asof(frame, rates, left_on="day", right_on="valid_from", by="currency")
        rate = merged["rate"].where(merged["currency"] != "USD", 1.0)
        frames.append(pd.Series((merged["amount"] * rate).to_numpy(), index=merged[key]).sort_index())
    return frames[0], frames[1]


def test_the_sample_converts_as_an_independent_pandas_conversion(currency_sample):
    dataset = open_dataset(currency_sample)
    assert errors(dataset.findings) == [] and currency.is_converted(dataset)
    expected_deals, expected_orders = pandas_conversion(currency_sample, str(dataset.as_of))
    got_deals = dataset.table("opportunities").execute().set_index("opportunity_id")["amount"].sort_index()
    got_orders = dataset.table("orders").execute().set_index("order_id")["amount"].sort_index()
    pd.testing.assert_series_equal(got_deals, expected_deals, check_names=False, rtol=1e-12)
    pd.testing.assert_series_equal(got_orders, expected_orders, check_names=False, rtol=1e-12)


def test_data_without_dates_in_several_currencies_is_an_error_not_a_mixed_sum():
    # No created_at or close_date: no date to choose a rate by. Summing EUR and USD as USD
    # would be a silently wrong number; one currency without dates loads as before.
    dateless = deals().drop(columns=["created_at", "close_date"])
    with pytest.raises(DataValidationError, match="no dates to choose their exchange rates by"):
        dataset_from_frames({"opportunities": dateless, "exchange_rates": RATES})
    loose = dataset_from_frames({"opportunities": dateless, "exchange_rates": RATES}, strict=False)
    assert [finding.check for finding in errors(loose.findings)] == ["no_dates_for_exchange_rates"]
    single = dataset_from_frames({"opportunities": dateless.assign(currency="USD")})
    assert single.table("opportunities").execute()["amount"].sum() == 3800.0
