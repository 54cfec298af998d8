"""BG/NBD and Gamma-Gamma: the likelihoods by hand, published values, parameter recovery on
data drawn from the models, and the holdout check on orders."""

import datetime as dt
import math

import numpy as np
import pytest

from salesnb import select
from salesnb.metrics import clv
from tests.order_fixtures import orders_dataset

# Fader, Hardie and Lee (2005) report these estimates for the CDNOW sample (time in weeks).
CDNOW = clv.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_bgnbd_likelihood_by_hand():
    # r = alpha = a = b = 1. x = 0, T = 1: B(1,1)/B(1,1) x G(1) 1^1 / (G(1) (1+1)^1) = 1/2.
    assert clv.bgnbd_log_likelihood(1, 1, 1, 1, [0], [0], [1])[0] == pytest.approx(math.log(0.5))
    # x = 1, t_x = 1, T = 2: B(1,2)/B(1,1) x G(2) / (G(1) 3^2) = 1/2 x 1/9 = 1/18, plus
    # B(2,1)/B(1,1) x G(2) / (G(1) 2^2) = 1/2 x 1/4 = 1/8: 1/18 + 1/8 = 13/72.
    assert clv.bgnbd_log_likelihood(1, 1, 1, 1, [1], [1], [2])[0] == pytest.approx(math.log(13 / 72))



def _bgnbd_each(r, alpha, a, b, x, t_x, T):
    """The FHL 2005 eq. 6 likelihood written out per customer, with math's functions."""
    B = lambda u, v: math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)  # noqa: E731  log beta
    alive = B(a, b + x) - B(a, b) + math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) - (r + x) * math.log(alpha + T)
    if x == 0:
        return alive
    dropped = B(a + 1, b + x - 1) - B(a, b) + math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) \
        - (r + x) * math.log(alpha + t_x)
    return math.log(math.exp(alive) + math.exp(dropped))


def test_likelihoods_over_customers_sharing_values_are_each_customers_own():
    # The fit works each term out once per distinct x, t_x and T and spreads it by index: every
    # customer must still get its own value, in its own place (repeated values, x = 0 and x > 0
    # mixed, unsorted, fractional times).
    x = np.array([3, 0, 1, 3, 0, 7, 1, 3])
    t_x = np.array([2.5, 0, 0.5, 2.5, 0, 9.0, 4.0, 1.0])
    T = np.array([10.0, 4.0, 10.0, 12.0, 4.0, 10.0, 5.0, 10.0])
    got = clv.bgnbd_log_likelihood(0.8, 3.0, 1.2, 2.5, x, t_x, T)
    expected = [_bgnbd_each(0.8, 3.0, 1.2, 2.5, *customer) for customer in zip(x, t_x, T)]
    assert got == pytest.approx(expected, rel=1e-12)
    # Gamma-Gamma, written out per customer the same way.
    p, q, gamma, m = 2.0, 3.5, 4.0, np.array([10.0, 3.0, 10.0, 2.0, 7.5, 1.0, 3.0, 4.0])
    counts = np.where(x > 0, x, 2)
    expected = [math.lgamma(p * n + q) - math.lgamma(p * n) - math.lgamma(q) + q * math.log(gamma) + (p * n - 1) * math.log(v)
                + p * n * math.log(n) - (p * n + q) * math.log(gamma + v * n) for n, v in zip(counts, m)]
    assert clv.gamma_gamma_log_likelihood(p, q, gamma, counts, m) == pytest.approx(expected, rel=1e-12)

def test_expected_purchases_match_the_published_example():
    # FHL 2005: a CDNOW customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to make
    # 1.226 purchases in the next 39 weeks (the lifetimes library gives 1.2260 too).
    assert clv.expected_purchases(CDNOW, 39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)
    # P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) = 0.7266 (lifetimes: 0.72658).
    assert clv.probability_alive(CDNOW, [2], [30.43], [38.86])[0] == pytest.approx(0.72658, abs=1e-5)
    # Nobody who never came back is certain to be gone: P(alive | x = 0) = 1.
    assert clv.probability_alive(CDNOW, [0], [0], [38.86])[0] == 1.0


