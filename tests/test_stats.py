"""Statistics: figures against independent computations, reproducibility, suppression, summary."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from collections import Counter
from datetime import UTC
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


def _counted(cs, spans: list[dict]) -> list[dict]:
    """The spans the statistics count: at or above their entity's threshold in the manifest."""
    m = json.loads((stats_dir(cs) / "manifest.json").read_bytes())
    least = {t["entity_type"]: t["min_score"] for t in m["inputs"]["pii_min_score"]}
    return [s for s in spans if s["score"] >= least.get(s["entity_type"], 0)]


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

    spans = _counted(cs, _pii(indexed, corpus).to_pylist())
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
    unsorted_in_rank_order = bound_checked = 0
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
            hidden_keys = [_natural(p, spec.keys) for p in public if p["suppressed"]]
            assert hidden_keys == sorted(hidden_keys), (corpus, spec.name)  # by key, not rank
            in_rank_order = [  # the hidden rows in the published (auditor's) order
                _natural(o, spec.keys) for o in full if _natural(o, spec.keys) in hidden_keys
            ]
            unsorted_in_rank_order += in_rank_order != sorted(in_rank_order)
            if spec.partition:
                hidden = [o for p, o in pairs if p["suppressed"]]
                if hidden:  # never one hidden row, and never only small ones
                    assert len(hidden) >= 2
                    assert any(o[spec.counts[0]] >= threshold for o in hidden), spec.name
                    shown = [o for p, o in pairs if not p["suppressed"]]
                    assert_complementary_rule(spec, hidden, shown, threshold)
                    bound_checked += 1
    assert unsorted_in_rank_order >= 3  # tables where rank order would give ranks away
    assert bound_checked >= 8


def _natural(row: dict, keys: tuple[str, ...]) -> tuple:
    """A row's key as the public sees it sorted: numbers as numbers, text as text."""
    return tuple(row[k] for k in keys)


def assert_complementary_rule(spec, hidden: list[dict], shown: list[dict], threshold: int):
    """docs/statistics.md, Small cells: whenever a row is hidden, the smallest rows still shown
    are hidden too, smallest first, until, with k such rows each known only to lie between
    the threshold and the smallest row still shown (s), k * (s - threshold) >= threshold;
    and no more of them than that takes."""
    primary = spec.counts[0]
    small = [o for o in hidden if any(0 < (o.get(c) or 0) < threshold for c in spec.counts)]
    complements = sorted(o[primary] for o in hidden if o not in small)
    left = sorted(o[primary] for o in shown if o[primary] > 0)
    assert small and complements, spec.name  # a row was hidden, and so were complements
    s = left[0] if left else math.inf
    assert complements[-1] <= s, spec.name  # the smallest shown went first
    k = len(complements)
    assert not left or k * (s - threshold) >= threshold, (spec.name, complements, s)
    for j in range(1, k):  # with fewer complements the bound did not hold yet
        assert j * (complements[j] - threshold) < threshold, (spec.name, complements, j)


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
    # hidden rows are listed last by key, never in rank order (which would give ranks away)
    rows = [
        {"language": lang, "documents": n, "words": n * 10, "share_of_documents": n / 155}
        for lang, n in (("en", 100), ("zh", 40), ("fr", 12), ("ab", 3))
    ]
    out = suppress(spec, rows, 10)
    assert [(r["language"], r["suppressed"]) for r in out.rows] == [
        ("en", False),
        ("zh", False),
        ("ab", True),
        ("fr", True),
    ]
    lengths = [
        {"min_words": lo, "max_words": 2 * lo - 1, "documents": n}
        for lo, n in ((1, 3), (2, 50), (4, 200), (8, 12), (1024, 2))
    ]
    out = suppress(SPECS["length_histogram"], lengths, 10)
    assert [(r["min_words"], r["suppressed"]) for r in out.rows] == [
        (2, False),
        (4, False),
        (1, True),
        (8, True),  # numbers in their order, not as text ("1024" < "8")
        (1024, True),
    ]
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
    full_index = c.get("/v1/corpora/commoncrawl/stats", headers=auth).json()
    entry = full_index["manifest"]["tables"]["by_domain"]
    data = c.get("/v1/corpora/commoncrawl/stats/by_domain.parquet", headers=auth).content
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    public_entry = index["manifest"]["tables"]["by_domain"]  # the public table's checksum
    assert (
        public_entry["sha256"] == full_index["manifest"]["tables"]["by_domain"]["public"]["sha256"]
    )
    assert public_entry["sha256"] != entry["sha256"]
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
    rows = load_table(cs, "by_domain", public=True).to_pylist()  # the public's figures
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


