"""The UI's Cases pages: data-subject requests for privacy officers, over the functions of
`corpuscope.dsr` that `/v1/dsr` calls.

The officer's key is typed once per browser session into a posted form; the key itself is
never kept (not in the page, a URL or a cookie): the answer sets a session cookie (HttpOnly,
SameSite=Strict, gone when the browser closes) holding the key's name, role and an expiry,
signed with a key derived from the store's secret. Every request checks the signature, the
expiry (`ui_session_minutes`) and that the key is still active with that role, so revoking the
key ends its sessions. Every form carries the CSRF token of `pages`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import date
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from corpuscope.api.auth import Caller
from corpuscope.api.deps import run_query
from corpuscope.dsr import cases
from corpuscope.errors import CorpuscopeError, UsageError
from corpuscope.ui.pages import (
    Forbidden,
    _limited,
    _message,
    csrf_checked,
    derived_key,
    form_of,
    render,
)

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "corpuscope_officer"
#: A case's deadline status (`cases.deadline_status`) in words.
DEADLINES = {
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "open": "Open",
    "done": "Answered",
}


def _sign(request: Request, payload: bytes) -> str:
    return hmac.new(derived_key(request, "officer session"), payload, hashlib.sha256).hexdigest()


def session_cookie(request: Request, who: Caller) -> str:
    expires = int(time.time() + 60 * request.app.state.settings.ui_session_minutes)
    payload = base64.urlsafe_b64encode(json.dumps([who.name, who.role, expires]).encode())
    return f"{payload.decode()}.{_sign(request, payload)}"


def _active(request: Request, name: str, role: str) -> bool:
    return any(
        k.name == name and k.role == role and k.revoked is None
        for k in request.app.state.state.api_keys()
    )


async def officer(request: Request) -> Caller | None:
    """The officer of this browser session (None: not signed in, expired or revoked)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    payload, _, sig = cookie.encode().partition(b".")
    if not payload or not hmac.compare_digest(sig.decode(), _sign(request, payload)):
        return None
    try:
        name, role, expires = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    if expires < time.time():
        return None
    who = Caller(name, role)
    if not who.at_least("officer"):
        return None
    if not await anyio.to_thread.run_sync(_active, request, name, role):
        return None
    return who


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, template, status, nav="cases", deadlines=DEADLINES, **context)


async def _listing(request: Request, who: Caller, status: int = 200, **context) -> HTMLResponse:
    settings = request.app.state.settings
    rows = await run_query(request, cases.list_cases, settings, False)
    return _page(
        request,
        "cases.html",
        status,
        who=who,
        rows=rows,
        kinds=cases.CASE_KINDS,
        channels=cases.CHANNELS,
        **context,
    )


@router.get("/cases", response_class=HTMLResponse)
async def cases_page(request: Request) -> HTMLResponse:
    who = await officer(request)
    if who is None:
        return _page(request, "cases.html", who=None)
    try:
        return await _listing(request, who)
    except CorpuscopeError as exc:
        return _page(request, "cases.html", exc.status, who=who, rows=[], error=str(exc))


