"""The one device resolver: 'auto', 'cpu', 'cuda[:N]' or 'mps' → a torch.device, or a clear error."""

from __future__ import annotations

import torch

from .errors import VaeganError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str, allow_mps: bool = True) -> torch.device:
    """'auto' picks CUDA, then Apple's MPS (unless `allow_mps` is False: the evaluation tools
    cannot use it), then the CPU; an unavailable device is refused."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if allow_mps and _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise VaeganError(f"--device {name} asked for, but PyTorch sees no CUDA GPU")
    if name == "mps" and not _mps_available():
        raise VaeganError("--device mps asked for, but this PyTorch has no Apple MPS device")
    return torch.device(name)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX). Elsewhere oneDNN emulates
    bf16 and is slower than fp32, so training stays fp32 there."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private in torch 2.x; absent → no
    return any(getattr(cpu, name, lambda: False)() for name in checks)
