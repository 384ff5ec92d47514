"""The questions: search, exact passages, membership ("was this trained on?") and person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from corpuscope.api.deps import IndexesDep, SettingsDep, run_question
from corpuscope.api.errors import ERROR_RESPONSES
from corpuscope.index.membership import membership
from corpuscope.index.person import person
from corpuscope.index.query import exact, search
from corpuscope.models.answers import (
    CorpusName,
    ExactAnswer,
    ExactRequest,
    Filters,
    MembershipAnswer,
    MembershipRequest,
    PersonAnswer,
    PersonRequest,
    SearchAnswer,
)

router = APIRouter(tags=["questions"], responses=ERROR_RESPONSES)

_FILTER_FIELDS = set(Filters.model_fields)


def _filters(request: ExactRequest | MembershipRequest | PersonRequest) -> Filters:
    return Filters(**request.model_dump(include=_FILTER_FIELDS))


@router.get("/search", response_model=SearchAnswer | ExactAnswer)
async def search_route(
    request: Request,
    indexes: IndexesDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=100_000, description="Query (docs/api.md: the language)")],
    mode: Annotated[Literal["bm25", "exact"], Query()] = "bm25",
    corpus: Annotated[
        list[CorpusName],
        Query(max_length=32, description="Corpus to ask (repeat); default: all."),
    ] = [],  # noqa: B006 (FastAPI copies it)
    domain: Annotated[str | None, Query(max_length=253)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    shard: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    case_sensitive: bool = True,
    punctuation: bool = True,
) -> SearchAnswer | ExactAnswer:
    """BM25 search with filters, paging, total count and redacted, highlighted snippets.

    `mode=exact` answers whether `q` occurs verbatim instead (as `POST /v1/exact`, with
    `case_sensitive` and `punctuation`). `corpus` (repeatable) is spelt as in every POST body.
    Every answer says per corpus how completely it was searched (`corpus_coverage`): a corpus
    named that is not indexed is refused with 409 and the command that indexes it, an unknown
    one with 404; over every corpus, one not indexed or damaged is named in `not_searched`
    (503 when a damaged one is the only one asked for); the same holds for every question.
    """
    filters = Filters(
        corpora=corpus, domain=domain, language=language, shard=shard, since=since, until=until
    )
    if mode == "exact":
        return await run_question(
            request,
            exact,
            indexes,
            q,
            settings,
            filters,
            k=k,
            case_sensitive=case_sensitive,
            punctuation=punctuation,
        )
    return await run_question(request, search, indexes, q, settings, filters, k=k, offset=offset)


@router.post("/exact", response_model=ExactAnswer)
async def exact_route(
    request: Request, body: ExactRequest, indexes: IndexesDep, settings: SettingsDep
) -> ExactAnswer:
    """Does this passage occur verbatim, at word boundaries (white space runs as one space;
    with `punctuation: false`, any punctuation between words)? Documents and occurrences,
    confirmed on the text, with the matched spans."""
    return await run_question(
        request,
        exact,
        indexes,
        body.passage,
        settings,
        _filters(body),
        k=body.k,
        case_sensitive=body.case_sensitive,
        punctuation=body.punctuation,
    )


@router.post("/membership", response_model=MembershipAnswer)
async def membership_route(
    request: Request, body: MembershipRequest, indexes: IndexesDep, settings: SettingsDep
) -> MembershipAnswer:
    """Was this text trained on? A verdict with coverage, longest run and matched spans."""
    return await run_question(
        request, membership, indexes, body.passage, settings, _filters(body), k=body.k
    )


@router.post("/person", response_model=PersonAnswer)
async def person_route(
    request: Request, body: PersonRequest, indexes: IndexesDep, settings: SettingsDep
) -> PersonAnswer:
    """How many documents mention a person, hold their identifiers, or both (per corpus)."""
    return await run_question(
        request,
        person,
        indexes,
        body.name,
        settings,
        emails=body.emails,
        phones=body.phones,
        usernames=body.usernames,
        urls=body.urls,
        filters=_filters(body),
        k=body.k,
    )
