"""Reading aids: the vocoder-only ceiling (real target speech through features + vocoder)."""

from __future__ import annotations

from pathlib import Path

from ..audio import mel_features
from ..config import FeatureConfig, feature_preset
from ..vocoders import Vocoder, load_vocoder, vocode_long
from .cache import file_identity
from .options import EvalOptions
from .sources import AudioRef, array_ref


def vocoder_identity(name: str, checkpoint: Path | None, features: FeatureConfig) -> tuple:
    """What decides a vocoder's output: its name, its weights file and the feature preset."""
    weights = tuple(file_identity(checkpoint)) if checkpoint else None
    return (name, weights, tuple(sorted(features.to_dict().items())))


def vocoded_ref(ref: AudioRef, features: FeatureConfig, vocoder: Vocoder, vocoder_id: tuple) -> AudioRef:
    """`ref` analysed into features and vocoded back, made only when an analysis needs it."""

    def make():
        wav = ref.load(features.sample_rate)
        return vocode_long(vocoder, mel_features(wav, features)).numpy(), features.sample_rate

    return array_ref(f"vocoded {ref.label}", ("ceiling", vocoder_id, ref.identity), make)


def dirs_ceiling(plan, options: EvalOptions) -> dict[str, AudioRef]:
    """One vocoded copy per distinct target reference of the plan (keyed by its label)."""
    features = feature_preset(options.features)
    vocoder = load_vocoder(options.vocoder, features, options.vocoder_checkpoint, options.device)
    vid = vocoder_identity(options.vocoder, options.vocoder_checkpoint, features)
    targets = {item.target_ref.label: item.target_ref for item in plan.items}
    return {label: vocoded_ref(ref, features, vocoder, vid) for label, ref in targets.items()}
