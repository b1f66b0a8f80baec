"""Pictures for the report: the speaker-similarity heat map and mel comparisons, as PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..plots import mel_panels_figure  # noqa: E402


def png_bytes(fig) -> bytes:
    """Render a figure to PNG and free it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100, format="png")
    plt.close(fig)
    return buffer.getvalue()


def similarity_heatmap(matrix: dict) -> bytes:
    """Source (rows) × target (columns) mean similarity to the target centroid; the diagonal is
    real speech against its own centroid, the best a conversion could hope for."""
    speakers = matrix["speakers"]
    values = np.array([[np.nan if v is None else v for v in row] for row in matrix["values"]], dtype=float)
    size = max(3.5, 0.6 * len(speakers) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), layout="constrained")
    im = ax.imshow(values, cmap="viridis", vmin=np.nanmin(values) if np.isfinite(values).any() else 0, vmax=1.0)
    ax.set_xticks(range(len(speakers)), speakers, rotation=45, ha="right")
    ax.set_yticks(range(len(speakers)), speakers)
    ax.set_xlabel("target speaker")
    ax.set_ylabel("source speaker")
    ax.set_title("similarity to the target speaker (diagonal: real speech)", fontsize=9)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="black" if value > np.nanmean(values) else "white", fontweight="bold" if i == j else None)
    fig.colorbar(im, ax=ax, shrink=0.8, label="cosine")
    return png_bytes(fig)


def mel_comparison(panels: list[tuple[str, np.ndarray]], title: str) -> bytes:
    """Stacked mels [n_mels, T] (source / converted / target …) on one colour scale."""
    return png_bytes(mel_panels_figure(panels, title))
