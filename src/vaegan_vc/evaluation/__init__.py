"""Objective evaluation of conversions: MCD, F0, speaker similarity, CER/WER, DNSMOS → JSON + reports."""

from .options import EvalOptions

__all__ = ["EvalOptions", "evaluate_dirs", "evaluate_model"]


def __getattr__(name: str):
    # The entry points pull in torch and matplotlib; `vaegan-vc --help` should not pay for them.
    if name in ("evaluate_dirs", "evaluate_model"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
