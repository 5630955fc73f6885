"""Bounded, mergeable histograms for durations and sizes.

:class:`LogLinearHistogram` keeps counts in buckets whose width is at most
1/128 of their lower bound, so any nearest-rank percentile it reports is
within 0.8% of the exact one, while its size depends only on the range of
the values (at most 128 buckets per power of two), never on their number.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

_SUB_BITS = 7  # 2**7 sub-buckets per power of two
_EXACT_BELOW = 1 << (_SUB_BITS + 1)


def bucket_key(value: int) -> int:
    """The bucket of a non-negative integer ``value`` (exact below 256)."""
    if value < _EXACT_BELOW:
        return value
    shift = value.bit_length() - _SUB_BITS - 1
    return (shift << (_SUB_BITS + 1)) | (value >> shift)


def bucket_bounds(key: int) -> Tuple[int, int]:
    """The smallest and largest value of bucket ``key``."""
    if key < _EXACT_BELOW:
        return key, key
    shift = key >> (_SUB_BITS + 1)
    mantissa = key & (_EXACT_BELOW - 1)
    low = mantissa << shift
    return low, low + (1 << shift) - 1


class Stats:
    """count, total, min and max of integers."""

    __slots__ = ("count", "total", "min", "max")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.min: Optional[int] = None
        self.max: Optional[int] = None

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value

    def merge(self, other: "Stats") -> None:
        self.count += other.count
        self.total += other.total
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max


class LogLinearHistogram(Stats):
    """Stats plus buckets for approximate percentiles, of integers >= 0."""

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        super().__init__()
        self.buckets: Dict[int, int] = {}

    def add(self, value: int) -> None:
        if value < 0:
            value = 0
        key = bucket_key(value)
        self.buckets[key] = self.buckets.get(key, 0) + 1
        super().add(value)

    def add_many(self, value: int, n: int) -> None:
        """``n`` values equal to ``value`` (n >= 1)."""
        if value < 0:
            value = 0
        key = bucket_key(value)
        self.buckets[key] = self.buckets.get(key, 0) + n
        self.count += n
        self.total += value * n
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value

    def merge(self, other: "Stats") -> None:
        assert isinstance(other, LogLinearHistogram)
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        super().merge(other)

    @property
    def mean(self) -> Optional[float]:
        return self.total / self.count if self.count else None

    def percentile(self, p: float) -> Optional[int]:
        """Nearest-rank percentile ``p`` (0 < p <= 100), within 0.8% of the exact one."""
        if not self.count:
            return None
        rank = max(1, math.ceil(p / 100.0 * self.count))
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                low, high = bucket_bounds(key)
                value = (low + high) // 2
                assert self.min is not None and self.max is not None
                return min(max(value, self.min), self.max)
        return self.max


class LinearHistogram:
    """Fixed-width buckets of ``width``; values past ``limit`` buckets go to an overflow count."""

    __slots__ = ("width", "limit", "buckets", "overflow")

    def __init__(self, width: int, limit: int = 1000) -> None:
        self.width = width
        self.limit = limit
        self.buckets: Dict[int, int] = {}
        self.overflow = 0

    def add(self, value: int) -> None:
        slot = max(value, 0) // self.width
        if slot >= self.limit:
            self.overflow += 1
        else:
            self.buckets[slot] = self.buckets.get(slot, 0) + 1

    def merge(self, other: "LinearHistogram") -> None:
        for slot, n in other.buckets.items():
            self.buckets[slot] = self.buckets.get(slot, 0) + n
        self.overflow += other.overflow

    def rows(self) -> List[Tuple[int, int, int]]:
        """(low, high, count) from the first to the last non-empty bucket."""
        if not self.buckets:
            return []
        return [(s * self.width, (s + 1) * self.width - 1, self.buckets.get(s, 0))
                for s in range(min(self.buckets), max(self.buckets) + 1)]
