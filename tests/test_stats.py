"""Statistics: figures against independent computations, reproducibility, suppression, summary."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.state import State
from corpuscope.stats.build import SPECS, TABLES, build_stats, is_current, load_table, stats_dir
from corpuscope.stats.disclosure import suppress
from corpuscope.stats.summary import build_summary, to_markdown, top_domains
from corpuscope.store import Store
from tests.conftest import ROOT, SAMPLES, documents

REAL = ("c4", "commoncrawl")


def _pii(data: Path, corpus: str) -> pa.Table:
    paths = Store(data).corpus(corpus).pii_paths()
    return pa.concat_tables([pq.read_table(p) for p in paths])


@pytest.mark.parametrize("corpus", REAL)
def test_figures_match_independent_computations(indexed: Path, corpus: str):
    cs = Store(indexed).corpus(corpus)
    docs = documents(indexed, corpus).to_pylist()
    texts = [d["text"] for d in docs]

    (ov,) = load_table(cs, "overview").to_pylist()
    stamps = [d["timestamp"] for d in docs if d["timestamp"] is not None]
    assert ov["documents"] == len(docs)
    assert ov["words"] == sum(len(t.split()) for t in texts)
    assert ov["characters"] == sum(len(t) for t in texts)
    assert ov["bytes"] == sum(len(t.encode()) for t in texts)
    assert ov["bytes"] == sum(s.text_bytes for s in cs.manifest().done())
    assert ov["first_timestamp"] == min(stamps) and ov["last_timestamp"] == max(stamps)

    langs = Counter(d["language"] for d in docs)
    assert {
        r["language"]: r["documents"] for r in load_table(cs, "by_language").to_pylist()
    } == langs

    domains = Counter(d["domain"] or "(none)" for d in docs)
    words = Counter()
    for d in docs:
        words[d["domain"] or "(none)"] += d["n_words"]
    rows = load_table(cs, "by_domain").to_pylist()
    assert {r["domain"]: r["documents"] for r in rows} == domains
    top = max(words.values())
    assert {r["domain"] for r in rows if r["rank"] == 1} == {
        k for k, v in words.items() if v == top
    }
    assert math.isclose(sum(r["share_of_words"] for r in rows), 1.0)

    months = Counter(d["timestamp"].strftime("%Y-%m") if d["timestamp"] else "(none)" for d in docs)
    assert {r["month"]: r["documents"] for r in load_table(cs, "by_month").to_pylist()} == months

    hist = Counter(2 ** int(math.log2(max(d["n_words"], 1))) for d in docs)
    assert {
        r["min_words"]: r["documents"] for r in load_table(cs, "length_histogram").to_pylist()
    } == hist

    hashes = Counter(d["text_hash"] for d in docs)
    groups = [n for n in hashes.values() if n > 1]
    (dup,) = load_table(cs, "duplicates_exact").to_pylist()
    assert (dup["groups"], dup["documents_in_groups"], dup["redundant_documents"]) == (
        len(groups),
        sum(groups),
        sum(n - 1 for n in groups),
    )

    spans = _pii(indexed, corpus).to_pylist()
    by_entity = Counter(s["entity_type"] for s in spans)
    docs_by_entity = {
        e: len({s["doc_id"] for s in spans if s["entity_type"] == e}) for e in by_entity
    }
    rows = load_table(cs, "pii").to_pylist()
    assert {r["entity_type"]: (r["documents"], r["spans"]) for r in rows} == {
        e: (docs_by_entity[e], n) for e, n in by_entity.items()
    }

    (q,) = load_table(cs, "quality").to_pylist()
    assert q["lorem_ipsum"] == sum(1 for t in texts if re.search("(?i)lorem ipsum", t))
    assert q["curly_brace"] == sum(1 for t in texts if "{" in t)
    assert q["under_50_words"] == sum(1 for d in docs if d["n_words"] < 50)

    sources = Counter()
    by_shard = {s.shard_id: s.source for s in cs.manifest().done()}
    for d in docs:
        sources[by_shard[d["shard"]]] += 1
    assert {r["source"]: r["documents"] for r in load_table(cs, "by_source").to_pylist()} == sources


def test_manifest_hashes_and_inputs(indexed: Path):
    cs = Store(indexed).corpus("c4")
    m = json.loads((stats_dir(cs) / "manifest.json").read_bytes())
    assert set(m["tables"]) == {t.name for t in TABLES}
    for entry in m["tables"].values():
        data = (stats_dir(cs) / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert {s["shard_id"] for s in m["inputs"]["shards"]} == {
        s.shard_id for s in cs.manifest().done()
    }
    assert is_current(cs)


def test_the_documented_queries_reproduce_every_table(indexed: Path):
    """docs/statistics.md holds the code's queries verbatim; run as documented, they give the
    published tables."""
    doc = (ROOT / "docs" / "statistics.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)\n```", doc, flags=re.S)
    views, queries = blocks[0], blocks[1:]
    assert [t.sql for t in TABLES if t.sql] == queries
    for corpus in REAL:
        cs = Store(indexed).corpus(corpus)
        cwd = os.getcwd()
        os.chdir(cs.root)
        try:
            with duckdb.connect() as con:
                for statement in filter(None, (s.strip() for s in views.split(";"))):
                    con.execute(statement)
                for spec in TABLES:
                    if spec.sql is None:
                        continue
                    got = con.sql(spec.sql).to_arrow_table().to_pylist()
                    want = load_table(cs, spec.name).to_pylist()
                    assert _approx(got) == _approx(want), (corpus, spec.name)
        finally:
            os.chdir(cwd)


def _approx(rows: list[dict]) -> list[dict]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def test_near_duplicates_are_found(tmp_path: Path, cli, data_dir: Path):
    import gzip

    with gzip.open(SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz", "rt") as f:
        texts = [json.loads(line)["text"] for line in f]
    words = next(t for t in texts if len(t.split()) > 300).split()
    docs = []
    for i in range(12):  # near copies of one real document: one word changed each
        w = list(words)
        w[i * 7] = f"changed{i}"
        docs.append({"id": f"near{i}", "text": " ".join(w)})
    for i in range(20):
        docs.append({"id": f"other{i}", "text": " ".join(f"unique{i}word{j}" for j in range(200))})
    src = tmp_path / "near.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    cli("ingest", src, "--corpus", "near", "--quiet")
    cli("stats", "--corpus", "near")
    (nd,) = load_table(Store(data_dir).corpus("near"), "near_duplicates").to_pylist()
    assert nd["sample_documents"] == 32 and nd["clusters"] == 1
    assert nd["documents_in_clusters"] == 12
    assert nd["num_perm"] == 128 and nd["jaccard_threshold"] == 0.8


def test_stats_follow_ingest(tmp_path: Path, cli, data_dir: Path):
    cli("ingest", SAMPLES / "c4", "--corpus", "c", "--quiet")
    cli("stats", "--corpus", "c")
    cs = Store(data_dir).corpus("c")
    before = load_table(cs, "overview").to_pylist()[0]["documents"]
    cli("ingest", SAMPLES / "pile", "--corpus", "c", "--quiet")  # rebuilds the statistics
    assert is_current(cs)
    assert load_table(cs, "overview").to_pylist()[0]["documents"] > before


def test_public_tables_hide_small_cells_and_their_complements(indexed: Path):
    threshold = 10
    for corpus in REAL:
        cs = Store(indexed).corpus(corpus)
        for spec in TABLES:
            full = load_table(cs, spec.name).to_pylist()
            public = suppress(spec, full, threshold).rows
            by_key = {tuple(r.get(k) for k in spec.keys): r for r in full}
            assert len(by_key) == len(full) == len(public)
            pairs = [(p, by_key[tuple(p.get(k) for k in spec.keys)]) for p in public]
            seen_hidden = False
            for row, _orig in pairs:  # hidden rows come last: their place is not their rank
                assert not (seen_hidden and not row["suppressed"]), spec.name
                seen_hidden = seen_hidden or row["suppressed"]
            for row, orig in pairs:
                for c in spec.counts:
                    v = row.get(c)
                    assert v is None or v == 0 or v >= threshold, (spec.name, row)
                    if orig.get(c) and orig[c] >= threshold and not row["suppressed"]:
                        assert v == orig[c]
            if spec.partition:
                hidden = [o for p, o in pairs if p["suppressed"]]
                if hidden:  # never one hidden row, and never only small ones
                    assert len(hidden) >= 2
                    assert any(o[spec.counts[0]] >= threshold for o in hidden), spec.name


def test_small_cells_by_hand():
    spec = SPECS["by_language"]
    rows = [
        {"language": "en", "documents": 100, "words": 1000, "share_of_documents": 0.8},
        {"language": "fr", "documents": 20, "words": 200, "share_of_documents": 0.16},
        {"language": "de", "documents": 12, "words": 120, "share_of_documents": 0.02},
        {"language": "uz", "documents": 3, "words": 30, "share_of_documents": 0.02},
    ]
    out = suppress(spec, rows, 10)
    assert [r["suppressed"] for r in out.rows] == [False, False, True, True]  # de: complement
    assert out.rows[2] == {
        "language": "de",
        "documents": None,
        "words": None,
        "share_of_documents": None,
        "suppressed": True,
    }
    assert suppress(spec, rows, 1).hidden_rows == 0
    # The review's case: 719 = 670 + 22 + 16 + 10 + 1. Hiding only 1 and 10 lets anyone work
    # the 1 out (11 hidden, the other hidden row between 10 and 16); 16 must go too.
    by_source = SPECS["by_source"]
    rows = [
        {"source": s, "documents": n, "words": n * 10}
        for s, n in (("a", 670), ("b", 22), ("c", 16), ("d", 10), ("e", 1))
    ]
    out = suppress(by_source, rows, 10)
    hidden = {r["source"] for r in out.rows if r["suppressed"]}
    assert hidden == {"c", "d", "e"}
    dup = {"groups": 4, "documents_in_groups": 8, "redundant_documents": 4, "redundant_share": 0.01}
    shown = suppress(SPECS["duplicates_exact"], [dup], 10).rows[0]
    assert shown["redundant_share"] is None and shown["groups"] is None  # share x total = count
    quality = {"documents": 1, "code_lines": 0, "curly_brace": 0, "lorem_ipsum": 0}
    assert suppress(SPECS["quality"], [quality], 10).rows[0]["documents"] is None


@pytest.fixture(scope="module")
def auditor_key(indexed: Path) -> str:
    return State(indexed).create_key("test-auditor", "auditor")


def test_api_serves_public_and_full_tables(indexed: Path, auditor_key: str):
    c = TestClient(create_app(Settings(data=indexed)))
    index = c.get("/v1/corpora/commoncrawl/stats").json()
    assert index["current"] and index["role"] == "public" and index["small_cell_threshold"] == 10
    assert {t["name"] for t in index["tables"]} == {t.name for t in TABLES}
    public = c.get("/v1/corpora/commoncrawl/stats/by_language").json()
    assert public["hidden_rows"] >= 2
    assert all(r["documents"] is None or r["documents"] >= 10 for r in public["rows"])
    auth = {"Authorization": f"Bearer {auditor_key}"}
    full = c.get("/v1/corpora/commoncrawl/stats/by_language", headers=auth).json()
    assert full["role"] == "auditor" and full["hidden_rows"] == 0
    cs = Store(indexed).corpus("commoncrawl")
    assert [r["documents"] for r in full["rows"]] == [
        r["documents"] for r in load_table(cs, "by_language").to_pylist()
    ]
    # downloads: the auditor's Parquet is the published file; CSV and JSON say the same
    entry = index["manifest"]["tables"]["by_domain"]
    data = c.get("/v1/corpora/commoncrawl/stats/by_domain.parquet", headers=auth).content
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    csv_rows = c.get("/v1/corpora/commoncrawl/stats/by_domain.csv").text.splitlines()
    assert csv_rows[0].startswith("domain,documents,words") and len(csv_rows) == entry["rows"] + 1
    js = c.get("/v1/corpora/commoncrawl/stats/by_domain.json").json()
    assert len(js) == entry["rows"]
    parquet_public = pq.read_table(
        io.BytesIO(c.get("/v1/corpora/commoncrawl/stats/by_domain.parquet").content)
    )
    assert parquet_public.column("suppressed").to_pylist() == [r["suppressed"] for r in js]
    page = c.get("/v1/corpora/commoncrawl/stats/by_domain", params={"offset": 5, "limit": 3}).json()
    assert page["rows"] == js[5:8] and page["total_rows"] == entry["rows"]
    assert c.get("/v1/corpora/commoncrawl/stats/nope").status_code == 404
    assert c.get("/v1/corpora/commoncrawl/stats/by_domain.xlsx").status_code == 422
    bad = c.get("/v1/corpora/commoncrawl/stats", headers={"Authorization": "Bearer cs_wrong"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"


def test_domain_lookup(indexed: Path, auditor_key: str):
    c = TestClient(create_app(Settings(data=indexed)))
    cs = Store(indexed).corpus("commoncrawl")
    rows = load_table(cs, "by_domain").to_pylist()
    big = next(r for r in rows if r["documents"] >= 10 and r["domain"] != "(none)")
    ans = c.get(f"/v1/corpora/commoncrawl/domains/https://www.{big['domain']}/some/page").json()
    assert ans["found"] and ans["domain"] == big["domain"]
    assert (ans["rank"], ans["documents"], ans["words"]) == (
        big["rank"],
        big["documents"],
        big["words"],
    )
    small = next(r for r in rows if r["documents"] < 10)
    pub = c.get(f"/v1/corpora/commoncrawl/domains/{small['domain']}").json()
    assert pub["found"] and pub["suppressed"] and pub["documents"] is None
    auth = {"Authorization": f"Bearer {auditor_key}"}
    full = c.get(f"/v1/corpora/commoncrawl/domains/{small['domain']}", headers=auth).json()
    assert full["documents"] == small["documents"] and full["first_seen"]
    assert not c.get("/v1/corpora/commoncrawl/domains/not-in-it.example").json()["found"]


def test_summary_structure_and_missing_declarations(indexed: Path, tmp_path: Path):
    cs = Store(indexed).corpus("commoncrawl")
    empty = build_summary(cs, {})
    s = empty["sections"]
    assert list(s) == ["1_general_information", "2_data_sources", "3_data_processing"]
    assert list(s["2_data_sources"]) == [
        "2.1_public_datasets",
        "2.2_private_datasets",
        "2.3_crawled_and_scraped",
        "2.4_user_data",
        "2.5_synthetic_data",
        "2.6_other",
    ]
    assert list(s["3_data_processing"]) == ["3.1_tdm_opt_out", "3.2_illegal_content", "3.3_other"]
    size = s["1_general_information"]["1.3_modalities_and_size"]
    assert size["text"]["size_bin"] == "less than 1 billion tokens"
    assert size["text"]["documents"] == load_table(cs, "overview").to_pylist()[0]["documents"]
    assert "provider.name" in empty["missing_declarations"]
    assert "crawling.crawlers" in empty["missing_declarations"]
    assert "NOT DECLARED" in to_markdown(empty)
    for path in ("sources.licensed", "sources.user_data", "sources.synthetic", "sources.other"):
        assert path in empty["missing_declarations"]  # never read as a declared "none"
    for path in ("provider.sme", "crawling.period", "processing.other", "model.dependencies"):
        assert path in empty["missing_declarations"]
    assert "none declared" not in json.dumps(empty) + to_markdown(empty)

    domains = load_table(cs, "by_domain").to_pylist()
    named = [r for r in domains if r["domain"] != "(none)"]
    listed, _ = top_domains(domains, sme=False)
    assert len(listed) == math.ceil(0.1 * len(named))
    biggest = max(named, key=lambda r: r["bytes"])["domain"]
    assert listed[0] == biggest
    assert len(top_domains(domains, sme=True)[0]) == min(math.ceil(0.05 * len(named)), 1000)

    provider = tmp_path / "provider.toml"
    provider.write_text(
        '[provider]\nname = "Example AI"\ncontact = "dpo@example.ai"\nsme = true\n'
        '[corpus]\nkind = "crawled"\nname = "CC sample"\n'
        '[crawling]\ncrawlers = ["CCBot/2.0"]\n'
    )
    out = tmp_path / "summary.json"
    _run(
        "summary",
        "--corpus",
        "commoncrawl",
        "--provider-file",
        provider,
        "--format",
        "json",
        "--out",
        out,
        "--data-dir",
        indexed,
    )
    declared = json.loads(out.read_text())
    assert declared["sections"]["1_general_information"]["1.1_provider"]["name"] == "Example AI"
    crawl = declared["sections"]["2_data_sources"]["2.3_crawled_and_scraped"]
    assert crawl["crawlers"] == ["CCBot/2.0"] and crawl["top_domains_rule"].startswith("top 5%")
    assert "provider.name" not in declared["missing_declarations"]
    c = TestClient(create_app(Settings(data=indexed)))
    md = c.get("/v1/corpora/commoncrawl/summary.md")
    assert md.status_code == 200 and "## 2. List of data sources" in md.text
    assert c.get("/v1/corpora/commoncrawl/summary.json").json()["corpus"] == "commoncrawl"


def _run(*args) -> None:
    """The CLI on the shared indexed data directory."""
    from typer.testing import CliRunner

    from corpuscope.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_export_cli(indexed: Path, tmp_path: Path):
    for fmt in ("csv", "json", "parquet"):
        _run(
            "stats",
            "export",
            "--corpus",
            "c4",
            "--format",
            fmt,
            "--table",
            "by_language",
            "--out",
            tmp_path,
            "--data-dir",
            indexed,
        )
    cs = Store(indexed).corpus("c4")
    full = load_table(cs, "by_language")
    assert pq.read_table(tmp_path / "c4-by_language.parquet").equals(full)
    assert json.loads((tmp_path / "c4-by_language.json").read_text())[0]["language"] == "en"
    assert (tmp_path / "c4-by_language.csv").read_text().startswith("language,documents")


def test_stats_build_is_atomic(indexed: Path):
    """Tables are content-addressed and the manifest is written last: a reader holding the
    old manifest can still read every table it names while a new build runs."""
    cs = Store(indexed).corpus("people")
    old = json.loads((stats_dir(cs) / "manifest.json").read_bytes())
    new = build_stats(cs)
    for name, entry in new["tables"].items():
        assert entry["sha256"] == old["tables"][name]["sha256"] or name == "near_duplicates"
    assert not [p for p in stats_dir(cs).iterdir() if ".tmp" in p.name]


def test_months_are_utc_whatever_the_machines_time_zone(indexed: Path):
    """A document of 23:00 UTC on the last of a month belongs to that month, also when the
    statistics are built on a machine fourteen hours ahead."""
    import subprocess
    import sys

    code = (
        "import duckdb, sys; from corpuscope.stats.build import open_views\n"
        "con = duckdb.connect(); open_views(con, {'shards': [], 'pii': []}, None)\n"
        "print(con.sql(\"select strftime(TIMESTAMPTZ '2020-03-31 23:00+00', '%Y-%m')\").fetchall()[0][0])"
    )
    env = {**os.environ, "TZ": "Pacific/Kiritimati"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "2020-03", out.stderr
