"""What the scoring report found, composed from the scores the report computed.

The report learns each score once (:func:`salesnb.metrics.scoring.score_leads`,
:func:`~salesnb.metrics.scoring.score_deals`) and passes the results here; nothing is computed
again. Each sentence states its numbers and n; there are no sentences that hold whatever the data.
"""

from __future__ import annotations

from salesnb.metrics.scoring import DECILES, Scoring

# What the report says when nothing passed the thresholds (no score could be learned).
NOTHING_FOUND = ("No score could be learned and tested: the data has too few closed leads and deals (each section "
                 "says how many it has and how many it needs).")
# A top decile is worth naming when it converts at least this many times the base rate.
MIN_TOP_DECILE_LIFT = 1.5


def scoring_findings(*results: Scoring) -> list[str]:
    """For each measured score, in this order: whether it beats the baseline (its verdict);
    how the top decile converted out of sample against the base rate, when at least
    ``MIN_TOP_DECILE_LIFT`` times it (n = the decile's records); the columns the leakage guard
    left out; for deals, how many open deals score below half their stage's probability."""
    sentences: list[str] = []
    for result in results:
        if not result.measured:
            continue
        words = result.words
        sentences.append(result.verdict())
        top = result.deciles.set_index("decile").loc[DECILES] if not result.deciles.empty else None
        if top is not None and result.base_rate and top["observed_rate"] >= MIN_TOP_DECILE_LIFT * result.base_rate:
            sentences.append(
                f"The top tenth of {words['noun']} by score {_verb(result)} at {top['observed_rate']:.0%} out of sample "
                f"({int(top['positives']):,} of {int(top['records']):,}), {top['observed_rate'] / result.base_rate:.1f}x "
                f"the average of {result.base_rate:.0%}: work them first.")
        left_out = result.suspects[result.suspects["left_out_of_model"].astype(bool)]
        if len(left_out):
            names = ", ".join(left_out["suspect_column"])
            sentences.append(f"The leakage guard left out the {words['noun']}' {names}: filled in or decided with the "
                             "outcome, they would make the score look better than it is.")
        listed = result.open_list if result.what == "deals" else None  # taken when asked: once
        if listed is not None and "far_below_stage" in listed:
            flagged = int(listed["far_below_stage"].sum())
            if flagged:
                sentences.append(f"{flagged:,} of {len(listed):,} open deals score below half their stage's "
                                 "probability: review them in the pipeline meeting.")
    return sentences


def _verb(result: Scoring) -> str:
    return "converted" if result.what == "leads" else "were won"
