"""Data-subject requests (officers): cases, their steps, evidence, reports, rules, apply; the
audit chain's check (auditors). Every route here needs a key: 401 without, 403 below its role.
The actor of every audit entry is the key's name."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from corpuscope.api.auth import Caller, Require
from corpuscope.api.deps import run_query
from corpuscope.api.errors import ERROR_RESPONSES
from corpuscope.dsr import cases

_ROLE_RESPONSES = {403: ERROR_RESPONSES[401] | {"description": "forbidden"}}
#: For a page: its errors are still the JSON error body (FastAPI would list them as HTML).
_JSON_ERRORS = {
    code: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for code, response in (ERROR_RESPONSES | _ROLE_RESPONSES).items()
}
router = APIRouter(
    prefix="/dsr", tags=["data-subject requests"], responses=ERROR_RESPONSES | _ROLE_RESPONSES
)
Officer = Annotated[Caller, Depends(Require("officer"))]
Auditor = Annotated[Caller, Depends(Require("auditor"))]
Admin = Annotated[Caller, Depends(Require("admin"))]
CaseId = Annotated[str, Path(max_length=64, pattern=r"^case-[0-9a-f]{16}$")]
Text = Annotated[str, Field(max_length=4000)]


class Identifiers(BaseModel):
    email: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=20)
    phone: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=20)
    username: list[Annotated[str, Field(max_length=512)]] = Field(
        default_factory=list, max_length=20
    )
    url: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=20)
    other: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=20)


class CaseIn(BaseModel):
    kind: Literal["access", "erasure", "objection"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    identifiers: Identifiers = Field(default_factory=Identifiers)
    channel: Literal[cases.CHANNELS] = "email"  # type: ignore[valid-type]
    received: date | None = None


class Opened(BaseModel):
    case_id: str


class Method(BaseModel):
    method: Text


class Reason(BaseModel):
    reason: Text


class Extension(BaseModel):
    months: Literal[1, 2]
    reason: Text


class Decision(BaseModel):
    outcome: Literal["granted", "partially_granted", "refused", "not_identified"]
    reasons: Text = ""


class Fulfilment(BaseModel):
    answer: Text
    action: Text = ""
    models: Text = ""


class EvidenceDoc(BaseModel):
    doc_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class RuleIn(BaseModel):
    kind: Literal["domain", "url_prefix", "identifier"]
    value: Annotated[str, Field(min_length=1, max_length=2048)]
    reason: Text
    identifier_kind: Literal["email", "phone", "username", "url", "other"] | None = None
    corpus: Annotated[str | None, Field(max_length=64)] = None
    case_id: Annotated[str | None, Field(max_length=64)] = None


def _settings(request: Request):
    return request.app.state.settings


@router.post("/cases", response_model=Opened, status_code=201)
async def open_case(request: Request, body: CaseIn, who: Officer) -> Opened:
    """Open a case for a person (identifiers are sealed at rest and never logged)."""
    case_id = await run_query(
        request,
        cases.open_case,
        _settings(request),
        body.kind,
        body.name,
        {k: v for k, v in body.identifiers.model_dump().items() if v},
        body.channel,
        body.received,
        who.name,
    )
    return Opened(case_id=case_id)


@router.get("/cases")
async def list_cases(request: Request, who: Officer, due: bool = False) -> list[dict[str, Any]]:
    """Every case with its deadline (`due=true`: overdue and due soon only); no identifiers."""
    return await run_query(request, cases.list_cases, _settings(request), due)


@router.get("/cases/{case_id}")
async def show_case(request: Request, case_id: CaseId, who: Officer) -> dict[str, Any]:
    """A case: its record, identifiers, history and evidence."""
    return await run_query(request, cases.show, _settings(request), case_id)


@router.post("/cases/{case_id}/verify-identity")
async def verify_identity(request: Request, case_id: CaseId, body: Method, who: Officer) -> dict:
    return await run_query(
        request, cases.verify_identity, _settings(request), case_id, body.method, who.name
    )


@router.post("/cases/{case_id}/request-info")
async def request_info(request: Request, case_id: CaseId, body: Reason, who: Officer) -> dict:
    return await run_query(
        request, cases.request_info, _settings(request), case_id, body.reason, who.name
    )


@router.post("/cases/{case_id}/search")
async def search(request: Request, case_id: CaseId, who: Officer) -> dict:
    """Search every corpus for the subject; the evidence is stored with the case."""
    from corpuscope.dsr.search import search_case

    return await run_query(
        request, search_case, _settings(request), request.app.state.indexes, case_id, who.name
    )


@router.post("/cases/{case_id}/evidence")
async def add_evidence(request: Request, case_id: CaseId, body: EvidenceDoc, who: Officer) -> dict:
    from corpuscope.dsr.search import edit_evidence

    return await run_query(
        request, edit_evidence, _settings(request), case_id, body.doc_id, False, who.name
    )


@router.delete("/cases/{case_id}/evidence/{doc_id}")
async def drop_evidence(
    request: Request,
    case_id: CaseId,
    doc_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    who: Officer,
) -> dict:
    from corpuscope.dsr.search import edit_evidence

    return await run_query(
        request, edit_evidence, _settings(request), case_id, doc_id, True, who.name
    )


@router.post("/cases/{case_id}/decide")
async def decide(request: Request, case_id: CaseId, body: Decision, who: Officer) -> dict:
    """Decide; granting an erasure or objection suppresses the evidence at once."""
    return await run_query(
        request, cases.decide, _settings(request), case_id, body.outcome, body.reasons, who.name
    )


@router.post("/cases/{case_id}/extend")
async def extend(request: Request, case_id: CaseId, body: Extension, who: Officer) -> dict:
    return await run_query(
        request, cases.extend, _settings(request), case_id, body.months, body.reason, who.name
    )


@router.post("/cases/{case_id}/fulfil")
async def fulfil(request: Request, case_id: CaseId, body: Fulfilment, who: Officer) -> dict:
    return await run_query(
        request,
        cases.fulfil,
        _settings(request),
        case_id,
        body.answer,
        body.action,
        body.models,
        who.name,
    )


@router.post("/cases/{case_id}/close")
async def close(request: Request, case_id: CaseId, who: Officer) -> dict:
    return await run_query(request, cases.close, _settings(request), case_id, who.name)


@router.get("/cases/{case_id}/report.json")
async def report_json(request: Request, case_id: CaseId, who: Officer) -> dict:
    """The access report (Art. 15) as JSON."""
    from corpuscope.dsr.report import build_report

    return await run_query(request, build_report, _settings(request), case_id)


@router.get("/cases/{case_id}/report.html", response_class=HTMLResponse, responses=_JSON_ERRORS)
async def report_html(request: Request, case_id: CaseId, who: Officer) -> HTMLResponse:
    """The access report as one plain, printable page for the person."""
    from corpuscope.dsr.report import build_report, to_html

    report = await run_query(request, build_report, _settings(request), case_id)
    return HTMLResponse(to_html(report))


@router.get("/suppressed")
async def suppressed(request: Request, who: Officer) -> list[dict[str, Any]]:
    """The suppression list (document ids, text hashes, reasons, cases, dates)."""
    from corpuscope.dsr.suppression import entries

    return await run_query(request, entries, _settings(request).data)


@router.post("/rules", status_code=201)
async def add_rule(request: Request, body: RuleIn, who: Officer) -> dict:
    """An opt-out rule: stored matches are suppressed now, later ingests skip them."""
    from corpuscope.dsr.rules import add_rule as add

    return await run_query(
        request,
        add,
        _settings(request),
        body.kind,
        body.value,
        body.reason,
        body.corpus,
        body.case_id,
        body.identifier_kind,
        who.name,
    )


@router.get("/rules")
async def rules(request: Request, who: Officer) -> list[dict[str, Any]]:
    from corpuscope.dsr.rules import listed

    return await run_query(request, listed, _settings(request).data)


@router.post("/apply")
async def apply(request: Request, who: Admin) -> list[dict[str, Any]]:
    """Remove suppressed documents from every stored artifact and verify (admin)."""
    from corpuscope.dsr.apply import apply as run

    settings = _settings(request)
    return await run_query(
        request, run, settings.model_copy(update={"query_timeout": 3600.0}), None, who.name
    )


@router.get("/audit/verify")
async def audit_verify(request: Request, who: Auditor) -> dict[str, Any]:
    """Check the audit log's hash chain and head (auditor)."""
    from corpuscope.dsr.audit import verify_chain

    report = await run_query(request, verify_chain, _settings(request).data / "state.sqlite")
    return report.to_json()
