"""The generator's arrays as the canonical tables of ``salesnb.data.model``: IDs and labels
looked up, float days turned into dates and timestamps, the CRM's win probability added."""

import numpy as np
import pandas as pd

from salesnb.data.model import TABLES
from salesnb.data.playbook import load_playbook
from salesnb.data.sample.activity import ACTIVITY_TYPES
from salesnb.data.sample.arrays import numbered_ids
from salesnb.data.sample.deals import LOST, LOST_REASONS, OPEN_STAGES, PRODUCTS, STAGES
from salesnb.data.sample.leads import CAMPAIGNS, EXISTING_CUSTOMER, LEAD_STATUSES, SOURCE_NAMES
from salesnb.data.sample.timeline import START_DATE


def _stamp(days):
    """Float days since START_DATE as datetime64[s] (NaN becomes NaT)."""
    days = np.asarray(days, dtype=float)
    seconds = np.where(np.isnan(days), 0, np.floor(days * 86400)).astype(np.int64)
    stamps = np.datetime64(START_DATE, "s") + seconds.astype("timedelta64[s]")
    return np.where(np.isnan(days), np.datetime64("NaT"), stamps).astype("datetime64[s]")


def _date(days):
    days = np.asarray(days, dtype=float)
    dates = np.datetime64(START_DATE, "D") + np.where(np.isnan(days), 0, np.floor(days)).astype("timedelta64[D]")
    return np.where(np.isnan(days), np.datetime64("NaT"), dates).astype("datetime64[D]")


def _pick(values, indices):
    """values[indices], -1 meaning empty. A categorical: no Python string per row, which
    keeps the large scale fast (values must be distinct, as IDs and labels are)."""
    return pd.Categorical.from_codes(np.asarray(indices), categories=pd.Index(values))


def _crm_probability(rng, current):
    """The CRM's own win probability (0..1): the playbook's stage probability, except that
    reps overrode it on about one open deal in six (rounded to 5%)."""
    playbook = load_playbook()
    by_stage = np.array([playbook.probability(stage) for stage in STAGES])
    probability = by_stage[current["stage"]]
    n = len(probability)
    overridden = (current["stage"] < OPEN_STAGES) & (rng.random(n) < 0.17)
    adjusted = np.clip(np.round((probability + rng.uniform(-0.2, 0.2, n)) * 20) / 20, 0.05, 0.95)
    return np.where(overridden, adjusted, probability)


