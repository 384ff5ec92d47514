"""The FastAPI application: `/v1` routes, one error shape, limits, OpenAPI at `/docs`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpuscope import __version__
from corpuscope.api import errors
from corpuscope.api.limits import BodySizeLimit
from corpuscope.api.routes import corpora, questions, stats
from corpuscope.config import Settings
from corpuscope.index.searcher import Indexes
from corpuscope.state import State
from corpuscope.stats.view import StatsView
from corpuscope.store import Store


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


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the data directory of `settings` (environment `CORPUSCOPE_*` by default)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_warm, args=(settings,), daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
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
    errors.install(app)
    app.include_router(questions.router, prefix="/v1")
    app.include_router(corpora.router, prefix="/v1")
    app.include_router(stats.router, prefix="/v1")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ContainErrors, handler=app.exception_handlers[Exception])  # outermost
    return app
