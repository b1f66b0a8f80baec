"""metrics.json → report.md and a self-contained report.html (tables, heat map, mels, audio)."""

from __future__ import annotations

import base64
import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio import mel_features, resample
from ..io import write_bytes
from ..config import FeatureConfig
from ..errors import VaeganError
from .figures import mel_comparison, similarity_heatmap
from .sources import ANALYSIS_RATE, AudioRef
from .summary import METRICS, SHARES

log = logging.getLogger(__name__)

GROUPS = {"converted": "converted", "baseline": "no conversion (source)", "ceiling": "vocoder only (real target)"}
PAIR_COLUMNS = ("mcd_db", "logf0_rmse", "sim_target", "sim_source", "accepted", "cer", "wer", "dnsmos_ovrl")


@dataclass
class Sample:
    """A few utterances per pair shown and played in report.html."""

    pair: str
    utt_id: str
    refs: list[tuple[str, AudioRef]]  # (role, audio): source, converted, target, vocoded target
    transcript: str = ""
    reference_text: str = ""


# ----------------------------------------------------------------------------- formatting


def fmt(key: str, summary: dict | None) -> str:
    """'6.42 ± 0.31' for means, '72.2% (60.1–81.5)' for shares, '—' when nothing was scored."""
    if not summary or summary.get("mean") is None:
        return "—"
    if key in SHARES:
        return f"{100 * summary['mean']:.1f}% ({100 * summary['low']:.1f}–{100 * summary['high']:.1f})"
    digits = 2 if key.startswith(("mcd", "dnsmos")) else 3
    ci = summary.get("ci95")
    return f"{summary['mean']:.{digits}f}" + (f" ± {ci:.{digits}f}" if ci is not None else "")


def metric_label(key: str) -> str:
    label, unit, better, _ = METRICS[key]
    arrow = "↓" if better == "lower" else "↑"
    return f"{label}{f' ({unit})' if unit and unit not in ('share', 'cos') else ''} {arrow}"


