"""The tables of data-subject requests in `state.sqlite` (`corpuscope.state.State`).

Cases and their events, the subject's identifiers (sealed: encrypted, with a keyed hash where
a hash serves), the evidence found for a case, the suppression list, the opt-out rules, and a
version counter of the suppression list that readers compare cheaply.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corpuscope.state import State

SCHEMA = """
create table if not exists dsr_cases (
    id text primary key,
    kind text not null,
    state text not null,
    channel text not null,
    received text not null,
    due text not null,
    extension_months integer not null default 0,
    record text not null,
    created real not null,
    updated real not null
);
create table if not exists dsr_identifiers (
    case_id text not null,
    label text not null,
    kind text not null,
    sealed text not null,
    value_hash text not null,
    primary key (case_id, label)
);
create table if not exists dsr_events (
    id integer primary key,
    case_id text not null,
    at text not null,
    actor text not null,
    event text not null,
    detail text not null
);
create table if not exists dsr_evidence (
    case_id text not null,
    doc_id text not null,
    corpus text not null,
    shard text not null,
    matches text not null,
    added_by text not null,
    dropped integer not null default 0,
    primary key (case_id, doc_id)
);
create table if not exists dsr_suppressed (
    doc_id text primary key,
    corpus text not null,
    shard text,
    text_hash text,
    case_id text,
    rule_id text,
    reason text not null,
    added real not null,
    applied real
);
create index if not exists dsr_suppressed_hash on dsr_suppressed (text_hash);
create table if not exists dsr_rules (
    id text primary key,
    kind text not null,
    value text,
    sealed text,
    value_hash text,
    corpus text,
    case_id text,
    reason text not null,
    added real not null
);
create table if not exists dsr_meta (key text primary key, value integer not null);
"""


def state(data_dir: Path | str) -> State:
    return State(data_dir)


@contextmanager
def writing(data_dir: Path | str) -> Iterator[tuple[State, sqlite3.Connection]]:
    """A write transaction over the DSR tables (and the audit log)."""
    st = State(data_dir)
    with st.transaction() as con:
        _ensure(con)
        yield st, con


@contextmanager
def reading(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    with State(data_dir).reading() as con:
        _ensure(con)
        yield con


def _ensure(con: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            con.execute(statement)


def bump_version(con: sqlite3.Connection) -> int:
    """Raise the suppression list's version (in the caller's transaction)."""
    con.execute(
        "insert into dsr_meta (key, value) values ('suppression', 1) "
        "on conflict(key) do update set value = value + 1"
    )
    return con.execute("select value from dsr_meta where key = 'suppression'").fetchone()[0]
