"""`corpuscope serve --workers N`: N uvicorn processes, each listening on a socket of its own.

Each worker binds the same address with ``SO_REUSEPORT``, so the kernel spreads connections
across the workers by their addresses. uvicorn's own supervisor shares one socket among its
workers instead, and the first worker to wake accepts every connection waiting: eight
keep-alive clients often all landed on one of two workers, which halved the throughput
from one run to the next. Workers are started fresh (spawn), build the app from the
environment, die with this process however it ends, and are started again if one dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time

log = logging.getLogger("corpuscope.serve")

#: How often the supervisor looks at its workers (seconds).
_POLL_S = 0.5


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`, shared with the other workers (SO_REUSEPORT)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, supervisor: int) -> None:
    import uvicorn

    from corpuscope.ingest.executors import die_with

    die_with(supervisor)
    sock = listening_socket(host, port)
    config = uvicorn.Config("corpuscope.api.app:create_app", factory=True, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int) -> None:
    """Run `workers` worker processes until SIGINT or SIGTERM (the data directory and the
    other settings come from the environment, `CORPUSCOPE_*`)."""
    ctx = multiprocessing.get_context("spawn")
    me = os.getpid()

    def start() -> multiprocessing.process.BaseProcess:
        proc = ctx.Process(target=_worker, args=(host, port, me), name="corpuscope-worker")
        proc.start()
        return proc

    stopping = False

    def stop(signum: int, _frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    try:
        while not stopping:
            time.sleep(_POLL_S)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stopping:
                    log.warning(
                        "worker %s exited with %s; starting another", proc.pid, proc.exitcode
                    )
                    procs[i] = start()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes the requests under way
        deadline = time.monotonic() + 15
        for proc in procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for s, handler in previous.items():
            signal.signal(s, handler)