def overall_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per metric, one column per group (converted, baseline, ceiling)."""
    groups = [g for g in GROUPS if g in results["overall"]]
    keys = [k for k in METRICS if any(k in results["overall"][g]["metrics"] for g in groups)]
    header = ["metric"] + [GROUPS[g] for g in groups]
    rows = [[metric_label(k)] + [fmt(k, results["overall"][g]["metrics"].get(k)) for g in groups] for k in keys]
    return header, rows


def pair_rows(results: dict, group: str = "converted") -> tuple[list[str], list[list[str]]]:
    keys = [k for k in PAIR_COLUMNS if k in results["overall"].get(group, {}).get("metrics", {})]
    header = ["pair", "scored", "failed", "unmatched"] + [metric_label(k) for k in keys]
    rows = []
    for name, pair in results["pairs"].items():
        g = pair.get(group, {"scored": 0, "failed": 0, "metrics": {}})
        rows.append([name, str(g["scored"]), str(g["failed"]), str(len(pair["unmatched"]))]
                    + [fmt(k, g["metrics"].get(k)) for k in keys])
    return header, rows


def _counts(results: dict) -> dict:
    conv = results["overall"]["converted"]
    return {"utterances": conv["utterances"], "scored": conv["scored"], "failed": conv["failed"],
            "unmatched": sum(len(p["unmatched"]) for p in results["pairs"].values())}


def _intro_lines(results: dict) -> list[str]:
    c, v = _counts(results), results["verification"]
    inputs = ", ".join(f"{k}: {v_}" for k, v_ in results["inputs"].items())
    text = results["settings"]["reference_text"]
    if text.startswith("ASR"):
        text += " (so the source itself scores CER 0 by construction)"
    return [
        f"Mode: {results['mode']} ({inputs}). Created {results['created']} by vaegan-vc {results['vaegan_vc_version']}.",
        f"{c['utterances']} conversions in {len(results['pairs'])} pair(s): {c['scored']} scored, "
        f"{c['failed']} failed (silent, empty or unreadable), {c['unmatched']} without a matching reference.",
        f"Speaker verification on real speech: EER {100 * v['eer']:.1f}% at cosine threshold {v['threshold']:.3f} "
        f"({v['genuine_trials']} genuine, {v['impostor_trials']} impostor trials); "
        "'accepted as target' is the share of conversions at or above it.",
        f"Reference text: {text}. Values are means ± 95% confidence half-widths (t distribution); "
        "shares show their 95% Wilson interval. ↓ lower is better, ↑ higher.",
    ]


def verdict(results: dict) -> str:
    """One sentence: does the conversion take the target's voice, keep the words, sound clean?

    The bars are the toolkit's quality targets: similarity to the target above that to the
    source and at least 0.80 with half the conversions accepted by the verifier; CER at most
    0.03; DNSMOS OVRL at least 3.0.
    """
    m = results["overall"]["converted"]["metrics"]

    def mean(key):  # rounded as shown, so that the sentence never contradicts its own numbers
        value = (m.get(key) or {}).get("mean")
        return None if value is None else round(value, 3 if key == "cer" else 2)

    parts = []
    sim_t, sim_s, acc = mean("sim_target"), mean("sim_source"), mean("accepted")
    if sim_t is not None and sim_s is not None:
        ok = sim_t > sim_s and sim_t >= 0.80 and (acc is None or acc >= 0.5)
        accepted = f", {100 * acc:.0f}% accepted" if acc is not None else ""
        parts.append(f"{'takes' if ok else 'does not yet take'} the target's voice (similarity {sim_t:.2f} to the target, {sim_s:.2f} to the source{accepted})")
    cer = mean("cer")
    if cer is not None:
        parts.append(f"{'keeps' if cer <= 0.03 else 'loses some of'} the words (CER {cer:.3f})")
    ovrl = mean("dnsmos_ovrl")
    if ovrl is not None:
        parts.append(f"{'sounds' if ovrl >= 3.0 else 'does not yet sound'} clean (DNSMOS OVRL {ovrl:.2f})")
    if not parts:
        return "Verdict: nothing could be scored."
    return "Verdict: the conversion " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- markdown


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_report(results: dict, heatmap_file: str | None) -> str:
    parts = ["# Voice conversion evaluation", "", f"**{verdict(results)}**", "", *(f"{line}  " for line in _intro_lines(results)), "",
             "## Overall", "", _md_table(*overall_rows(results)), "", "## Per pair", "", _md_table(*pair_rows(results)), ""]
    if heatmap_file:
        parts += ["## Speaker similarity", "", f"![source × target similarity]({heatmap_file})", ""]
    parts += _md_problems(results)
    return "\n".join(parts)


def _md_problems(results: dict) -> list[str]:
    out = []
    if results["failures"]:
        out += ["## Failed conversions", ""] + [f"- {f['pair']}/{f['utt_id']}: {f['error']}" for f in results["failures"]] + [""]
    unmatched = [(name, u) for name, p in results["pairs"].items() for u in p["unmatched"]]
    if unmatched:
        out += ["## Not scored (no matching reference)", ""]
        out += [f"- {name}/{u['utt_id']}: {u['reason']}" for name, u in unmatched] + [""]
    return out


# ----------------------------------------------------------------------------- html


CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
td,th{border:1px solid #ccc;padding:.2em .4em;text-align:right}td{white-space:nowrap}th{background:#f3f3f3;max-width:7em}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.sample{border-top:1px solid #ddd;padding:.5em 0}.players{display:flex;flex-wrap:wrap;gap:1em}
.players figure{margin:0}figcaption{font-size:.85em;color:#555}.note{color:#555;font-size:.9em}
"""


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _audio(wav: np.ndarray, caption: str) -> str:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1, 1), ANALYSIS_RATE, subtype="PCM_16", format="WAV")
    src = base64.b64encode(buffer.getvalue()).decode()
    return (f'<figure><figcaption>{html.escape(caption)}</figcaption>'
            f'<audio controls preload="none" src="data:audio/wav;base64,{src}"></audio></figure>')


