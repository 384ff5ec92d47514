"""One disclosure rule everywhere (docs/statistics.md): where the public statistics hide a count
below the small-cell threshold, neither `/v1/corpora`, `/v1/corpora/{corpus}` nor the EU AI
Act summary (API and CLI) shows it or lets it be worked out; the auditor role sees it all."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from corpuscope import jobs
from corpuscope.api.app import create_app
from corpuscope.api.routes.corpora import FIGURES, public_info
from corpuscope.config import Settings
from corpuscope.models.answers import CorpusInfo
from corpuscope.state import State
from corpuscope.stats.build import SPECS, load_table
from corpuscope.stats.disclosure import coarse, suppress, withhold, withhold_figures
from corpuscope.store import Store

THRESHOLD = 10
EN, DE, FR, QUARANTINED = 30, 12, 3, 3  # "big": 45 documents; French and quarantine: small

ENGLISH = (
    "Report {i} of the big corpus describes the weather in the northern hills, where the "
    "farmers grow apples and pears every summer and sell them at the market on Saturdays, "
    "while their children walk to the village school along the river."
)
GERMAN = (
    "Bericht {i} beschreibt das Wetter in den nördlichen Hügeln, wo die Bauern jeden Sommer "
    "Äpfel und Birnen anbauen und sie samstags auf dem Markt verkaufen, während ihre Kinder "
    "am Fluss entlang zur Dorfschule gehen."
)
FRENCH = (
    "Le rapport {i} décrit le temps qu'il fait dans les collines du nord, où les agriculteurs "
    "cultivent des pommes et des poires chaque été et les vendent au marché le samedi, pendant "
    "que leurs enfants vont à l'école du village le long de la rivière."
)
LONELY = (
    "A lonely page about one small garden shed painted green, with seven tools hanging on its "
    "wall and a bench where the owner reads the paper every morning."
)


def _records(text: str, domain: str, n: int, month: str) -> list[dict[str, Any]]:
    return [
        {
            "url": f"https://www.{domain}/page/{i}",
            "text": text.format(i=i),
            "timestamp": f"{month}-{1 + i % 27:02d}T10:00:00Z",
        }
        for i in range(n)
    ]


def _write(path: Path, records: list[dict[str, Any]], bad: int = 0) -> Path:
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in records)
        + "".join(json.dumps({"url": "https://x.example.org/", "text": ""}) + "\n") * bad
    )
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """`tiny`: 1 document; `big`: 45 documents (30 English, 12 German, 3 French on their own
    domain) and 3 quarantined records."""
    root = tmp_path_factory.mktemp("disclosure")
    settings = Settings(data=root / "data")
    big = (
        _records(ENGLISH, "alpha-news.org", EN, "2020-05")
        + _records(GERMAN, "gamma-zeitung.de", DE, "2020-06")
        + _records(FRENCH, "rare-site.fr", FR, "2020-07")
    )
    sources = {
        "tiny": _write(root / "tiny.jsonl", _records(LONELY, "lonely-shed.org", 1, "2021-03")),
        "big": _write(root / "big.jsonl", big, bad=QUARANTINED),
    }
    for corpus, path in sources.items():
        assert jobs.ingest(settings, corpus, [str(path)]).ok
        assert jobs.scan(settings, corpus).ok
        jobs.index(settings, corpus)
        jobs.stats(settings, corpus)
    # the fixture is what the tests assume (CLD2 must have read the languages as written)
    store = Store(settings.data)
    languages = {
        r["language"]: r["documents"]
        for r in load_table(store.corpus("big"), "by_language").to_pylist()
    }
    assert languages == {"en": EN, "de": DE, "fr": FR}
    assert store.corpus("big").manifest().totals()["quarantined"] == QUARANTINED
    return settings.data


@pytest.fixture(scope="module")
def client(data: Path) -> TestClient:
    return TestClient(create_app(Settings(data=data)))


@pytest.fixture(scope="module")
def auditor(data: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {State(data).create_key('disclosure-auditor', 'auditor')}"}


def _overview(data: Path, corpus: str) -> dict[str, Any]:
    return load_table(Store(data).corpus(corpus), "overview").to_pylist()[0]


def _numbers(value: Any) -> list[float]:
    """Every number in a JSON value (booleans aside)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    return []