def test_gamma_gamma_by_hand():
    # (gamma + m x) p / (p x + q - 1) = (15.44 + 30 x 2) x 6.25 / (6.25 x 2 + 3.74 - 1) = 471.5 / 15.24.
    model = clv.GammaGamma(p=6.25, q=3.74, gamma=15.44)
    assert clv.expected_average_value(model, [2], [30.0])[0] == pytest.approx(471.5 / 15.24)
    # No repeat purchase: the population mean p gamma / (q - 1).
    assert clv.expected_average_value(model, [0], [np.nan])[0] == pytest.approx(6.25 * 15.44 / 2.74)
    # q <= 1: the mean does not exist; not a number rather than a huge one.
    assert math.isnan(clv.expected_average_value(clv.GammaGamma(1.0, 0.9, 10.0), [2], [5.0])[0])


def simulate_bgnbd(rng, model, T, extra=0.0):
    """Customers drawn from BG/NBD: (x, t_x) up to T, and purchases in (T, T + extra]."""
    n = len(T)
    rate = rng.gamma(model.r, 1 / model.alpha, n)
    dropout = rng.beta(model.a, model.b, n)
    now, x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        now = now + rng.exponential(1 / np.maximum(rate, 1e-12))
        buying = alive & (now <= T + extra)
        calibration = buying & (now <= T)
        x += calibration
        t_x = np.where(calibration, now, t_x)
        later += buying & (now > T)
        alive = buying & (rng.random(n) >= dropout)
    return x, t_x, later


def test_bgnbd_recovers_known_parameters():
    rng = np.random.default_rng(11)
    truth = clv.BgNbd(r=0.5, alpha=20.0, a=0.8, b=2.5)
    T = rng.uniform(100, 400, 15000)
    x, t_x, _ = simulate_bgnbd(rng, truth, T)
    fitted = clv.fit_bgnbd(x, t_x, T)
    assert fitted.converged
    # r and alpha are well identified; a and b less so one by one (15,000 customers: a few %
    # off across seeds, so 10% and 15%).
    assert (fitted.r, fitted.alpha) == pytest.approx((truth.r, truth.alpha), rel=0.1)
    assert (fitted.a, fitted.b) == pytest.approx((truth.a, truth.b), rel=0.15)


def test_conditional_expectation_predicts_the_holdout_on_model_data():
    rng = np.random.default_rng(5)
    truth = clv.BgNbd(r=0.5, alpha=20.0, a=0.8, b=2.5)
    T = rng.uniform(100, 400, 20000)
    x, t_x, later = simulate_bgnbd(rng, truth, T, extra=180.0)
    predicted = clv.expected_purchases(truth, 180.0, x, t_x, T)
    assert predicted.sum() == pytest.approx(later.sum(), rel=0.03)
    for low, high in ((0, 1), (1, 3), (3, np.inf)):  # and within frequency groups
        group = (x >= low) & (x < high)
        assert predicted[group].sum() == pytest.approx(later[group].sum(), rel=0.06), (low, high)


def test_gamma_gamma_recovers_known_parameters():
    rng = np.random.default_rng(3)
    p, q, gamma = 6.0, 4.0, 15.0
    n = 6000
    purchases = 1 + rng.poisson(3, n)
    nu = rng.gamma(q, 1 / gamma, n)  # each customer's scale, Gamma(q, rate gamma)
    means = np.array([rng.gamma(p, 1 / scale, count).mean() for scale, count in zip(nu, purchases)])
    fitted = clv.fit_gamma_gamma(purchases, means)
    assert fitted.converged
    # q and the mean value p gamma / (q - 1) = 30 are tightly identified; p and gamma trade
    # off against each other (their product is what matters), so they get a wider margin.
    assert fitted.q == pytest.approx(q, rel=0.1)
    assert fitted.p * fitted.gamma / (fitted.q - 1) == pytest.approx(p * gamma / (q - 1), rel=0.03)
    assert (fitted.p, fitted.gamma) == pytest.approx((p, gamma), rel=0.25)


