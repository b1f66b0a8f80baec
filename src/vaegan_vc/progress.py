"""Progress bars that suit both a terminal and a log file."""

from __future__ import annotations

import sys

from tqdm import tqdm

LOG_FILE_INTERVAL_S = 30.0  # redraws in a log file: enough to follow a run, not megabytes of them


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """tqdm on stderr; when stderr is not a terminal (nohup, CI, `> log`) it redraws every 30 s."""
    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", LOG_FILE_INTERVAL_S)
    return tqdm(iterable, **kwargs)
