"""Speaker folders of audio → a self-describing dataset folder with a seeded split by utterance id."""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..audio import list_audio, load_audio, mel_features, normalize_loudness, trim_silence
from ..io import FORMAT_VERSIONS, atomic_folder, refuse_overlap, refuse_to_overwrite, write_json
from ..config import FeatureConfig
from ..cores import usable_cores
from ..errors import VaeganError
from ..pitch import F0_CEIL, F0_FLOOR, TRACKER, extract_f0, log_f0_stats
from ..progress import progress_bar

log = logging.getLogger(__name__)

DATASET_FILE = "dataset.json"
MANIFEST_FILE = "manifest.jsonl"
SPLITS = ("train", "val", "test")
MIN_FRAMES = 8  # below ~0.1 s there is nothing to learn from


@dataclass(frozen=True)
class Utterance:
    """One cleaned utterance: features [n_mels, frames] (float16), F0 [frames] (float32 Hz, 0 =
    unvoiced) and audio [frames·hop] (int16)."""

    speaker: str
    utt_id: str
    source: str
    features: np.ndarray
    f0: np.ndarray
    audio: np.ndarray
    source_seconds: float


def find_speakers(src_dir: Path, speakers: list[str] | None) -> dict[str, list[Path]]:
    """Speaker name → its audio files. Errors on a missing/empty folder or an unknown speaker."""
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise VaeganError(f"{src_dir}: no such folder")
    found = {p.name: list_audio(p) for p in sorted(src_dir.iterdir()) if p.is_dir() and not p.name.startswith(".")}
    if not found:
        raise VaeganError(f"{src_dir}: no speaker sub-folders (expected SRC_DIR/<speaker>/<utterance>.wav)")
    if speakers:
        unknown = [s for s in speakers if s not in found]
        if unknown:
            raise VaeganError(f"{src_dir}: no folder for speaker(s) {', '.join(unknown)} (have: {', '.join(found)})")
        found = {s: found[s] for s in speakers}
    if len(found) < 2:
        raise VaeganError(f"{src_dir}: need at least 2 speakers to convert between, found {list(found)}")
    for name, files in found.items():
        if not files:
            raise VaeganError(f"{src_dir / name}: speaker '{name}' has no audio files (.wav .flac .ogg .mp3)")
    return found


def process_file(job: tuple[str, str, str, str, FeatureConfig]) -> Utterance | tuple[str, str]:
    """Load → mono/resample → loudness → trim → features. Returns an Utterance or (path, why skipped)."""
    speaker, utt_id, path, rel, cfg = job
    try:
        wav = load_audio(Path(path), cfg.sample_rate)
    except VaeganError as exc:
        return rel, str(exc).split(": ", 1)[-1]
    seconds = len(wav) / cfg.sample_rate
    wav = trim_silence(normalize_loudness(wav, cfg.sample_rate), cfg.sample_rate)
    frames = len(wav) // cfg.hop_length
    if frames == 0:
        return rel, "silent (nothing above the silence threshold)"
    if frames < MIN_FRAMES:
        return rel, f"too short after trimming ({len(wav) / cfg.sample_rate:.2f} s)"
    wav = wav[: frames * cfg.hop_length]
    feats = mel_features(wav, cfg).numpy().astype(np.float16)
    f0 = extract_f0(wav, cfg)
    audio = np.round(np.clip(wav, -1, 1) * 32767).astype(np.int16)
    return Utterance(speaker, utt_id, rel, feats, f0, audio, seconds)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core; intra-op threads would only fight


def run_jobs(jobs: list, workers: int, progress: bool) -> list:
    """Process files in parallel (order kept) with a progress bar."""
    bar = dict(total=len(jobs), desc="prepare", unit="file", disable=not progress)
    if workers <= 1:
        _init_worker()
        return [process_file(j) for j in progress_bar(jobs, **bar)]
    ctx = mp.get_context("spawn" if os.name != "posix" else "fork")
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        return list(progress_bar(pool.imap(process_file, jobs, chunksize=4), **bar))


