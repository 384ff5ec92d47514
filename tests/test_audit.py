"""The audit log's hash chain: edits, deletions, reordering and truncation are each caught."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from corpuscope.config import Settings
from corpuscope.dsr import cases
from corpuscope.dsr.audit import verify_chain
from corpuscope.state import State

EMAIL = "ada.lovelace@example.org"


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    """A data directory whose log has key changes and case events (5 entries or more)."""
    settings = Settings(data=tmp_path / "data")
    st = State(settings.data)
    st.create_key("alice", "officer")
    st.create_key("bob", "auditor")
    case = cases.open_case(settings, "access", "Ada Lovelace", {"email": [EMAIL]}, actor="alice")
    cases.verify_identity(settings, case, "passport seen", actor="alice")
    st.revoke_key("bob")
    return settings.data


def _tampered(data: Path, tmp_path: Path, sql: list[str]) -> Path:
    copy = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
    shutil.copytree(data, copy)
    con = sqlite3.connect(copy / "state.sqlite")
    for statement in sql:
        con.execute(statement)
    con.commit()
    con.close()
    return copy / "state.sqlite"


def _audit_verify(data: Path):
    from typer.testing import CliRunner

    from corpuscope.cli import app

    return CliRunner().invoke(app, ["audit", "verify", "--data-dir", str(data)])


def test_an_untouched_chain_verifies(logged: Path):
    report = verify_chain(logged / "state.sqlite")
    assert report.ok and report.entries >= 5, report.problems
    out = _audit_verify(logged)
    assert out.exit_code == 0 and '"ok": true' in out.output and '"entries": 5' in out.output


def test_every_kind_of_tampering_is_caught(logged: Path, tmp_path: Path):
    attacks = {
        "edit": ["update audit_log set actor = 'mallory' where id = 2"],
        "edit detail": ["update audit_log set detail = '{}' where id = 3"],
        "delete": ["delete from audit_log where id = 2"],
        "reorder": [
            "update audit_log set id = -2 where id = 2",
            "update audit_log set id = 2 where id = 3",
            "update audit_log set id = 3 where id = -2",
        ],
        "truncate": ["delete from audit_log where id = (select max(id) from audit_log)"],
        "truncate and rehash nothing": ["delete from audit_log where id > 2"],
    }
    for name, sql in attacks.items():
        report = verify_chain(_tampered(logged, tmp_path, sql))
        assert not report.ok, name


def test_truncation_with_a_rewritten_head_is_caught_by_a_kept_head(logged: Path, tmp_path: Path):
    """Whoever can rewrite both the log and audit.head can cut the end: the head printed by
    `audit verify` and kept elsewhere is what shows it."""
    kept = verify_chain(logged / "state.sqlite").head
    path = _tampered(
        logged, tmp_path, ["delete from audit_log where id = (select max(id) from audit_log)"]
    )
    (path.parent / "audit.head").unlink()
    assert verify_chain(path).head != kept


def test_entries_name_the_actor_and_never_an_identifier(logged: Path):
    rows = State(logged).audit_log(limit=100)
    assert {r["actor"] for r in rows} >= {"alice"}
    assert all(r["actor"] for r in rows)
    raw = (logged / "state.sqlite").read_bytes()
    for f in logged.glob("state.sqlite*"):
        raw += f.read_bytes()
    assert EMAIL.encode() not in raw  # sealed in the case, never in the log
    assert b"Lovelace" not in raw


def test_the_cli_fails_on_a_broken_chain(logged: Path, tmp_path: Path):
    path = _tampered(logged, tmp_path, ["delete from audit_log where id = 2"])
    out = _audit_verify(path.parent)
    assert out.exit_code == 1 and "entry 3 follows entry 1" in out.output
