"""`corpuscope serve --workers N` (api/serve.py): one socket per worker, so connections spread
across the workers; a dead worker is replaced; the workers end with the supervisor."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import corpuscope_cmd, free_port, wait_until_up


def _workers(proc: subprocess.Popen, n: int) -> list[psutil.Process]:
    for _ in range(600):  # the worker processes (not multiprocessing's resource tracker)
        kids = [
            k for k in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(k.cmdline())
        ]
        if len(kids) == n:
            return kids
        time.sleep(0.1)
    raise AssertionError(f"expected {n} workers, found {len(kids)}")


def _gone(pids: list[int]) -> bool:
    for _ in range(100):
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def server(tmp_path: Path):
    port = free_port()
    proc = subprocess.Popen(
        corpuscope_cmd("serve", "--port", port, "--workers", 2, "--data-dir", tmp_path / "d"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CORPUSCOPE_RATE_LIMIT": ""},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, tries=1200)
        yield proc, base, port
    finally:
        kids = [p.pid for p in psutil.Process(proc.pid).children()] if proc.poll() is None else []
        proc.kill()
        proc.wait(30)
        for pid in kids:
            if psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)


def test_keep_alive_connections_spread_over_the_workers(server):
    """16 clients that each keep one connection: both workers hold some (with one shared
    socket, the first worker to wake used to accept them all)."""
    proc, base, port = server
    workers = _workers(proc, 2)
    clients = [httpx.Client(base_url=base) for _ in range(16)]
    try:
        for c in clients:
            assert c.get("/v1/health").status_code == 200
        held = {
            w.pid: sum(
                1
                for c in w.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
            )
            for w in workers
        }
        assert sum(held.values()) == 16 and all(held.values()), held
    finally:
        for c in clients:
            c.close()


def test_a_dead_worker_is_replaced_and_workers_end_with_the_supervisor(server):
    proc, base, _ = server
    first = _workers(proc, 2)
    first[0].kill()
    first[0].wait(30)
    now = _workers(proc, 2)
    assert first[0].pid not in {w.pid for w in now}
    wait_until_up(base, tries=1200)
    for _ in range(8):  # both workers answer again
        assert httpx.get(f"{base}/v1/health", timeout=30).status_code == 200
    proc.kill()  # SIGKILL: no chance to stop the workers itself
    proc.wait(30)
    assert _gone([w.pid for w in now]), "workers outlived their supervisor"
