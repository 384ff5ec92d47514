"""Cases of data-subject requests: intake, a state machine, deadlines, the record.

A case is opened for one person (their name and the identifiers they offer, sealed: see
`sealing`) with its kind (access, Art. 15; erasure, Art. 17; objection, Art. 21), the channel
and the date received. It moves through::

    received -> verified | info_requested -> verified -> searched -> decided -> fulfilled -> closed

(more information can be asked again; a case whose identity cannot be verified may be
decided `refused` from `info_requested`). Nothing is disclosed (report) or erased
(suppression) before the identity is verified: both need `searched`, which needs `verified`.
A case is due one calendar month after receipt; one extension of one or two further months
may be recorded, with the reason told to the person, within that first month.

The record (`record` of `show`) holds what CNIL and the EDPB expect: dates, the identity
check, what was searched and found (or why no one could be identified), the decision and its
reasons (and the right to complain to the supervisory authority when refused), the action
taken on the data and the officer's note on models trained on it, and the answer sent and
when. Every step is an event of the case and an entry of the audit log (no identifier in it).
"""

from __future__ import annotations

import calendar
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from corpuscope.config import Settings
from corpuscope.dsr import db, suppression
from corpuscope.dsr.audit import cli_actor
from corpuscope.dsr.sealing import KINDS, keyed_hash, seal, unseal
from corpuscope.errors import CorpuscopeError, NotFound, UsageError

CASE_KINDS = ("access", "erasure", "objection")
STATES = ("received", "info_requested", "verified", "searched", "decided", "fulfilled", "closed")
OUTCOMES = ("granted", "partially_granted", "refused", "not_identified")
CHANNELS = ("email", "web_form", "letter", "phone", "in_person", "other")
#: Where each step may start, and where it leads.
STEPS: dict[str, tuple[frozenset[str], str | None]] = {
    "verify": (frozenset({"received", "info_requested"}), "verified"),
    "request_info": (frozenset({"received", "info_requested"}), "info_requested"),
    "search": (frozenset({"verified", "searched"}), "searched"),
    "evidence": (frozenset({"searched"}), None),
    "decide": (frozenset({"searched", "info_requested"}), "decided"),
    "extend": (frozenset({"received", "info_requested", "verified", "searched", "decided"}), None),
    "fulfil": (frozenset({"decided"}), "fulfilled"),
    "close": (frozenset({"fulfilled"}), "closed"),
}
COMPLAINT = (
    "You have the right to lodge a complaint with a supervisory authority (in France the "
    "CNIL, www.cnil.fr; elsewhere in the EU your national data protection authority) and to "
    "seek a judicial remedy."
)
MAX_IDENTIFIERS = 50

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class CaseConflict(CorpuscopeError):
    """A step the case's state does not allow (409), e.g. a report before the identity check."""

    status = 409
    exit_code = 2


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (the last day of a shorter month)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _event(
    st, con, case_id: str, actor: str, event: str, detail: dict[str, Any], now: datetime
) -> None:
    """A step of the case: in its history and in the audit log (labels and counts only)."""
    con.execute(
        "insert into dsr_events (case_id, at, actor, event, detail) values (?, ?, ?, ?, ?)",
        (case_id, _iso(now), actor, event, json.dumps(detail, sort_keys=True)),
    )
    st.append_audit(con, actor, f"case.{event}", case_id, detail)


