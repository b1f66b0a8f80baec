"""The web extra's packages, checked before use so a missing one gets one line, not a traceback."""

from __future__ import annotations

import importlib.util

from ..errors import VaeganError


def require_web() -> None:
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise VaeganError(f"vaegan-vc serve needs {', '.join(missing)}: pip install 'vaegan-vc[web]' (or EXTRAS=web ./setup.sh)")
