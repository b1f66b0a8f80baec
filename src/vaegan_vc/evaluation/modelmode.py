"""Model mode: convert a dataset split with a trained model, then plan the scoring of the results."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..audio import save_audio
from ..io import write_json
from ..errors import VaeganError
from ..progress import progress_bar
from .aids import vocoder_identity
from .cache import file_identity
from .options import EvalOptions
from .plans import Item, Plan, choose_pairs, given_texts, pick_centroid_refs
from .sources import PAIR_SEPARATOR, AudioRef, array_ref, file_ref
from .ssim import mel_ssim

log = logging.getLogger(__name__)

CONVERSIONS_FILE = "conversions.json"


def plan_model(model_path: Path, dataset_dir: Path, out_dir: Path, options: EvalOptions) -> Plan:
    """Convert every `options.split` utterance of each chosen pair into OUT_DIR/converted/ and
    plan scoring it against the dataset's parallel target utterance."""
    from ..convert import load_model
    from ..data.dataset import Dataset
    from ..vocoders import load_vocoder, resolve_vocoder_name

    ds = Dataset(dataset_dir)
    loaded = load_model(model_path, options.device)
    loaded.features.check_compatible(ds.features, f"model {loaded.path}", f"dataset {ds.folder}")
    pairs = _model_pairs(loaded, ds, options.pairs)
    vocoder_name = resolve_vocoder_name(options.vocoder, loaded.features)
    vocoder = load_vocoder(vocoder_name, loaded.features, options.vocoder_checkpoint, options.device)
    vid = vocoder_identity(vocoder_name, options.vocoder_checkpoint, loaded.features)
    jobs, unmatched = _jobs(ds, pairs, options)
    if not jobs:
        raise VaeganError(f"{ds.folder}: no '{options.split}' utterance with a parallel target utterance for the chosen pairs")
    # Conversions depend on the weights, the vocoder and the source features (a re-prepared dataset).
    model_id = [*file_identity(loaded.path / "model.safetensors"), *file_identity(loaded.path / "config.json"), vid,
                *file_identity(ds.folder / "manifest.jsonl")]
    folder = Path(out_dir) / "converted"
    ssim = convert_jobs(loaded, ds, jobs, vocoder, folder, model_id, options.progress)
    items = [_item(ds, u, tgt, t, folder, ssim) for u, tgt, t in jobs]
    plan = Plan(
        mode="model", items=items, centroid_refs=_centroids(ds, items, options), features=loaded.features,
        unmatched=unmatched, texts=given_texts(options),
        inputs={"model": str(loaded.path.resolve()), "dataset": str(ds.folder.resolve()), "split": options.split,
                "vocoder": vocoder_name},
    )
    if options.aids:
        targets = {(t.speaker, t.utt_id): t for _, _, t in jobs}
        plan.ceiling = {f"{spk}/{utt}": _ceiling_ref(ds, t, vocoder, vid) for (spk, utt), t in targets.items()}
    return plan


def _model_pairs(loaded, ds, wanted) -> list[tuple[str, str]]:
    """The pairs to score: every ordered pair of the model's speakers by default. Asked-for pairs
    need a target the model has; their source may be any dataset speaker, also one the model never
    heard (the common case of a user's own voice)."""
    if wanted is None:
        pairs = choose_pairs(loaded.speakers, None, f"the model {loaded.path}")
    else:
        for src, tgt in wanted:
            if tgt not in loaded.speakers:
                raise VaeganError(f"pair {src}:{tgt}: speaker '{tgt}' is not in the model {loaded.path} "
                                  f"(it has: {', '.join(loaded.speakers)}); a source may be any dataset speaker")
        pairs = list(wanted)
    ds.check_speakers(sorted({s for pair in pairs for s in pair}))
    return pairs


def _pair(src: str, tgt: str) -> str:
    return f"{src}{PAIR_SEPARATOR}{tgt}"


def _item(ds, u, target: str, t, folder: Path, ssim: dict[str, dict]) -> Item:
    """The Item for source utterance `u` converted to `target` (parallel target utterance `t`)."""
    key = f"{_pair(u.speaker, target)}/{u.utt_id}"
    return Item(u.speaker, target, u.utt_id, file_ref(folder / f"{key}.wav", key), dataset_ref(ds, u), dataset_ref(ds, t),
                extra=ssim[key])


