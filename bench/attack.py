"""Query attacks on a running server: what the worst public searches do to everyone else.

    .venv/bin/python bench/attack.py            # the bench corpus (bench/prepared.py, >= 200,000 docs)
    .venv/bin/python bench/attack.py --seconds 10 --attack-timeout 3
    .venv/bin/python bench/attack.py --smoke    # the 449-document C4 sample, 1.5 s a phase

1. Data: the prepared benchmark corpus (resampled from the bundled samples, indexed here
   like bench/query.py does), or with `--smoke` the bundled C4 sample (449 documents)
   ingested, scanned and indexed with the command line.
2. `corpuscope serve --workers 2` in a session of its own (rate limits off, so that the
   clients of one address measure the queries, not the limiter). Its resident memory (the
   supervisor and every worker, with psutil) is sampled every 20 ms.
3. Baseline: `--clients` threads (8) send ordinary searches (1-3 words drawn from the
   documents) for `--seconds`; each records its latency and whether it got a 200.
4. Attack: the same clients again for `--seconds`, with one attacker thread cycling through
   the worst queries found (a slop of 1,000 over repeated common words, a huge slop, 64
   common words, 32 distinct sloppy phrases of two common words, 8-word phrases of "the" and
   "of", deep nesting, the deepest page, the largest page). Each attack request gets `--attack-timeout` seconds
   and is then dropped by the client, as an attacker would, while the server may still be
   working on it (tantivy cannot cancel a search). The attack stops, and the server is killed,
   as soon as the server's memory passes `--rss-limit-gb` (3 GB; 1.5 GB with --smoke).
5. Report: the server's peak RSS in each phase, the ordinary clients' p50/p99 latency and
   error rate in each, what each attack query got (status, time), and the ratios
   attack / baseline. The server's whole session is killed at the end.

What the attack does depends on the query language the server runs: with tantivy's lenient
parser the slop queries are the unbounded ones; with `index/querylang.py` (`parse_public`)
they are refused with 422 and the rest are bounded (docs/api.md).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyarrow.parquet as pq
from prepared import CORPUS, prepared

from corpuscope.index.build import build_index
from corpuscope.store import Store
from ingest import bench_workdir, write_report

REPO = Path(__file__).resolve().parent.parent
SMOKE_SOURCE = REPO / "samples" / "c4" / "c4-en-sample-449.jsonl.gz"
SEED = 1212
COMMON = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "for",
    "on",
    "that",
    "with",
    "as",
    "it",
    "be",
    "by",
    "at",
]


def _phrase(words: list[str], slop: int | None = None) -> str:
    return '"' + " ".join(words) + '"' + (f"~{slop}" if slop is not None else "")


#: distinct phrases (a clause said twice is searched once, by either parser)
PAIRS = list(itertools.permutations(COMMON[:8], 2))[:32]
THE_OF = [["the"] * i + ["of"] + ["the"] * (7 - i) for i in range(8)]
#: (name, query parameters): the worst public searches found (docs/api.md says why).
ATTACKS: list[tuple[str, dict[str, Any]]] = [
    ("slop 1000, 23 common words", {"q": _phrase(COMMON[:10] * 2 + COMMON[10:13], 1000)}),
    ("slop 100000, 10 common words", {"q": _phrase(COMMON[:10], 100_000)}),
    ("64 common words", {"q": " ".join((COMMON * 4)[:64])}),
    ("32 phrases of 2 common words ~2", {"q": " ".join(_phrase(list(p), 2) for p in PAIRS)}),
    ("8 phrases of 8 'the'/'of' ~2", {"q": " ".join(_phrase(w, 2) for w in THE_OF)}),
    ("nesting 8 deep", {"q": "(" * 8 + "the of" + ")" * 8}),
    ("nesting 300 deep", {"q": "(" * 300 + "the" + ")" * 300}),
    ("deepest page", {"q": "the", "offset": 10_000, "k": 100}),
    ("largest page", {"q": "the of and", "k": 100}),
]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p * len(s)))], 1)


def ordinary_queries(data: Path, corpus: str, n: int, rng: random.Random) -> list[str]:
    """`n` searches of 1-3 words drawn from the corpus's text (letters only, 3 or more)."""
    texts: list[str] = []
    for path in Store(data).corpus(corpus).shard_paths():
        texts += pq.read_table(path, columns=["text"]).column("text").to_pylist()
        if len(texts) >= 2000:
            break
    vocab = [
        w for t in rng.sample(texts, min(300, len(texts))) for w in re.findall(r"[A-Za-z]{3,}", t)
    ]
    return [" ".join(rng.sample(vocab, rng.randint(1, 3))) for _ in range(n)]