@router.post("/cases/session", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Sign in with an officer's key (typed once; only a signed session cookie is kept)."""
    try:
        form = await form_of(request)
        csrf_checked(request, form)
        await _limited(request)  # guessing keys spends the address's budget
        key = form.get("key", "").strip()
        found = await anyio.to_thread.run_sync(request.app.state.state.authenticate, key)
        if found is None or not Caller(*found).at_least("officer"):
            raise Forbidden("this key is unknown, revoked, or not an officer's")
    except CorpuscopeError as exc:
        return _page(request, "cases.html", exc.status, who=None, error=str(exc))
    response = RedirectResponse("/cases", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(request, Caller(*found)),
        httponly=True,
        samesite="strict",
        path="/cases",
    )
    return response


@router.post("/cases/session/end", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    try:
        csrf_checked(request, await form_of(request))
    except CorpuscopeError as exc:
        return _page(request, "cases.html", exc.status, who=None, error=str(exc))
    response = RedirectResponse("/cases", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/cases")
    return response


@router.post("/cases/open", response_class=HTMLResponse)
async def open_case(request: Request) -> Response:
    who = await officer(request)
    if who is None:
        return _page(request, "cases.html", 401, who=None, error="sign in first")
    try:
        form = await form_of(request)
        csrf_checked(request, form)
        identifiers = {
            kind: [form[kind].strip()]
            for kind in ("email", "phone", "username", "url")
            if form.get(kind, "").strip()
        }
        name = form.get("name", "").strip()
        if not name:
            raise UsageError("the person's name is needed")
        received = form.get("received", "").strip() or None
        case_id = await run_query(
            request,
            cases.open_case,
            request.app.state.settings,
            form.get("kind", ""),
            name,
            identifiers,
            form.get("channel", "email"),
            date.fromisoformat(received) if received else None,
            who.name,
        )
    except ValueError as exc:  # a date that is not one
        message = (
            _message(exc)
            if isinstance(exc, ValidationError)
            else "the date received is not a date (YYYY-MM-DD)"
        )
        return await _listing(request, who, 422, error=message)
    except CorpuscopeError as exc:
        return await _listing(request, who, exc.status, error=str(exc))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def _case(request: Request, who: Caller, case_id: str, status: int = 200, **context):
    settings = request.app.state.settings
    case = await run_query(request, cases.show, settings, case_id)
    return _page(
        request,
        "case.html",
        status,
        who=who,
        case=case,
        outcomes=cases.OUTCOMES,
        steps={k: v[0] for k, v in cases.STEPS.items()},
        **context,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str, done: str = "") -> HTMLResponse:
    who = await officer(request)
    if who is None:
        return _page(request, "cases.html", 401, who=None, error="sign in first")
    try:
        return await _case(request, who, case_id[:64], done=done if done in STEPS else "")
    except CorpuscopeError as exc:
        return await _listing(request, who, exc.status, error=str(exc))


def _step(request: Request, who: Caller, case_id: str, action: str, form: dict[str, str]):
    """Run one step of a case (blocking: called in a worker thread)."""
    settings = request.app.state.settings
    if action == "verify":
        return cases.verify_identity(settings, case_id, form.get("method", ""), who.name)
    if action == "request-info":
        return cases.request_info(settings, case_id, form.get("reason", ""), who.name)
    if action == "search":
        from corpuscope.dsr.search import search_case

        return search_case(settings, request.app.state.indexes, case_id, who.name)
    if action in ("drop", "restore"):
        from corpuscope.dsr.search import edit_evidence

        return edit_evidence(settings, case_id, form.get("doc_id", ""), action == "drop", who.name)
    if action == "decide":
        return cases.decide(
            settings, case_id, form.get("outcome", ""), form.get("reasons", ""), who.name
        )
    if action == "extend":
        return cases.extend(
            settings, case_id, int(form.get("months") or 0), form.get("reason", ""), who.name
        )
    if action == "fulfil":
        return cases.fulfil(
            settings,
            case_id,
            form.get("answer", ""),
            form.get("action", ""),
            form.get("models", ""),
            who.name,
        )
    if action == "close":
        return cases.close(settings, case_id, who.name)
    if action == "apply":
        if not who.at_least("admin"):
            raise Forbidden(f"applying erasure needs the admin role (this key is {who.role})")
        from corpuscope.dsr.apply import apply

        long = settings.model_copy(update={"query_timeout": 3600.0})
        return apply(long, None, who.name)
    raise UsageError(f"unknown step {action!r}")


#: The steps a case page can post (`_step`).
STEPS = (
    "verify",
    "request-info",
    "search",
    "drop",
    "restore",
    "decide",
    "extend",
    "fulfil",
    "close",
    "apply",
)


@router.post("/cases/{case_id}/{action}", response_class=HTMLResponse)
async def case_step(request: Request, case_id: str, action: str) -> Response:
    who = await officer(request)
    if who is None:
        return _page(request, "cases.html", 401, who=None, error="sign in first")
    case_id = case_id[:64]
    try:
        form = await form_of(request)
        csrf_checked(request, form)
        if action not in STEPS:
            raise UsageError(f"unknown step {action[:32]!r}")
        if action == "apply":
            await anyio.to_thread.run_sync(_step, request, who, case_id, action, form)
        else:
            await run_query(request, _step, request, who, case_id, action, form)
    except (ValueError, CorpuscopeError) as exc:
        status = exc.status if isinstance(exc, CorpuscopeError) else 422
        message = str(exc) if isinstance(exc, CorpuscopeError) else "a field is not valid"
        try:
            return await _case(request, who, case_id, status, error=message)
        except CorpuscopeError as again:
            return await _listing(request, who, again.status, error=str(again))
    return RedirectResponse(f"/cases/{case_id}?done={action}", status_code=303)


@router.get("/cases/{case_id}/report.{fmt}")
async def report(request: Request, case_id: str, fmt: str) -> Response:
    """The access report as a download (HTML for the person, or JSON)."""
    who = await officer(request)
    if who is None:
        return _page(request, "cases.html", 401, who=None, error="sign in first")
    from corpuscope.dsr.report import build_report, to_html

    try:
        if fmt not in ("html", "json"):
            raise UsageError("a report is report.html or report.json")
        built = await run_query(request, build_report, request.app.state.settings, case_id[:64])
    except CorpuscopeError as exc:
        return await _case(request, who, case_id[:64], exc.status, error=str(exc))
    body = to_html(built) if fmt == "html" else json.dumps(built, default=str, indent=1)
    media = "text/html" if fmt == "html" else "application/json"
    return Response(
        body,
        media_type=media,
        headers={
            "content-disposition": f'attachment; filename="{case_id[:64]}-report.{fmt}"',
            "cache-control": "no-store",
        },
    )