def html_report(results: dict, heatmap: bytes | None, samples: list[Sample], features: FeatureConfig) -> str:
    head = f"<meta charset='utf-8'><title>vaegan-vc evaluation</title><style>{CSS}</style>"
    parts = [f"<!doctype html><html><head>{head}</head><body>",
             "<h1>Voice conversion evaluation</h1>", f"<p><b>{html.escape(verdict(results))}</b></p>",
             *(f"<p>{html.escape(line)}</p>" for line in _intro_lines(results)),
             "<h2>Overall</h2>", _html_table(*overall_rows(results)), "<h2>Per pair</h2>", _html_table(*pair_rows(results))]
    if heatmap:
        parts += ["<h2>Speaker similarity</h2>", _img(heatmap, "source × target similarity heat map")]
    parts += _html_problems(results)
    if samples:
        parts += ["<h2>Samples</h2>", "<p class='note'>Mels drawn with the "
                  f"'{html.escape(features.name)}' features; audio at {ANALYSIS_RATE} Hz, as scored.</p>"]
        parts += [_html_sample(s, features) for s in samples]
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_problems(results: dict) -> list[str]:
    out = []
    if results["failures"]:
        out += ["<h2>Failed conversions</h2><ul>"]
        out += [_li(f"{f['pair']}/{f['utt_id']}: {f['error']}") for f in results["failures"]] + ["</ul>"]
    unmatched = [(name, u) for name, p in results["pairs"].items() for u in p["unmatched"]]
    if unmatched:
        out += ["<h2>Not scored (no matching reference)</h2><ul>"]
        out += [_li(f"{name}/{u['utt_id']}: {u['reason']}") for name, u in unmatched] + ["</ul>"]
    return out


def _li(text: str) -> str:
    return f"<li>{html.escape(text)}</li>"


def _html_sample(sample: Sample, features: FeatureConfig) -> str:
    panels, players = [], []
    for role, ref in sample.refs:
        try:
            wav = ref.load(features.sample_rate)  # once: a vocoded reference is made on each load
            panels.append((f"{role}: {ref.label}", mel_features(wav, features).numpy()))
        except (VaeganError, ValueError, RuntimeError) as exc:  # one unshowable sample must not sink the report
            log.warning("sample %s: %s", ref.label, exc)
            continue
        players.append(_audio(resample(wav, features.sample_rate, ANALYSIS_RATE), f"{role}: {ref.label}"))
    text = (f"<p class='note'>ASR: “{html.escape(sample.transcript)}” — reference: “{html.escape(sample.reference_text)}”</p>"
            if sample.reference_text else "")
    image = _img(mel_comparison(panels, f"{sample.pair} / {sample.utt_id}"), "mel comparison") if panels else ""
    return (f"<div class='sample'><h3>{html.escape(sample.pair)} / {html.escape(sample.utt_id)}</h3>{text}"
            f"<div class='players'>{''.join(players)}</div>{image}</div>")


def write_reports(results: dict, out_dir: Path, samples: list[Sample], features: FeatureConfig) -> None:
    """Write similarity.png, report.md and report.html into `out_dir` (atomically each)."""
    heatmap = similarity_heatmap(results["similarity_matrix"]) if results["similarity_matrix"]["speakers"] else None
    if heatmap:
        _write(out_dir / "similarity.png", heatmap)
    _write(out_dir / "report.md", markdown_report(results, "similarity.png" if heatmap else None).encode())
    _write(out_dir / "report.html", html_report(results, heatmap, samples, features).encode())


def _write(path: Path, data: bytes) -> None:
    write_bytes(path, data)
