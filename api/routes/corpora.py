"""Corpora and documents: what is here, one document's redacted window, and health.

`GET /v1/corpora` and `GET /v1/corpora/{corpus}` follow the small-cell rule of the public
statistics (`corpuscope.stats.disclosure`): the public sees a corpus's figures with those that
would show or give away a count below `small_cell_threshold` withheld (null, named in
`withheld`); the auditor role and above see them all. No public size depends on the length of
a hidden value: `text_bytes` is the public overview's bytes (of the redacted view; withheld
without statistics), Parquet and index bytes are rounded (`disclosure.coarse`).

`GET /v1/health` is public and cheap: its states come from the manifests
(`corpuscope.artifacts`) and from what the searcher found when it last opened or checked each
corpus's index (a few stat calls), never from the data itself. States only, no counts: nothing
in it depends on what a corpus holds.
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request

from corpuscope import __version__
from corpuscope.api.auth import CallerDep
from corpuscope.api.deps import IndexesDep, SettingsDep, run_query, run_question
from corpuscope.api.errors import ERROR_RESPONSES
from corpuscope.artifacts import statuses, summarise
from corpuscope.config import Settings
from corpuscope.errors import CorpuscopeError, NotFound
from corpuscope.index.query import corpora, document
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import CorpusHealth, CorpusInfo, DocumentView, Health
from corpuscope.stats.disclosure import coarse, withhold_figures
from corpuscope.stats.view import StatsView

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


#: A corpus's figures: all of them go when its documents are a small cell.
FIGURES = (
    "shards",
    "documents",
    "quarantined",
    "text_bytes",
    "parquet_bytes",
    "indexed_documents",
    "index_bytes",
    "index_partitions",
)


def redacted_bytes(stats: StatsView | None, corpus: str) -> int | None:
    """The UTF-8 bytes of a corpus's redacted view, from its public overview (None without
    statistics, or where the overview withholds them)."""
    if stats is None:
        return None
    try:
        rows, _, _, _ = stats.rows(corpus, "overview", True)
    except CorpuscopeError:
        return None
    return rows[0].get("bytes") if rows else None


def public_info(info: CorpusInfo, threshold: int, text_bytes: int | None = None) -> CorpusInfo:
    """A corpus's figures as the public may see them: every figure when its documents are
    fewer than `threshold` (its bytes, shards or index size bound or pin the count); else a
    small count of quarantined or of indexed documents, and indexed documents that differ
    from the documents by a small count (the difference would be one).

    Sizes never depend on a hidden value's length: `text_bytes` is the redacted view's
    (`redacted_bytes`; withheld when unknown), Parquet and index bytes (of the raw data, with
    no redacted counterpart) are rounded to two significant figures (`coarse`)."""
    figures = info.model_dump(include=set(FIGURES))
    figures["text_bytes"] = text_bytes
    for k in ("parquet_bytes", "index_bytes"):
        figures[k] = coarse(figures[k])
    shown, withheld = withhold_figures(
        figures,
        threshold,
        size="documents",
        cells=("quarantined", "indexed_documents"),
        differences={"indexed_documents": "documents"},
    )
    if shown["text_bytes"] is None and "text_bytes" not in withheld:
        withheld = [k for k in figures if k in {*withheld, "text_bytes"}]
    return info.model_copy(update={**shown, "withheld": withheld})


def as_seen(
    infos: list[CorpusInfo], public: bool, threshold: int, stats: StatsView | None = None
) -> list[CorpusInfo]:
    if not public:
        return infos
    return [public_info(i, threshold, redacted_bytes(stats, i.name)) for i in infos]


@router.get("/corpora", response_model=list[CorpusInfo])
async def corpora_route(
    request: Request, indexes: IndexesDep, settings: SettingsDep, who: CallerDep
) -> list[CorpusInfo]:
    """Every corpus with its documents, bytes and what its index holds (`degraded`: its index
    is damaged). The public sees them under the small-cell rule (`withheld`)."""
    infos = await run_query(request, listed, indexes)
    stats = getattr(request.app.state, "stats", None)
    return await run_query(
        request, as_seen, infos, not who.at_least("auditor"), settings.small_cell_threshold, stats
    )


@router.get("/corpora/{corpus}", response_model=CorpusInfo)
async def corpus_route(
    request: Request,
    indexes: IndexesDep,
    settings: SettingsDep,
    who: CallerDep,
    corpus: Annotated[str, Path(max_length=64)],
) -> CorpusInfo:
    """One corpus's documents, bytes and what its index holds, as in `GET /v1/corpora`."""
    infos = await run_query(request, listed, indexes)
    found = [i for i in infos if i.name == corpus]
    if not found:
        raise NotFound(f"no corpus named {corpus!r}")
    stats = getattr(request.app.state, "stats", None)
    seen = await run_query(
        request, as_seen, found, not who.at_least("auditor"), settings.small_cell_threshold, stats
    )
    return seen[0]


@router.get("/documents/{doc_id}", response_model=DocumentView)
async def document_route(
    request: Request,
    indexes: IndexesDep,
    settings: SettingsDep,
    doc_id: Annotated[str, Path(max_length=200)],
) -> DocumentView:
    """A document's metadata and its opening window of the redacted text (`snippet_words`
    words; no paging: public display is capped snippets). 503 when it is in none of the
    corpora that can be searched and some index is damaged."""
    return await run_question(request, document, indexes, doc_id, settings)


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