# -- the data ------------------------------------------------------------------------------------
def smoke_data(workdir: Path) -> tuple[Path, str]:
    """The 449-document C4 sample, ingested, scanned and indexed under `workdir` (once; in
    this process, which saves three start-ups of the command line)."""
    from corpuscope import jobs
    from corpuscope.config import Settings

    data = workdir / "attack-c4-449"
    marker = data / "ATTACK-READY"
    if not marker.exists():
        print(f"data: ingesting, scanning and indexing {SMOKE_SOURCE.name} into {data}")
        settings = Settings(data=data)
        if not jobs.ingest(settings, "c4", [str(SMOKE_SOURCE)]).ok:
            raise SystemExit("the C4 sample did not ingest")
        if not jobs.scan(settings, "c4").ok:
            raise SystemExit("the C4 sample did not scan")
        jobs.index(settings, "c4")
        marker.write_text("ready\n")
    return data, "c4"


def full_data(workdir: Path, partitions: int) -> tuple[Path, str]:
    data, _ = prepared(workdir)
    built = build_index(Store(data).corpus(CORPUS), partitions)
    print(f"index: {built.shards_added} shards added, {built.shards_kept} kept")
    return data, CORPUS


# -- the server ----------------------------------------------------------------------------------
class Server:
    """`corpuscope serve` in its own session; `rss()` is the memory of the whole tree."""

    def __init__(self, data: Path, workers: int):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cli = Path(sys.executable).with_name("corpuscope")
        cmd = [str(cli if cli.exists() else "corpuscope"), "serve", "--port", str(self.port)]
        cmd += ["--workers", str(workers), "--data-dir", str(data)]
        env = {**os.environ, "CORPUSCOPE_RATE_LIMIT": "", "CORPUSCOPE_KEY_RATE_LIMIT": ""}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.cmd = cmd

    def output(self) -> str:
        if self.log.closed:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def wait_up(self, wait_s: float = 120) -> float:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{self.base}/v1/corpora", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{' '.join(self.cmd)} exited:\n{self.output()}")
            if time.perf_counter() - started > wait_s:
                self.kill()
                raise RuntimeError(f"the server did not answer in {wait_s} s:\n{self.output()}")
            time.sleep(0.1)

    def rss(self) -> int:
        """Resident bytes of the server and all its processes (0 once it is gone)."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def kill(self) -> None:
        """The whole session: a worker stuck in a search that cannot be cancelled too."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self.log.close()


class Memory(threading.Thread):
    """Samples the server's RSS; past `limit` it kills the server (and says so)."""

    def __init__(self, server: Server, limit: int, stop_all: threading.Event):
        super().__init__(daemon=True)
        self.server, self.limit, self.stop_all = server, limit, stop_all
        self.peak = 0
        self.killed_at: float | None = None  # RSS (bytes) when it was killed
        self.done = threading.Event()

    def reset(self) -> None:
        self.peak = self.server.rss()

    def run(self) -> None:
        while not self.done.is_set():
            rss = self.server.rss()
            self.peak = max(self.peak, rss)
            if rss > self.limit and self.killed_at is None:
                self.killed_at = rss
                self.stop_all.set()
                self.server.kill()
            time.sleep(0.02)