def test_too_few_customers_are_not_measured():
    rows = [("A", "2025-01-01", 10.0), ("A", "2025-02-01", 10.0), ("B", "2025-01-01", 5.0)]
    dataset = orders_dataset(rows)
    value = clv.customer_lifetime_value(dataset, dt.date(2025, 12, 31), horizon_days=365)
    assert value.purchases is None and "at least 30 customers" in value.not_measured
    check = clv.holdout_check(dataset, dt.date(2025, 12, 31), holdout_days=180)
    assert check.relative_error is None and check.not_measured


def _rhythm_rows():
    """60 customers from the model's world: each buys every 15 to 90 days from its start until it stops
    (some never again)."""
    rng = np.random.default_rng(8)
    rows = []
    for index in range(60):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 400)))
        step = int(rng.integers(15, 90))
        stop = start + dt.timedelta(days=int(rng.integers(0, 700)))
        day = start
        while day <= min(stop, dt.date(2025, 12, 31)):
            rows.append((f"C{index:02d}", day.isoformat(), 10.0))
            day += dt.timedelta(days=step)
    return rows


def test_holdout_check_on_orders():
    # The check fits on orders before 3 Jul 2025 and counts order days in the 180 days after.
    rows = _rhythm_rows()
    dataset = orders_dataset(rows)
    end = dt.date(2025, 12, 31)
    check = clv.holdout_check(dataset, end, holdout_days=180)
    assert check.not_measured is None
    calibration_end = end - dt.timedelta(days=180)
    assert check.calibration_end == calibration_end
    # Actual: order days of calibration customers between 3 Jul 2025 (excluded) and 31 Dec 2025.
    customers = {account for account, day, _ in rows if day <= calibration_end.isoformat()}
    actual = sum(1 for account, day, _ in set(rows)
                 if account in customers and calibration_end.isoformat() < day <= end.isoformat())
    assert check.actual == actual and check.customers == len(customers)
    assert check.by_frequency["customers"].sum() == len(customers)
    assert check.by_frequency["actual_purchases"].sum() == actual
    assert check.predicted == pytest.approx(check.by_frequency["predicted_purchases"].sum())
    assert check.relative_error == pytest.approx((check.predicted - actual) / actual)


def test_the_models_are_fitted_on_the_selection_only_and_deterministically():
    # The same 60 customers, the even-numbered ones in segment "Even": the fit sees only those, and the
    # same data gives the same fit (no random start).
    rows = _rhythm_rows()
    accounts = [(f"C{index:02d}", f"Customer {index}", "Even" if index % 2 == 0 else "Odd") for index in range(60)]
    dataset = orders_dataset(rows, accounts)
    end, even = dt.date(2025, 12, 31), select(segment="Even")
    value = clv.customer_lifetime_value(dataset, end, where=even, horizon_days=365)
    ordered = {account for account, _, _ in rows}
    assert set(value.customers["account_id"]) == {account for account in ordered if int(account[1:]) % 2 == 0}
    again = clv.customer_lifetime_value(dataset, end, where=even, horizon_days=365)
    assert value.purchases == again.purchases
    check = clv.holdout_check(dataset, end, where=even, holdout_days=180)
    # Every customer starts by Feb 2025: the 30 even ones are all calibration customers; the actual
    # purchases are their order days after 4 Jul 2025 only.
    even_rows = {(account, day) for account, day, _ in rows if int(account[1:]) % 2 == 0}
    assert check.customers == 30
    assert check.actual == sum(1 for _, day in even_rows if day > "2025-07-04")


@pytest.mark.parametrize("horizon", [0, -30, 12.5, "365", None])
def test_a_wrong_horizon_is_a_clear_error(horizon):
    from salesnb.errors import SalesnbError

    with pytest.raises(SalesnbError, match="clv_horizon_days must be a whole number of days"):
        clv.holdout_check(orders_dataset([("A", "2025-01-01", 1.0)]), dt.date(2025, 12, 31), holdout_days=horizon)
