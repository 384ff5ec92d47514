"""Statistics, downloads, the domain lookup and the EU AI Act summary of a corpus."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from corpuscope.api.auth import CallerDep
from corpuscope.api.deps import run_query
from corpuscope.api.errors import ERROR_RESPONSES
from corpuscope.errors import QueryError
from corpuscope.models.answers import DomainAnswer, StatsIndex, StatsTable, StatsTableInfo
from corpuscope.stats.build import SPECS
from corpuscope.stats.summary import build_summary, load_provider, provider_file, to_markdown
from corpuscope.stats.view import MEDIA, StatsView, public_manifest

router = APIRouter(tags=["statistics"], responses=ERROR_RESPONSES)
Corpus = Annotated[str, Path(max_length=64)]
_FILES = {
    200: {"content": {m: {} for m in MEDIA.values()}, "description": "the table"},
}


def _view(request: Request) -> StatsView:
    return request.app.state.stats


@router.get("/corpora/{corpus}/stats", response_model=StatsIndex)
async def stats_index(request: Request, corpus: Corpus, who: CallerDep) -> StatsIndex:
    """The statistics tables of a corpus with descriptions, sizes, download links and the
    manifest (its inputs' sha256s and each table's DuckDB query, to recompute it)."""
    view = _view(request)
    m = await run_query(request, view.manifest, corpus)
    public = not who.at_least("auditor")
    if public:  # checksums, row counts and queries of the public tables only
        m = public_manifest(m)
    base = f"/v1/corpora/{corpus}/stats"
    return StatsIndex(
        corpus=corpus,
        current=await run_query(request, view.current, corpus),
        computed_at=m["computed_at"],
        role=who.role,
        small_cell_threshold=view.threshold if public else None,
        tables=[
            StatsTableInfo(
                name=name,
                description=e["description"],
                rows=e["rows"],
                columns=e["columns"],
                sha256=e["sha256"],
                downloads={f: f"{base}/{name}.{f}" for f in ("csv", "json", "parquet")},
            )
            for name, e in m["tables"].items()
        ],
        manifest=m,
    )


@router.get("/corpora/{corpus}/stats/{table}", response_model=StatsTable, responses=_FILES)
async def stats_table(
    request: Request,
    corpus: Corpus,
    table: Annotated[str, Path(max_length=64, description="A table, or TABLE.csv|.json|.parquet")],
    who: CallerDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 1000,
) -> StatsTable | Response:
    """One table as JSON (paged), or the whole of it as a `.csv`, `.json` or `.parquet` file.

    The public sees small cells suppressed; the auditor role sees the full table, and its
    `.parquet` is the published file (its sha256 is in the manifest).
    """

    view = _view(request)
    public = not who.at_least("auditor")
    name, _, fmt = table.partition(".")
    if fmt:
        if fmt not in MEDIA:
            raise QueryError("a download is TABLE.csv, TABLE.json or TABLE.parquet")
        data, media = await run_query(request, view.download, corpus, name, fmt, public)
        filename = f"{corpus}-{name}{'-public' if public else ''}.{fmt}"
        return Response(
            data,
            media_type=media,
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )
    settings = request.app.state.settings
    if limit > settings.max_rows:
        raise QueryError(f"limit must be at most {settings.max_rows}")
    rows, hidden_rows, hidden_cells, entry = await run_query(
        request, view.rows, corpus, name, public
    )
    return StatsTable(
        corpus=corpus,
        table=name,
        description=SPECS[name].description,
        columns=view.columns(entry, public),
        total_rows=len(rows),
        offset=offset,
        limit=limit,
        rows=rows[offset : offset + limit],
        role=who.role,
        small_cell_threshold=view.threshold if public else None,
        hidden_rows=hidden_rows,
        hidden_cells=hidden_cells,
        sha256=entry["public"]["sha256"] if public else entry["sha256"],
    )


@router.get("/corpora/{corpus}/domains/{domain:path}", response_model=DomainAnswer)
async def domain_lookup(
    request: Request,
    corpus: Corpus,
    domain: Annotated[str, Path(max_length=253, description="A domain, host name or URL")],
    who: CallerDep,
) -> DomainAnswer:
    """Is my website in this corpus? Rank, documents, words, share, first and last seen."""
    return await run_query(
        request, _view(request).domain, corpus, domain, not who.at_least("auditor")
    )


@router.get(
    "/corpora/{corpus}/summary.{fmt}",
    responses={200: {"content": {"text/markdown": {}, "application/json": {}}}},
)
async def eu_summary(
    request: Request,
    corpus: Corpus,
    fmt: Annotated[str, Path(pattern="^(md|json)$")],
    who: CallerDep,
) -> Response:
    """The EU AI Act public summary of training content (Art. 53(1)(d), AI Office template of
    July 2025): figures from the statistics, declarations from the corpus's provider.toml,
    missing declarations marked as missing.

    The public summary follows the small-cell rule of the statistics: a withheld figure is
    null and named in the `withheld` list of the object holding it ("withheld" in Markdown),
    and `small_cell_threshold` says the threshold. The auditor role and above get every figure
    (`small_cell_threshold: null`)."""
    view = _view(request)
    view.manifest(corpus)  # 404 without statistics
    cs = view.store.corpus(corpus)
    threshold = view.threshold if not who.at_least("auditor") else 1
    summary = await run_query(
        request, lambda: build_summary(cs, load_provider(provider_file(cs)), threshold)
    )
    if fmt == "md":
        return PlainTextResponse(to_markdown(summary), media_type="text/markdown")
    return Response(
        content=__import__("orjson").dumps(summary, default=str), media_type="application/json"
    )