# -- every table against a plain Python computation ---------------------------------------------
# Not the tables' own SQL: the documents and PII spans are read from the shard and sidecar
# Parquet files with pyarrow, and each table is computed with Python's own counting.

_WS = r"[\t\n\f\r ]"  # RE2's \s (DuckDB's regexes), which leaves out Unicode white space
CODE_LINE = re.compile(
    rf"^{_WS}*(def |class |import |#include|function{_WS}*\(|var |const |public |return\b)"
    rf"|[{{}};]{_WS}*$",
    re.M | re.A,  # RE2's \b is ASCII
)
COOKIES = re.compile(r"uses? cookies|cookie (policy|settings|consent)|accept (all )?cookies", re.I)
JAVASCRIPT = re.compile(r"enable javascript|javascript is (disabled|required)", re.I)


def recompute(cs) -> dict[str, list[dict]]:
    """Every table but near_duplicates, from the corpus's files, in the published row order."""
    shards = {s.shard_id: s for s in cs.manifest().done()}
    docs = pa.concat_tables([pq.read_table(cs.root / s.parquet) for s in shards.values()])
    docs = docs.to_pylist()
    for d in docs:
        d["words"] = len(d["text"].split())
        d["bytes"] = len(d["text"].encode())
        d["site"] = d["domain"] or "(none)"
        d["source"] = shards[d["shard"]].source
    n, words = len(docs), sum(d["words"] for d in docs)
    stamps = [d["timestamp"] for d in docs if d["timestamp"] is not None]
    out: dict[str, list[dict]] = {}

    def groups(key) -> dict:
        g: dict = {}
        for d in docs:
            g.setdefault(key(d), []).append(d)
        return g

    measure = {
        "documents": len,
        "words": lambda ds: sum(d["words"] for d in ds),
        "characters": lambda ds: sum(len(d["text"]) for d in ds),
        "bytes": lambda ds: sum(d["bytes"] for d in ds),
    }

    def sizes(ds: list[dict], *columns: str) -> dict:
        return {c: measure[c](ds) for c in columns}

    out["overview"] = [
        {
            **sizes(docs, "documents", "words", "characters", "bytes"),
            "shards": len({d["shard"] for d in docs}),
            "sources": len({s.source for s in shards.values()}),
            "first_timestamp": min(stamps, default=None),
            "last_timestamp": max(stamps, default=None),
        }
    ]
    rows = [
        {
            "source": k,
            "shards": len({d["shard"] for d in ds}),
            **sizes(ds, "documents", "words", "characters", "bytes"),
        }
        for k, ds in groups(lambda d: d["source"]).items()
    ]
    out["by_source"] = sorted(rows, key=lambda r: (-r["documents"], r["source"]))
    rows = [
        {"shard": k, "source": shards[k].source}
        | sizes(ds, "documents", "words", "characters", "bytes")
        for k, ds in groups(lambda d: d["shard"]).items()
    ]
    out["by_shard"] = sorted(rows, key=lambda r: r["shard"])
    by_site = groups(lambda d: d["site"])
    site_words = {k: sum(d["words"] for d in ds) for k, ds in by_site.items()}
    rows = []
    for k, ds in by_site.items():
        seen = [d["timestamp"] for d in ds if d["timestamp"] is not None]
        rows.append(
            {"domain": k, **sizes(ds, "documents", "words", "bytes")}
            | {
                "share_of_words": site_words[k] / words,
                "rank": 1 + sum(w > site_words[k] for w in site_words.values()),
                "first_seen": min(seen, default=None),
                "last_seen": max(seen, default=None),
            }
        )
    out["by_domain"] = sorted(rows, key=lambda r: (r["rank"], r["domain"]))
    rows = [
        {"tld": k, **sizes(ds, "documents", "words")}
        | {"share_of_words": sum(d["words"] for d in ds) / words}
        for k, ds in groups(
            lambda d: d["domain"].rsplit(".", 1)[-1] if d["domain"] else "(none)"
        ).items()
    ]
    out["by_tld"] = sorted(rows, key=lambda r: (-r["words"], r["tld"]))
    rows = [
        {"language": k, **sizes(ds, "documents", "words"), "share_of_documents": len(ds) / n}
        for k, ds in groups(lambda d: d["language"]).items()
    ]
    out["by_language"] = sorted(rows, key=lambda r: (-r["documents"], r["language"]))
    month = groups(
        lambda d: d["timestamp"].astimezone(UTC).strftime("%Y-%m") if d["timestamp"] else "(none)"
    )
    out["by_month"] = sorted(
        ({"month": k, **sizes(ds, "documents", "words")} for k, ds in month.items()),
        key=lambda r: r["month"],
    )
    bins = groups(lambda d: max(d["words"], 1).bit_length() - 1)
    out["length_histogram"] = [
        {"min_words": 2**b, "max_words": 2 ** (b + 1) - 1, "documents": len(bins[b])}
        for b in sorted(bins)
    ]
    same = [ds for ds in groups(lambda d: d["text"]).values() if len(ds) > 1]
    for ds in same:  # one text, one hash
        assert len({d["text_hash"] for d in ds}) == 1
    redundant = sum(len(ds) - 1 for ds in same)
    out["duplicates_exact"] = [
        {
            "groups": len(same),
            "documents_in_groups": sum(len(ds) for ds in same),
            "redundant_documents": redundant,
            "redundant_share": redundant / n,
        }
    ]
    rows = [
        {
            "text_hash": ds[0]["text_hash"],
            "documents": len(ds),
            "example_doc_id": min(d["doc_id"] for d in ds),
            "words": min(d["words"] for d in ds),
        }
        for ds in same
    ]
    out["duplicate_groups"] = sorted(rows, key=lambda r: (-r["documents"], r["text_hash"]))[:100]

    live = {
        k: e
        for k, e in cs.pii_manifest()["shards"].items()
        if k in shards and e.get("source_sha256") == shards[k].sha256
    }
    spans = [s for e in live.values() for s in pq.read_table(cs.root / e["path"]).to_pylist()]
    spans = _counted(cs, spans)
    scanned = [d for d in docs if d["shard"] in live]
    by_doc = {d["doc_id"]: d for d in docs}
    kinds: dict[str, list[dict]] = {}
    for s in spans:
        kinds.setdefault(s["entity_type"], []).append(s)
    rows = [
        {
            "entity_type": k,
            "documents": len({s["doc_id"] for s in ss}),
            "spans": len(ss),
            "spans_per_million_words": len(ss) * 1e6 / sum(d["words"] for d in scanned),
            "documents_scanned": len(scanned),
        }
        for k, ss in kinds.items()
    ]
    out["pii"] = sorted(rows, key=lambda r: (-r["spans"], r["entity_type"]))
    rows = []
    for k, ss in sorted(kinds.items()):
        per_site: dict[str, list[dict]] = {}
        for s in ss:
            per_site.setdefault(by_doc[s["doc_id"]]["site"], []).append(s)
        top = sorted(
            (
                {
                    "entity_type": k,
                    "domain": site,
                    "documents": len({s["doc_id"] for s in xs}),
                    "spans": len(xs),
                }
                for site, xs in per_site.items()
            ),
            key=lambda r: (-r["spans"], r["domain"]),
        )
        rows += top[:50]
    out["pii_by_domain"] = rows

    texts = [d["text"] for d in docs]
    out["quality"] = [
        {
            "documents": n,
            "code_lines": sum(1 for t in texts if CODE_LINE.search(t)),
            "curly_brace": sum(1 for t in texts if "{" in t),
            "lorem_ipsum": sum(1 for t in texts if re.search("(?i)lorem ipsum", t)),
            "cookie_notice": sum(1 for t in texts if COOKIES.search(t)),
            "javascript_notice": sum(1 for t in texts if JAVASCRIPT.search(t)),
            "under_50_words": sum(1 for d in docs if d["words"] < 50),
        }
    ]
    return out


