"""What to score: converted/source/target utterance triples, centroid utterances, reading aids."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..config import FeatureConfig, feature_preset
from ..errors import VaeganError
from .options import EvalOptions
from .sources import PAIR_SEPARATOR, AudioRef, file_ref, read_transcripts, split_pair, utterance_files

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One conversion to score: `converted` against the parallel `target_ref`, from `source_ref`."""

    source: str
    target: str
    utt_id: str
    converted: AudioRef
    source_ref: AudioRef
    target_ref: AudioRef
    extra: dict = field(default_factory=dict)  # e.g. model-mode SSIM values

    @property
    def pair(self) -> str:
        return f"{self.source}{PAIR_SEPARATOR}{self.target}"


@dataclass
class Plan:
    """Everything `score` needs; built by `plan_dirs` or `plan_model`."""

    mode: str
    items: list[Item]
    centroid_refs: dict[str, list[AudioRef]]  # speaker → utterances outside the evaluated ones
    features: FeatureConfig  # for the spectrogram panels
    inputs: dict  # described in metrics.json
    unmatched: dict[str, list[dict]] = field(default_factory=dict)  # pair → [{"utt_id", "reason"}]
    ceiling: dict[str, AudioRef] = field(default_factory=dict)  # target_ref.label → vocoded copy
    texts: dict[str, str] = field(default_factory=dict)  # given transcripts by utterance id

    @property
    def pairs(self) -> list[str]:
        return sorted({i.pair for i in self.items} | set(self.unmatched))

    @property
    def speakers(self) -> list[str]:
        return sorted({i.source for i in self.items} | {i.target for i in self.items})


def choose_pairs(available: list[str], wanted: tuple[tuple[str, str], ...] | None, where: str) -> list[tuple[str, str]]:
    """Ordered pairs to evaluate; a clear error for a speaker `where` does not have."""
    if wanted is None:
        return [(s, t) for s in available for t in available if s != t]
    for src, tgt in wanted:
        for spk in (src, tgt):
            if spk not in available:
                raise VaeganError(f"pair {src}:{tgt}: speaker '{spk}' is not in {where} (it has: {', '.join(available)})")
    return list(wanted)


def pick_centroid_refs(candidates: dict[str, list[AudioRef]], evaluated: dict[str, list[AudioRef]],
                       limit: int) -> dict[str, list[AudioRef]]:
    """Up to `limit` utterances per speaker for its centroid, falling back to the evaluated ones
    (with a warning: genuine scores are then optimistic) when a speaker has no others."""
    refs = {}
    for spk, evaluated_refs in evaluated.items():
        pool = candidates.get(spk) or []
        if not pool:
            log.warning("speaker %s: no utterances outside the evaluated ones; its centroid uses the evaluated ones", spk)
            pool = evaluated_refs
        refs[spk] = pool[:limit]
    return refs


def given_texts(options: EvalOptions) -> dict[str, str]:
    return read_transcripts(options.transcripts) if options.transcripts else {}


# ----------------------------------------------------------------------------- dirs mode


def plan_dirs(converted_dir: Path, reference_dir: Path, options: EvalOptions) -> Plan:
    """CONVERTED/<SRC>_to_<TGT>/<utt>.wav scored against REFERENCE/<TGT>/<utt>.* (sources from
    REFERENCE/<SRC>/<utt>.*). Ids present on one side only are listed, not scored."""
    converted_dir, reference_dir = Path(converted_dir), Path(reference_dir)
    for folder, what in ((converted_dir, "converted"), (reference_dir, "reference")):
        if not folder.is_dir():
            raise VaeganError(f"{folder}: {what} folder not found")
    reference = {p.name: utterance_files(p) for p in sorted(reference_dir.iterdir()) if p.is_dir()}
    pair_dirs = _pair_dirs(converted_dir, options)
    items, unmatched = [], {}
    for (src, tgt), folder in pair_dirs.items():
        for spk in (src, tgt):
            if spk not in reference:
                have = ", ".join(reference) or "none"
                raise VaeganError(f"{reference_dir}: no folder for speaker '{spk}' of pair {folder.name} (have: {have})")
        new_items, missing = _match_pair(src, tgt, utterance_files(folder), reference, options)
        items += new_items
        if missing:
            unmatched[folder.name] = missing
    if not items:
        raise VaeganError(f"{converted_dir}: no converted utterance has a matching reference in {reference_dir}")
    evaluated_ids = {i.utt_id for i in items}
    speakers = sorted({i.source for i in items} | {i.target for i in items})
    candidates = {s: [file_ref(p, f"{s}/{u}") for u, p in reference[s].items() if u not in evaluated_ids] for s in speakers}
    evaluated = {s: [file_ref(reference[s][u], f"{s}/{u}") for u in sorted(evaluated_ids) if u in reference[s]] for s in speakers}
    plan = Plan(
        mode="dirs", items=items, centroid_refs=pick_centroid_refs(candidates, evaluated, options.centroid_utts),
        features=feature_preset(options.features), unmatched=unmatched, texts=given_texts(options),
        inputs={"converted": str(converted_dir.resolve()), "reference": str(reference_dir.resolve())},
    )
    if options.aids and options.vocoder:
        from .aids import dirs_ceiling

        plan.ceiling = dirs_ceiling(plan, options)
    return plan


def _pair_dirs(converted_dir: Path, options: EvalOptions) -> dict[tuple[str, str], Path]:
    found = {}
    for folder in sorted(p for p in converted_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if PAIR_SEPARATOR in folder.name:
            found[split_pair(folder.name)] = folder
        else:
            log.warning("%s: ignored, not a SOURCE%sTARGET folder", folder, PAIR_SEPARATOR)
    if not found:
        raise VaeganError(f"{converted_dir}: no SOURCE{PAIR_SEPARATOR}TARGET folders (e.g. SF1{PAIR_SEPARATOR}TM1/<utt>.wav)")
    if options.pairs is None:
        return found
    absent = [f"{s}:{t}" for s, t in options.pairs if (s, t) not in found]
    if absent:
        have = ", ".join(f"{s}:{t}" for s, t in found)
        raise VaeganError(f"{converted_dir}: no folder for pair(s) {', '.join(absent)} (have: {have})")
    return {pair: found[pair] for pair in options.pairs}


def _match_pair(src: str, tgt: str, converted: dict[str, Path], reference: dict[str, dict[str, Path]],
                options: EvalOptions) -> tuple[list[Item], list[dict]]:
    items, missing = [], []
    for utt, path in sorted(converted.items()):
        absent = [spk for spk in (tgt, src) if utt not in reference[spk]]
        if absent:
            missing.append({"utt_id": utt, "reason": f"no reference utterance for {' and '.join(absent)}"})
            continue
        items.append(Item(
            src, tgt, utt, file_ref(path, f"{src}{PAIR_SEPARATOR}{tgt}/{utt}"),
            file_ref(reference[src][utt], f"{src}/{utt}"), file_ref(reference[tgt][utt], f"{tgt}/{utt}"),
        ))
    if options.max_utts is not None:
        items = items[: options.max_utts]
    return items, missing
