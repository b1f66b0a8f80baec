"""The two entry points: score a model on a dataset split, or score folders of wavs made elsewhere."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from ..io import write_json
from ..io import refuse_overlap
from ..errors import VaeganError
from .analysis import Analyzer
from .cache import Cache
from .deps import require_eval_tools
from .options import EvalOptions
from .plans import Plan
from .report import Sample, write_reports
from .runner import score

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


def evaluate_dirs(converted_dir: Path, reference_dir: Path, out_dir: Path, options: EvalOptions | None = None) -> dict:
    """Score CONVERTED/<SRC>_to_<TGT>/<utt>.wav against REFERENCE/<SPK>/<utt>.*; write the reports.

    Returns the metrics.json content.
    """
    options = options or EvalOptions()
    require_eval_tools()
    refuse_overlap(Path(out_dir), {"converted folder": Path(converted_dir), "reference folder": Path(reference_dir)})
    out_dir = _prepare_out_dir(Path(out_dir), options)
    from .plans import plan_dirs

    return _run(plan_dirs(Path(converted_dir), Path(reference_dir), options), out_dir, options)


def evaluate_model(model: Path, dataset_dir: Path, out_dir: Path, options: EvalOptions | None = None) -> dict:
    """Convert a dataset split with MODEL (wavs kept in OUT_DIR/converted/), score, write the reports.

    Returns the metrics.json content.
    """
    options = options or EvalOptions()
    require_eval_tools()
    # Inside a run folder is fine (evaluate deletes nothing); inside the data it is not.
    refuse_overlap(Path(out_dir), {"dataset folder": Path(dataset_dir)})
    out_dir = _prepare_out_dir(Path(out_dir), options)
    from .modelmode import plan_model

    return _run(plan_model(Path(model), Path(dataset_dir), out_dir, options), out_dir, options)


def _prepare_out_dir(out_dir: Path, options: EvalOptions) -> Path:
    if (out_dir / METRICS_FILE).exists() and not options.force:
        raise VaeganError(f"{out_dir}: already holds an evaluation; use --force to replace it (cached analyses are kept)")
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _run(plan: Plan, out_dir: Path, options: EvalOptions) -> dict:
    cache = Cache(options.cache_dir if options.cache_dir is not None else out_dir / "cache")
    analyzer = Analyzer(cache, options.asr_model, options.asr_language, options.device)
    log.info("scoring %d conversion(s) in %d pair(s)", len(plan.items), len(plan.pairs))
    results = score(plan, analyzer, options)
    _write_json(out_dir / METRICS_FILE, results)
    write_reports(results, out_dir, pick_samples(plan, results, options.samples), plan.features)
    log.info("wrote %s, report.md and report.html to %s", METRICS_FILE, out_dir)
    return results


def pick_samples(plan: Plan, results: dict, per_pair: int) -> list[Sample]:
    """The first `per_pair` successfully scored utterances of each pair, with their audio roles."""
    records = {(r["pair"], r["utt_id"]): r for r in results["utterances"]["converted"] if r["status"] == "ok"}
    taken: dict[str, int] = {}
    samples = []
    for item in sorted(plan.items, key=lambda i: (i.pair, i.utt_id)):
        record = records.get((item.pair, item.utt_id))
        if record is None or taken.get(item.pair, 0) >= per_pair:
            continue
        taken[item.pair] = taken.get(item.pair, 0) + 1
        refs = [("source", item.source_ref), ("converted", item.converted), ("target", item.target_ref)]
        if item.target_ref.label in plan.ceiling:
            refs.append(("vocoder only", plan.ceiling[item.target_ref.label]))
        samples.append(Sample(item.pair, item.utt_id, refs, record["transcript"], record["reference_text"]))
    return samples


def _json_safe(value):
    """NaN and infinities → null: metrics.json stays valid JSON for every reader."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _write_json(path: Path, data: dict) -> None:
    write_json(path, _json_safe(data), indent=1)