# -- /v1/corpora and /v1/corpora/{corpus} ------------------------------------------------------
def test_public_corpora_withhold_a_small_corpus(client: TestClient, data: Path):
    listed = {c["name"]: c for c in client.get("/v1/corpora").json()}
    one = client.get("/v1/corpora/tiny")
    assert one.status_code == 200
    for tiny in (listed["tiny"], one.json()):
        # a corpus of 1 document: every figure goes (bytes, shards, index size bound it)
        assert tiny["withheld"] == list(FIGURES)
        assert all(tiny[f] is None for f in FIGURES)
        assert _numbers(tiny) == []  # not one number about it, so not its 1
        assert not re.search(r"\d", json.dumps(tiny))
    # the same rule as the public overview table, which hides the corpus's figures too
    public_overview = client.get("/v1/corpora/tiny/stats/overview").json()["rows"][0]
    assert public_overview["documents"] is None and public_overview["suppressed"]
    assert all(v is None for k, v in public_overview.items() if k != "suppressed")

    big = client.get("/v1/corpora/big").json()
    assert big == listed["big"]
    assert big["documents"] == EN + DE + FR == big["indexed_documents"]
    assert big["shards"] >= 1 and big["text_bytes"] == _overview(data, "big")["bytes"]
    assert big["quarantined"] is None and big["withheld"] == ["quarantined"]  # 3 records
    assert client.get("/v1/corpora/nope").status_code == 404


def test_auditor_sees_every_corpus_figure(client: TestClient, auditor: dict[str, str]):
    listed = {c["name"]: c for c in client.get("/v1/corpora", headers=auditor).json()}
    assert listed["tiny"]["documents"] == 1 == listed["tiny"]["indexed_documents"]
    assert listed["tiny"]["shards"] == 1 and listed["tiny"]["text_bytes"] > 0
    assert listed["big"]["quarantined"] == QUARANTINED
    assert all(c["withheld"] == [] for c in listed.values())
    assert client.get("/v1/corpora/tiny", headers=auditor).json() == listed["tiny"]


def test_corpus_figures_cannot_be_differenced():
    """Indexed documents a small count away from the documents (a new shard not indexed yet,
    erased documents) would give that count: withheld; equal or far apart, shown."""
    base = dict(
        name="c",
        shards=3,
        documents=1000,
        quarantined=0,
        text_bytes=10**6,
        parquet_bytes=10**5,
        indexed_documents=997,
        index_bytes=10**5,
        index_partitions=2,
    )
    redacted = 999_000  # the public overview's bytes (of the redacted view)
    shown = public_info(CorpusInfo(**base), THRESHOLD, redacted)
    assert shown.indexed_documents is None and shown.withheld == ["indexed_documents"]
    assert shown.documents == 1000 and shown.quarantined == 0  # 0 holds nobody
    for indexed in (1000, 900, 0):
        info = public_info(
            CorpusInfo(**{**base, "indexed_documents": indexed}), THRESHOLD, redacted
        )
        assert info.indexed_documents == indexed and info.withheld == []
    small = public_info(
        CorpusInfo(**{**base, "documents": 4, "indexed_documents": 4}), THRESHOLD, redacted
    )
    assert small.withheld == list(FIGURES)
    assert public_info(CorpusInfo(**{**base, "documents": 4}), 1, redacted).withheld == []


def test_public_corpus_sizes_do_not_depend_on_hidden_lengths():
    """`text_bytes` is the redacted view's (from the public overview; withheld without it),
    Parquet and index bytes are rounded to two significant figures."""
    base = dict(
        name="c",
        shards=3,
        documents=1000,
        quarantined=0,
        text_bytes=1_234_567,
        parquet_bytes=345_678,
        indexed_documents=1000,
        index_bytes=98_765,
        index_partitions=2,
    )
    shown = public_info(CorpusInfo(**base), THRESHOLD, 1_230_000)
    assert shown.text_bytes == 1_230_000 and shown.withheld == []
    assert shown.parquet_bytes == 350_000 and shown.index_bytes == 99_000
    unknown = public_info(CorpusInfo(**base), THRESHOLD)
    assert unknown.text_bytes is None and unknown.withheld == ["text_bytes"]
    assert coarse(0) == 0 and coarse(None) is None and coarse(7) == 7 and coarse(1049) == 1000


