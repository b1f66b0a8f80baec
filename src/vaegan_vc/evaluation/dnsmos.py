"""DNSMOS P.835 (SIG, BAK, OVRL) and P.808 naturalness estimates, with the models in speechmos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cores import usable_cores
from .deps import import_tool

DNSMOS_RATE = 16000
DNSMOS_VERSION = "speechmos-0.0.1.1-dnsmos-v1"


class Dnsmos:
    """Non-intrusive MOS estimates of 16 kHz speech; the ONNX sessions open on first use."""

    def __init__(self, threads: int | None = None):
        # onnxruntime's default pool can oversubscribe a small container: use the cores we may run on.
        self.threads = threads or usable_cores()
        self._model = None

    def _load(self):
        if self._model is None:
            dnsmos = import_tool("speechmos.dnsmos")
            ort = import_tool("onnxruntime")
            folder = Path(dnsmos.__file__).parent / "dnsmos_models"
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # The class holds two sessions; we build them ourselves to choose the thread count.
            model = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)
            model.primary_model_path = str(folder / "sig_bak_ovr.onnx")
            cpu = ["CPUExecutionProvider"]
            model.onnx_sess = ort.InferenceSession(model.primary_model_path, options, providers=cpu)
            model.p808_onnx_sess = ort.InferenceSession(str(folder / "model_v8.onnx"), options, providers=cpu)
            self._model = model
        return self._model

    def score(self, wav: np.ndarray) -> dict[str, float]:
        """wav [N] at 16 kHz → {"sig", "bak", "ovrl", "p808"} on the 1–5 MOS scale.

        Clips shorter than the model's 9 s window are repeated to fill it (as DNSMOS does).
        """
        audio = np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0)
        raw = self._load()(audio, DNSMOS_RATE, False)
        return {
            "sig": float(raw["sig_mos"]), "bak": float(raw["bak_mos"]),
            "ovrl": float(raw["ovrl_mos"]), "p808": float(raw["p808_mos"]),
        }
