"""`vaegan-vc live`: microphone → streaming conversion → speakers, through PortAudio (sounddevice).

The pipeline is `run_pipeline(vc, source, sink, …)`: `source` yields input blocks, `sink` takes
output blocks. `live` plugs the sound card into both ends; the tests plug files, since CI has no
sound card.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Callable, Iterable, Iterator

import numpy as np

from .api import VoiceConverter
from .errors import VaeganError
from .streaming import StreamConfig, StreamReport, report

log = logging.getLogger(__name__)


def run_pipeline(vc: VoiceConverter, source: Iterable[np.ndarray], sink: Callable[[np.ndarray], None], sample_rate: int,
                 target: str, pitch_shift: float = 0.0, config: StreamConfig | None = None) -> StreamReport:
    """Pull blocks from `source` (at `sample_rate`), push converted blocks (model rate) into `sink`."""
    for block in vc.stream(source, sample_rate, target, pitch_shift=pitch_shift, config=config):
        sink(block)
    return report(vc.last_streamer)


def _require_sounddevice():
    if importlib.util.find_spec("sounddevice") is None:
        raise VaeganError("vaegan-vc live needs sounddevice: pip install 'vaegan-vc[live]' (and Debian's libportaudio2)")
    try:
        import sounddevice
    except OSError as exc:  # the Python package is there, PortAudio is not
        raise VaeganError(f"PortAudio is missing ({exc}); install Debian's libportaudio2 (EXTRAS=live ./setup.sh)") from None
    return sounddevice


def microphone(sd, sample_rate: int, block: int, device=None) -> Iterator[np.ndarray]:
    """Blocks of `block` samples from the default (or named) input device, until Ctrl-C."""
    with sd.InputStream(samplerate=sample_rate, blocksize=block, channels=1, dtype="float32", device=device) as stream:
        while True:
            data, overflowed = stream.read(block)
            if overflowed:
                log.warning("input overflow: the conversion fell behind the microphone")
            yield data[:, 0]


def live(vc: VoiceConverter, target: str, pitch_shift: float = 0.0, config: StreamConfig | None = None,
         input_device=None, output_device=None, input_rate: int | None = None) -> StreamReport:
    """Convert the microphone into `target`'s voice on the speakers until Ctrl-C; returns the measurements."""
    sd = _require_sounddevice()
    config = config or StreamConfig()
    try:
        rate = input_rate or int(sd.query_devices(input_device, "input")["default_samplerate"])
        return _run_devices(sd, vc, target, pitch_shift, config, input_device, output_device, rate)
    except sd.PortAudioError as exc:
        raise VaeganError(f"sound card: {exc} (is there a microphone? `python -m sounddevice` lists the devices)") from None


def _run_devices(sd, vc, target, pitch_shift, config, input_device, output_device, rate) -> StreamReport:
    block = int(config.block_frames * vc.loaded.features.hop_length * rate / vc.sample_rate)
    with sd.OutputStream(samplerate=vc.sample_rate, channels=1, dtype="float32", device=output_device) as speakers:
        def play(out: np.ndarray) -> None:
            if speakers.write(out.reshape(-1, 1)):
                log.warning("output underrun: a block came too late")

        try:
            return run_pipeline(vc, microphone(sd, rate, block, input_device), play, rate, target, pitch_shift, config)
        except KeyboardInterrupt:
            return report(vc.last_streamer)
