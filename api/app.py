"""The FastAPI application: `/v1` routes, one error shape, limits, OpenAPI at `/docs`."""

from __future__ import annotations

import threading

import anyio
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from corpuscope import __version__
from corpuscope.api import errors
from corpuscope.api.limits import BodySizeLimit
from corpuscope.api.routes import corpora, questions, stats
from corpuscope.config import Settings
from corpuscope.index.searcher import Indexes
from corpuscope.state import State
from corpuscope.stats.view import StatsView
from corpuscope.store import Store

#: Queries running at once in worker threads; more wait their turn.
QUERY_THREADS = 8


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the data directory of `settings` (environment `CORPUSCOPE_*` by default)."""
    settings = settings or Settings()
    app = FastAPI(
        title="corpuscope",
        version=__version__,
        description=(
            "What is in a training corpus, and was this text, or this person, in it? "
            "Public answers show redacted snippets only."
        ),
    )
    app.state.settings = settings
    app.state.indexes = Indexes(Store(settings.data))
    app.state.limiter = anyio.CapacityLimiter(QUERY_THREADS)
    # Held by the thread itself: a query abandoned at its time limit keeps its place until it
    # really ends, so abandoned queries can never pile up past QUERY_THREADS.
    app.state.running = threading.BoundedSemaphore(QUERY_THREADS)
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
    return app
