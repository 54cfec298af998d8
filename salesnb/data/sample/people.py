"""Sales reps: four teams with a manager each, hire dates, skill, activity and CRM hygiene,
who has given notice, and how work (leads, outbound deals) is handed to the reps of a team."""

import numpy as np

from salesnb.data.sample.timeline import DAYS, SNAPSHOT

TEAMS = ["SMB East", "SMB West", "Mid-Market", "Enterprise"]

FIRST_NAMES = [
    "Siobhán", "José", "Amelia", "Marcus", "Priya", "Chloé", "Tomasz", "Aisha", "Liam", "Mei",
    "Björn", "Fatima", "Carlos", "Hannah", "Kwame", "Zoë", "Rafael", "Ingrid", "Noah", "Yuki",
    "Olivia", "Mateo", "Sofia", "Ethan", "Léa", "Daniel", "Grace", "Arjun", "Nora", "Felix",
    "Isabela", "Owen", "Camille", "Jonas", "Maya", "Diego", "Elif", "Sean", "Anika", "Lucas",
]
LAST_NAMES = [
    "O'Brien", "Núñez", "Schmidt", "Okafor", "Patel", "Dubois", "Kowalski", "Rahman", "Murphy", "Chen",
    "Lindqvist", "Haddad", "García", "Fischer", "Mensah", "Lefèvre", "Santos", "Johansson", "Walker", "Tanaka",
    "Bennett", "Rossi", "Müller", "Nguyen", "Moreau", "D'Angelo", "Kim", "Sharma", "Byrne", "Wójcik",
    "Costa", "Hughes", "Laurent", "Weber", "Cohen", "Álvarez", "Yılmaz", "O'Connor", "Singh", "Novak",
]


def make_reps(rng, count):
    """Quota-carrying reps in four teams, plus one manager per team (managers carry no deals)."""
    team_share = np.array([0.3, 0.3, 0.22, 0.18])
    per_team = np.maximum(np.round(team_share * count).astype(int), 2)
    per_team[0] += count - per_team.sum()
    team_index = np.concatenate([np.full(n, t) for t, n in enumerate(per_team)])
    n = len(team_index)
    # Hire dates: most reps were hired before the data starts, some during it, and about
    # one in six in the last six months (still ramping at the snapshot).
    kind = rng.random(n)
    hire_day = np.where(
        kind < 0.55, rng.uniform(-5 * 365, -60, n),
        np.where(kind < 0.83, rng.uniform(60, DAYS - 200, n), rng.uniform(DAYS - 180, DAYS - 20, n)),
    )
    # The first reps of each team started before the data, so every team has someone.
    first_of_team = np.r_[0, np.cumsum(per_team)[:-1]]
    hire_day[first_of_team] = rng.uniform(-4 * 365, -200, len(first_of_team))
    # At least two reps (the last of SMB West and of Mid-Market) are still ramping.
    newest = np.cumsum(per_team)[[1, 2]] - 1
    hire_day[newest] = rng.uniform(DAYS - 170, DAYS - 40, len(newest))
    hire_day = np.floor(hire_day)
    skill = np.clip(rng.lognormal(0.0, 0.22, n), 0.65, 1.6)
    volume = np.clip(rng.lognormal(0.0, 0.25, n), 0.6, 1.7)
    hygiene = rng.uniform(0.45, 0.97, n)  # how often the rep updates close dates in the CRM
    # In each team the established rep with the lowest skill makes up for it with activity:
    # twice the touches per deal (no draw: the other tables stay as they were).
    activity = np.ones(n)
    for team in range(len(TEAMS)):
        members = np.flatnonzero((team_index == team) & (hire_day < 0))
        if len(members):
            activity[members[np.argmin(skill[members])]] = 2.0
    region = np.where(team_index == 0, "East", np.where(team_index == 1, "West", "")).astype(object)
    national = team_index >= 2
    region[national] = rng.choice(["East", "West", "Central"], size=national.sum())

    managers = len(TEAMS)
    total = n + managers
    names = _person_names(rng, total)
    rep_ids = np.array([f"R{i:04d}" for i in range(1, total + 1)], dtype=object)
    manager_ids = rep_ids[n:]
    return {
        "rep_id": rep_ids,
        "rep_name": names,
        "team_index": np.r_[team_index, np.arange(managers)],
        "team": np.array([TEAMS[t] for t in team_index] + ["Sales Leadership"] * managers, dtype=object),
        "manager_id": np.r_[manager_ids[team_index], np.full(managers, None, dtype=object)],
        "region": np.r_[region, np.array(["East", "West", "Central", "Central"], dtype=object)],
        "hire_day": np.r_[hire_day, np.floor(rng.uniform(-8 * 365, -2 * 365, managers))],
        "skill": np.r_[skill, np.ones(managers)],
        "volume": np.r_[volume, np.zeros(managers)],
        "hygiene": np.r_[hygiene, np.ones(managers)],
        "activity": np.r_[activity, np.ones(managers)],
        "is_manager": np.r_[np.zeros(n, bool), np.ones(managers, bool)],
    }


