"""Analysis cache without pickle: JSON tables and .npy arrays keyed by audio identity + tool version."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_path, write_json

log = logging.getLogger(__name__)


def cache_key(*parts: Any) -> str:
    """A stable hex key for JSON-able parts (file path, mtime, size, model id, …)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def file_identity(path: Path) -> list:
    """What makes a file's analysis reusable: its absolute path, size and modification time."""
    stat = Path(path).stat()
    return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]


class Cache:
    """`folder/<table>.json` ({key: JSON value}) and `folder/<table>/<key>.npy`; None = no cache."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self._tables: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()

    def _table(self, name: str) -> dict[str, Any]:
        if name not in self._tables:
            self._tables[name] = self._read_table(name)
        return self._tables[name]

    def _read_table(self, name: str) -> dict[str, Any]:
        if self.folder is None or not (self.folder / f"{name}.json").is_file():
            return {}
        try:
            data = json.loads((self.folder / f"{name}.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            log.warning("ignoring unreadable cache table %s (%s)", self.folder / f"{name}.json", exc)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, table: str, key: str) -> Any:
        return self._table(table).get(key)

    def put(self, table: str, key: str, value: Any) -> None:
        self._table(table)[key] = value
        self._dirty.add(table)

    def get_array(self, table: str, key: str) -> np.ndarray | None:
        if self.folder is None:
            return None
        path = self.folder / table / f"{key}.npy"
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
            return None

    def put_array(self, table: str, key: str, value: np.ndarray) -> None:
        if self.folder is None:
            return
        path = self.folder / table / f"{key}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(value), allow_pickle=False)

    def flush(self) -> None:
        """Write changed JSON tables atomically (called after each batch of analyses)."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(self._dirty):
            path = self.folder / f"{name}.json"
            write_json(path, self._tables[name], indent=None, sort_keys=True, allow_nan=True)
        self._dirty.clear()
