"""Objective evaluation of conversions: MCD, F0, speaker similarity, CER/WER, DNSMOS → JSON + reports."""

from .api import evaluate_dirs, evaluate_model
from .options import EvalOptions

__all__ = ["EvalOptions", "evaluate_dirs", "evaluate_model"]
