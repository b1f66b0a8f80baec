"""Structural similarity of mel spectrograms (Wang et al., 2004), as Bonnici et al. (2021) use it."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

SIGMA = 1.5
TRUNCATE = 3.5  # radius 5: the usual 11 × 11 Gaussian window
C1 = 0.01**2  # constants for a data range of 1: features are normalised to [0, 1]
C2 = 0.03**2


def mel_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two mel images [n_mels, T] in [0, 1] (cropped to the shorter T). 1 = identical."""
    frames = min(a.shape[-1], b.shape[-1])
    x = np.asarray(a[:, :frames], dtype=np.float64)
    y = np.asarray(b[:, :frames], dtype=np.float64)

    def blur(z: np.ndarray) -> np.ndarray:
        return gaussian_filter(z, SIGMA, truncate=TRUNCATE, mode="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / ((mu_x**2 + mu_y**2 + C1) * (var_x + var_y + C2))
    return float(ssim.mean())
