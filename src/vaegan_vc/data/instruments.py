"""`vaegan-vc data synth-instruments DEST`: a local, parallel instrument corpus rendered with FluidSynth.

Every instrument plays the same notes (NSynth-like single notes over a pitch × velocity grid, and
short seeded melodies), so the corpus is parallel and a conversion can be scored against the real
target playing the same note. One folder per instrument, one file per note, ready for `prepare`:

    DEST/trumpet/note_060_v100.wav   DEST/trumpet/melody_00.wav   …   DEST/corpus.json (written last)

Rendering uses libfluidsynth through pyfluidsynth (the `music` extra) and a General MIDI soundfont:
Debian's fluid-soundfont-gm (FluidR3_GM.sf2), which `EXTRAS=music ./setup.sh` installs. Reverb and
chorus are off and the synth is rebuilt for every file, so the same plan renders the same bytes.
A note that comes out silent or clipped on any instrument is skipped on all of them (the corpus stays
parallel), and corpus.json lists it with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..io import FORMAT_VERSIONS, atomic_path, sha256_file
from ..errors import VaeganError
from ..progress import progress_bar
from .corpora.destination import claim_dest, finish

log = logging.getLogger(__name__)

# General MIDI level 1 program names, program number = index (0-based), in the standard's order.
GM_PROGRAMS = (
    "acoustic_grand_piano bright_acoustic_piano electric_grand_piano honky_tonk_piano electric_piano_1 "
    "electric_piano_2 harpsichord clavinet celesta glockenspiel music_box vibraphone marimba xylophone "
    "tubular_bells dulcimer drawbar_organ percussive_organ rock_organ church_organ reed_organ accordion "
    "harmonica tango_accordion acoustic_guitar_nylon acoustic_guitar_steel electric_guitar_jazz "
    "electric_guitar_clean electric_guitar_muted overdriven_guitar distortion_guitar guitar_harmonics "
    "acoustic_bass electric_bass_finger electric_bass_pick fretless_bass slap_bass_1 slap_bass_2 "
    "synth_bass_1 synth_bass_2 violin viola cello contrabass tremolo_strings pizzicato_strings "
    "orchestral_harp timpani string_ensemble_1 string_ensemble_2 synth_strings_1 synth_strings_2 "
    "choir_aahs voice_oohs synth_voice orchestra_hit trumpet trombone tuba muted_trumpet french_horn "
    "brass_section synth_brass_1 synth_brass_2 soprano_sax alto_sax tenor_sax baritone_sax oboe "
    "english_horn bassoon clarinet piccolo flute recorder pan_flute blown_bottle shakuhachi whistle "
    "ocarina lead_1_square lead_2_sawtooth lead_3_calliope lead_4_chiff lead_5_charang lead_6_voice "
    "lead_7_fifths lead_8_bass_lead pad_1_new_age pad_2_warm pad_3_polysynth pad_4_choir pad_5_bowed "
    "pad_6_metallic pad_7_halo pad_8_sweep fx_1_rain fx_2_soundtrack fx_3_crystal fx_4_atmosphere "
    "fx_5_brightness fx_6_goblins fx_7_echoes fx_8_sci_fi sitar banjo shamisen koto kalimba bagpipe "
    "fiddle shanai tinkle_bell agogo steel_drums woodblock taiko_drum melodic_tom synth_drum "
    "reverse_cymbal guitar_fret_noise breath_noise seashore bird_tweet telephone_ring helicopter "
    "applause gunshot"
).split()
assert len(GM_PROGRAMS) == 128

DEFAULT_INSTRUMENTS = ("trumpet", "violin", "flute", "cello")
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
              "/usr/share/soundfonts/FluidR3_GM.sf2", "/usr/share/soundfonts/default.sf2")
CLIP_PEAK = 0.999
SILENT_RMS = 1e-4
GAIN = 0.8  # FluidSynth's master gain: loud notes stay well below full scale


@dataclass(frozen=True)
class Note:
    """One file to render: (start s, duration s, MIDI pitch, velocity) events, then a release tail."""

    name: str
    events: tuple[tuple[float, float, int, int], ...]

    @property
    def seconds(self) -> float:
        return max(start + duration for start, duration, _, _ in self.events)


@dataclass(frozen=True)
class SynthPlan:
    instruments: tuple[str, ...] = DEFAULT_INSTRUMENTS
    pitches: tuple[int, ...] = tuple(range(55, 80, 2))  # G3..G5 in whole tones: every default instrument's range
    velocities: tuple[int, ...] = (75, 100, 125)
    note_seconds: float = 1.5
    release_seconds: float = 0.5
    melodies: int = 8
    melody_notes: int = 8
    sample_rate: int = 44100
    seed: int = 0

    def check(self) -> None:
        unknown = [i for i in self.instruments if i not in GM_PROGRAMS]
        if unknown:
            raise VaeganError(f"unknown General MIDI instrument(s) {', '.join(unknown)}; the names are: {', '.join(GM_PROGRAMS)}")
        if len(set(self.instruments)) < 2:
            raise VaeganError("name at least two different instruments")
        if not self.pitches or min(self.pitches) < 0 or max(self.pitches) > 127:
            raise VaeganError("pitches must be MIDI note numbers 0..127")
        if not self.velocities or min(self.velocities) < 1 or max(self.velocities) > 127:
            raise VaeganError("velocities must be 1..127")

    def notes(self) -> list[Note]:
        """The same list for every instrument: single notes, then seeded melodies."""
        out = [Note(f"note_{p:03d}_v{v:03d}", ((0.0, self.note_seconds, p, v),)) for p in self.pitches for v in self.velocities]
        rng = np.random.default_rng(self.seed)
        for k in range(self.melodies):
            t, events = 0.0, []
            for _ in range(self.melody_notes):
                duration = float(rng.choice([0.25, 0.375, 0.5]))
                events.append((t, duration, int(rng.choice(self.pitches)), int(rng.choice(self.velocities))))
                t += duration
            out.append(Note(f"melody_{k:02d}", tuple(events)))
        return out


def find_soundfont(path: Path | None) -> Path:
    if path is not None:
        if not Path(path).is_file():
            raise VaeganError(f"soundfont {path} not found")
        return Path(path)
    for candidate in SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise VaeganError("no General MIDI soundfont found (looked in /usr/share/sounds/sf2 and /usr/share/soundfonts); "
                      "install Debian's fluid-soundfont-gm (EXTRAS=music ./setup.sh does) or pass --soundfont FILE.sf2")


def _fluidsynth():
    try:
        import fluidsynth
    except ImportError as exc:
        raise VaeganError("synth-instruments needs pyfluidsynth and libfluidsynth: pip install 'vaegan-vc[music]' and "
                          f"Debian's libfluidsynth3 (EXTRAS=music ./setup.sh installs both) ({exc})") from None
    return fluidsynth


def render(soundfont: Path, program: int, note: Note, plan: SynthPlan) -> np.ndarray:
    """One note (or melody) on one GM program → mono float32 [samples] at plan.sample_rate."""
    fluidsynth = _fluidsynth()
    synth = fluidsynth.Synth(gain=GAIN, samplerate=float(plan.sample_rate), **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise VaeganError(f"{soundfont}: FluidSynth cannot load this soundfont")
        synth.program_select(0, sfid, 0, program)
        sr = plan.sample_rate
        changes = sorted([(round(s * sr), 1, p, v) for s, _, p, v in note.events] +
                         [(round((s + d) * sr), 0, p, 0) for s, d, p, _ in note.events])
        total = round((note.seconds + plan.release_seconds) * sr)
        pieces, now = [], 0
        for at, on, pitch, velocity in changes + [(total, -1, 0, 0)]:
            if at > now:
                pieces.append(np.asarray(synth.get_samples(at - now), dtype=np.int16).reshape(-1, 2))
                now = at
            if on == 1:
                synth.noteon(0, pitch, velocity)
            elif on == 0:
                synth.noteoff(0, pitch)
        stereo = np.concatenate(pieces).astype(np.float32) / 32768.0
        return stereo.mean(axis=1)
    finally:
        synth.delete()


def problem(wav: np.ndarray) -> str | None:
    """Why a rendered file is unusable (silent, clipped), or None."""
    if float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) < SILENT_RMS:
        return "silent (the soundfont has no sample for it)"
    if float(np.max(np.abs(wav))) >= CLIP_PEAK:
        return "clipped"
    return None


def synth_instruments(dest: Path, plan: SynthPlan = SynthPlan(), soundfont: Path | None = None, force: bool = False,
                      progress: bool = True) -> dict:
    """Render `plan` into DEST/<instrument>/<note>.wav and DEST/corpus.json. Returns the record."""
    plan.check()
    soundfont = find_soundfont(soundfont)
    _fluidsynth()
    dest = Path(dest)
    claim_dest(dest, "synth-instruments", force)
    notes, skipped, kept = plan.notes(), {}, []
    for note in progress_bar(notes, desc="render", unit="note", disable=not progress):
        waves = {i: render(soundfont, GM_PROGRAMS.index(i), note, plan) for i in plan.instruments}
        reasons = {i: why for i, wav in waves.items() if (why := problem(wav))}
        if reasons:
            skipped[note.name] = "; ".join(f"{i}: {why}" for i, why in reasons.items())
            log.warning("skipped %s on every instrument (%s)", note.name, skipped[note.name])
            continue
        for instrument, wav in waves.items():
            path = dest / instrument / f"{note.name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                sf.write(str(tmp), wav, plan.sample_rate, subtype="PCM_16", format="WAV")
        kept.append(note.name)
    if not kept:
        raise VaeganError(f"every note was skipped ({next(iter(skipped.values()))}); check the soundfont and pitches")
    record = {
        "format_version": FORMAT_VERSIONS["corpus"], "corpus": "synth-instruments",
        "title": "General MIDI instruments rendered with FluidSynth (parallel)",
        "source": {"soundfont": str(soundfont), "soundfont_sha256": sha256_file(soundfont), "renderer": "libfluidsynth (pyfluidsynth)"},
        "speakers": {i: {"program": GM_PROGRAMS.index(i), "files": len(kept)} for i in plan.instruments},
        "files": len(kept) * len(plan.instruments), "notes": kept, "skipped": skipped,
        "plan": asdict(plan),
        "licence": "renders of the FluidR3 GM soundfont (MIT); see the soundfont's own licence if another is used",
    }
    finish(dest, record, keep_downloads=False)
    log.info("rendered %d notes × %d instruments into %s (%d skipped)", len(kept), len(plan.instruments), dest, len(skipped))
    return record
