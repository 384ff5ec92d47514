"""The web UI's pages: server-rendered (Jinja2) over the very functions the API routes call,
always as the public sees them (`docs/privacy.md`, "The contract"): redacted snippets, small
cells withheld. Forms that are posted carry a CSRF token; every response of the UI gets a
strict Content-Security-Policy (`SecurityHeaders`): scripts and styles from `/static/ui` only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pydantic import ValidationError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpuscope.api.deps import run_query, run_question
from corpuscope.api.routes.corpora import as_seen, listed
from corpuscope.errors import CorpuscopeError, NotFound, QueryError, UsageError
from corpuscope.index.membership import membership
from corpuscope.index.person import person
from corpuscope.index.query import exact, search
from corpuscope.models.answers import REDACTED, WITHHELD, Filters, MembershipRequest, PersonRequest
from corpuscope.privacy.hashing import store_key
from corpuscope.stats.summary import build_summary, load_provider, provider_file, to_markdown

log = logging.getLogger("corpuscope.ui")
HERE = Path(__file__).resolve().parent
#: Where the UI's CSS, JavaScript and vendored libraries are served from (package data).
STATIC_URL = "/static/ui"
#: Results per page of the Ask page's search (the API's default `k`).
PAGE_SIZE = 10
#: Rows of a statistics table shown under its chart (the downloads hold every row).
TABLE_ROWS = 25
CSRF_COOKIE = "corpuscope_csrf"
CSRF_FIELD = "csrf_token"
#: No inline script or style, nothing from another origin, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
#: Paths whose pages are not the UI's (Swagger UI and ReDoc run inline scripts of their own).
_NOT_UI = ("/docs", "/redoc", "/static/docs", "/openapi.json")

router = APIRouter(include_in_schema=False)
env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every value is escaped unless a filter here marks it safe
    trim_blocks=True,
    lstrip_blocks=True,
)


# -- filters -------------------------------------------------------------------------------------
def marked(text: str, spans: list[Any]) -> Markup:
    """`text` escaped, with `[start, end)` spans (tuples or `Span`s) wrapped in `<mark>`."""
    pairs = sorted(
        (s.start, s.end) if hasattr(s, "start") else (int(s[0]), int(s[1])) for s in spans or []
    )
    out, at = [], 0
    for start, end in pairs:
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        out += [str(escape(text[at:start])), f"<mark>{escape(text[start:end])}</mark>"]
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def figure(value: Any) -> str:
    """A figure as people read it; None (withheld by the small-cell rule) says so."""
    if value is None:
        return "withheld"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value)


def size(value: int | None) -> str:
    if value is None:
        return "withheld"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return str(value)  # pragma: no cover


def percent(value: float | None) -> str:
    return "withheld" if value is None else f"{100 * value:.1f}%"


env.filters.update(marked=marked, figure=figure, size=size, percent=percent)
env.globals.update(static=STATIC_URL, WITHHELD=WITHHELD, REDACTED=REDACTED)


# -- CSRF, headers, rendering --------------------------------------------------------------------
def derived_key(request: Request, purpose: str) -> bytes:
    """A key for `purpose` ("csrf", "officer session") derived from the store's secret, so
    the same in every worker; kept on the app once made."""
    name = "ui_key_" + purpose.replace(" ", "_")
    key = getattr(request.app.state, name, None)
    if key is None:
        secret = store_key(request.app.state.settings.data)
        key = hmac.new(secret, f"corpuscope ui {purpose}".encode(), hashlib.sha256).digest()
        setattr(request.app.state, name, key)
    return key


def _token(request: Request, cookie: str) -> str:
    return hmac.new(derived_key(request, "csrf"), cookie.encode(), hashlib.sha256).hexdigest()


def csrf_checked(request: Request, form: dict[str, str]) -> None:
    """Refuse a posted form whose token is not the one of this browser's CSRF cookie (signed
    double submit), or that comes from another origin."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise Forbidden("this form was sent from another site")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(sent, _token(request, cookie)):
        raise Forbidden(
            "the form's security token is missing or stale: reload the page and try again"
        )


