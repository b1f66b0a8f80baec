"""Vocoders: normalised features → waveform. The interface (base.py), Griffin-Lim (griffin_lim.py),
HiFi-GAN (hifigan/: model, losses, loading, training), the registry and chunked vocoding
(registry.py), and the `vocoder` subcommand (cli.py).

    from vaegan_vc.vocoders import load_vocoder
    load_vocoder("auto" | "griffin-lim" | "hifigan", features) → a Vocoder

The names below load on first use, so that the command line's parser (cli.py) imports no torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Vocoder": "base", "GriffinLimVocoder": "griffin_lim", "VOCODERS": "registry", "load_vocoder": "registry",
    "resolve_vocoder_name": "registry", "vocode_long": "registry",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
