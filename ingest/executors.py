"""Executors run `run_source` over tasks: in-process, a local process pool, or Ray.

Each yields ``(task, results)`` as tasks finish. The work is the same pure function of its
input everywhere, so every executor writes byte-identical documents for the same input.
Workers publish their own shards (the manifest has its own lock); the driver only sums up.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from corpuscope.ingest.pipeline import run_source

from corpuscope.config import Settings
from corpuscope.models import ShardResult, SourceTask

Outcome = tuple[SourceTask, list[ShardResult]]


def _largest_first(tasks: list[SourceTask]) -> list[SourceTask]:
    return sorted(tasks, key=lambda t: -t.size_bytes)


def _crashed(task: SourceTask, exc: BaseException) -> list[ShardResult]:
    msg = f"{task.source}: worker died: {type(exc).__name__}: {exc}"
    return [ShardResult("failed", None, task.source, msg)]


class LocalExecutor:
    """A pool of `workers` processes; with one worker, runs in this process."""

    name = "local"

    def __init__(self, workers: int = 2):
        self.workers = max(1, workers)

    def run(
        self, tasks: list[SourceTask], data_root: str, settings: Settings, force: bool
    ) -> Iterator[Outcome]:
        tasks = _largest_first(tasks)
        if self.workers == 1 or len(tasks) <= 1:
            for t in tasks:
                yield t, run_source(t, data_root, settings, force)
            return
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has already imported the pipeline: no per-worker
        # import cost (about 1 s each; pyarrow imports pandas on its first conversion), and
        # no fork of this process's threads. Modules that are not installed are skipped.
        ctx.set_forkserver_preload(
            ["corpuscope.ingest.pipeline", "tldextract", "pycld2", "fastwarc.warc", "pandas"]
        )
        with ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=ctx) as pool:
            pending = {pool.submit(run_source, t, data_root, settings, force): t for t in tasks}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    task = pending.pop(fut)
                    try:
                        yield task, fut.result()
                    except Exception as exc:  # the worker process itself died
                        yield task, _crashed(task, exc)


class RayExecutor:
    """Tasks as Ray remote functions, on a cluster (`address`) or a local Ray started here."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 2):
        self.address = address
        self.workers = max(1, workers)

    def run(
        self, tasks: list[SourceTask], data_root: str, settings: Settings, force: bool
    ) -> Iterator[Outcome]:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("the Ray executor needs Ray: pip install 'corpuscope[ray]'") from exc
        started_here = not ray.is_initialized()
        if started_here:
            if self.address:
                ray.init(address=self.address, logging_level="WARNING", log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.workers,
                    include_dashboard=False,
                    logging_level="WARNING",
                    log_to_driver=False,
                )
        try:
            remote = ray.remote(run_source)
            pending = {
                remote.remote(t, data_root, settings, force): t for t in _largest_first(tasks)
            }
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        yield task, ray.get(ref)
                    except Exception as exc:
                        yield task, _crashed(task, exc)
        finally:
            if started_here:
                ray.shutdown()


def make_executor(kind: str, workers: int, ray_address: str | None = None):
    """The executor named on the command line (`local` or `ray`)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(ray_address, workers)
    raise ValueError(f"unknown executor {kind!r}: use 'local' or 'ray'")
