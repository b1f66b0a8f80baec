"""Pictures people would rather look at than read: mel comparisons and loss curves (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from .io import atomic_path  # noqa: E402


def mel_panels_figure(panels: list[tuple[str, np.ndarray]], title: str = "") -> plt.Figure:
    """One row per (title, mel [n_mels, T]) panel, shared colour scale [0, 1]."""
    width = max(6.0, min(16.0, max(m.shape[-1] for _, m in panels) / 40))
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, 2.2 * len(panels)), squeeze=False, layout="constrained")
    for ax, (name, mel) in zip(axes[:, 0], panels):
        im = ax.imshow(mel, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap="magma", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("frame")
    fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.8, label="normalised log mel")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Save a PNG atomically and free the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)


def loss_curves_figure(rows: list[dict], keys: list[str]) -> plt.Figure:
    """Train (solid) and validation (dashed) curves per loss term; rows from metrics.jsonl.

    A term whose positive values span more than a decade gets a log axis; every axis has tick
    labels, the step on x and the value (with the latest train value in the title) on y.
    """
    cols = 3
    n_rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(n_rows, cols, figsize=(4 * cols, 2.8 * n_rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        values_all = []
        for split, style in (("train", "-"), ("val", "--")):
            pts = [(r["step"], r[key]) for r in rows if r.get("split") == split and key in r]
            if pts:
                steps, values = zip(*pts)
                ax.plot(steps, values, style, label=split)
                values_all += values
        last = next((r[key] for r in reversed(rows) if r.get("split") == "train" and key in r), None)
        ax.set_title(key + (f"  (last train {last:.3g})" if last is not None else ""), fontsize=9)
        positive = [v for v in values_all if v > 0]
        if positive and len(positive) == len(values_all) and max(positive) / min(positive) > 10:
            ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
        ax.tick_params(axis="both", labelsize=7)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    return fig
