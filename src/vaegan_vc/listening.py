"""A self-contained listening page: every source utterance converted into every voice of a model.

One row per source, one column per target voice, each cell an audio player and a spectrogram;
everything is embedded in the one index.html, so the page works offline and can be mailed.
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from .api import VoiceConverter
from .io import write_text
from .audio import list_audio, load_audio
from .io import refuse_to_overwrite
from .media import mel_data_uri, wav_data_uri
from .progress import progress_bar

log = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parent / "pretrained" / "examples"
PAGE = "index.html"
CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.4em;vertical-align:top;text-align:center}th{background:#f3f3f3}
img{width:260px;display:block}audio{width:260px}.note{color:#555;font-size:.9em;max-width:60em}"""


def _cell(wav: np.ndarray, sr: int, vc: VoiceConverter, title: str) -> str:
    return (f"<td><audio controls preload='none' src='{wav_data_uri(wav, sr)}'></audio>"
            f"<img alt='{html.escape(title)} spectrogram' src='{mel_data_uri(wav, vc.loaded.features, title)}'></td>")


def build_page(vc: VoiceConverter, out_dir: Path, sources: list[Path] | None = None, force: bool = False,
               model_name: str = "", progress: bool = True) -> Path:
    """Convert every source (default: the bundled examples) into every voice; write OUT_DIR/index.html.

    Returns the page's path. Also writes each conversion as OUT_DIR/<source>_to_<voice>.wav.
    """
    out_dir = Path(out_dir)
    refuse_to_overwrite(out_dir, force)
    sources = sources if sources is not None else list_audio(EXAMPLES_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    sr, start = vc.sample_rate, time.perf_counter()
    head = "".join(f"<th>→ {html.escape(v)}</th>" for v in vc.speakers)
    rows = []
    jobs = progress_bar(sources, desc="listening page", unit="source", disable=not progress)
    for src in jobs:
        wav = load_audio(src, sr)
        cells = [_cell(wav, sr, vc, f"{src.stem} (original)")]
        for voice in vc.speakers:
            out, _ = vc.convert(wav, sr, target=voice)
            sf.write(str(out_dir / f"{src.stem}_to_{voice}.wav"), np.clip(out, -1, 1), sr, subtype="PCM_16")
            cells.append(_cell(out, sr, vc, f"{src.stem} → {voice}"))
        rows.append(f"<tr><th>{html.escape(src.stem)}</th>{''.join(cells)}</tr>")
    seconds = time.perf_counter() - start
    note = (f"Model {html.escape(model_name or str(vc.loaded.path))}; vocoder {html.escape(vc.vocoder.name)}; "
            f"{len(sources)} source(s) × {len(vc.speakers)} voices converted in {seconds:.0f} s. ")
    if sources and Path(sources[0]).parent == EXAMPLES_DIR:
        note += ("Sources: VCC 2016 test-split sentences (Toda et al., Interspeech 2016; CC BY 4.0), never "
                 "heard by the model in training. Convert only voices whose owners agree.")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>vaegan-vc listening page</title>"
            f"<style>{CSS}</style></head><body><h1>vaegan-vc: every source in every voice</h1>"
            f"<p class='note'>{note}</p><table><tr><th>source</th><th>original</th>{head}</tr>{''.join(rows)}</table>"
            "</body></html>")
    path = out_dir / PAGE
    write_text(path, page)
    log.info("listening page: %s (%.0f s)", path, seconds)
    return path