def open_case(
    settings: Settings,
    kind: str,
    name: str,
    identifiers: dict[str, list[str]] | None = None,
    channel: str = "email",
    received: date | None = None,
    actor: str | None = None,
    clock: Clock = utcnow,
) -> str:
    """Open a case; returns its random id. `identifiers`: kind (email, phone, username, url,
    other) -> values the person offered."""
    now = clock()
    actor = actor or cli_actor()
    if kind not in CASE_KINDS:
        raise UsageError(f"a case is one of {', '.join(CASE_KINDS)}")
    if channel not in CHANNELS:
        raise UsageError(f"the channel is one of {', '.join(CHANNELS)}")
    if not name.strip() or len(name) > 200:
        raise UsageError("the subject's name must be between 1 and 200 characters")
    received = received or now.date()
    if received > now.date():
        raise UsageError("the date received cannot be in the future")
    given = []
    for k, values in (identifiers or {}).items():
        if k not in KINDS or k == "name":
            raise UsageError(
                f"an identifier is one of {', '.join(x for x in KINDS if x != 'name')}"
            )
        for i, v in enumerate(values, 1):
            if not v.strip() or len(v) > 512:
                raise UsageError(f"a {k} must be between 1 and 512 characters")
            given.append((f"{k} {i}", k, v.strip()))
    if len(given) > MAX_IDENTIFIERS:
        raise UsageError(f"at most {MAX_IDENTIFIERS} identifiers per case")
    case_id = "case-" + secrets.token_hex(8)
    record = {
        "kind": kind,
        "channel": channel,
        "received": received.isoformat(),
        "opened_at": _iso(now),
        "identity": None,
        "info_requests": [],
        "searches": [],
        "decision": None,
        "extension": None,
        "action": None,
        "answer": None,
        "closed_at": None,
    }
    with db.writing(settings.data) as (st, con):
        con.execute(
            "insert into dsr_cases (id, kind, state, channel, received, due, record, created, "
            "updated) values (?, ?, 'received', ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                kind,
                channel,
                received.isoformat(),
                add_months(received, 1).isoformat(),
                json.dumps(record),
                time.time(),
                time.time(),
            ),
        )
        for label, k, v in [("name", "name", name.strip()), *given]:
            con.execute(
                "insert into dsr_identifiers (case_id, label, kind, sealed, value_hash) "
                "values (?, ?, ?, ?, ?)",
                (case_id, label, k, seal(settings, case_id, v), keyed_hash(settings, k, v)),
            )
        labels = [label for label, _, _ in given]
        _event(
            st,
            con,
            case_id,
            actor,
            "open",
            {"kind": kind, "channel": channel, "identifiers": labels},
            now,
        )
    return case_id


