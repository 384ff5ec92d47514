"""The operational state: API keys (hashed) with their roles, the audit log (hash-chained,
`corpuscope.dsr.audit`), and the tables of data-subject requests (`corpuscope.dsr`).

One SQLite file, ``state.sqlite`` in the data directory, in WAL mode so that several
processes (the API's workers, the CLI) can use it at once. It is the only mutable state;
everything else is rebuilt from the Parquet shards. Keys are random 32-byte tokens shown once
at creation; only their SHA-256 is stored (a token has enough entropy that a slow hash would
add nothing). Every change is written to the audit log with who did it; identifiers of data
subjects are written only sealed (encrypted) with their case, never in the log.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpuscope.errors import NotFound, UsageError

ROLES = ("public", "auditor", "officer", "admin")
_PREFIX = "cs_"

_SCHEMA = """
create table if not exists api_keys (
    id integer primary key,
    name text not null unique,
    role text not null,
    key_sha256 text not null unique,
    created real not null,
    revoked real
);
create table if not exists audit_log (
    id integer primary key,
    at real not null,
    actor text not null,
    action text not null,
    target text,
    detail text,
    prev text,
    hash text
);
"""


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    created: float
    revoked: float | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _chain_columns(con: sqlite3.Connection) -> None:
    """Add the hash chain's columns to an audit log made before them."""
    have = {r[1] for r in con.execute("pragma table_info(audit_log)")}
    for column in ("prev", "hash"):
        if column not in have:
            con.execute(f"alter table audit_log add column {column} text")


class State:
    """`state.sqlite` of a data directory."""

    def __init__(self, data_dir: Path | str):
        self.path = Path(data_dir) / "state.sqlite"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("pragma journal_mode=wal")
            con.execute("pragma busy_timeout=30000")
            con.executescript(_SCHEMA)
            _chain_columns(con)
            yield con
        finally:
            con.close()

    def create_key(self, name: str, role: str, actor: str = "cli") -> str:
        """A new key for `role`; the token is returned once and never stored."""
        if role not in ROLES[1:]:
            raise UsageError(f"role must be one of {', '.join(ROLES[1:])}")
        token = _PREFIX + secrets.token_urlsafe(32)
        with self._db() as con:
            con.execute("begin immediate")
            try:
                con.execute(
                    "insert into api_keys (name, role, key_sha256, created) values (?, ?, ?, ?)",
                    (name, role, _digest(token), time.time()),
                )
            except sqlite3.IntegrityError:
                con.execute("rollback")
                raise UsageError(f"a key named {name!r} exists already") from None
            self._audit(con, actor, "key.create", name, {"role": role})
            con.execute("commit")
        return token

    def revoke_key(self, name: str, actor: str = "cli") -> None:
        with self._db() as con:
            con.execute("begin immediate")
            cur = con.execute(
                "update api_keys set revoked = ? where name = ? and revoked is null",
                (time.time(), name),
            )
            if cur.rowcount == 0:
                con.execute("rollback")
                raise NotFound(f"no active key named {name!r}")
            self._audit(con, actor, "key.revoke", name, {})
            con.execute("commit")

    def api_keys(self) -> list[ApiKey]:
        with self._db() as con:
            rows = con.execute(
                "select name, role, created, revoked from api_keys order by created"
            ).fetchall()
        return [ApiKey(*r) for r in rows]

    def authenticate(self, token: str) -> tuple[str, str] | None:
        """(key name, role) of an active key, else None."""
        if not token.startswith(_PREFIX) or not self.path.exists():
            return None
        with self._db() as con:
            row = con.execute(
                "select name, role from api_keys where key_sha256 = ? and revoked is null",
                (_digest(token),),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def audit(self, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
        with self.transaction() as con:
            self._audit(con, actor, action, target, detail)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (`begin immediate`): committed when the block ends, rolled back
        on an exception. Other modules' tables (`corpuscope.dsr`) are written through it."""
        with self._db() as con:
            con.execute("begin immediate")
            try:
                yield con
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads."""
        with self._db() as con:
            yield con

    def _audit(
        self, con: sqlite3.Connection, actor: str, action: str, target: str | None, detail: dict
    ) -> None:
        """Append to the hash-chained audit log (inside the caller's transaction); the head
        (last id and hash) is also written to `audit.head` (`corpuscope.dsr.audit`)."""
        from corpuscope.dsr.audit import append

        append(con, self.path.parent, actor, action, target, detail)

    def append_audit(
        self, con: sqlite3.Connection, actor: str, action: str, target: str | None, detail: dict
    ) -> None:
        """An audit entry written in the caller's transaction (see `transaction`)."""
        self._audit(con, actor, action, target, detail)

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._db() as con:
            rows = con.execute(
                "select at, actor, action, target, detail from audit_log order by id desc limit ?",
                (limit,),
            ).fetchall()
        return [
            {"at": a, "actor": b, "action": c, "target": d, "detail": json.loads(e)}
            for a, b, c, d, e in rows
        ]
