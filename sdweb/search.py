"""Target-size search shared by every codec: the best setting whose bytes fit.

Codecs expose one integer knob where a larger value means a larger, better
file (JPEG quality, palette colours, a quantizer-step index). Sizes are only
roughly monotone in such knobs, so the search bisects and then keeps the
largest setting actually seen to fit, never trusting the model blindly.
"""

from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


def largest_fitting(
    encode: Callable[[int], T],
    size_of: Callable[[T], int],
    lo: int,
    hi: int,
    limit: int,
) -> tuple[int, T] | None:
    """Bisect ``lo..hi`` for the largest setting whose encoding fits ``limit`` bytes.

    ``encode(setting)`` makes a candidate and ``size_of(candidate)`` measures it.
    Returns ``(setting, candidate)`` or ``None`` when even ``lo`` is over the limit.
    Costs about log2(hi - lo) + 2 encodes.
    """
    seen: dict[int, T] = {}

    def fits(setting: int) -> bool:
        if setting not in seen:
            seen[setting] = encode(setting)
        return size_of(seen[setting]) <= limit

    if fits(hi):
        return hi, seen[hi]
    if not fits(lo):
        return None
    good, bad = lo, hi
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    best = max(s for s in seen if size_of(seen[s]) <= limit)
    return best, seen[best]
