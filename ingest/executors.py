"""Executors run a unit of work over tasks: in-process, a local process pool, or Ray.

`run(fn, tasks, *args)` yields ``(task, fn(task, *args))`` as tasks finish, or a `WorkerDied`
in place of the result when the worker process itself died. The work (ingest's `run_source`,
the PII scan's `scan_shard`) is a pure function of its input, so every executor writes
byte-identical output for the same input. Workers publish their own shards (the manifests
have their own lock); the driver only sums up.

Workers never outlive the driver: each pool worker watches the process that made its pool and
kills itself the moment that process ends, however it ended (SIGKILL included). Then nothing
holds the forkserver's "alive" pipe open any more, so the forkserver exits too, and the
resource tracker after it. (Ray ties its workers to the driver itself: they end within a
few seconds; its idle agents take about a minute, trying to report to its dead GCS.)
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from corpuscope.errors import UsageError, WorkerDied

T = TypeVar("T")
R = TypeVar("R")

#: Modules each kind of work imports: the forkserver imports them once, so workers start with
#: them loaded (about 1 s a worker for ingest, more for the scan's Presidio and spaCy); the
#: ingest's `warmup` also runs a tiny shard there, so that workers start warm.
PRELOAD = {
    "ingest": ["corpuscope.ingest.warmup", "fastwarc.warc"],
    "scan": ["corpuscope.privacy.scan", "corpuscope.privacy.detect", "pandas"],
}


def die_with(driver: int) -> None:
    """Pool worker initialiser: SIGKILL this worker as soon as process `driver` has ended.

    A pidfd of the driver becomes readable when it exits (zombie or reaped, no pid reuse);
    where there is no pidfd (Linux before 5.3, or a seccomp filter), its pid is polled. The
    worker's parent is the forkserver, not the driver, so `PR_SET_PDEATHSIG` cannot do this.
    A no-op off Linux.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        pidfd: int | None = os.pidfd_open(driver)
    except ProcessLookupError:  # the driver is already gone
        os.kill(os.getpid(), signal.SIGKILL)
        return
    except OSError:
        pidfd = None
    threading.Thread(
        target=_watch, args=(driver, pidfd), name="die-with-driver", daemon=True
    ).start()


def _watch(driver: int, pidfd: int | None) -> None:
    if pidfd is not None:
        poll = select.poll()
        poll.register(pidfd, select.POLLIN)
        while not poll.poll():
            pass
    else:
        while _exists(driver):
            time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its pid now another user's
        return False
    return True


def _largest_first(tasks: list[T]) -> list[T]:
    return sorted(tasks, key=lambda t: -getattr(t, "size_bytes", 0))


class LocalExecutor:
    """A pool of `workers` processes; with one worker, runs in this process."""

    name = "local"

    def __init__(self, workers: int = 2, preload: list[str] | None = None):
        self.workers = max(1, workers)
        self.preload = preload or []

    def _context(self) -> Any:
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has already imported the pipeline: no per-worker
        # import cost (about 1 s each; pyarrow imports pandas on its first conversion), and
        # no fork of this process's threads.
        ctx.set_forkserver_preload(self.preload)  # modules that are not installed are skipped
        return ctx

    def start(self) -> None:
        """Start the workers' server now, so that its imports overlap the caller's planning."""
        if self.workers > 1:
            from multiprocessing import forkserver

            self._context()
            forkserver.ensure_running()

    def run(
        self, fn: Callable[..., R], tasks: list[T], *args: Any
    ) -> Iterator[tuple[T, R | WorkerDied]]:
        tasks = _largest_first(tasks)
        if self.workers == 1 or len(tasks) <= 1:
            for t in tasks:
                yield t, fn(t, *args)
            return
        with ProcessPoolExecutor(
            min(self.workers, len(tasks)),
            mp_context=self._context(),
            initializer=die_with,
            initargs=(os.getpid(),),
        ) as pool:
            pending = {pool.submit(fn, t, *args): t for t in tasks}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    task = pending.pop(fut)
                    try:
                        yield task, fut.result()
                    except Exception as exc:  # the worker process itself died
                        yield task, WorkerDied(f"{type(exc).__name__}: {exc}")


class RayExecutor:
    """Tasks as Ray remote functions, on a cluster (`address`) or a local Ray started here."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 2):
        self.address = address
        self.workers = max(1, workers)

    def start(self) -> None:
        """Nothing to start ahead: Ray starts (or joins a cluster) when work is submitted."""

    def run(
        self, fn: Callable[..., R], tasks: list[T], *args: Any
    ) -> Iterator[tuple[T, R | WorkerDied]]:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise UsageError("the Ray executor needs Ray: pip install 'corpuscope[ray]'") from exc
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
            remote = ray.remote(fn)
            pending = {remote.remote(t, *args): t for t in _largest_first(tasks)}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        yield task, ray.get(ref)
                    except Exception as exc:
                        yield task, WorkerDied(f"{type(exc).__name__}: {exc}")
        finally:
            if started_here:
                ray.shutdown()


def make_executor(kind: str, workers: int, ray_address: str | None = None, work: str = "ingest"):
    """The executor named on the command line (`local` or `ray`) for `work` (ingest or scan)."""
    if kind == "local":
        return LocalExecutor(workers, PRELOAD[work])
    if kind == "ray":
        return RayExecutor(ray_address, workers)
    raise UsageError(f"unknown executor {kind!r}: use 'local' or 'ray'")