class Forbidden(CorpuscopeError):
    """A form without a valid CSRF token (403)."""

    status = 403


class SecurityHeaders:
    """The UI's headers on every response but the API docs pages': a strict CSP, no sniffing,
    no framing, no referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NOT_UI):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", CSP)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("referrer-policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, sending)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page, with this browser's CSRF cookie set when it has none (a session cookie)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = cookie is None
    cookie = cookie or secrets.token_urlsafe(32)
    html = env.get_template(template).render(
        request=request, csrf_token=_token(request, cookie), path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict", path="/")
    return response


async def form_of(request: Request) -> dict[str, str]:
    """A posted URL-encoded form (the body is bounded by `max_body_bytes`), first values."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise UsageError("send the form as application/x-www-form-urlencoded")
    body = (await request.body()).decode("utf-8", "replace")
    try:
        parsed = parse_qs(body, keep_blank_values=True, max_num_fields=64)
    except ValueError:  # more fields than any form of ours has
        raise UsageError("the form has too many fields") from None
    return {k: v[0] for k, v in parsed.items()}


def _message(exc: ValidationError) -> str:
    """A validation error in words, without the value sent (it may be personal)."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"]) or "input"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


async def _limited(request: Request) -> None:
    """Questions asked through the UI spend the client address's budget, as on `/v1`."""
    limits = getattr(request.app.state, "rate_limits", None)
    if limits is not None and await limits.address_refusal(request.scope) is not None:
        raise TooMany("too many questions from your address: wait a minute and ask again")


class TooMany(CorpuscopeError):
    status = 429


def _corpus_names(request: Request) -> list[str]:
    return sorted(request.app.state.indexes.store.corpora())


def _filters(form: dict[str, str]) -> dict[str, Any]:
    """The filter fields of a form (empty ones left out); dates as given (ISO)."""
    out: dict[str, Any] = {}
    corpus = form.get("corpus", "")
    if corpus:
        out["corpora"] = [corpus]
    for key in ("domain", "language"):
        if form.get(key, "").strip():
            out[key] = form[key].strip()
    for key in ("since", "until"):
        if form.get(key, "").strip():
            out[key] = form[key].strip()
    return out


# -- Ask -----------------------------------------------------------------------------------------
INTENTS = {
    "text": "Is this text in the training data?",
    "person": "Is this person in it?",
    "search": "Search",
}
VERDICTS = {
    "verbatim": "Yes: this text is in the training data, word for word.",
    "near-duplicate": "Very likely: a document holds most of this text.",
    "partial": "In part: pieces of this text are in the training data.",
    "not-found": "Not found: no document searched holds this text.",
    "inconclusive": "Not found so far: not everything asked could be searched (see below).",
    "withheld": "Withheld: the question was narrowed too far to answer.",
}


