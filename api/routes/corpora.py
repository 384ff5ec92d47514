"""Corpora and documents: what is here, one document's redacted window, and health.

`GET /v1/health` is public and cheap: its states come from the manifests
(`corpuscope.artifacts`) and from what the searcher found when it last opened or checked each
corpus's index (a few stat calls), never from the data itself. States only, no counts: nothing
in it depends on what a corpus holds.
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request

from corpuscope import __version__
from corpuscope.api.deps import IndexesDep, SettingsDep, run_query, run_question
from corpuscope.api.errors import ERROR_RESPONSES
from corpuscope.artifacts import statuses, summarise
from corpuscope.config import Settings
from corpuscope.errors import CorpuscopeError
from corpuscope.index.query import corpora, document
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import CorpusHealth, CorpusInfo, DocumentView, Health

log = logging.getLogger("corpuscope.api")
router = APIRouter(tags=["corpora"], responses=ERROR_RESPONSES)


def listed(indexes: Indexes) -> list[CorpusInfo]:
    """`corpora`, with a corpus whose index is damaged marked `degraded` instead of failing."""
    with indexes.tolerant():
        infos = corpora(indexes)
    out = []
    for info in infos:
        ci = indexes.state(info.name)
        if ci is not None and ci.problem is not None:
            info = info.model_copy(update={"degraded": True})
        out.append(info)
    return out


@router.get("/corpora", response_model=list[CorpusInfo])
async def corpora_route(request: Request, indexes: IndexesDep) -> list[CorpusInfo]:
    """Every corpus with its documents, bytes and what its index holds (`degraded`: its index
    is damaged)."""
    return await run_query(request, listed, indexes)


@router.get("/documents/{doc_id}", response_model=DocumentView)
async def document_route(
    request: Request,
    indexes: IndexesDep,
    settings: SettingsDep,
    doc_id: Annotated[str, Path(max_length=200)],
    start: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> DocumentView:
    """A document's metadata and a redacted window from character `start` (public role).
    503 when it is in none of the corpora that can be searched and some index is damaged."""
    return await run_question(request, document, indexes, doc_id, settings, start)


# -- health ------------------------------------------------------------------------------------
def corpus_health(indexes: Indexes, settings: Settings, corpus: str) -> CorpusHealth:
    """One corpus's states: from its manifests, and from its index as the searcher sees it."""
    try:
        states = summarise(statuses(indexes.store.corpus(corpus), settings))
    except Exception as exc:  # an unreadable manifest: the corpus is damaged
        log.warning("corpus %s: its manifests cannot be read (%s)", corpus, type(exc).__name__)
        states = {"scanned": "damaged", "indexed": "damaged", "stats": "damaged"}
    try:
        with indexes.tolerant():
            indexes.get(corpus)  # opens or refreshes it, and checks its files
    except CorpuscopeError:
        pass
    ci = indexes.state(corpus)
    serving = ci.serving if ci is not None else "none"
    damaged = ci is not None and ci.problem is not None
    return CorpusHealth(
        corpus=corpus,
        status="degraded" if damaged else "ok",
        serving=serving,
        indexed="damaged" if damaged else states["indexed"],
        scanned=states["scanned"],
        stats=states["stats"],
    )


def health(indexes: Indexes, settings: Settings) -> Health:
    corpora = [corpus_health(indexes, settings, name) for name in indexes.store.corpora()]
    degraded = any(c.status == "degraded" for c in corpora)
    return Health(status="degraded" if degraded else "ok", version=__version__, corpora=corpora)


@router.get("/health", response_model=Health, tags=["health"])
async def health_route(indexes: IndexesDep, settings: SettingsDep) -> Health:
    """Per corpus: whether it is indexed, scanned and its statistics current, and whether its
    index can be served (`degraded`: damaged, run `corpuscope verify --repair`); `status` is
    `degraded` when any corpus is. Public, no counts. Answers 200 either way: the other
    corpora are served."""
    return await anyio.to_thread.run_sync(health, indexes, settings)
