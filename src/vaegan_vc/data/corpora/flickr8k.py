"""Flickr 8k Audio Caption Corpus: the chosen wav2spk.txt speakers → dest/spk<ID>/."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import VaeganError
from .archive import iter_members, read_member_text
from .destination import Writer, check_speakers, require_files

log = logging.getLogger(__name__)

FLICKR_DEFAULT_SPEAKERS = ("4", "7")  # the paper's female and male speakers; 49 and 17 are also usual


def extract_flickr8k(source: Path, writer: Writer, speakers: list[str] | None,
                     subset: str | None) -> dict[str, dict[str, Any]]:
    """`flickr_audio/wavs/*.wav` of the chosen wav2spk.txt speakers → dest/spk<ID>/.

    Two streamed passes: up to wav2spk.txt, then the chosen wavs (stopping after the last one).
    """
    text = read_member_text(source, "wav2spk.txt")
    if text is None:
        raise VaeganError(f"{source}: no wav2spk.txt (expected flickr_audio/wav2spk.txt)")
    speaker_of = _parse_wav2spk(text)
    chosen = [s.removeprefix("spk") for s in (speakers or FLICKR_DEFAULT_SPEAKERS)]
    check_speakers(chosen, speaker_of.values(), "flickr8k")
    wanted = {wav: spk for wav, spk in speaker_of.items() if spk in chosen}
    with contextlib.closing(iter_members(source)) as members:
        for member in members:
            path = PurePosixPath(member.name)
            if path.parent.name == "wavs" and path.name in wanted:
                writer.add(f"spk{wanted.pop(path.name)}", path.name, member)
                if not wanted:
                    break  # every chosen file is out: no need to read the rest of 4 GB
    if wanted:
        log.warning("%d files listed in wav2spk.txt are missing from %s", len(wanted), source)
    require_files(writer, {f"spk{s}": s for s in chosen}, speaker_of.values(), "flickr8k")
    return {f"spk{s}": {"id": s} for s in chosen}


def _parse_wav2spk(text: str) -> dict[str, str]:
    """Lines `<wavname> <speaker_id>` → {wavname.wav: speaker_id}."""
    speaker_of = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            name = parts[0] if parts[0].endswith(".wav") else f"{parts[0]}.wav"
            speaker_of[name] = parts[1]
    return speaker_of
