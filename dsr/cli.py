"""`corpuscope dsr …`, `corpuscope audit verify` and `corpuscope export`: data-subject requests
from the command line (the actor in the audit log is ``cli:<user>``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from corpuscope.config import Settings
from corpuscope.dsr import cases

dsr_app = typer.Typer(help="Data-subject requests: cases, reports, erasure and opt-out rules.")
audit_app = typer.Typer(help="The hash-chained audit log.")
evidence_app = typer.Typer(help="Add or drop documents of a case's evidence by hand.")
rule_app = typer.Typer(help="Opt-out rules: a domain, a URL prefix or an identifier.")
dsr_app.add_typer(evidence_app, name="evidence")
dsr_app.add_typer(rule_app, name="rule")
out = Console()

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="CORPUSCOPE_DATA", help="Data directory.", show_default=False
    ),
]
CaseId = Annotated[str, typer.Argument(help="The case id (case-…).")]


def _settings(data_dir: Path | None) -> Settings:
    from corpuscope.cli import _settings as settings

    return settings(data_dir)


def _print(data) -> None:
    print(json.dumps(data, indent=1, default=str))


@dsr_app.command("open")
def open_cmd(
    kind: Annotated[str, typer.Option(help="access, erasure or objection.")],
    name: Annotated[str, typer.Option(help="The subject's name.")],
    email: Annotated[list[str] | None, typer.Option(help="An e-mail address (repeat).")] = None,
    phone: Annotated[list[str] | None, typer.Option(help="A phone number (repeat).")] = None,
    username: Annotated[list[str] | None, typer.Option(help="A user name (repeat).")] = None,
    url: Annotated[list[str] | None, typer.Option(help="A URL of theirs (repeat).")] = None,
    other: Annotated[list[str] | None, typer.Option(help="Any other identifier (repeat).")] = None,
    channel: Annotated[str, typer.Option(help=", ".join(cases.CHANNELS))] = "email",
    received: Annotated[str | None, typer.Option(help="Date received, YYYY-MM-DD (today).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Open a case; prints its id (the identifiers are sealed and never printed again here)."""
    ids = {"email": email, "phone": phone, "username": username, "url": url, "other": other}
    when = _date(received) if received else None
    case_id = cases.open_case(
        _settings(data_dir), kind, name, {k: v for k, v in ids.items() if v}, channel, when
    )
    print(case_id)


def _date(value: str) -> date:
    from corpuscope.errors import UsageError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError("a date is YYYY-MM-DD") from None


