"""Accounts: segment, region, industry and names, plus the hidden traits that drive their
lead volume and, once they are customers, how long and how often they order."""

import numpy as np

from salesnb.data.sample.arrays import choose_per_row

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]

ACCOUNT_WORDS = [
    "Northwind", "Bluepeak", "Cedar", "Ironbridge", "Lumen", "Redwood", "Silverline", "Harbor", "Summit",
    "Atlas", "Brightwater", "Copperfield", "Evergreen", "Falcon", "Granite", "Horizon", "Juniper", "Keystone",
    "Lakeside", "Meridian", "Nimbus", "Oakridge", "Pinnacle", "Quartz", "Riverstone", "Sterling", "Tidewater",
    "Unity", "Vantage", "Willow", "Zenith", "Apex", "Beacon", "Crescent", "Delta", "Ember", "Fjord",
    "Glacier", "Helix", "Ivory", "Jade", "Kestrel", "Linden", "Maple", "Nova", "Orion", "Polar", "Quill",
    "Rook", "Sable", "Talon", "Umber", "Vertex", "Wren", "Yarrow", "Zephyr", "Alder", "Birch", "Cobalt",
    "Dune", "Elm", "Flint", "Garnet", "Hawthorn", "Indigo", "Jasper", "Kite", "Lark", "Moss", "Nettle",
    "Opal", "Pike", "Raven", "Sage", "Thistle", "Vale", "Wolf", "Yew", "Basalt", "Cypress",
]
ACCOUNT_TRADES = [
    "Logistics", "Health", "Foods", "Analytics", "Energy", "Manufacturing", "Retail", "Labs", "Capital",
    "Software", "Media", "Robotics", "Pharma", "Freight", "Hospitality", "Construction", "Textiles",
    "Insurance", "Telecom", "Dental", "Aerospace", "Biotech", "Outfitters", "Brewing", "Consulting",
    "Solar", "Marine", "Packaging", "Security", "Mobility",
]
ACCOUNT_SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "Group", "Co.", "S.A.", "Partners", "AG", "Holdings"]
# Real exports carry accents, apostrophes and even markup in names; reports must escape them.
SPECIAL_ACCOUNT_NAMES = [
    '<b>Acme</b> & Sons "Ltd"',
    "O'Reilly & Daughters Hardware",
    "Crème de la Crème Bakeries",
    "Zürich Präzision AG",
    "Société Générale d'Équipement",
    "Núñez & Peña Importadores",
]
INDUSTRIES = ["Software", "Manufacturing", "Healthcare", "Retail", "Financial Services", "Logistics", "Education"]


def make_accounts(rng, count):
    segment = choose_per_row(rng, np.tile([0.60, 0.28, 0.12], (count, 1)))
    region = rng.choice(np.array(["East", "West", "Central"], dtype=object), size=count, p=[0.45, 0.4, 0.15])
    # SMB accounts are covered by the regional SMB teams (Central goes to East).
    team = np.where(segment == 0, np.where(region == "West", 1, 0), segment + 1)
    combos = len(ACCOUNT_WORDS) * len(ACCOUNT_TRADES) * len(ACCOUNT_SUFFIXES)
    picks = rng.permutation(combos)[:count] if count <= combos else rng.integers(0, combos, count)
    word = np.array(ACCOUNT_WORDS, dtype=object)[picks % len(ACCOUNT_WORDS)]
    trade = np.array(ACCOUNT_TRADES, dtype=object)[(picks // len(ACCOUNT_WORDS)) % len(ACCOUNT_TRADES)]
    suffix = np.array(ACCOUNT_SUFFIXES, dtype=object)[picks // (len(ACCOUNT_WORDS) * len(ACCOUNT_TRADES))]
    names = word + " " + trade + " " + suffix
    if count > combos:  # large scale: disambiguate repeated names the way CRMs do
        names = names + " #" + (np.arange(count) // combos + 1).astype(str).astype(object)
    special = min(len(SPECIAL_ACCOUNT_NAMES), count)
    names[:special] = SPECIAL_ACCOUNT_NAMES[:special]
    segment[0] = 1  # the HTML-bearing name is a Mid-Market account, so it shows in deal lists
    team[0] = 2
    # Larger companies produce more leads per account.
    lead_weight = np.array([1.0, 1.6, 2.6])[segment] * rng.lognormal(0, 0.5, count)
    lead_weight[0] *= 4
    return {
        "account_id": np.array([f"A{i:06d}" for i in range(1, count + 1)], dtype=object),
        "account_name": names,
        "segment_index": segment,
        "segment": np.array(SEGMENTS, dtype=object)[segment],
        "industry": rng.choice(np.array(INDUSTRIES, dtype=object), size=count),
        "region": region,
        "team_index": team,
        "lead_weight": lead_weight / lead_weight.sum(),
        # How long a customer keeps ordering (days); bigger customers stay longer.
        "lifetime": rng.exponential(1.0, count) * np.array([650.0, 950.0, 1500.0])[segment],
        # Repeat-order habit: 0 one-off, 1 monthly, 2 quarterly, 3 occasional.
        "order_habit": choose_per_row(rng, np.tile([0.55, 0.15, 0.17, 0.13], (count, 1))),
    }