def _ask(request: Request, intent: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(
        request,
        "ask.html",
        status,
        nav="ask",
        intent=intent if intent in INTENTS else "text",
        intents=INTENTS,
        corpora=_corpus_names(request),
        form=context.pop("form", {}),
        **context,
    )


@router.get("/", response_class=HTMLResponse)
async def ask_page(request: Request, intent: str = "text") -> HTMLResponse:
    return _ask(request, intent)


@router.post("/ask/text", response_class=HTMLResponse)
async def ask_text(request: Request) -> HTMLResponse:
    form: dict[str, str] = {}
    try:
        form = await form_of(request)
        csrf_checked(request, form)
        await _limited(request)
        body = MembershipRequest(passage=form.get("passage", ""), **_filters(form))
        filters = Filters(**body.model_dump(include=set(Filters.model_fields)))
        answer = await run_question(
            request,
            membership,
            request.app.state.indexes,
            body.passage,
            request.app.state.settings,
            filters,
            k=body.k,
        )
    except ValidationError as exc:
        return _ask(request, "text", 422, form=form, error=_message(exc))
    except CorpuscopeError as exc:
        return _ask(request, "text", exc.status, form=form, error=str(exc))
    return _ask(request, "text", form=form, membership=answer, verdicts=VERDICTS)


@router.post("/ask/person", response_class=HTMLResponse)
async def ask_person(request: Request) -> HTMLResponse:
    form: dict[str, str] = {}
    try:
        form = await form_of(request)
        csrf_checked(request, form)
        await _limited(request)
        emails = [form["email"].strip()] if form.get("email", "").strip() else []
        phones = [form["phone"].strip()] if form.get("phone", "").strip() else []
        body = PersonRequest(
            name=form.get("name", "").strip(), emails=emails, phones=phones, **_filters(form)
        )
        if not body.name and not emails and not phones:
            raise QueryError("give a name, an e-mail address or a phone number")
        answer = await run_question(
            request,
            person,
            request.app.state.indexes,
            body.name,
            request.app.state.settings,
            emails=body.emails,
            phones=body.phones,
            filters=Filters(**body.model_dump(include=set(Filters.model_fields))),
            k=body.k,
        )
    except ValidationError as exc:
        return _ask(request, "person", 422, form=form, error=_message(exc))
    except CorpuscopeError as exc:
        return _ask(request, "person", exc.status, form=form, error=str(exc))
    # the identifiers typed are not shown back: the answer labels them "email 1", "phone 1"
    return _ask(request, "person", form={**form, "email": "", "phone": ""}, person=answer)


@router.get("/ask/search", response_class=HTMLResponse)
async def ask_search(request: Request) -> HTMLResponse:
    form = {k: v for k, v in request.query_params.items()}
    q = form.get("q", "")
    if not q.strip():
        return _ask(request, "search", form=form)
    try:
        await _limited(request)
        page = max(1, int(form.get("page") or 1))
        filters = Filters(**_filters(form))
        settings = request.app.state.settings
        if form.get("mode") == "exact":
            answer = await run_question(
                request, exact, request.app.state.indexes, q, settings, filters, k=PAGE_SIZE
            )
        else:
            answer = await run_question(
                request,
                search,
                request.app.state.indexes,
                q,
                settings,
                filters,
                k=PAGE_SIZE,
                offset=(page - 1) * PAGE_SIZE,
            )
    except ValueError as exc:  # pydantic's ValidationError is one, and so is int("x")
        message = _message(exc) if isinstance(exc, ValidationError) else "page must be a number"
        return _ask(request, "search", 422, form=form, error=message)
    except CorpuscopeError as exc:
        return _ask(request, "search", exc.status, form=form, error=str(exc))
    pages = None
    if form.get("mode") != "exact" and answer.total is not None:
        last = max(1, math.ceil(answer.total / PAGE_SIZE))
        links = {}
        for label, n in (("Previous", page - 1), ("Next", page + 1)):
            if 1 <= n <= last:
                links[label] = "/ask/search?" + urlencode({**form, "page": n})
        pages = {"page": page, "last": last, "links": links}
    return _ask(request, "search", form=form, search=answer, pages=pages)


# -- Corpora and dashboards ----------------------------------------------------------------------
@dataclass(frozen=True)
class ChartSpec:
    """A dashboard chart: its tables (shown and downloadable) and the points it draws."""

    key: str
    title: str
    tables: tuple[str, ...]
    kind: str  # bar | hbar (horizontal bars) | line
    about: str


CHARTS = (
    ChartSpec(
        "domains",
        "Top domains",
        ("by_domain",),
        "hbar",
        "Documents per registered domain, the most frequent first.",
    ),
    ChartSpec("languages", "Languages", ("by_language",), "bar", "Documents per language."),
    ChartSpec(
        "months", "Documents over time", ("by_month",), "line", "Documents per month crawled."
    ),
    ChartSpec(
        "lengths",
        "Document lengths",
        ("length_histogram",),
        "bar",
        "Documents per length in words.",
    ),
    ChartSpec(
        "pii",
        "Personal data by type",
        ("pii",),
        "bar",
        "Spans of personal data found by the scan, per type (the public sees each as its type).",
    ),
    ChartSpec(
        "duplicates",
        "Duplicates",
        ("duplicates_exact", "near_duplicates"),
        "bar",
        "Documents that repeat another exactly, and documents in clusters of near duplicates.",
    ),
)


def _points(key: str, tables: dict[str, list[dict]]) -> list[tuple[str, float]]:
    """The (label, value) pairs a chart draws: rows whose figure is shown (not withheld)."""
    if key == "domains":
        rows = sorted(
            (r for r in tables["by_domain"] if r.get("documents") is not None),
            key=lambda r: (r.get("rank") or 0, r["domain"]),
        )
        return [(r["domain"], r["documents"]) for r in rows[:20]]
    if key == "languages":
        rows = [r for r in tables["by_language"] if r.get("documents") is not None]
        return [(r["language"] or "unknown", r["documents"]) for r in rows]
    if key == "months":
        rows = [r for r in tables["by_month"] if r.get("documents") is not None and r["month"]]
        return [(str(r["month"]), r["documents"]) for r in sorted(rows, key=lambda r: r["month"])]
    if key == "lengths":
        return [
            (f"{r['min_words']}-{r['max_words']}", r["documents"])
            for r in tables["length_histogram"]
            if r.get("documents") is not None
        ]
    if key == "pii":
        return [(r["entity_type"], r["spans"]) for r in tables["pii"] if r.get("spans") is not None]
    exact_rows, near_rows = tables["duplicates_exact"], tables["near_duplicates"]
    out = []
    if exact_rows and exact_rows[0].get("documents_in_groups") is not None:
        out.append(("in exact-duplicate groups", exact_rows[0]["documents_in_groups"]))
    if exact_rows and exact_rows[0].get("redundant_documents") is not None:
        out.append(("redundant exact copies", exact_rows[0]["redundant_documents"]))
    if near_rows and near_rows[0].get("documents_in_clusters") is not None:
        out.append(("in near-duplicate clusters", near_rows[0]["documents_in_clusters"]))
    return out


def _public_rows(request: Request, corpus: str, table: str) -> dict[str, Any]:
    """One public table as `GET /v1/corpora/{c}/stats/{t}` serves it (small cells hidden)."""
    view = request.app.state.stats
    rows, hidden_rows, hidden_cells, entry = view.rows(corpus, table, True)
    return {
        "name": table,
        "columns": view.columns(entry, True),
        "rows": rows,
        "hidden_rows": hidden_rows,
        "hidden_cells": hidden_cells,
        "downloads": {
            f: f"/v1/corpora/{corpus}/stats/{table}.{f}" for f in ("csv", "json", "parquet")
        },
    }


def _overview(request: Request, corpus: str) -> dict[str, Any] | None:
    try:
        rows = request.app.state.stats.rows(corpus, "overview", True)[0]
    except CorpuscopeError:
        return None
    return rows[0] if rows else None


def _sources(request: Request, corpus: str) -> list[str]:
    try:
        rows = request.app.state.stats.rows(corpus, "by_source", True)[0]
    except CorpuscopeError:
        return []
    return [r["source"] for r in rows]


def _corpora_listing(request: Request) -> list[dict[str, Any]]:
    settings = request.app.state.settings
    infos = as_seen(
        listed(request.app.state.indexes),
        True,
        settings.small_cell_threshold,
        request.app.state.stats,
    )
    return [
        {"info": i, "overview": _overview(request, i.name), "sources": _sources(request, i.name)}
        for i in infos
    ]


@router.get("/corpora", response_class=HTMLResponse)
async def corpora_page(request: Request) -> HTMLResponse:
    try:
        rows = await run_query(request, _corpora_listing, request)
    except CorpuscopeError as exc:
        return render(request, "corpora.html", exc.status, nav="corpora", rows=[], error=str(exc))
    return render(request, "corpora.html", nav="corpora", rows=rows)


def _dashboard(request: Request, corpus: str, domain: str) -> dict[str, Any]:
    if corpus not in request.app.state.indexes.store.corpora():
        raise NotFound(f"no corpus named {corpus!r}")
    view = request.app.state.stats
    manifest = view.manifest(corpus)  # NoStatistics (404) without them
    names = {t for spec in CHARTS for t in spec.tables}
    tables = {t: _public_rows(request, corpus, t) for t in sorted(names) if t in manifest["tables"]}
    charts = []
    for spec in CHARTS:
        if not all(t in tables for t in spec.tables):
            continue
        rows = {t: tables[t]["rows"] for t in spec.tables}
        points = _points(spec.key, rows)
        charts.append(
            {
                "spec": spec,
                "labels": [str(p[0]) for p in points],
                "data": [p[1] for p in points],
                "tables": [tables[t] for t in spec.tables],
            }
        )
    lookup = None
    if domain.strip():
        try:
            lookup = view.domain(corpus, domain.strip(), True)
        except UsageError as exc:
            lookup = {"error": str(exc)}
    return {
        "corpus": corpus,
        "overview": _overview(request, corpus),
        "current": view.current(corpus),
        "computed_at": datetime.fromtimestamp(manifest["computed_at"], UTC),
        "charts": charts,
        "threshold": view.threshold,
        "lookup": lookup,
        "domain": domain,
        "table_rows": TABLE_ROWS,
    }


@router.get("/corpora/{corpus}", response_class=HTMLResponse)
async def dashboard_page(request: Request, corpus: str, domain: str = "") -> HTMLResponse:
    try:
        if len(corpus) > 64 or len(domain) > 253:
            raise QueryError("a corpus name has at most 64 characters, a domain 253")
        data = await run_query(request, _dashboard, request, corpus, domain)
    except CorpuscopeError as exc:
        return render(
            request, "dashboard.html", exc.status, nav="corpora", corpus=corpus, error=str(exc)
        )
    return render(request, "dashboard.html", nav="corpora", **data)


# -- Summary -------------------------------------------------------------------------------------
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def _summary_html(request: Request, corpus: str) -> Markup:
    view = request.app.state.stats
    view.manifest(corpus)  # NoStatistics (404) without them
    cs = view.store.corpus(corpus)
    summary = build_summary(cs, load_provider(provider_file(cs)), view.threshold)
    return Markup(_markdown.render(to_markdown(summary)))  # raw HTML in it is escaped


@router.get("/summary", response_class=HTMLResponse)
async def summary_page(request: Request, corpus: str = "") -> HTMLResponse:
    names = _corpus_names(request)
    corpus = corpus or (names[0] if names else "")
    context: dict[str, Any] = {"nav": "summary", "corpora": names, "corpus": corpus}
    if not corpus:
        return render(request, "summary.html", **context)
    try:
        if corpus not in names:
            raise NotFound(f"no corpus named {corpus!r}")
        html = await run_query(request, _summary_html, request, corpus)
    except CorpuscopeError as exc:
        return render(request, "summary.html", exc.status, error=str(exc), **context)
    return render(request, "summary.html", summary=html, **context)


# -- About ---------------------------------------------------------------------------------------
@router.get("/about", response_class=HTMLResponse)
async def about_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "about.html",
        nav="about",
        threshold=request.app.state.settings.small_cell_threshold,
        snippet_words=request.app.state.settings.snippet_words,
    )


def install(app: FastAPI) -> None:
    """Serve the UI from `app`: its pages, its static files and its headers."""
    from corpuscope.ui import cases  # it builds on this module

    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(router)
    app.include_router(cases.router)