# -- the phases ----------------------------------------------------------------------------------
def phase(
    server: Server,
    memory: Memory,
    queries: list[str],
    clients: int,
    seconds: float,
    client_timeout: float,
    attack_timeout: float | None,
) -> dict[str, Any]:
    """Ordinary clients for `seconds` (and the attacker when `attack_timeout` is given)."""
    stop = threading.Event()
    memory.stop_all = stop
    memory.reset()
    times: list[float] = []
    errors = [0]
    attacks: list[dict[str, Any]] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        rng = random.Random(SEED + c)
        with httpx.Client(base_url=server.base, timeout=client_timeout) as http:
            while not stop.is_set():
                q = rng.choice(queries)
                t0 = time.perf_counter()
                try:
                    ok = http.get("/v1/search", params={"q": q, "k": 10}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if ok:
                        times.append(ms)
                    else:
                        errors[0] += 1

    def attacker() -> None:
        with httpx.Client(base_url=server.base, timeout=attack_timeout) as http:
            i = 0
            while not stop.is_set():
                name, params = ATTACKS[i % len(ATTACKS)]
                i += 1
                t0 = time.perf_counter()
                try:
                    status: int | str = http.get("/v1/search", params=params).status_code
                except httpx.TimeoutException:
                    status = "client timeout"
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                attacks.append(
                    {
                        "name": name,
                        "status": status,
                        "ms": round((time.perf_counter() - t0) * 1000, 1),
                        "rss_mb": round(server.rss() / 1e6),
                    }
                )

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    if attack_timeout is not None:
        threads.append(threading.Thread(target=attacker, daemon=True))
    started = time.perf_counter()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    for t in threads:
        t.join(max(client_timeout, attack_timeout or 0) + 5)
    done = len(times) + errors[0]
    return {
        "seconds": round(elapsed, 1),
        "requests": done,
        "ok": len(times),
        "error_rate": round(errors[0] / done, 4) if done else None,
        "p50_ms": pct(times, 0.5),
        "p99_ms": pct(times, 0.99),
        "peak_rss_mb": round(memory.peak / 1e6, 1),
        "attacks": attacks,
    }


def show(name: str, r: dict[str, Any]) -> None:
    rate = "n/a" if r["error_rate"] is None else f"{100 * r['error_rate']:.1f}%"
    print(
        f"  {name:<9} {r['requests']:>6} requests in {r['seconds']} s: p50 {r['p50_ms']} ms, "
        f"p99 {r['p99_ms']} ms, errors {rate}, server peak RSS {r['peak_rss_mb']} MB"
    )


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b or a != a or b != b:  # missing or NaN
        return "n/a"
    return f"{a / b:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="ordinary search clients")
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--partitions", type=int, default=2, help="index partitions")
    parser.add_argument(
        "--attack-timeout", type=float, default=3.0, help="seconds before the attacker gives up"
    )
    parser.add_argument(
        "--client-timeout", type=float, default=30.0, help="an ordinary client's timeout"
    )
    parser.add_argument(
        "--rss-limit-gb", type=float, default=3.0, help="server memory that stops the attack"
    )
    parser.add_argument("--workdir", type=Path, help="default: /tmp/corpuscope-bench")
    parser.add_argument("--out", type=Path, help="default: bench/out/attack.json")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, the C4 sample")
    args = parser.parse_args()
    workdir = bench_workdir(args.smoke, args.workdir)
    if args.smoke:
        args.seconds, args.attack_timeout, args.client_timeout = 1.5, 1.0, 5.0
        args.workers = 1  # a second worker doubles the server's start-up (tests/test_bench.py)
        args.rss_limit_gb = min(args.rss_limit_gb, 1.5)
        print(f"--smoke: the 449-document C4 sample under {workdir}, {args.seconds} s a phase,")
        print(
            f"  {args.clients} clients, attack requests dropped after {args.attack_timeout} s, "
            "1 server worker"
        )
    out = args.out or (
        workdir / "attack-smoke.json" if args.smoke else REPO / "bench" / "out" / "attack.json"
    )
    data, corpus = smoke_data(workdir) if args.smoke else full_data(workdir, args.partitions)
    queries = ordinary_queries(data, corpus, 500, random.Random(SEED))

    server = Server(data, args.workers)
    stop_all = threading.Event()
    memory = Memory(server, int(args.rss_limit_gb * 1e9), stop_all)
    try:
        up = server.wait_up()
        print(f"server up in {up:.1f} s ({args.workers} workers), RSS {server.rss() / 1e6:.0f} MB")
        memory.start()
        # warm up: every worker opens the index once
        with httpx.Client(base_url=server.base, timeout=30) as http:
            for q in queries[:20]:
                http.get("/v1/search", params={"q": q})
        base = phase(server, memory, queries, args.clients, args.seconds, args.client_timeout, None)
        show("baseline", base)
        attack = phase(
            server,
            memory,
            queries,
            args.clients,
            args.seconds,
            args.client_timeout,
            args.attack_timeout,
        )
        show("attack", attack)
    finally:
        memory.done.set()
        server.kill()

    print("attack queries (status: count, slowest ms, RSS after):")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for a in attack["attacks"]:
        by_name.setdefault(a["name"], []).append(a)
    for name, got in by_name.items():
        statuses: dict[str, int] = {}
        for a in got:
            statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
        shown = ", ".join(f"{s}: {n}" for s, n in statuses.items())
        slowest = max(a["ms"] for a in got)
        print(f"  {name:<30} {shown}; slowest {slowest} ms; RSS {got[-1]['rss_mb']} MB")
    if memory.killed_at is not None:
        print(
            f"the attack was stopped: the server's RSS reached {memory.killed_at / 1e6:.0f} MB "
            f"(limit {args.rss_limit_gb} GB) and the server was killed"
        )
    ratios = {
        "p50": ratio(attack["p50_ms"], base["p50_ms"]),
        "p99": ratio(attack["p99_ms"], base["p99_ms"]),
        "peak_rss": ratio(attack["peak_rss_mb"], base["peak_rss_mb"]),
    }
    print(
        f"ratio attack / baseline: p50 {ratios['p50']}, p99 {ratios['p99']}, "
        f"peak RSS {ratios['peak_rss']}; error rate {attack['error_rate']} vs {base['error_rate']}"
    )
    write_report(
        out,
        {
            "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
            "smoke": args.smoke,
            "corpus": corpus,
            "clients": args.clients,
            "workers": args.workers,
            "seconds": args.seconds,
            "attack_timeout_s": args.attack_timeout,
            "rss_limit_gb": args.rss_limit_gb,
            "server_killed_at_rss_mb": (
                round(memory.killed_at / 1e6) if memory.killed_at is not None else None
            ),
            "baseline": base,
            "attack": attack,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