@dsr_app.command("list")
def list_cmd(
    due: Annotated[bool, typer.Option("--due", help="Only overdue and due-soon cases.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
) -> None:
    """List cases with their deadlines (no identifiers)."""
    rows = cases.list_cases(_settings(data_dir), due_only=due)
    if as_json:
        _print(rows)
        return
    t = Table(title="Data-subject request cases" + (" due" if due else ""))
    for col in ("case", "kind", "state", "received", "due", "deadline", "days left"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["case_id"],
            r["kind"],
            r["state"],
            r["received"],
            r["due"],
            r["deadline"],
            str(r["days_left"]),
        )
    out.print(t)


@dsr_app.command("show")
def show_cmd(case_id: CaseId, data_dir: DataDir = None) -> None:
    """Everything about a case as JSON: record, identifiers, history, evidence."""
    _print(cases.show(_settings(data_dir), case_id))


@dsr_app.command("verify-identity")
def verify_cmd(
    case_id: CaseId,
    method: Annotated[str, typer.Option(help="How the identity was checked.")],
    data_dir: DataDir = None,
) -> None:
    """Record that the person's identity was verified, and how."""
    _print(cases.verify_identity(_settings(data_dir), case_id, method))


@dsr_app.command("request-info")
def request_info_cmd(
    case_id: CaseId,
    reason: Annotated[str, typer.Option(help="Why more information is needed.")],
    data_dir: DataDir = None,
) -> None:
    """Record a request for more information to verify the identity."""
    _print(cases.request_info(_settings(data_dir), case_id, reason))


@dsr_app.command("search")
def search_cmd(case_id: CaseId, data_dir: DataDir = None) -> None:
    """Search every corpus for the subject and store the evidence with the case."""
    from corpuscope.dsr.search import search_case
    from corpuscope.index.searcher import Indexes
    from corpuscope.store import Store

    settings = _settings(data_dir)
    _print(search_case(settings, Indexes(Store(settings.data), settings.query_threads), case_id))


@evidence_app.command("add")
def evidence_add_cmd(case_id: CaseId, doc_id: str, data_dir: DataDir = None) -> None:
    """Add a stored document to the case's evidence."""
    from corpuscope.dsr.search import edit_evidence

    _print(edit_evidence(_settings(data_dir), case_id, doc_id, drop=False))


@evidence_app.command("drop")
def evidence_drop_cmd(case_id: CaseId, doc_id: str, data_dir: DataDir = None) -> None:
    """Drop a document from the case's evidence."""
    from corpuscope.dsr.search import edit_evidence

    _print(edit_evidence(_settings(data_dir), case_id, doc_id, drop=True))


@dsr_app.command("decide")
def decide_cmd(
    case_id: CaseId,
    outcome: Annotated[str, typer.Option(help=", ".join(cases.OUTCOMES))],
    reasons: Annotated[str, typer.Option(help="Reasons (needed to refuse).")] = "",
    data_dir: DataDir = None,
) -> None:
    """Decide; granting an erasure or objection suppresses the evidence at once."""
    _print(cases.decide(_settings(data_dir), case_id, outcome, reasons))


@dsr_app.command("extend")
def extend_cmd(
    case_id: CaseId,
    months: Annotated[int, typer.Option(help="1 or 2.")],
    reason: Annotated[str, typer.Option(help="The reason given to the person.")],
    data_dir: DataDir = None,
) -> None:
    """Extend the deadline (within the first month, with the reason told to the person)."""
    _print(cases.extend(_settings(data_dir), case_id, months, reason))


@dsr_app.command("fulfil")
def fulfil_cmd(
    case_id: CaseId,
    answer: Annotated[str, typer.Option(help="The answer sent to the person.")],
    action: Annotated[str, typer.Option(help="What was done to the data.")] = "",
    models: Annotated[str, typer.Option(help="Note on models trained on the data.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Record the answer sent and the action taken."""
    _print(cases.fulfil(_settings(data_dir), case_id, answer, action, models))


@dsr_app.command("close")
def close_cmd(case_id: CaseId, data_dir: DataDir = None) -> None:
    """Close a fulfilled case."""
    _print(cases.close(_settings(data_dir), case_id))


@dsr_app.command("report")
def report_cmd(
    case_id: CaseId,
    fmt: Annotated[str, typer.Option("--format", help="json or html.")] = "html",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
    data_dir: DataDir = None,
) -> None:
    """The access report (Art. 15) of a case."""
    from corpuscope.dsr.report import build_report, to_html
    from corpuscope.errors import UsageError

    if fmt not in ("json", "html"):
        raise UsageError("--format is json or html")
    report = build_report(_settings(data_dir), case_id)
    text = to_html(report) if fmt == "html" else json.dumps(report, indent=1, default=str)
    if out_file:
        out_file.write_text(text)
        print(out_file)
    else:
        print(text)


@dsr_app.command("apply")
def apply_cmd(
    corpus: Annotated[str | None, typer.Option(help="One corpus (default: all).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Remove suppressed documents from shards, sidecars, index and statistics, and verify."""
    from corpuscope.dsr.apply import apply

    _print(apply(_settings(data_dir), corpus))


@dsr_app.command("suppressed")
def suppressed_cmd(
    corpus: Annotated[str | None, typer.Option(help="One corpus.")] = None, data_dir: DataDir = None
) -> None:
    """The suppression list (ids, hashes, reasons, cases, dates)."""
    from corpuscope.dsr.suppression import entries

    _print(entries(_settings(data_dir).data, corpus))


@rule_app.command("add")
def rule_add_cmd(
    kind: Annotated[str, typer.Option(help="domain, url_prefix or identifier.")],
    value: Annotated[str, typer.Option(help="The domain, URL prefix or identifier.")],
    reason: Annotated[str, typer.Option(help="Why (a site owner's request, a TDM reservation …).")],
    identifier_kind: Annotated[
        str | None, typer.Option(help="email, phone, username, url, other.")
    ] = None,
    corpus: Annotated[str | None, typer.Option(help="Only this corpus.")] = None,
    case: Annotated[str | None, typer.Option(help="The case it belongs to.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Add an opt-out rule: stored matches are suppressed now, later ingests skip them."""
    from corpuscope.dsr.rules import add_rule

    _print(add_rule(_settings(data_dir), kind, value, reason, corpus, case, identifier_kind))


@rule_app.command("list")
def rule_list_cmd(data_dir: DataDir = None) -> None:
    """The opt-out rules (identifier values are never shown)."""
    from corpuscope.dsr.rules import listed

    _print(listed(_settings(data_dir).data))


@audit_app.command("verify")
def audit_verify_cmd(data_dir: DataDir = None) -> None:
    """Check every link of the audit log's hash chain and its head; exit 1 if broken."""
    from corpuscope.dsr.audit import verify_chain

    report = verify_chain(_settings(data_dir).data / "state.sqlite")
    _print(report.to_json())
    if not report.ok:
        raise typer.Exit(1)


def export_cmd(
    corpus: Annotated[str, typer.Option(help="The corpus to export.")],
    out_dir: Annotated[Path, typer.Option("--out", help="A new folder for the copy.")],
    data_dir: DataDir = None,
) -> None:
    """A training-ready copy of a corpus without any suppressed document, with a manifest
    naming the suppression list version it honours."""
    from corpuscope.dsr.export import export_corpus

    m = export_corpus(_settings(data_dir), corpus, out_dir)
    _print({k: v for k, v in m.items() if k != "files"} | {"files": len(m["files"])})
