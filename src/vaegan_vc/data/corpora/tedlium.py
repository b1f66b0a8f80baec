"""TED-LIUM 3: each talk's presenter segments, cut from its .sph at its .stm times → dest/<talk>/."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import soundfile as sf

from ...errors import VaeganError
from .archive import Member, iter_members, list_names
from .destination import WORK, Writer, check_speakers, natural_key, require_files, safe_name
from .download import CHUNK

_TED_FILE = re.compile(r"^(?:(.*)/)?(sph|stm)/([^/]+)\.(sph|stm)$")
_IGNORED = "ignore_time_segment_in_scoring"  # the releases' mark for music, applause, foreign speech


@dataclass(frozen=True)
class _Segment:
    start: float
    end: float
    speaker: str
    label: str


def extract_tedlium(source: Path, writer: Writer, speakers: list[str] | None,
                    subset: str | None) -> dict[str, dict[str, Any]]:
    """Talks `<subset>/sph/<talk>.sph` cut at their `<subset>/stm/<talk>.stm` segments → dest/<talk>/.

    A "speaker" is a talk id. Without `speakers`, the first two complete talks are taken (in name
    order for folders and zips, in stream order for tars, which then stops early).
    """
    wanted = list(speakers) if speakers else []
    names = list_names(source)
    if names is not None:
        talks = _ted_talks(names, subset)
        wanted = wanted or talks[:2]
        check_speakers(wanted, talks, f"tedlium {subset}")
    picking = not wanted  # a tar without --speakers: take the first two talks that appear
    cutter = _TalkCutter(writer)
    seen: set[str] = set()
    with contextlib.closing(iter_members(source)) as members:
        for member in members:
            parsed = _ted_member(member.name, subset)
            if parsed is None:
                continue
            seen.add(parsed[1])
            if picking and parsed[1] not in wanted and len(wanted) < 2:
                wanted.append(parsed[1])
            if parsed[1] in wanted:
                cutter.take(member, *parsed)
            if len(cutter.info) == len(wanted) and (not picking or len(wanted) == 2):
                break
    if not seen:
        raise VaeganError(f"{source}: no TED-LIUM talks ({subset}/sph/*.sph with {subset}/stm/*.stm) found")
    require_files(writer, {safe_name(t): t for t in wanted}, seen, f"tedlium {subset}")
    return cutter.info


class _TalkCutter:
    """Collects each talk's .sph and .stm (in either order) and cuts the talk once it has both."""

    def __init__(self, writer: Writer):
        self.writer = writer
        self.work = writer.dest / WORK
        self.transcripts: dict[str, list[_Segment]] = {}
        self.audio: dict[str, Path] = {}
        self.info: dict[str, dict[str, Any]] = {}  # speaker folder → details, for finished talks

    def take(self, member: Member, kind: str, talk: str) -> None:
        if safe_name(talk) in self.info:
            return
        if kind == "stm":
            with member.open() as f:
                self.transcripts[talk] = _parse_stm(f.read().decode("utf-8", errors="replace"))
        else:
            # A tar member is spooled to disk: its transcript may come much later in the stream.
            self.audio[talk] = member.path or _spool(member, self.work / f"{safe_name(talk)}.sph")
        if talk in self.transcripts and talk in self.audio:
            sph = self.audio.pop(talk)
            self.info[safe_name(talk)] = _cut_talk(talk, sph, self.transcripts.pop(talk), self.writer)
            if sph.parent == self.work:
                sph.unlink()


def _ted_member(name: str, subset: str | None) -> tuple[str, str] | None:
    """('sph' or 'stm', talk id) for a member of `subset`, else None."""
    match = _TED_FILE.match(name)
    if match is None or match.group(2) != match.group(4):
        return None
    prefix = match.group(1) or ""
    if prefix != subset and not prefix.endswith(f"/{subset}"):
        return None
    return match.group(2), match.group(3)


def _ted_talks(names: Iterable[str], subset: str | None) -> list[str]:
    """Talk ids that have both a .sph and a .stm, sorted."""
    kinds: dict[str, set[str]] = {}
    for name in names:
        parsed = _ted_member(name, subset)
        if parsed is not None:
            kinds.setdefault(parsed[1], set()).add(parsed[0])
    return sorted((t for t, k in kinds.items() if k == {"sph", "stm"}), key=natural_key)


def _parse_stm(text: str) -> list[_Segment]:
    """STM lines `talk channel speaker start end [<label>] transcript` → scored segments."""
    segments = []
    for line in text.splitlines():
        parts = line.split(maxsplit=6)
        if len(parts) < 5 or line.startswith(";;"):
            continue
        rest = parts[5:]
        label = rest.pop(0) if rest and rest[0].startswith("<") else ""
        transcript = " ".join(rest).strip()
        if transcript == _IGNORED:
            continue
        segments.append(_Segment(float(parts[3]), float(parts[4]), parts[2], label))
    return segments


def _main_speaker(segments: list[_Segment]) -> str | None:
    """The speaker field with the most talking time: the talk's presenter."""
    time: Counter = Counter()
    for seg in segments:
        time[seg.speaker] += seg.end - seg.start
    return time.most_common(1)[0][0] if time else None


def _spool(member: Member, path: Path) -> Path:
    """Copy a streamed member to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with member.open() as src, open(path, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
    return path


def _cut_talk(talk: str, sph: Path, segments: list[_Segment], writer: Writer) -> dict[str, Any]:
    """Write the presenter's segments as `<talk>-<start cs>-<end cs>.flac`; other voices
    (interviewers, audience) are left out so that the folder holds one speaker."""
    main = _main_speaker(segments)
    own = [s for s in segments if s.speaker == main]
    if not own:
        raise VaeganError(f"{talk}.stm: no scored segments to cut")
    folder = safe_name(talk)
    try:
        audio = sf.SoundFile(str(sph))
    except (sf.LibsndfileError, RuntimeError) as exc:
        # libsndfile reads plain NIST SPHERE; shorten-compressed SPHERE needs sph2pipe first.
        raise VaeganError(f"{talk}.sph: not readable SPHERE/PCM audio ({exc}); "
                          "convert compressed SPHERE with sph2pipe and give the folder as --source") from None
    with audio:
        for seg in own:
            start = int(round(seg.start * audio.samplerate))
            stop = min(int(round(seg.end * audio.samplerate)), audio.frames)
            if stop <= start:
                continue
            audio.seek(start)
            wav = audio.read(stop - start, dtype="int16")
            name = f"{folder}-{round(seg.start * 100):07d}-{round(seg.end * 100):07d}.flac"
            writer.add_audio(folder, name, wav, audio.samplerate)
    labels = {part for s in own for part in s.label.strip("<>").split(",")}
    gender = next((g for g in ("female", "male") if g in labels), None)
    return {"id": talk, "gender": gender, "segments_of_other_speakers": len(segments) - len(own)}
