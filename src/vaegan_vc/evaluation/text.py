"""Character and word error rates (Levenshtein distance on normalised text)."""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

_PUNCT = re.compile(r"[^\w\s']|_")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # 4,000 → 4000


def normalize_text(text: str) -> str:
    """Lower case, no punctuation (apostrophes kept), no thousands separators, single spaces: ASR
    style differences such as "Hello, world." vs "hello world" or "4,000" vs "4000" are not errors."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _THOUSANDS.sub("", text)
    text = _PUNCT.sub(" ", text)
    return " ".join(text.split())


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (substitutions, deletions, insertions each cost 1)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def cer(ref: str, hyp: str) -> float | None:
    """Character error rate of `hyp` against `ref` after normalisation; None for an empty ref."""
    r, h = normalize_text(ref), normalize_text(hyp)
    return edit_distance(r, h) / len(r) if r else None


def wer(ref: str, hyp: str) -> float | None:
    """Word error rate of `hyp` against `ref` after normalisation; None for an empty ref."""
    r, h = normalize_text(ref).split(), normalize_text(hyp).split()
    return edit_distance(r, h) / len(r) if r else None
