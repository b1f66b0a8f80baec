"""Scoring: analyse every utterance of a Plan, compare, aggregate into the metrics.json structure."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import numpy as np

from .. import __version__
from ..cores import usable_cores
from ..errors import VaeganError
from ..io import FORMAT_VERSIONS
from ..progress import progress_bar
from .analysis import KINDS, Analyzer, AudioProblem
from .mcd import FRAME_PERIOD_MS, MCEP_ORDER, SILENCE_DB, compare
from .options import EvalOptions
from .parallel import Job, add_job, analyze_all, job_key
from .plans import Item, Plan
from .sources import ANALYSIS_RATE, AudioRef
from .speaker import centroid, cosine, eer_threshold
from .summary import group_summary
from .text import cer, wer

log = logging.getLogger(__name__)



def score(plan: Plan, analyzer: Analyzer, options: EvalOptions) -> dict:
    """All metrics of a plan → the metrics.json dict (per utterance and aggregated)."""
    jobs = _jobs(plan, options.aids)
    with progress_bar(total=len(jobs), unit="utt", desc="analysing", disable=not options.progress) as bar:
        done = analyze_all(analyzer, jobs, _workers(options), bar)
    runner = _Run(plan, done, options)
    centroids = runner.centroids()
    real = runner.real()
    verification = runner.verification(real, centroids)
    converted = runner.converted(real, centroids, verification["threshold"])
    baseline = runner.baseline(real, centroids, verification["threshold"]) if options.aids else []
    ceiling = runner.ceiling(real, centroids, verification["threshold"]) if plan.ceiling else []
    return _assemble(plan, analyzer, options, verification, converted, baseline, ceiling, real, centroids)


def _jobs(plan: Plan, aids: bool) -> dict[str, Job]:
    """Every utterance the report needs, with all the analyses it needs of each."""
    jobs: dict[str, Job] = {}
    for refs in plan.centroid_refs.values():
        for ref in refs:
            add_job(jobs, ref, {"embedding"})
    for ref, _, kinds in _real_refs(plan, aids).values():
        add_job(jobs, ref, kinds)
    for item in plan.items:
        add_job(jobs, item.converted, KINDS)
    for ref in plan.ceiling.values():
        add_job(jobs, ref, KINDS)
    return jobs


MAX_DEFAULT_WORKERS = 8  # each worker holds its own copy of the tools (up to ~1 GB while it runs DNSMOS)


def _workers(options: EvalOptions) -> int:
    """Worker processes: one per usable core on the CPU (at most 8 unless asked); the GPU's tools
    stay in this process."""
    if options.device != "cpu":
        return 1
    return options.workers or min(usable_cores(), MAX_DEFAULT_WORKERS)


def _real_refs(plan: Plan, aids: bool) -> dict[str, tuple[AudioRef, str, set[str]]]:
    """Real utterances the items use, by label, with their speaker and the analyses each needs.

    Sources give the reference text; with the reading aids they are also scored in full as the
    "no conversion" baseline. Targets give the reference text of their vocoder-only copies.
    """
    source_kinds = {"embedding", "world", "dnsmos", "transcript"} if aids else {"embedding", "transcript"}
    target_kinds = {"world", "embedding", "transcript"} if plan.ceiling else {"world", "embedding"}
    refs: dict[str, tuple[AudioRef, str, set[str]]] = {}
    for item in plan.items:
        for ref, speaker, kinds in ((item.source_ref, item.source, source_kinds),
                                    (item.target_ref, item.target, target_kinds)):
            refs.setdefault(ref.label, (ref, speaker, set()))[2].update(kinds)
    return refs


class _Run:
    """Builds the records from finished analyses; methods follow the order of `score`."""

    def __init__(self, plan: Plan, done: dict[str, dict[str, Any] | AudioProblem], options: EvalOptions):
        self.plan, self.done, self.options = plan, done, options

    def _analyze(self, ref: AudioRef) -> dict[str, Any] | AudioProblem:
        return self.done[job_key(ref)]

    def centroids(self) -> dict[str, np.ndarray]:
        out = {}
        for spk, refs in self.plan.centroid_refs.items():
            found = [a["embedding"] for a in map(self._analyze, refs)
                     if not isinstance(a, AudioProblem) and a["embedding"] is not None]
            if not found:
                raise VaeganError(f"speaker {spk}: no usable utterance to build its speaker centroid")
            out[spk] = centroid(found)
        return out

    def real(self) -> dict[str, dict | AudioProblem]:
        """Analyses of the real utterances by label; each dict also names its "speaker"."""
        out = {}
        for label, (ref, speaker, _) in _real_refs(self.plan, self.options.aids).items():
            analyses = self._analyze(ref)
            out[label] = analyses if isinstance(analyses, AudioProblem) else {**analyses, "speaker": speaker}
        return out

    def verification(self, real: dict, centroids: dict[str, np.ndarray]) -> dict:
        """EER threshold of the verifier on real utterances: own centroid vs every other one."""
        genuine, impostor = [], []
        for analyses in _embedded(real):
            for spk, c in centroids.items():
                (genuine if spk == analyses["speaker"] else impostor).append(cosine(analyses["embedding"], c))
        if not genuine or not impostor:
            raise VaeganError("no real utterance could be embedded: the speaker verification threshold needs some")
        eer, threshold = eer_threshold(genuine, impostor)
        return {"eer": eer, "threshold": threshold, "genuine_trials": len(genuine), "impostor_trials": len(impostor),
                "genuine_mean": float(np.mean(genuine)), "impostor_mean": float(np.mean(impostor))}

    def converted(self, real: dict, centroids: dict, threshold: float) -> list[dict]:
        return [self._record(item, self._analyze(item.converted), real, centroids, threshold, item.extra)
                for item in self.plan.items]

    def baseline(self, real: dict, centroids: dict, threshold: float) -> list[dict]:
        """No conversion: the source utterance itself, scored as if it were the conversion."""
        return [self._record(item, real[item.source_ref.label], real, centroids, threshold, {}) for item in self.plan.items]

    def ceiling(self, real: dict, centroids: dict, threshold: float) -> list[dict]:
        """Vocoder only: the real target utterance through features + vocoder (analysed once each).

        Its words are checked against the real target's own transcript: what the vocoder loses.
        """
        done = {label: self._analyze(ref) for label, ref in self.plan.ceiling.items()}
        return [self._record(item, done[item.target_ref.label], real, centroids, threshold, {}, text_of="target")
                for item in self.plan.items if item.target_ref.label in done]

    def _record(self, item: Item, analyses, real: dict, centroids: dict, threshold: float, extra: dict,
                text_of: str = "source") -> dict:
        record = {"pair": item.pair, "source": item.source, "target": item.target, "utt_id": item.utt_id}
        problem = _first_problem(analyses, real[item.source_ref.label], real[item.target_ref.label])
        if problem:
            return {**record, "status": "failed", "error": problem}
        try:
            spectral = compare(analyses["world"], real[item.target_ref.label]["world"])
        except ValueError as exc:
            return {**record, "status": "failed", "error": str(exc)}
        reference_text = self._reference_text(item, real, text_of)
        return {
            **record, "status": "ok", **spectral,
            **_speaker_scores(analyses["embedding"], centroids[item.target], centroids[item.source], threshold),
            **_text_scores(reference_text, analyses["transcript"]),
            **{f"dnsmos_{k}": v for k, v in analyses["dnsmos"].items()}, **extra,
        }

    def _reference_text(self, item: Item, real: dict, text_of: str) -> str:
        """The given transcript, else the ASR transcript of the real source (or target) utterance."""
        if item.utt_id in self.plan.texts:
            return self.plan.texts[item.utt_id]
        ref = item.source_ref if text_of == "source" else item.target_ref
        return real[ref.label]["transcript"]


def _embedded(real: dict) -> list[dict]:
    """Real utterances that have a speaker embedding."""
    return [a for a in real.values() if not isinstance(a, AudioProblem) and a.get("embedding") is not None]


def _first_problem(converted, source, target) -> str | None:
    for what, analyses in (("", converted), ("source reference: ", source), ("target reference: ", target)):
        if isinstance(analyses, AudioProblem):
            return f"{what}{analyses}"
    return None


def _speaker_scores(embedding: np.ndarray | None, target_c: np.ndarray, source_c: np.ndarray, threshold: float) -> dict:
    """Cosine to both centroids; an utterance without detectable speech is never accepted."""
    if embedding is None:
        return {"sim_target": None, "sim_source": None, "accepted": False}
    sim_t = cosine(embedding, target_c)
    return {"sim_target": sim_t, "sim_source": cosine(embedding, source_c), "accepted": bool(sim_t >= threshold)}


def _text_scores(reference: str, hypothesis: str) -> dict:
    return {"cer": cer(reference, hypothesis), "wer": wer(reference, hypothesis),
            "transcript": hypothesis, "reference_text": reference}


# ----------------------------------------------------------------------------- assembly


def _assemble(plan: Plan, analyzer: Analyzer, options: EvalOptions, verification: dict, converted: list[dict],
              baseline: list[dict], ceiling: list[dict], real: dict, centroids: dict) -> dict:
    groups = {"converted": converted, "baseline": baseline, "ceiling": ceiling}
    pairs = {}
    for pair in plan.pairs:
        src, tgt = pair.split("_to_", 1)
        pairs[pair] = {
            "source": src, "target": tgt, "unmatched": plan.unmatched.get(pair, []),
            **{name: group_summary([r for r in records if r["pair"] == pair]) for name, records in groups.items() if records},
        }
    return {
        "format_version": FORMAT_VERSIONS["evaluation"], "vaegan_vc_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": plan.mode, "inputs": plan.inputs, "settings": _settings(plan, analyzer, options),
        "verification": verification, "speakers": _speaker_table(plan, real, centroids),
        "similarity_matrix": _similarity_matrix(plan, converted, real, centroids),
        "pairs": pairs,
        "overall": {name: group_summary(records) for name, records in groups.items() if records},
        "failures": [{k: r[k] for k in ("pair", "utt_id", "error")} for r in converted if r["status"] != "ok"],
        "utterances": {name: records for name, records in groups.items() if records},
    }


def _settings(plan: Plan, analyzer: Analyzer, options: EvalOptions) -> dict:
    return {
        "analysis_rate": ANALYSIS_RATE, "frame_period_ms": FRAME_PERIOD_MS, "mcep_order": MCEP_ORDER,
        "silence_db": SILENCE_DB, "f0": "WORLD DIO + StoneMask", "spectral_envelope": "WORLD CheapTrick",
        "asr": analyzer.versions["transcript"], "embedding": analyzer.versions["embedding"],
        "dnsmos": analyzer.versions["dnsmos"],
        "reference_text": "given transcripts" if plan.texts else
        "ASR of the source utterance (of the real target for the vocoder-only rows)",
        "centroid_utterances": {s: len(r) for s, r in plan.centroid_refs.items()}, "reading_aids": options.aids,
        "ceiling": bool(plan.ceiling),
    }


def _speaker_table(plan: Plan, real: dict, centroids: dict) -> dict:
    from .stats import mean_ci

    table = {}
    for spk in plan.speakers:
        own = [cosine(a["embedding"], centroids[spk]) for a in _embedded(real) if a["speaker"] == spk]
        table[spk] = {"centroid_utterances": len(plan.centroid_refs.get(spk, [])), "genuine_similarity": mean_ci(own)}
    return table


def _similarity_matrix(plan: Plan, converted: list[dict], real: dict, centroids: dict) -> dict:
    """Mean similarity to the target centroid per source (rows) × target (columns); the diagonal
    holds real utterances against their own speaker's centroid."""
    speakers = plan.speakers
    table = _speaker_table(plan, real, centroids)
    values = []
    for src in speakers:
        row = []
        for tgt in speakers:
            if src == tgt:
                row.append(table[src]["genuine_similarity"]["mean"])
                continue
            sims = [r["sim_target"] for r in converted if r["source"] == src and r["target"] == tgt
                    and r["status"] == "ok" and r["sim_target"] is not None]
            row.append(float(np.mean(sims)) if sims else None)
        values.append(row)
    return {"speakers": speakers, "values": values, "diagonal": "real utterances vs their own centroid"}