def _load(con, case_id: str) -> tuple[str, dict[str, Any], str, int]:
    row = con.execute(
        "select state, record, received, extension_months from dsr_cases where id = ?", (case_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no case {case_id!r}")
    return row[0], json.loads(row[1]), row[2], row[3]


def _step(
    settings: Settings,
    case_id: str,
    step: str,
    actor: str | None,
    clock: Clock,
    change: Callable[[Any, dict[str, Any], str, datetime], dict[str, Any]],
) -> dict[str, Any]:
    """Run one step in a transaction: check the state, let `change` update the record (and
    return the event's detail), move to the step's next state, record the event."""
    now = clock()
    actor = actor or cli_actor()
    allowed, nxt = STEPS[step]
    with db.writing(settings.data) as (st, con):
        state, record, _received, _ext = _load(con, case_id)
        if state not in allowed:
            raise CaseConflict(
                f"case {case_id} is {state}: {step.replace('_', ' ')} needs it to be "
                f"{' or '.join(sorted(allowed))}"
            )
        detail = change(con, record, state, now)
        new_state = nxt or state
        con.execute(
            "update dsr_cases set state = ?, record = ?, updated = ? where id = ?",
            (new_state, json.dumps(record), time.time(), case_id),
        )
        _event(st, con, case_id, actor, step, {"from": state, "to": new_state, **detail}, now)
    return {"case_id": case_id, "state": new_state, **detail}


def verify_identity(
    settings: Settings, case_id: str, method: str, actor: str | None = None, clock: Clock = utcnow
) -> dict[str, Any]:
    """Record how the person's identity was verified (no copy of any document: the method)."""
    if not method.strip():
        raise UsageError("say how the identity was verified")

    def change(con, record, state, now):
        record["identity"] = {
            "verified_at": _iso(now),
            "method": method.strip(),
            "by": actor or cli_actor(),
        }
        return {}

    return _step(settings, case_id, "verify", actor, clock, change)


def request_info(
    settings: Settings, case_id: str, reason: str, actor: str | None = None, clock: Clock = utcnow
) -> dict[str, Any]:
    """Ask the person for more information to verify their identity, with the reason."""
    if not reason.strip():
        raise UsageError("say why more information is needed")

    def change(con, record, state, now):
        record["info_requests"].append({"at": _iso(now), "reason": reason.strip()})
        return {}

    return _step(settings, case_id, "request_info", actor, clock, change)


def extend(
    settings: Settings,
    case_id: str,
    months: int,
    reason: str,
    actor: str | None = None,
    clock: Clock = utcnow,
) -> dict[str, Any]:
    """Extend the deadline by one or two months (once, within the first month, with the reason
    given to the person)."""
    if months not in (1, 2):
        raise UsageError("an extension is of 1 or 2 months")
    if not reason.strip():
        raise UsageError("an extension needs the reason given to the person")

    def change(con, record, state, now):
        received = date.fromisoformat(record["received"])
        if record["extension"] is not None:
            raise CaseConflict(f"case {case_id} was extended already")
        if now.date() > add_months(received, 1):
            raise CaseConflict(
                f"case {case_id}: an extension must be told to the person within the first month"
            )
        record["extension"] = {"months": months, "reason": reason.strip(), "notified_at": _iso(now)}
        con.execute(
            "update dsr_cases set extension_months = ?, due = ? where id = ?",
            (months, add_months(received, 1 + months).isoformat(), case_id),
        )
        return {"months": months}

    return _step(settings, case_id, "extend", actor, clock, change)


def decide(
    settings: Settings,
    case_id: str,
    outcome: str,
    reasons: str = "",
    actor: str | None = None,
    clock: Clock = utcnow,
) -> dict[str, Any]:
    """Decide the request. Granting an erasure or objection adds the case's kept evidence to
    the suppression list at once. A refusal needs its reasons and names the right to complain."""
    if outcome not in OUTCOMES:
        raise UsageError(f"the outcome is one of {', '.join(OUTCOMES)}")
    if outcome in ("refused", "partially_granted") and not reasons.strip():
        raise UsageError(f"a {outcome.replace('_', ' ')} decision needs its reasons")

    def change(con, record, state, now):
        if state == "info_requested" and outcome != "refused":
            raise CaseConflict(
                f"case {case_id}: the identity is not verified; it can only be refused"
            )
        record["decision"] = {
            "outcome": outcome,
            "reasons": reasons.strip(),
            "at": _iso(now),
            "by": actor or cli_actor(),
            "complaint": COMPLAINT if outcome in ("refused", "partially_granted") else None,
        }
        added = 0
        if outcome in ("granted", "partially_granted") and record["kind"] != "access":
            rows = con.execute(
                "select e.doc_id, e.corpus, e.shard from dsr_evidence e "
                "where e.case_id = ? and e.dropped = 0",
                (case_id,),
            ).fetchall()
            docs = [suppression.Doc(d, c, s, _text_hash(settings, c, s, d)) for d, c, s in rows]
            added = suppression.add(con, docs, f"{record['kind']} granted", case_id=case_id)
            record["action"] = {"suppressed": len(docs), "at": _iso(now)}
        return {"outcome": outcome, "suppressed": added}

    result = _step(settings, case_id, "decide", actor, clock, change)
    if result["suppressed"]:
        suppression.export(settings.data)
    return result


def _text_hash(settings: Settings, corpus: str, shard: str, doc_id: str) -> str | None:
    """A stored document's text hash (read from its shard), for the re-ingest check."""
    import pyarrow.parquet as pq

    from corpuscope.store import Store

    cs = Store(settings.data).corpus(corpus)
    entry = cs.manifest().shards.get(shard)
    if entry is None or not entry.parquet:
        return None
    table = pq.read_table(
        cs.root / entry.parquet, columns=["doc_id", "text_hash"], filters=[("doc_id", "=", doc_id)]
    )
    return table["text_hash"][0].as_py() if table.num_rows else None


def fulfil(
    settings: Settings,
    case_id: str,
    answer: str,
    action: str = "",
    models_note: str = "",
    actor: str | None = None,
    clock: Clock = utcnow,
) -> dict[str, Any]:
    """Record the answer sent to the person (and when), the action taken on the data, and the
    officer's note on models trained on it."""
    if not answer.strip():
        raise UsageError("say what answer was sent to the person")

    def change(con, record, state, now):
        record["answer"] = {"summary": answer.strip(), "sent_at": _iso(now)}
        record["action"] = {
            **(record["action"] or {}),
            "data": action.strip(),
            "models": models_note.strip(),
        }
        return {}

    return _step(settings, case_id, "fulfil", actor, clock, change)


def close(
    settings: Settings, case_id: str, actor: str | None = None, clock: Clock = utcnow
) -> dict[str, Any]:
    def change(con, record, state, now):
        record["closed_at"] = _iso(now)
        return {}

    return _step(settings, case_id, "close", actor, clock, change)


def identifiers(settings: Settings, case_id: str) -> list[dict[str, str]]:
    """The case's identifiers unsealed (label, kind, value, keyed hash): for officers only."""
    with db.reading(settings.data) as con:
        rows = con.execute(
            "select label, kind, sealed, value_hash from dsr_identifiers where case_id = ? "
            "order by rowid",
            (case_id,),
        ).fetchall()
    if not rows:
        raise NotFound(f"no case {case_id!r}")
    return [
        {"label": lb, "kind": k, "value": unseal(settings, case_id, s), "value_hash": h}
        for lb, k, s, h in rows
    ]


def deadline_status(due: date, state: str, today: date, soon_days: int) -> str:
    """overdue, due_soon, open, or done (fulfilled or closed)."""
    if state in ("fulfilled", "closed"):
        return "done"
    if today > due:
        return "overdue"
    if today + timedelta(days=soon_days) >= due:
        return "due_soon"
    return "open"


def show(settings: Settings, case_id: str, clock: Clock = utcnow) -> dict[str, Any]:
    """Everything about a case, for an officer: its record, identifiers, history, evidence."""
    with db.reading(settings.data) as con:
        row = con.execute(
            "select kind, state, channel, received, due, record from dsr_cases where id = ?",
            (case_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no case {case_id!r}")
        events = con.execute(
            "select at, actor, event, detail from dsr_events where case_id = ? order by id",
            (case_id,),
        ).fetchall()
        evidence = con.execute(
            "select doc_id, corpus, shard, matches, added_by, dropped from dsr_evidence "
            "where case_id = ? order by corpus, doc_id",
            (case_id,),
        ).fetchall()
    kind, state, channel, received, due, record = row
    return {
        "case_id": case_id,
        "kind": kind,
        "state": state,
        "channel": channel,
        "received": received,
        "due": due,
        "deadline": deadline_status(
            date.fromisoformat(due), state, clock().date(), settings.dsr_due_soon_days
        ),
        "record": json.loads(record),
        "identifiers": [
            {k: v for k, v in i.items() if k != "value_hash"}
            for i in identifiers(settings, case_id)
        ],
        "events": [
            {"at": a, "actor": b, "event": c, "detail": json.loads(d)} for a, b, c, d in events
        ],
        "evidence": [
            {
                "doc_id": d,
                "corpus": c,
                "shard": s,
                "matches": json.loads(m),
                "added_by": a,
                "dropped": bool(x),
            }
            for d, c, s, m, a, x in evidence
        ],
    }


def list_cases(
    settings: Settings, due_only: bool = False, clock: Clock = utcnow
) -> list[dict[str, Any]]:
    """Every case (no identifiers): id, kind, state, dates and where it stands with its
    deadline; `due_only`: the overdue and due-soon ones, most urgent first."""
    today = clock().date()
    with db.reading(settings.data) as con:
        rows = con.execute(
            "select id, kind, state, channel, received, due from dsr_cases order by due, id"
        ).fetchall()
    out = []
    for case_id, kind, state, channel, received, due in rows:
        status = deadline_status(date.fromisoformat(due), state, today, settings.dsr_due_soon_days)
        if due_only and status not in ("overdue", "due_soon"):
            continue
        out.append(
            {
                "case_id": case_id,
                "kind": kind,
                "state": state,
                "channel": channel,
                "received": received,
                "due": due,
                "deadline": status,
                "days_left": (date.fromisoformat(due) - today).days,
            }
        )
    return out
