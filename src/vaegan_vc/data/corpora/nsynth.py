"""NSynth: 4-second notes, one folder per instrument family (or family_source).

    vaegan-vc data fetch nsynth DEST [--subset test|valid|train] [--instruments brass,string]
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import VaeganError
from .archive import iter_members, read_member_text
from .destination import require_files

log = logging.getLogger(__name__)

NSYNTH_FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                   "synth_lead", "vocal")
NSYNTH_SOURCES = ("acoustic", "electronic", "synthetic")
NSYNTH_DEFAULT = ("brass", "string")  # trumpets and violins, as in Bonnici et al.
NSYNTH_SUBSETS = ("test", "valid", "train")


def _nsynth_group(note: dict, wanted: list[str]) -> str | None:
    """The selection name a note belongs to: its family ('brass') or family_source ('brass_acoustic')."""
    family, source = note.get("instrument_family_str"), note.get("instrument_source_str")
    for name in wanted:
        if name == family or name == f"{family}_{source}":
            return name
    return None


def _check_nsynth_names(wanted: list[str]) -> None:
    known = set(NSYNTH_FAMILIES) | {f"{f}_{s}" for f in NSYNTH_FAMILIES for s in NSYNTH_SOURCES}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise VaeganError(f"unknown NSynth instrument group(s) {', '.join(unknown)}: use a family "
                          f"({', '.join(NSYNTH_FAMILIES)}), optionally with a source (e.g. brass_acoustic)")


def extract_nsynth(source: Path, writer, instruments: list[str] | None, subset: str | None) -> dict[str, dict[str, Any]]:
    """`nsynth-<subset>/examples.json` + `audio/<note>.wav` → dest/<group>/<note>.wav.

    Notes listed in examples.json without audio, and audio files it does not list, are left out and
    named in corpus.json (`missing_audio`, `unlisted_audio`); the intersection is what is fetched.
    """
    wanted = list(instruments or NSYNTH_DEFAULT)
    _check_nsynth_names(wanted)
    text = read_member_text(source, "examples.json")
    if text is None:
        raise VaeganError(f"{source}: no examples.json (expected nsynth-{subset}/examples.json)")
    try:
        examples = json.loads(text)
    except ValueError as exc:
        raise VaeganError(f"{source}: examples.json is not valid JSON ({exc})") from None
    if not isinstance(examples, dict):
        raise VaeganError(f"{source}: examples.json should map note names to their attributes")
    chosen = {name: group for name, note in examples.items() if isinstance(note, dict) and (group := _nsynth_group(note, wanted))}
    seen, unlisted = set(), []
    with contextlib.closing(iter_members(source)) as members:
        for member in members:
            path = PurePosixPath(member.name)
            if path.parent.name != "audio" or path.suffix != ".wav":
                continue
            if path.stem not in examples:
                unlisted.append(path.name)
            elif path.stem in chosen:
                writer.add(chosen[path.stem], path.name, member)
                seen.add(path.stem)
    missing = sorted(set(chosen) - seen)
    if missing or unlisted:
        log.warning("nsynth: %d listed notes have no audio, %d audio files are not listed; fetched the rest",
                    len(missing), len(unlisted))
    groups = sorted(set(chosen.values()))
    require_files(writer, {w: w for w in wanted}, groups, f"nsynth {subset} (examples.json ∩ audio/)")
    info = {w: {"id": w, "notes": writer.counts[w]} for w in wanted}
    info[wanted[0]]["missing_audio"] = missing[:200]  # recorded once, beside the first group
    info[wanted[0]]["unlisted_audio"] = sorted(unlisted)[:200]
    return info