def _jobs(ds, pairs: list[tuple[str, str]], options: EvalOptions) -> tuple[list, dict[str, list[dict]]]:
    """(source utterance, target speaker, parallel target utterance) triples, and the unmatched."""
    by_id = {(u.speaker, u.utt_id): u for u in ds.utterances}
    jobs, unmatched = [], {}
    for src, tgt in pairs:
        utts = sorted(ds.select(src, options.split), key=lambda u: u.utt_id)
        if options.max_utts is not None:
            utts = utts[: options.max_utts]
        for u in utts:
            t = by_id.get((tgt, u.utt_id))
            if t is None:
                missing = {"utt_id": u.utt_id, "reason": f"{tgt} has no utterance {u.utt_id}"}
                unmatched.setdefault(_pair(src, tgt), []).append(missing)
            else:
                jobs.append((u, tgt, t))
        if not utts:
            log.warning("%s: no '%s' utterances in the dataset", src, options.split)
    return jobs, unmatched


def dataset_ref(ds, u) -> AudioRef:
    """The dataset's cleaned audio of one utterance (a slice of audio/<SPK>.npy)."""
    identity = ("dataset", *file_identity(ds.folder / "audio" / f"{u.speaker}.npy"), u.audio_offset, u.samples)
    return array_ref(f"{u.speaker}/{u.utt_id}", identity, lambda: (ds.wav(u), ds.features.sample_rate))


def _ceiling_ref(ds, u, vocoder, vid: tuple) -> AudioRef:
    from ..vocoders import vocode_long

    identity = ("ceiling", vid, *file_identity(ds.folder / "features" / f"{u.speaker}.npy"), u.offset, u.frames)
    return array_ref(f"vocoded {u.speaker}/{u.utt_id}", identity,
                     lambda: (vocode_long(vocoder, ds.mel(u)).numpy(), ds.features.sample_rate))


def _centroids(ds, items: list[Item], options: EvalOptions) -> dict[str, list[AudioRef]]:
    evaluated_ids = {i.utt_id for i in items}
    speakers = sorted({i.source for i in items} | {i.target for i in items})
    candidates = {s: [dataset_ref(ds, u) for u in sorted(ds.select(s, "train"), key=lambda u: u.utt_id)
                      if u.utt_id not in evaluated_ids] for s in speakers}
    evaluated = {s: [dataset_ref(ds, u) for u in ds.utterances if u.speaker == s and u.utt_id in evaluated_ids] for s in speakers}
    return pick_centroid_refs(candidates, evaluated, options.centroid_utts)


# ----------------------------------------------------------------------------- conversion


def convert_jobs(loaded, ds, jobs: list, vocoder, folder: Path, model_id: list, progress: bool) -> dict[str, dict]:
    """Write folder/<SRC>_to_<TGT>/<utt>.wav for every job; returns {"PAIR/utt": {"ssim_recon", "ssim_cycle"}}.

    A conversion already made by the same model (same weights file, vocoder and features) is
    reused, which keeps its file's mtime and so every cached analysis of it.
    """
    done = _previous(folder, model_id)
    results: dict[str, dict] = {}
    for u, tgt, _ in progress_bar(jobs, desc="convert", unit="utt", disable=not progress):
        key = f"{_pair(u.speaker, tgt)}/{u.utt_id}"
        path = folder / f"{key}.wav"
        if key in done and path.is_file():
            results[key] = done[key]
            continue
        results[key] = convert_one(loaded, ds, u, tgt, vocoder, path)
        _save_record(folder, model_id, {**done, **results})
    return results


def convert_one(loaded, ds, u, target: str, vocoder, path: Path) -> dict:
    """Convert one dataset utterance, write its wav, return SSIM of reconstruction and cycle."""
    from ..convert import PitchOptions, convert_features, source_f0
    from ..vocoders import vocode_long

    mel = ds.mel(u)
    # The F0 a user's conversion would get: WORLD on the same cleaned audio (prepare stores it).
    f0 = (ds.f0(u) if ds.has_f0 else source_f0(loaded, ds.wav(u))) if loaded.model.cfg.pitch else None
    converted = convert_features(loaded, mel, target, f0)
    save_audio(path, vocode_long(vocoder, converted).numpy(), loaded.features.sample_rate)
    if u.speaker not in loaded.speakers:  # an unseen source: no reconstruction or cycle to score
        return {}
    recon = convert_features(loaded, mel, u.speaker, f0)
    cycle = convert_features(loaded, converted, u.speaker, f0, PitchOptions(mode="keep"))  # back to the source's own F0
    source = mel.numpy()
    return {"ssim_recon": mel_ssim(recon.numpy(), source), "ssim_cycle": mel_ssim(cycle.numpy(), source)}


def _previous(folder: Path, model_id: list) -> dict[str, dict]:
    path = folder / CONVERSIONS_FILE
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError):
        return {}
    return record.get("items", {}) if record.get("model") == json.loads(json.dumps(model_id)) else {}


def _save_record(folder: Path, model_id: list, items: dict[str, dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / CONVERSIONS_FILE, {"model": model_id, "items": items}, indent=1, allow_nan=True)
