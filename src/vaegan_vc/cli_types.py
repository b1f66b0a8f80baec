"""argparse value types shared by every subcommand: a bad number is refused before any work starts."""

from __future__ import annotations

import argparse
import math
from typing import Callable


def _number(text: str, kind: type):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, got '{text}'") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _bounded(kind: type, ok: Callable[[float], bool], rule: str, name: str) -> Callable[[str], float]:
    """An argparse type: `kind(text)` that satisfies `ok`, else an error saying `rule`."""
    def parse(text: str):
        value = _number(text, kind)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    parse.__name__ = name  # argparse names the type in some messages
    return parse


positive_int = _bounded(int, lambda v: v >= 1, "at least 1", "positive_int")  # a count
non_negative_int = _bounded(int, lambda v: v >= 0, "0 or more", "non_negative_int")
positive_float = _bounded(float, lambda v: v > 0, "above 0", "positive_float")  # a learning rate
non_negative_float = _bounded(float, lambda v: v >= 0, "0 or more", "non_negative_float")  # a loss weight
finite_float = _bounded(float, lambda v: True, "finite", "finite_float")
fraction = _bounded(float, lambda v: 0 <= v < 1, "in [0, 1)", "fraction")  # a share of the data