def split_ids(utt_ids: list[str], seed: int, val_fraction: float, test_fraction: float) -> dict[str, str]:
    """Seeded split BY UTTERANCE ID: a sentence lands in the same split for every speaker."""
    ids = sorted(set(utt_ids))
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = int(round(len(ids) * test_fraction))
    n_val = int(round(len(ids) * val_fraction))
    if len(ids) >= 3:  # keep every split non-empty when there is enough to go round
        n_test, n_val = max(n_test, 1 if test_fraction > 0 else 0), max(n_val, 1 if val_fraction > 0 else 0)
    n_test = min(n_test, max(len(ids) - 1, 0))
    n_val = min(n_val, max(len(ids) - 1 - n_test, 0))
    split = {}
    for rank, i in enumerate(order):
        split[ids[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return split


def _write_array(path: Path, arrays: list[np.ndarray], axis: int) -> None:
    np.save(path, np.concatenate(arrays, axis=axis))


def write_dataset(
    out_dir: Path, cfg: FeatureConfig, utterances: list[Utterance], split: dict[str, str],
    skipped: list[tuple[str, str]], meta: dict,
) -> dict:
    """Write features/, f0/, audio/, manifest.jsonl and finally dataset.json. Returns dataset.json's dict.

    Each speaker's ln-F0 statistics come from the train split only, so nothing is learnt from
    the test sentences.
    """
    (out_dir / "features").mkdir(parents=True)
    (out_dir / "f0").mkdir()
    (out_dir / "audio").mkdir()
    speakers: dict[str, dict] = {}
    manifest = []
    for speaker in meta["speakers"]:
        utts = sorted((u for u in utterances if u.speaker == speaker), key=lambda u: u.utt_id)
        offset = audio_offset = 0
        stats = {s: {"utterances": 0, "minutes": 0.0} for s in SPLITS}
        for u in utts:
            frames = u.features.shape[1]
            manifest.append({
                "speaker": speaker, "utt_id": u.utt_id, "split": split[u.utt_id], "source": u.source,
                "offset": offset, "frames": frames, "audio_offset": audio_offset, "samples": len(u.audio),
                "seconds": round(len(u.audio) / cfg.sample_rate, 3), "source_seconds": round(u.source_seconds, 3),
            })
            stats[split[u.utt_id]]["utterances"] += 1
            stats[split[u.utt_id]]["minutes"] += len(u.audio) / cfg.sample_rate / 60
            offset += frames
            audio_offset += len(u.audio)
        _write_array(out_dir / "features" / f"{speaker}.npy", [u.features for u in utts], axis=1)
        _write_array(out_dir / "f0" / f"{speaker}.npy", [u.f0 for u in utts], axis=0)
        _write_array(out_dir / "audio" / f"{speaker}.npy", [u.audio for u in utts], axis=0)
        speakers[speaker] = {s: {"utterances": v["utterances"], "minutes": round(v["minutes"], 3)} for s, v in stats.items()}
        train_f0 = [u.f0 for u in utts if split[u.utt_id] == "train"] or [u.f0 for u in utts]
        speakers[speaker]["f0"] = {k: round(v, 5) for k, v in log_f0_stats(np.concatenate(train_f0)).items()}
    with open(out_dir / MANIFEST_FILE, "w") as f:
        for row in manifest:
            f.write(json.dumps(row) + "\n")
    info = {
        "format_version": FORMAT_VERSIONS["dataset"], "vaegan_vc_version": __version__,
        "features": cfg.to_dict(), "speakers": speakers,
        "split": {"seed": meta["seed"], "val_fraction": meta["val_fraction"], "test_fraction": meta["test_fraction"], "by": "utt_id"},
        "source": meta["source"], "skipped": [{"file": f, "reason": r} for f, r in skipped],
        "f0": {"tracker": TRACKER, "floor_hz": F0_FLOOR, "ceil_hz": F0_CEIL, "unit": "Hz, 0 = unvoiced"},
    }
    write_json(out_dir / DATASET_FILE, info)  # written last: its presence marks a complete dataset
    return info


def prepare(
    src_dir: Path, out_dir: Path, cfg: FeatureConfig, speakers: list[str] | None = None, seed: int = 0,
    workers: int | None = None, val_fraction: float = 0.1, test_fraction: float = 0.1, force: bool = False,
    progress: bool = True,
) -> dict:
    """Build a dataset folder from SRC_DIR/<speaker>/<files>. Returns dataset.json's content.

    The folder is assembled under .OUT_DIR.partial and renamed at the end, so an interrupted
    run never leaves a dataset that looks complete.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    refuse_overlap(out_dir, {"source folder": src_dir})
    refuse_to_overwrite(out_dir, force)
    found = find_speakers(src_dir, speakers)
    jobs = [
        (spk, str(f.relative_to(src_dir / spk).with_suffix("")), str(f), str(f.relative_to(src_dir)), cfg)
        for spk, files in found.items() for f in files
    ]
    start = time.perf_counter()
    results = run_jobs(jobs, workers or usable_cores(), progress)
    utterances = [r for r in results if isinstance(r, Utterance)]
    skipped = [r for r in results if not isinstance(r, Utterance)]
    for spk in found:
        if not any(u.speaker == spk for u in utterances):
            raise VaeganError(f"{src_dir / spk}: speaker '{spk}' has no usable audio ({len(found[spk])} files, all skipped)")
    split = split_ids([u.utt_id for u in utterances], seed, val_fraction, test_fraction)
    meta = {"speakers": list(found), "seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction,
            "source": str(src_dir.resolve())}
    with atomic_folder(out_dir) as tmp:
        info = write_dataset(tmp, cfg, utterances, split, skipped, meta)
    log.info("prepared %d utterances in %.1f s", len(utterances), time.perf_counter() - start)
    return info


def summary_table(info: dict) -> str:
    """Utterances and minutes per speaker per split, then every skipped file and why."""
    head = f"{'speaker':<12}" + "".join(f"{s:>18}" for s in SPLITS) + f"{'total min':>12}{'F0 Hz':>8}"
    lines = [head, "-" * len(head)]
    for spk, stats in info["speakers"].items():
        cells = "".join(f"{stats[s]['utterances']:>8} / {stats[s]['minutes']:6.2f} m" for s in SPLITS)
        f0 = f"{math.exp(stats['f0']['log_mean']):8.0f}" if stats.get("f0", {}).get("log_std") else f"{'-':>8}"
        lines.append(f"{spk:<12}{cells}{sum(stats[s]['minutes'] for s in SPLITS):>12.2f}{f0}")
    skipped = info.get("skipped", [])
    lines.append(f"skipped {len(skipped)} file(s)" + (":" if skipped else ""))
    lines += [f"  {s['file']}: {s['reason']}" for s in skipped]
    return "\n".join(lines)