def to_frames(rng, reps, accounts, leads, deals, history, current, activities, orders, quotas, spend, tag=""):
    """The model's tables; ``tag`` marks the IDs numbered here (activities, orders) with a shard."""
    frames = {}
    frames["reps"] = pd.DataFrame({
        "rep_id": reps["rep_id"], "rep_name": reps["rep_name"], "team": reps["team"],
        "manager_id": reps["manager_id"], "region": reps["region"], "hire_date": _date(reps["hire_day"]),
        "left_on": _date(reps["left_day"]),
    })
    frames["quotas"] = pd.DataFrame({
        "rep_id": _pick(reps["rep_id"], quotas["rep"].to_numpy()), "period_start": _date(quotas["start"]),
        "period_end": _date(quotas["end"]), "amount": quotas["amount"].to_numpy(),
    })
    frames["accounts"] = pd.DataFrame({
        "account_id": accounts["account_id"], "account_name": accounts["account_name"],
        "segment": accounts["segment"], "industry": accounts["industry"], "region": accounts["region"],
    })

    lead_deal = np.full(len(leads["lead_id"]), -1)
    has_lead = deals["lead"] >= 0
    lead_deal[deals["lead"][has_lead]] = np.flatnonzero(has_lead)
    frames["leads"] = pd.DataFrame({
        "lead_id": leads["lead_id"], "created_at": _stamp(leads["created"]),
        "source": _pick(SOURCE_NAMES, leads["source"]),
        "campaign": _pick([c[1] for c in CAMPAIGNS], leads["campaign"]),
        "rep_id": _pick(reps["rep_id"], leads["rep"]), "status": _pick(LEAD_STATUSES, leads["status"]),
        "first_response_at": _stamp(leads["responded_at"]), "mql_at": _stamp(leads["mql_at"]),
        "sql_at": _stamp(leads["sql_at"]), "converted_at": _stamp(leads["converted_at"]),
        "opportunity_id": _pick(deals["opportunity_id"], lead_deal),
        "account_id": _pick(accounts["account_id"], np.where(leads["has_account"], leads["account"], -1)),
    })

    source = np.where(deals["source"] < 0, len(SOURCE_NAMES), deals["source"])
    is_lost = current["stage"] == LOST
    reasons = np.where(is_lost, deals["lost_reason"], -1)
    frames["opportunities"] = pd.DataFrame({
        "opportunity_id": deals["opportunity_id"], "account_id": _pick(accounts["account_id"], deals["account"]),
        "rep_id": _pick(reps["rep_id"], deals["rep"]), "lead_id": _pick(leads["lead_id"], deals["lead"]),
        "source": _pick(SOURCE_NAMES + [EXISTING_CUSTOMER], source),
        "type": _pick(["New Business", "Expansion", "Renewal"], deals["kind"]),
        "product": _pick(PRODUCTS, deals["product"]),
        "created_at": _date(deals["created"]), "close_date": _date(current["close"]),
        "stage": _pick(STAGES, current["stage"]), "amount": current["amount"],
        "lost_reason": _pick(LOST_REASONS, reasons), "currency": "USD",
        "probability": _crm_probability(rng, current),
    })
    deal_of_row = history["deal"].to_numpy()
    frames["opportunity_history"] = pd.DataFrame({
        "opportunity_id": _pick(deals["opportunity_id"], deal_of_row),
        "changed_at": np.datetime64(START_DATE, "s") + history["seconds"].to_numpy().astype("timedelta64[s]"),
        "stage": _pick(STAGES, history["stage"].to_numpy()),
        "amount": history["amount"].to_numpy(), "close_date": _date(history["close"].to_numpy()),
    })
    frames["activities"] = pd.DataFrame({
        "activity_id": numbered_ids("ACT" + tag, len(activities)), "rep_id": _pick(reps["rep_id"], activities["rep"].to_numpy()),
        "type": _pick(ACTIVITY_TYPES, activities["type"].to_numpy()),
        "occurred_at": _stamp(activities["time"].to_numpy()),
        "lead_id": _pick(leads["lead_id"], activities["lead"].to_numpy()),
        "opportunity_id": _pick(deals["opportunity_id"], activities["deal"].to_numpy()),
        "account_id": _pick(accounts["account_id"], activities["account"].to_numpy()),
    })
    frames["orders"] = pd.DataFrame({
        "order_id": numbered_ids("ORD" + tag, len(orders)), "account_id": _pick(accounts["account_id"], orders["account"].to_numpy()),
        "ordered_at": _date(orders["day"].to_numpy()), "amount": orders["amount"].to_numpy(),
        "product": _pick(PRODUCTS, orders["product"].to_numpy()),
        "opportunity_id": _pick(deals["opportunity_id"], orders["deal"].to_numpy()),
    })
    months = pd.DatetimeIndex([pd.Timestamp(START_DATE) + pd.DateOffset(months=int(m)) for m in range(24)])
    frames["marketing_spend"] = pd.DataFrame({
        "month": months[spend["month"].to_numpy()].to_numpy().astype("datetime64[D]"),
        "source": spend["source"].to_numpy(), "campaign": spend["campaign"].to_numpy(),
        "amount": spend["amount"].to_numpy(),
    })
    for name, frame in frames.items():
        # The model's columns in its order; orders leave out the currency (the playbook's) unless
        # the multi-currency sample adds it (currencies.py).
        assert list(frame.columns) == [column for column in TABLES[name].column_names
                                       if not (name == "orders" and column == "currency")], name
    return frames
