"""The audit log's hash chain: every entry carries the hash of the one before it.

An entry is (id, time, actor, action, target, detail); its hash is the SHA-256 of the previous
entry's hash and of the entry's fields in canonical JSON. Editing an entry breaks its hash;
deleting or reordering entries breaks the link of the next one. Truncating the end leaves a
valid shorter chain, so the head (last id, its hash, the number of entries) is also written
to ``<data>/audit.head`` at every append, and `verify_chain` compares the two: keep a copy of
the head elsewhere (it is printed by `corpuscope audit verify`) to catch a rewrite of both.

Entries name the actor (an API key's name, or ``cli:<user>``) and never hold a data subject's
identifiers in clear: callers put case ids, kinds, counts and labels ("email 1") in `detail`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpuscope.store import publish_bytes

GENESIS = "0" * 64
HEAD = "audit.head"


def cli_actor() -> str:
    """The actor of a command run on the machine: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def entry_hash(
    prev: str, seq: int, at: float, actor: str, action: str, target: str | None, detail: str
) -> str:
    """The hash of one entry, chained to the previous entry's hash."""
    body = json.dumps([prev, seq, repr(at), actor, action, target, detail], ensure_ascii=True)
    return hashlib.sha256(body.encode()).hexdigest()


def append(
    con: sqlite3.Connection,
    data_dir: Path,
    actor: str,
    action: str,
    target: str | None,
    detail: dict[str, Any],
    at: float | None = None,
) -> str:
    """Append an entry in the caller's write transaction; returns its hash."""
    import time

    at = time.time() if at is None else at
    row = con.execute("select id, hash from audit_log order by id desc limit 1").fetchone()
    seq, prev = (row[0] + 1, row[1] or GENESIS) if row else (1, GENESIS)
    text = json.dumps(detail, sort_keys=True)
    digest = entry_hash(prev, seq, at, actor, action, target, text)
    con.execute(
        "insert into audit_log (id, at, actor, action, target, detail, prev, hash) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, actor, action, target, text, prev, digest),
    )
    count = con.execute("select count(*) from audit_log").fetchone()[0]
    publish_bytes(
        Path(data_dir) / HEAD, json.dumps({"id": seq, "hash": digest, "entries": count}).encode()
    )
    return digest


@dataclass
class ChainReport:
    """What `verify_chain` found: the entries checked, the head, and every break."""

    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "problems": self.problems,
        }


def verify_chain(state_path: Path) -> ChainReport:
    """Check every link of the chain in `state.sqlite` and the head in `audit.head`."""
    report = ChainReport()
    head_path = state_path.parent / HEAD
    if not state_path.exists():
        if head_path.exists():
            report.problems.append("state.sqlite is gone but audit.head names entries")
        return report
    con = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "select id, at, actor, action, target, detail, prev, hash from audit_log order by rowid"
        ).fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        con.close()
    prev, last_id = GENESIS, 0
    for seq, at, actor, action, target, detail, stored_prev, stored in rows:
        if seq != last_id + 1:
            report.problems.append(f"entry {seq} follows entry {last_id} (deleted or reordered)")
        if stored_prev != prev:
            report.problems.append(f"entry {seq} does not link to the entry before it")
        if stored is None or entry_hash(prev, seq, at, actor, action, target, detail) != stored:
            report.problems.append(f"entry {seq} was changed after it was written")
        prev, last_id = stored or "", seq
    report.entries, report.head = len(rows), prev if rows else GENESIS
    try:
        head = json.loads(head_path.read_text())
    except FileNotFoundError:
        if rows:
            report.problems.append("audit.head is missing")
        return report
    except ValueError:
        report.problems.append("audit.head cannot be read")
        return report
    if head.get("id") != last_id or head.get("hash") != report.head:
        report.problems.append(
            f"the log ends at entry {last_id} but audit.head names entry {head.get('id')} "
            "(entries truncated or the head replaced)"
        )
    elif head.get("entries") != len(rows):
        report.problems.append("the number of entries differs from audit.head's")
    return report
