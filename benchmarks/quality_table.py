"""Print the issue-style quality table of one or more `vaegan-vc evaluate` results side by side.

Each argument is NAME=EVAL_DIR (the OUT_DIR of an evaluation, holding metrics.json). One row per
evaluation with the measures the fast-model work is judged on, overall and, with --pairs, per
pair; then the no-conversion and vocoder-only rows of the first evaluation for scale.

    python benchmarks/quality_table.py fast=exp/abl_fast/eval nopitch=exp/abl_nopitch/eval --pairs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COLUMNS = (  # metric key, header, decimals
    ("sim_target", "cos → target ↑", 3), ("sim_source", "cos → source ↓", 3), ("accepted", "accepted ↑", 2),
    ("mcd_db", "MCD dB ↓", 2), ("logf0_rmse", "log-F0 RMSE ↓", 3), ("f0_corr", "F0 corr ↑", 2),
    ("cer", "CER ↓", 3), ("dnsmos_ovrl", "DNSMOS OVRL ↑", 2),
)


def cell(summary: dict, key: str, decimals: int) -> str:
    m = summary.get("metrics", {}).get(key)
    if not m or m.get("mean") is None:
        return "—"
    ci = f" ± {m['ci95']:.{decimals}f}" if m.get('ci95') is not None and key in ('mcd_db', 'sim_target', 'cer') else ''
    return f"{m['mean']:.{decimals}f}{ci}"


def row(name: str, summary: dict) -> str:
    return "| " + " | ".join([name] + [cell(summary, k, d) for k, _, d in COLUMNS]) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evals", nargs="+", help="NAME=EVAL_DIR")
    parser.add_argument("--pairs", action="store_true", help="a row per pair too")
    args = parser.parse_args(argv)
    results = []
    for spec in args.evals:
        name, _, folder = spec.partition("=")
        path = Path(folder) / "metrics.json"
        if not path.is_file():
            parser.error(f"{path}: no metrics.json (is the evaluation finished?)")
        results.append((name, json.loads(path.read_text())))
    print("| run | " + " | ".join(h for _, h, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, metrics in results:
        print(row(name, metrics["overall"]["converted"]))
        if args.pairs:
            for pair, groups in metrics["pairs"].items():
                print(row(f"· {pair}", groups["converted"]))
    first = results[0][1]["overall"]
    for group, label in (("baseline", "no conversion"), ("ceiling", "vocoder only")):
        if group in first:
            print(row(label, first[group]))


if __name__ == "__main__":
    sys.exit(main())
