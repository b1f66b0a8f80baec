"""Analyse many utterances at once: the parent loads audio, worker processes run the tools.

Each tool (WORLD, resemblyzer, Whisper, DNSMOS) gains little from a second thread on a short
utterance, and pyworld has none, so one single-threaded process per core keeps every core busy.
The parent reads or makes the audio (a dataset slice, a vocoded mel) and keeps the cache: workers
only ever see arrays and hand back results, so a worker that dies loses nothing already stored.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import VaeganError
from .analysis import Analyzer, AudioProblem
from .cache import cache_key
from .sources import AudioRef

log = logging.getLogger(__name__)

FLUSH_EVERY = 20  # analyses between cache writes: an interrupted run loses little
IN_FLIGHT_PER_WORKER = 2  # loaded utterances waiting per worker: bounds the parent's memory
# A worker spends a few seconds loading the tools: not worth it for fewer utterances than this.
MIN_JOBS_PER_WORKER = 4


@dataclass
class Job:
    """One utterance and every analysis any part of the report needs of it."""

    ref: AudioRef
    kinds: set[str] = field(default_factory=set)


def job_key(ref: AudioRef) -> str:
    return cache_key(ref.identity)


def add_job(jobs: dict[str, Job], ref: AudioRef, kinds) -> None:
    """Ask for `kinds` of `ref`; requests for the same audio are merged into one job."""
    jobs.setdefault(job_key(ref), Job(ref)).kinds.update(kinds)


def analyze_all(analyzer, jobs: dict[str, Job], workers: int, bar) -> dict[str, dict[str, Any] | AudioProblem]:
    """Every job's analyses (or its AudioProblem), by job key; computed ones go to the cache.

    With `workers` > 1 and a real Analyzer the missing analyses run in that many processes;
    otherwise (or for stand-in analyzers in tests) one after another in this process.
    """
    counted: set[str] = set()  # jobs the progress bar has already counted
    if workers > 1 and isinstance(analyzer, Analyzer):
        todo = {}  # key → (job, the kinds it still lacks)
        for key, job in jobs.items():
            if missing := analyzer.pending(job.ref, job.kinds):
                todo[key] = (job, missing)
        workers = min(workers, len(todo) // MIN_JOBS_PER_WORKER)
        if workers > 1:
            counted = _compute_in_workers(analyzer, todo, workers, bar)
    results: dict[str, dict[str, Any] | AudioProblem] = {}
    for number, (key, job) in enumerate(jobs.items(), 1):
        try:
            results[key] = analyzer.analyze(job.ref, job.kinds)  # from memory unless computed just now
        except AudioProblem as exc:
            log.warning("%s: %s", job.ref.label, exc)
            results[key] = exc
        if key not in counted:
            bar.update()
        if number % FLUSH_EVERY == 0:
            analyzer.cache.flush()
    analyzer.cache.flush()
    return results


def _compute_in_workers(analyzer: Analyzer, todo: dict[str, tuple[Job, list[str]]], workers: int, bar) -> set[str]:
    """Load each job's audio here, have a worker compute its missing kinds, remember them; → keys done.

    Audio that cannot be loaded is skipped: the serial pass meets it again and records the problem.
    """
    ctx = mp.get_context("spawn")  # fork after torch's thread pools have started can hang
    done: set[str] = set()
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(analyzer.tool_settings(),)) as pool:
            waiting: deque = deque()
            for key, (job, missing) in todo.items():
                try:
                    wav = analyzer.load(job.ref)
                except AudioProblem:
                    continue
                waiting.append((key, job, pool.submit(_work, missing, wav)))
                while len(waiting) >= workers * IN_FLIGHT_PER_WORKER:
                    _collect(analyzer, waiting.popleft(), done, bar)
            while waiting:
                _collect(analyzer, waiting.popleft(), done, bar)
    except BrokenProcessPool:
        analyzer.cache.flush()
        raise VaeganError(
            f"an analysis worker process stopped (out of memory?) after {len(done)} of {len(todo)} utterances; "
            "the finished analyses are cached: run again with fewer --workers (each needs about 1 GB)"
        ) from None
    return done


def _collect(analyzer: Analyzer, entry, done: set[str], bar) -> None:
    key, job, future = entry
    analyzer.remember(job.ref, future.result())
    done.add(key)
    bar.update()
    if len(done) % FLUSH_EVERY == 0:
        analyzer.cache.flush()


_worker_analyzer: Analyzer | None = None


def _init_worker(settings: dict[str, Any]) -> None:
    """One thread per tool: the processes, not the threads, share the cores."""
    global _worker_analyzer
    import torch

    from .cache import Cache

    torch.set_num_threads(1)
    _worker_analyzer = Analyzer(Cache(None), threads=1, **settings)


def _work(kinds: list[str], wav: np.ndarray) -> dict[str, Any]:
    return _worker_analyzer.compute(kinds, wav)
