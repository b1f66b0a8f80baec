"""A bounded conversion pool: a few worker threads and a short queue; beyond that, "busy".

Slots are taken *before* an upload is read, so at most `workers + queue` bodies are ever held in
memory, and a burst of requests gets quick "busy" answers instead of piling up.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every worker is converting and the queue is full."""


class ConversionPool:
    def __init__(self, workers: int = 1, queue: int = 4):
        if workers < 1 or queue < 0:
            raise ValueError("a pool needs at least one worker and a queue of 0 or more")
        self.workers, self.queue = workers, queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vaegan-convert")
        self._taken = 0  # touched only from the event loop's thread, so no lock is needed

    @property
    def capacity(self) -> int:
        return self.workers + self.queue

    @property
    def in_use(self) -> int:
        return self._taken

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `workers + queue` places for the length of a request, or raise Busy."""
        if self._taken >= self.capacity:
            raise Busy()
        self._taken += 1
        try:
            yield
        finally:
            self._taken -= 1

    async def run(self, fn: Callable[..., T], *args) -> T:
        """Run fn(*args) on a worker thread (call inside `slot()`)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