def test_the_rule_is_one_helper():
    assert withhold(0, THRESHOLD) == 0 and withhold(9, THRESHOLD) is None
    assert withhold(10, THRESHOLD) == 10 and withhold(3, 1) == 3
    shown, names = withhold_figures({"documents": 12, "quarantined": 2, "bytes": 5}, THRESHOLD)
    assert names == [] and shown["quarantined"] == 2  # only the named cells
    shown, names = withhold_figures(
        {"documents": 12, "quarantined": 2}, THRESHOLD, cells=("quarantined",)
    )
    assert names == ["quarantined"] and shown == {"documents": 12, "quarantined": None}
    overview = {"documents": 4, "words": 300, "bytes": 1800, "shards": 4, "sources": 4}
    (row,) = suppress(SPECS["overview"], [overview], THRESHOLD).rows
    assert row["suppressed"] and all(row[k] is None for k in overview)  # sources = 4 pins it


# -- the EU AI Act summary ---------------------------------------------------------------------
def test_public_summary_withholds_a_small_corpus(client: TestClient, data: Path):
    full = _overview(data, "tiny")
    s = client.get("/v1/corpora/tiny/summary.json").json()
    assert s["small_cell_threshold"] == THRESHOLD
    size = s["sections"]["1_general_information"]["1.3_modalities_and_size"]
    text = size["text"]
    assert text["withheld"] == ["estimated_tokens", "documents", "words", "bytes"]
    assert all(text[k] is None for k in text["withheld"])
    assert size["withheld"] == ["period_of_collection", "latest_data"]
    assert size["languages"] == []  # its one language is counted, without a share
    other = size["other_characteristics"]
    assert other["exact_duplicate_share"] is None and other["share_with_code_lines"] is None
    assert other["withheld"] == ["exact_duplicate_share", "share_with_code_lines"]
    hidden = {full["words"], full["bytes"], full["characters"], round(full["words"] * 4 / 3)}
    assert not hidden & set(_numbers(s))
    md = client.get("/v1/corpora/tiny/summary.md").text
    assert re.search(r"\*\*documents\*\*: \*withheld", md)
    assert not re.search(r"\*\*(documents|words|bytes)\*\*: [\d,]+", md)
    for n in hidden:
        assert not re.search(rf"\b{n}\b|\b{n:,}\b", md), n
    assert "2021-03" not in md  # nor its one document's month (a dated row is hidden too)

    # the CLI writes the public summary too (the setting's threshold)
    from typer.testing import CliRunner

    from corpuscope.cli import app

    result = CliRunner().invoke(
        app, ["summary", "--corpus", "tiny", "--format", "json", "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    cli_text = cli["sections"]["1_general_information"]["1.3_modalities_and_size"]["text"]
    assert cli_text["documents"] is None and "documents" in cli_text["withheld"]


def test_summary_languages_cannot_be_differenced(client: TestClient):
    """Total documents minus the languages shown used to give the one language left out (the
    3 French documents); the public by_language table hides German as its complement, and so
    does the summary now."""
    s = client.get("/v1/corpora/big/summary.json").json()
    size = s["sections"]["1_general_information"]["1.3_modalities_and_size"]
    documents = size["text"]["documents"]
    assert documents == EN + DE + FR and size["text"]["withheld"] == []
    shown = {r["language"]: round(r["share_of_documents"] * documents) for r in size["languages"]}
    assert shown == {"en": EN}
    left = documents - sum(shown.values())
    assert size["other_languages"] == 2 and left == DE + FR  # 15, split unknown
    assert left != FR and left >= THRESHOLD
    # what the summary shows is what the public table shows
    table = client.get("/v1/corpora/big/stats/by_language").json()
    assert {r["language"] for r in table["rows"] if not r["suppressed"]} == set(shown)
    crawl = s["sections"]["2_data_sources"]["2.3_crawled_and_scraped"]
    assert crawl["top_domains"] == ["alpha-news.org"]  # top 10% of 3 domains


def test_auditor_summary_shows_every_figure(
    client: TestClient, auditor: dict[str, str], data: Path
):
    s = client.get("/v1/corpora/tiny/summary.json", headers=auditor).json()
    assert s["small_cell_threshold"] is None
    size = s["sections"]["1_general_information"]["1.3_modalities_and_size"]
    assert size["text"]["documents"] == 1 and size["text"]["withheld"] == []
    assert size["text"]["words"] == _overview(data, "tiny")["words"]
    assert size["latest_data"] == "2021-03"
    md = client.get("/v1/corpora/tiny/summary.md", headers=auditor).text
    assert "**documents**: 1\n" in md and "not the public version" in md
    big = client.get("/v1/corpora/big/summary.json", headers=auditor).json()
    langs = big["sections"]["1_general_information"]["1.3_modalities_and_size"]["languages"]
    assert {r["language"] for r in langs} == {"en", "de"}  # French: under 10 documents
