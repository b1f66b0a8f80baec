"""Audio and spectrograms as self-contained data URIs, for the listening page and the web server."""

from __future__ import annotations

import base64
import io
import threading

import numpy as np
import soundfile as sf

from .audio import mel_features
from .config import FeatureConfig
from .plots import mel_panels_figure, plt

# pyplot keeps global state, so figures are drawn one at a time even from server worker threads.
_PLOT_LOCK = threading.Lock()


def wav_bytes(wav: np.ndarray, sr: int) -> bytes:
    """Waveform [N] (float, ±1) → a 16-bit PCM WAV file's bytes."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1, 1), sr, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def wav_data_uri(wav: np.ndarray, sr: int) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav_bytes(wav, sr)).decode()


def mel_png(wav: np.ndarray, features: FeatureConfig, title: str) -> bytes:
    """The waveform's normalised log-mel spectrogram as a small PNG (about 320 × 176 px)."""
    mel = mel_features(wav, features).numpy()
    with _PLOT_LOCK:
        fig = mel_panels_figure([(title, mel)])
        fig.set_size_inches(4, 2.2)
        buffer = io.BytesIO()
        try:
            fig.savefig(buffer, dpi=80, format="png")
        finally:
            plt.close(fig)
    return buffer.getvalue()


def mel_data_uri(wav: np.ndarray, features: FeatureConfig, title: str) -> str:
    return "data:image/png;base64," + base64.b64encode(mel_png(wav, features, title)).decode()
