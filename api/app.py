"""The FastAPI application: `/v1` routes, one error shape, keys and limits, OpenAPI at `/docs`
and `/redoc` (Swagger UI and ReDoc served from local files: they work offline)."""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpuscope import __version__
from corpuscope.api import errors
from corpuscope.api.auth import Authenticate, refuse_default_secrets
from corpuscope.api.errors import ErrorBody
from corpuscope.api.limits import BodySizeLimit, RateLimit, RateLimits
from corpuscope.api.routes import corpora, dsr, questions, stats
from corpuscope.config import Settings
from corpuscope.index.searcher import Indexes
from corpuscope.state import State
from corpuscope.stats.view import StatsView
from corpuscope.store import Store
from corpuscope.ui import pages as ui


def _warm(settings: Settings) -> None:
    """Compute once, off the first request, what `GET /v1/health` needs (the scanner's version
    imports Presidio: seconds)."""
    from corpuscope.artifacts import current_scanner

    with contextlib.suppress(Exception):  # health computes it again, and reports what fails
        current_scanner(settings)


class ContainErrors:
    """An unexpected exception ends here, answered by the one 500 of `errors.install` (which
    logs its type, the route template and a request id). Without it, Starlette's outermost
    middleware answers the same 500 but then raises the exception on to the server, which
    logs its message and traceback: both may quote the request's values (personal data)."""

    def __init__(self, app: ASGIApp, handler) -> None:
        self.app, self.handler = app, handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            response = await self.handler(Request(scope), exc)
            if not started:  # else the client sees the connection end early
                await response(scope, receive, send)


#: Where the documentation pages' JavaScript and CSS are served from.
DOCS_ASSETS = "/static/docs"

#: Answers every `/v1` operation may give besides those of `errors.ERROR_RESPONSES`.
_LIMIT_RESPONSES: dict[int | str, dict] = {
    408: {"model": ErrorBody, "description": "request body too slow (`body_read_timeout`)"},
    429: {"model": ErrorBody, "description": "too many requests (`Retry-After` says when)"},
}


def _docs_assets() -> str:
    """The folder of Swagger UI's and ReDoc's distribution files, with their licences, as
    the `drf-spectacular-sidecar` package ships them (found, not imported: importing it would
    import Django, which it is written for)."""
    spec = importlib.util.find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("drf-spectacular-sidecar is not installed (the docs pages' assets)")
    return f"{next(iter(spec.submodule_search_locations))}/static/drf_spectacular_sidecar"


def _install_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and `/redoc` (ReDoc) over local assets: no CDN, no web fonts."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_docs_assets()), name="docs-assets")
    swagger, redoc = f"{DOCS_ASSETS}/swagger-ui-dist", f"{DOCS_ASSETS}/redoc/bundles"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{swagger}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{swagger}/swagger-ui.css",
            swagger_favicon_url=f"{root}{swagger}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # else it may call swagger.io
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{redoc}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{swagger}/favicon-32x32.png",
            with_google_fonts=False,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the data directory of `settings` (environment `CORPUSCOPE_*` by default)."""
    settings = settings or Settings()
    refuse_default_secrets(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_warm, args=(settings,), daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        title="corpuscope",
        version=__version__,
        description=(
            "What is in a training corpus, and was this text, or this person, in it? "
            "Public answers show redacted snippets only."
        ),
    )
    app.state.settings = settings
    app.state.indexes = Indexes(Store(settings.data), threads=settings.query_threads)
    app.state.limiter = anyio.CapacityLimiter(settings.api_query_threads)
    # Held by the thread itself: a query abandoned at its time limit keeps its place until it
    # really ends, so abandoned queries can never pile up past `api_query_threads`.
    app.state.running = threading.BoundedSemaphore(settings.api_query_threads)
    app.state.stats = StatsView(app.state.indexes.store, settings.small_cell_threshold)
    app.state.state = State(settings.data)
    rate_limits = RateLimits(
        settings.rate_limit, settings.key_rate_limit, settings.rate_limit_storage
    )
    errors.install(app)
    for router in (questions.router, corpora.router, stats.router, dsr.router):
        app.include_router(router, prefix="/v1", responses=_LIMIT_RESPONSES)
    _install_docs(app)

    app.state.rate_limits = rate_limits  # the UI's questions spend the same budgets
    ui.install(app)  # the web UI at /

    # Outermost last: errors contained, then who is asking, their rate, then the body.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        read_timeout=settings.body_read_timeout,
    )
    app.add_middleware(RateLimit, limits=rate_limits)
    app.add_middleware(Authenticate, state=app.state.state, rate_limits=rate_limits)
    app.add_middleware(ui.SecurityHeaders)  # the UI's CSP and headers, on its responses too
    app.add_middleware(ContainErrors, handler=app.exception_handlers[Exception])  # outermost
    return app
