"""Means with 95% confidence intervals (Student's t), shares with Wilson intervals."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from scipy import stats as st

Z95 = 1.959963984540054


def _finite(values: Iterable[float | None]) -> np.ndarray:
    arr = np.array([v for v in values if v is not None], dtype=np.float64)
    return arr[np.isfinite(arr)]


def mean_ci(values: Iterable[float | None]) -> dict:
    """Mean ± half-width of the 95% t interval; None entries (failures) are left out.

    Returns {"mean", "ci95", "low", "high", "std", "n"}; ci95 is None below two values.
    """
    x = _finite(values)
    n = len(x)
    if n == 0:
        return {"mean": None, "ci95": None, "low": None, "high": None, "std": None, "n": 0}
    mean = float(x.mean())
    if n < 2:
        return {"mean": mean, "ci95": None, "low": None, "high": None, "std": None, "n": 1}
    std = float(x.std(ddof=1))
    half = float(st.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return {"mean": mean, "ci95": half, "low": mean - half, "high": mean + half, "std": std, "n": n}


def share_ci(flags: Iterable[bool | None]) -> dict:
    """Share of True with its 95% Wilson score interval (sound near 0 and 1, unlike t).

    Returns {"mean", "ci95", "low", "high", "n"}; ci95 is half the interval's width.
    """
    x = _finite(None if f is None else float(f) for f in flags)
    n = len(x)
    if n == 0:
        return {"mean": None, "ci95": None, "low": None, "high": None, "n": 0}
    p = float(x.mean())
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return {"mean": p, "ci95": (high - low) / 2, "low": low, "high": high, "n": n}
