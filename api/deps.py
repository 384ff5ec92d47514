"""Dependencies of the routes: settings, the open indexes, and running a query in a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from corpuscope.config import Settings
from corpuscope.errors import QueryTimeout
from corpuscope.index.searcher import Indexes

T = TypeVar("T")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_indexes(request: Request) -> Indexes:
    return request.app.state.indexes


SettingsDep = Annotated[Settings, Depends(get_settings)]
IndexesDep = Annotated[Indexes, Depends(get_indexes)]


async def run_query(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking query in the worker threads, bounded by the query time limit.

    Past the limit (and `query_grace`) the client gets 503 at once; the event loop is never
    blocked, and the abandoned thread finishes on its own (queries check their deadline and
    stop early), holding one of the `running` slots (`api_query_threads`) until it does.
    """
    settings: Settings = request.app.state.settings
    limiter: anyio.CapacityLimiter = request.app.state.limiter
    running = request.app.state.running

    def guarded() -> T:
        if not running.acquire(timeout=settings.query_timeout):
            raise TimeoutError  # every slot is held by queries still running
        try:
            return fn(*args, **kwargs)
        finally:
            running.release()

    try:
        with anyio.fail_after(settings.query_timeout + settings.query_grace):
            return await anyio.to_thread.run_sync(guarded, abandon_on_cancel=True, limiter=limiter)
    except TimeoutError:
        raise QueryTimeout(
            f"the query took longer than {settings.query_timeout:g} s and was stopped"
        ) from None


async def run_question(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`run_query` for a question over the indexes: a corpus whose index is damaged is left
    out, and the answer names it in `not_searched` (and says `partial`); a question that only
    damaged corpora could answer is refused with 503 (`Damaged`). Answers say this themselves
    (`corpus_coverage`, from `query.targets`); a corpus skipped elsewhere is added here."""
    indexes: Indexes = request.app.state.indexes

    def tolerant() -> T:
        with indexes.tolerant() as skipped:
            answer = fn(*args, **kwargs)
        missed = skipped - set(getattr(answer, "not_searched", skipped))
        if missed:
            names = sorted(missed | set(answer.not_searched))
            answer = answer.model_copy(update={"not_searched": names, "partial": True})
        return answer

    return await run_query(request, tolerant)