# Reps who have given notice at the snapshot (established reps only), and how long after it
# their last day is. Every rep owns deals and logs activity up to the snapshot, so no rep of
# the sample left during the data: a leaving date can only lie ahead.
NOTICE_SHARE = 0.08
NOTICE_DAYS = (14, 60)


def leaving_days(rng, reps):
    """The last working day (day number) of the reps who have given notice, NaN for the others.

    ``rng`` must be a stream of its own (``build_sample`` spawns one after every other draw),
    so that writing ``reps.left_on`` leaves every other table and column as it was."""
    established = ~reps["is_manager"] & (reps["hire_day"] < SNAPSHOT - 365)
    leaving = established & (rng.random(len(established)) < NOTICE_SHARE)
    days = np.floor(SNAPSHOT + rng.uniform(*NOTICE_DAYS, len(established)))
    return np.where(leaving, days, np.nan)


def _person_names(rng, count):
    pairs = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    # Keep the two names the reports must render correctly at fixed places.
    fixed = [0 * len(LAST_NAMES) + 0, 1 * len(LAST_NAMES) + 1]  # Siobhán O'Brien, José Núñez
    pairs = np.r_[fixed, pairs[~np.isin(pairs, fixed)]]
    if count > len(pairs):  # very large scales: names repeat, as they do in big companies
        pairs = np.resize(pairs, count)
    pairs = pairs[:count]
    first = np.array(FIRST_NAMES, dtype=object)[pairs // len(LAST_NAMES)]
    last = np.array(LAST_NAMES, dtype=object)[pairs % len(LAST_NAMES)]
    return first + " " + last


def ramp_share(days_since_hire, months=6.0):
    """Share of full productivity: 0 at hire, 1 after ``months`` months."""
    return np.clip(days_since_hire / (30.4 * months), 0.0, 1.0)


def assign_reps(rng, times, teams, reps):
    """An owner for each row: a rep of the row's team already hired at that time, drawn in
    proportion to capacity (ramping reps get fewer)."""
    owner = np.full(len(times), -1, dtype=np.int64)
    month = np.floor(times / 30.4).astype(np.int64)
    order = np.lexsort((month, teams))
    keys = teams[order] * 1000 + month[order]
    boundaries = np.flatnonzero(np.diff(keys)) + 1
    for group in np.split(order, boundaries):
        if not len(group):
            continue
        team, at = teams[group[0]], month[group[0]] * 30.4
        candidates = np.flatnonzero((reps["team_index"] == team) & (reps["hire_day"] <= at) & ~reps["is_manager"])
        if not len(candidates):  # nobody hired yet: the team's first rep covers it
            members = np.flatnonzero((reps["team_index"] == team) & ~reps["is_manager"])
            candidates = members[np.argsort(reps["hire_day"][members], kind="stable")[:1]]
        capacity = reps["volume"][candidates] * np.maximum(ramp_share(at + 15 - reps["hire_day"][candidates], 4), 0.15)
        owner[group] = rng.choice(candidates, size=len(group), p=capacity / capacity.sum())
    return owner
