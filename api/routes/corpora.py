"""Corpora and documents: what is here, and one document's redacted window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from corpuscope.api.deps import IndexesDep, SettingsDep, run_query
from corpuscope.api.errors import ERROR_RESPONSES
from corpuscope.index.query import corpora, document
from corpuscope.models.answers import CorpusInfo, DocumentView

router = APIRouter(tags=["corpora"], responses=ERROR_RESPONSES)


@router.get("/corpora", response_model=list[CorpusInfo])
async def corpora_route(request: Request, indexes: IndexesDep) -> list[CorpusInfo]:
    """Every corpus with its documents, bytes and what its index holds."""
    return await run_query(request, corpora, indexes)


@router.get("/documents/{doc_id}", response_model=DocumentView)
async def document_route(
    request: Request,
    indexes: IndexesDep,
    settings: SettingsDep,
    doc_id: Annotated[str, Path(max_length=200)],
    start: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> DocumentView:
    """A document's metadata and a redacted window from character `start` (public role)."""
    return await run_query(request, document, indexes, doc_id, settings, start)
