"""Small-sample rules shared by every metric module: when a group is big enough to compare.

A rate or count on a handful of observations moves by chance; rankings and findings only
use groups with at least :data:`MIN_N` observations (and show n beside every rate).
"""

from __future__ import annotations

# Groups with fewer observations than this are shown but not ranked, and not compared
# between periods (``findings``): below about 30 a share moves by 10+ points by chance.
MIN_N = 30