def _same(got: list[dict], want: list[dict]) -> bool:
    """Equal rows, floats to 1e-9 relative."""
    if [list(r) for r in got] != [list(r) for r in want]:
        return False
    return all(
        math.isclose(a, b, rel_tol=1e-9) if isinstance(a, float) else a == b
        for g, w in zip(got, want, strict=True)
        for a, b in zip(g.values(), w.values(), strict=True)
    )


def _check_every_table(cs) -> dict[str, list[dict]]:
    want = recompute(cs)
    assert set(want) | {"near_duplicates"} == set(SPECS)  # a new table needs its recomputation
    for name, rows in want.items():
        got = load_table(cs, name).to_pylist()
        assert _same(got, rows), (cs.name, name, got[:3], rows[:3])
    return want


@pytest.mark.parametrize("corpus", REAL)
def test_every_table_equals_a_python_recomputation(indexed: Path, corpus: str):
    _check_every_table(Store(indexed).corpus(corpus))


@pytest.fixture(scope="module")
def varied(tmp_path_factory) -> Path:
    """A corpus made to reach every branch of the tables: three sources cut into several
    shards, documents without URL or time stamp, months across two years (one document at
    23:30 UTC on the last day of a month), lengths from 1 to 2,000 words, exact duplicates,
    e-mails and phone numbers on 30 domains, code, braces, lorem ipsum, cookie and JavaScript
    notices, text in many languages."""
    import gzip
    import random
    from datetime import datetime, timedelta

    from corpuscope import jobs

    rng = random.Random(7)
    pool = []
    for path in (
        SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz",
        SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz",
    ):
        with gzip.open(path, "rt") as f:
            pool += [json.loads(line)["text"] for line in f]
    pool = [t.split() for t in pool if len(t.split()) > 30]
    sites = [
        f"{w}{i}.{tld}"
        for i, (w, tld) in enumerate(
            (w, tld)
            for w in ("news", "blog", "shop")
            for tld in ("com", "org", "de", "fr", "co.uk", "io", "net", "es", "it", "nl")
        )
    ]
    extras = [
        "\ndef main():\n    return 1\n",
        " struct { int x; }",
        " Lorem ipsum dolor sit amet.",
        " This site uses cookies to improve your visit.",
        " Please enable JavaScript to view the comments.",
        "\nimport os\n",
        " nothing special here",
    ]
    start = datetime(2019, 1, 1)
    root = tmp_path_factory.mktemp("varied")
    made: list[str] = []
    for name in ("a", "b", "c"):
        lines = []
        for i in range(110):
            if made and rng.random() < 0.1:
                text = rng.choice(made)  # an exact duplicate
            else:
                words = rng.choice(pool)
                size = min(rng.choice([1, 2, 3, 5, 9, 20, 49, 50, 51, 120, 600, 2000]), len(words))
                at = rng.randrange(len(words) - size + 1)
                text = " ".join(words[at : at + size]) + rng.choice(extras)
                if rng.random() < 0.3:
                    text += (
                        f" Mail desk{i}@example.org or call +44 20 7946 0{rng.randrange(1000):03d}."
                    )
                made.append(text)
            doc = {"id": f"{name}{i}", "text": text}
            if rng.random() < 0.85:
                doc["url"] = f"https://www.{rng.choice(sites)}/page/{i}"
            if rng.random() < 0.8:
                when = start + timedelta(seconds=rng.randrange(2 * 365 * 86400))
                doc["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append(doc)
        if name == "a":
            lines[0]["timestamp"] = "2020-03-31T23:30:00Z"
        (root / f"{name}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in lines))
    settings = Settings(data=root / "data", shard_docs=40, workers=1)
    assert jobs.ingest(settings, "v", [str(root / f"{n}.jsonl") for n in "abc"]).ok
    assert jobs.scan(settings, "v").ok
    jobs.stats(settings, "v")
    return settings.data


def test_every_table_equals_a_python_recomputation_on_a_varied_corpus(varied: Path):
    tables = _check_every_table(Store(varied).corpus("v"))
    # the corpus reaches what it was made for (else the comparison above proves little)
    (ov,) = tables["overview"]
    assert ov["sources"] == 3 and ov["shards"] >= 9
    assert {r["domain"] for r in tables["by_domain"]} >= {"(none)"}
    assert len(tables["by_domain"]) > 20 and len(tables["by_tld"]) > 5
    assert "(none)" in {r["month"] for r in tables["by_month"]} and len(tables["by_month"]) > 20
    assert len(tables["length_histogram"]) >= 9
    assert tables["duplicates_exact"][0]["groups"] >= 5
    assert {r["entity_type"] for r in tables["pii"]} >= {"EMAIL_ADDRESS", "PHONE_NUMBER"}
    assert len(tables["pii_by_domain"]) > 20
    assert all(v > 0 for v in tables["quality"][0].values())
    assert len(tables["by_language"]) > 5


def test_pii_by_domain_cuts_ties_at_the_50th_domain_by_name(tmp_path: Path):
    """60 domains with one e-mail each: the top 50 are the first 50 by name."""
    import random

    from corpuscope import jobs

    names = [f"site-{i:02d}.com" for i in range(60)]
    random.Random(1).shuffle(names)
    src = tmp_path / "ties.jsonl"
    src.write_text(
        "".join(
            json.dumps({"text": f"Write to desk{i}@example.org today.", "url": f"https://{n}/"})
            + "\n"
            for i, n in enumerate(names)
        )
    )
    settings = Settings(data=tmp_path / "data", workers=1)
    assert jobs.ingest(settings, "t", [str(src)]).ok
    assert jobs.scan(settings, "t").ok
    jobs.stats(settings, "t")
    cs = Store(settings.data).corpus("t")
    rows = load_table(cs, "pii_by_domain").to_pylist()
    domains = sorted({d["domain"] for d in documents(settings.data, "t").to_pylist()})
    assert len(domains) == 60
    assert [r["domain"] for r in rows] == domains[:50]
    _check_every_table(cs)


def test_public_tables_are_over_the_redacted_view(indexed: Path):
    """The public tables' sizes are the redacted view's (what the index holds and display
    shows: `index.build.public_text`), never the raw text's; the public duplicate groups
    carry no text hash; the auditor's tables stay exact over the raw text."""
    from corpuscope.index.build import _spans_by_doc, public_text

    cs = Store(indexed).corpus("commoncrawl")
    m = json.loads((stats_dir(cs) / "manifest.json").read_bytes())
    sidecars = {p["shard_id"]: cs.root / p["path"] for p in m["inputs"]["pii"]}
    views = []
    for shard in m["inputs"]["shards"]:
        path = sidecars.get(shard["shard_id"])
        spans = _spans_by_doc(path)
        for d in pq.read_table(cs.root / shard["parquet"], columns=["doc_id", "text"]).to_pylist():
            views.append(public_text(d["text"], spans.get(d["doc_id"], [])))
    (pub,) = load_table(cs, "overview", public=True).to_pylist()
    (raw,) = load_table(cs, "overview").to_pylist()
    assert pub["documents"] == raw["documents"] == len(views)
    assert pub["words"] == sum(len(v.split()) for v in views)
    assert pub["characters"] == sum(len(v) for v in views)
    assert pub["bytes"] == sum(len(v.encode()) for v in views)
    assert pub["bytes"] < raw["bytes"]  # the sample corpus has personal data
    assert "text_hash" not in load_table(cs, "duplicate_groups", public=True).column_names
    c = TestClient(create_app(Settings(data=indexed)))
    for fmt in ("", ".csv", ".json", ".parquet"):
        r = c.get(f"/v1/corpora/commoncrawl/stats/duplicate_groups{fmt}")
        assert r.status_code == 200 and "text_hash" not in r.text[:2000]
    ov = c.get("/v1/corpora/commoncrawl/stats/overview").json()
    assert ov["rows"][0]["bytes"] == pub["bytes"]
    info = c.get("/v1/corpora/commoncrawl").json()
    assert info["text_bytes"] == pub["bytes"]
