"""The PII scan: tiering loses nothing, sidecars hold no values, lookups and redaction work."""

from __future__ import annotations

import json
import os
import random
import socket
from pathlib import Path

import duckdb
import phonenumbers
import pyarrow.parquet as pq
import pytest

from corpuscope.config import Settings
from corpuscope.ingest.executors import LocalExecutor
from corpuscope.models.documents import PII_SCHEMA, PiiSpan
from corpuscope.privacy.detect import Detector, _may_be_phone, detector_name, result_key
from corpuscope.privacy.hashing import normalise_value, store_key, value_hash
from corpuscope.privacy.lookup import find_identifier, guess_entity
from corpuscope.privacy.redact import redact
from corpuscope.privacy.scan import scan, scanner_version
from corpuscope.store import Store
from tests.conftest import SAMPLES, documents
from tests.planted import make_planted, real_texts, score

REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def test_tiered_scan_equals_presidio_on_every_document(detector):
    """Same spans and scores as Presidio's recognizers run on the whole of every document."""
    import gzip

    with gzip.open(SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz", "rt") as f:
        texts = [json.loads(line)["text"] for line in f][:350]
    texts += real_texts(150)
    import pyarrow as pa

    tiered = detector.detect_batch(pa.array(texts))
    full = [detector.full_scan(t) for t in texts]
    a = {(i, *result_key(r)) for i, rs in enumerate(tiered) for r in rs}
    b = {(i, *result_key(r)) for i, rs in enumerate(full) for r in rs}
    assert len(b) > 100  # the sample holds real phones, e-mails, cards …
    assert a == b


def test_tiered_scan_equals_presidio_on_edge_cases(detector):
    """Letters Presidio's case-insensitive patterns fold (dotless and dotted i), Unicode white
    space, non-ASCII text around the triggers: same spans, scores and detector names."""
    import pyarrow as pa

    texts = [
        "x AKIA" + "\u0131" * 16 + " y",
        "t ghp_" + "\u0131" * 36 + " x",
        "api_key:\u00a0" + "A" * 24 + " x",
        "api_key=\x0b" + "A" * 24 + " x",
        "x ap\u0130_key=" + "A" * 24 + " y",
        "the risk-free sk-" + "a" * 40 + " z",
        "-----BEGIN RSA PRIVATE KEY----- abc",
        "Zürich: (212) 555-0100 · 10.0.0.1 · 4111 1111 1111 1111 · DE89 3704 0044 0532 0130 00",
        "€ 123-45-6789 and ::1 and 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, naïve@exämple.org",
    ]

    def keys(results):
        return sorted((*result_key(r), detector_name(r)) for r in results)

    batch = detector.detect_batch(pa.array(texts))
    for text, tiered in zip(texts, batch, strict=True):
        assert keys(tiered) == keys(detector.full_scan(text)) != [], text


def test_fast_phone_recognizer_equals_presidios_in_every_context():
    """The remembering matcher gives Presidio's PhoneRecognizer results even when the same
    candidate appears again next to letters, currency signs, brackets or a time-stamp suffix,
    where phonenumbers rejects it (a cache keyed on the candidate alone would not)."""
    from corpuscope.privacy.recognizers import FastPhoneRecognizer, PhoneRecognizer

    numbers = ["(212) 555-0100", "030 901820", "+44 20 7946 0000", "98765 43210", "2019-05-12"]
    contexts = ["call {} now", "abc{}", "{}def", "$ {}", "€{}x", "[{}]", "{}:45 pm", "{} ext. 12"]
    texts = [c.format(n) for _ in range(2) for n in numbers for c in contexts]
    texts += real_texts(100)
    fast, plain = FastPhoneRecognizer(), PhoneRecognizer()
    found = set()
    for text in texts:
        got = sorted(result_key(r) for r in fast.analyze(text, ["PHONE_NUMBER"]))
        assert got == sorted(result_key(r) for r in plain.analyze(text, ["PHONE_NUMBER"])), text
        found |= {text[start:end] for _, start, end, _ in got}
    # equal, and not because both found nothing: every number is found in some context
    assert set(numbers[:-1]) <= found, found


def test_short_phone_numbers_filter_is_exact():
    """Every 4-digit string, and a sample of 5-digit ones, that any region's matcher accepts
    passes the cheap filter that decides which digit runs reach the phone recognizer."""
    rng = random.Random(3)
    candidates = [f"{i:04d}" for i in range(10_000)] + [
        f"{rng.randrange(100_000):05d}" for _ in range(3000)
    ]
    for s in candidates:
        matched = any(
            any(True for _ in phonenumbers.PhoneNumberMatcher(s, r, leniency=1)) for r in REGIONS
        )
        if matched:
            assert _may_be_phone(s, s, 0), s


def test_planted_recall_on_a_fixed_set(detector):
    texts, planted = make_planted(120, seed=11)
    found = {
        i: [(r.entity_type, r.start, r.end) for r in detector.detect(t)]
        for i, t in enumerate(texts)
    }
    report = score([p for p in planted if p.entity_type != "PERSON"], found)
    for entity in ("EMAIL_ADDRESS", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE"):
        assert report[entity]["recall"] >= 0.99, (entity, report[entity])
        assert report[entity]["precision"] >= 0.95, (entity, report[entity])
    assert report["PHONE_NUMBER"]["recall"] >= 0.95, report["PHONE_NUMBER"]


def test_value_normalisation_and_keyed_hash(tmp_path: Path):
    assert (
        normalise_value("EMAIL_ADDRESS", "  Alice.Whitfield@Example.COM ")
        == "alice.whitfield@example.com"
    )
    assert normalise_value("PHONE_NUMBER", "(202) 456-1111") == "+12024561111"
    assert normalise_value("PHONE_NUMBER", "+1 202.456.1111") == "+12024561111"
    assert normalise_value("PHONE_NUMBER", "020 7946 0018", region="GB") == "+442079460018"
    assert (
        normalise_value("IP_ADDRESS", "2001:0db8:0000:0000:0000:ff00:0042:8329")
        == "2001:db8::ff00:42:8329"
    )
    assert normalise_value("CREDIT_CARD", "4111-1111 1111 1111") == "4111111111111111"
    assert normalise_value("IBAN_CODE", "de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    key = store_key(tmp_path)
    assert len(key) == 32 and store_key(tmp_path) == key
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    h = value_hash(key, "EMAIL_ADDRESS", "A@B.example")
    assert h == value_hash(key, "EMAIL_ADDRESS", "a@b.example ")
    assert h != value_hash(store_key(tmp_path / "other"), "EMAIL_ADDRESS", "a@b.example")
    assert h != value_hash(key, "PERSON", "a@b.example")
    assert guess_entity("x@y.org") == "EMAIL_ADDRESS"
    assert guess_entity("192.0.2.1") == "IP_ADDRESS"
    assert guess_entity("DE89 3704 0044 0532 0130 00") == "IBAN_CODE"
    assert guess_entity("4111 1111 1111 1111") == "CREDIT_CARD"
    assert guess_entity("+44 20 7946 0018") == "PHONE_NUMBER"


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory):
    """A corpus of real documents with planted identities, ingested and scanned."""
    root = tmp_path_factory.mktemp("planted")
    texts, planted = make_planted(60, seed=5)
    src = root / "planted.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"doc-{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    data = root / "data"
    from corpuscope import jobs

    settings = Settings(data=data, workers=1, shard_docs=25)
    assert jobs.ingest(settings, "p", [str(src)]).ok
    summary = scan(Store(data), "p", settings, LocalExecutor(1))
    assert summary.ok and summary.shards_scanned == 3
    return data, texts, planted, summary


def test_sidecars_hold_spans_and_hashes_never_values(planted_store):
    data, _texts, planted, summary = planted_store
    cs = Store(data).corpus("p")
    paths = cs.pii_paths()
    assert len(paths) == 3
    key = store_key(data)
    docs = {d["doc_id"]: d["text"] for d in documents(data, "p").to_pylist()}
    for path in paths:
        table = pq.read_table(path)
        assert table.schema.equals(PII_SCHEMA)
        for row in table.to_pylist():
            value = docs[row["doc_id"]][row["start"] : row["end"]]
            assert row["value_hash"] == value_hash(key, row["entity_type"], value)
    # no planted value, raw or normalised, is anywhere in the sidecars or manifests
    blobs = b"".join(p.read_bytes() for p in (*paths, cs.pii_manifest_path, cs.manifest_path))
    for p in planted:
        assert p.value.encode() not in blobs
        assert normalise_value(p.entity_type, p.value, p.region).encode() not in blobs
    assert summary.by_entity["EMAIL_ADDRESS"] == sum(
        p.entity_type == "EMAIL_ADDRESS" for p in planted
    )
    assert sum(v["documents"] for v in summary.by_language.values()) == 60


def test_rerun_skips_and_new_scanner_version_rescans(planted_store):
    data, *_ = planted_store
    store, settings = Store(data), Settings(data=data, workers=1)
    again = scan(store, "p", settings, LocalExecutor(1))
    assert again.shards_skipped == 3 and again.shards_scanned == 0
    other = Settings(data=data, workers=1, phone_regions="US,GB")
    assert scanner_version(other, None) != scanner_version(settings, None)
    rescanned = scan(store, "p", other, LocalExecutor(1))
    assert rescanned.shards_scanned == 3
    back = scan(store, "p", settings, LocalExecutor(1), force=True)
    assert back.shards_scanned == 3 and back.spans == again.spans


def test_lookup_by_identifier_in_any_written_form(planted_store):
    data, texts, planted, _ = planted_store
    store = Store(data)
    doc_of = {d["source_id"]: d["doc_id"] for d in documents(data, "p").to_pylist()}
    assert len(doc_of) == len(texts)
    checked = 0
    for p in planted:
        if p.entity_type == "PERSON":
            continue
        queries = {
            "EMAIL_ADDRESS": [f"  {p.value.upper()} "],
            "IBAN_CODE": [p.value.replace(" ", "").lower()],
            "CREDIT_CARD": [p.value.replace(" ", "").replace("-", "")],
        }.get(p.entity_type, [p.value])
        if p.entity_type == "PHONE_NUMBER":  # as written, in E.164, and written nationally
            number = phonenumbers.parse(p.value, p.region)
            queries += [
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
            ]
        for query in queries:
            (result,) = find_identifier(
                store, query, p.entity_type, corpora=["p"], phone_region=p.region
            )
            assert doc_of[f"doc-{p.doc}"] in result.documents, (p, query, result)
            checked += 1
    assert checked > 150
    (nothing,) = find_identifier(store, "nobody@nowhere.example", corpora=["p"])
    assert nothing.documents == [] and nothing.occurrences == 0


def test_lookup_finds_the_document_whatever_the_written_form(tmp_path):
    """Each identifier is written once, in one form; every other way of writing it finds that
    document (and only it), and a neighbouring value finds nothing."""
    from corpuscope import jobs

    docs = {
        "uk-national": "Call Ada on 020 7946 0018 at the office, weekdays only.",
        "us-e164": "Reach Bob at +1 202-456-1111 any time of day.",
        "us-national": "The evening line is (202) 456-1414 for Dan.",
        "email": "Write to Cat.Whitfield@Example.COM for the minutes.",
        "neighbours": "Eve answers on 020 7946 0019 or at cat.whitfield@example.co today.",
    }
    src = tmp_path / "forms.jsonl"
    src.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in docs.items()))
    data = tmp_path / "data"
    settings = Settings(data=data, workers=1)
    assert jobs.ingest(settings, "f", [str(src)]).ok
    assert scan(Store(data), "f", settings, LocalExecutor(1)).ok
    doc_of = {d["source_id"]: d["doc_id"] for d in documents(data, "f").to_pylist()}
    forms = {
        "uk-national": [
            ("+44 20 7946 0018", "US"),
            ("+442079460018", "US"),
            ("+44 (0)20 7946 0018", "US"),
            ("020 7946 0018", "GB"),
            ("02079460018", "GB"),
            ("020-7946-0018", "GB"),
            ("020 7946 0018", "US"),  # not valid in the US: read where it is valid
        ],
        "us-e164": [
            ("(202) 456-1111", "US"),
            ("202.456.1111", "US"),
            ("2024561111", "US"),
            ("+12024561111", "US"),
            ("+1 202 456 1111", "GB"),
        ],
        "us-national": [("+1 202 456 1414", "US"), ("+12024561414", "GB"), ("202 456 1414", "US")],
        "email": [
            ("cat.whitfield@example.com", "US"),
            ("CAT.WHITFIELD@EXAMPLE.COM", "US"),
            ("  Cat.Whitfield@example.com ", "US"),
        ],
    }
    for source_id, written in forms.items():
        for value, region in written:
            (result,) = find_identifier(Store(data), value, corpora=["f"], phone_region=region)
            assert result.documents == [doc_of[source_id]], (value, region, result)
            assert result.occurrences == 1
    for value in ("+44 20 7946 0017", "cat.whitfield@example.net", "+1 202 456 1112"):
        (result,) = find_identifier(Store(data), value, corpora=["f"])
        assert result.documents == [], value
    (eve,) = find_identifier(Store(data), "+44 20 7946 0019", corpora=["f"])
    assert eve.documents == [doc_of["neighbours"]]  # the neighbour was scanned, and is found


def test_redaction_replaces_spans_and_keeps_the_subjects_own(planted_store):
    data, *_ = planted_store
    store = Store(data)
    key = store_key(data)
    cs = store.corpus("p")
    spans_by_doc: dict[str, list[PiiSpan]] = {}
    for path in cs.pii_paths():
        for row in pq.read_table(path).to_pylist():
            spans_by_doc.setdefault(row["doc_id"], []).append(PiiSpan(**row))
    doc = next(
        d
        for d in documents(data, "p").to_pylist()
        if any(s.entity_type == "EMAIL_ADDRESS" for s in spans_by_doc.get(d["doc_id"], []))
    )
    spans = spans_by_doc[doc["doc_id"]]
    text, done = redact(doc["text"], spans, runtime_pass=False)
    for s in spans:
        assert doc["text"][s.start : s.end] not in text
    assert "[EMAIL]" in text and len(done) >= len({(s.start, s.end) for s in spans}) - 1
    email = next(s for s in spans if s.entity_type == "EMAIL_ADDRESS")
    own = doc["text"][email.start : email.end]
    kept, _ = redact(doc["text"], spans, keep={email.value_hash}, key=key)
    assert own in kept
    # a window: offsets are document offsets; spans crossing the edge are cut to it
    start = max(0, email.start - 30)
    window, _ = redact(doc["text"][start : email.end + 30], spans, offset=start, runtime_pass=False)
    assert own not in window and "[EMAIL]" in window


def test_runtime_pass_redacts_what_no_scan_saw(detector):
    text = (
        "Write to jane.roe@example.org or call +44 20 7946 0018; card 4111 1111 1111 1111, "
        "server 203.0.113.9, key AKIAIOSFODNN7EXAMPLE, IBAN GB82 WEST 1234 5698 7654 32."
    )
    redacted, done = redact(text, [], detector=detector)
    for label in ("[EMAIL]", "[PHONE]", "[CARD]", "[IP]", "[KEY]", "[IBAN]"):
        assert label in redacted, redacted
    for secret in ("jane.roe", "7946", "4111", "203.0.113.9", "AKIAIOSFODNN7EXAMPLE", "WEST"):
        assert secret not in redacted
    assert {r.entity_type for r in done} >= {"EMAIL_ADDRESS", "SECRET_KEY"}


def test_scan_needs_no_network(planted_store, monkeypatch, tmp_path):
    data, *_ = planted_store

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during the scan")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    summary = scan(Store(copy), "p", Settings(data=copy, workers=1), LocalExecutor(1), force=True)
    assert summary.ok and summary.spans > 0


def test_scan_cli_on_real_samples_multilingual_and_quiet_about_values(cli, data_dir):
    cli(
        "ingest",
        SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz",
        SAMPLES / "commoncrawl" / "cc-main-2020-34-excerpt.warc.gz",
        "--corpus",
        "cc",
        "--quiet",
    )
    result = cli("scan", "--corpus", "cc", "--json", "--workers", 2)
    summary = json.loads(result.stdout)
    assert summary["ok"] and summary["shards_scanned"] == 2 and summary["spans"] > 100
    langs = summary["by_language"]
    assert len(langs) >= 5  # real multilingual web text: no crash, a report per language
    for lang, entry in langs.items():
        assert "PERSON" in entry["not_detected"], lang
    # the output names counts, never a value found
    sidecars = Store(data_dir).corpus("cc").pii_paths()
    spans = duckdb.execute(
        'select doc_id, start, "end" from read_parquet(?) limit 50', [[str(p) for p in sidecars]]
    ).fetchall()
    docs = {d["doc_id"]: d["text"] for d in documents(data_dir, "cc").to_pylist()}
    for doc_id, s, e in spans:
        assert docs[doc_id][s:e] not in result.output
    human = cli("scan", "--corpus", "cc")
    assert "shards skipped" in human.stdout
    for doc_id, s, e in spans:
        assert docs[doc_id][s:e] not in human.output


def test_ner_finds_people_when_a_model_is_installed(tmp_path):
    from corpuscope.privacy.recognizers import spacy_model

    if spacy_model() is None:
        if os.environ.get("CI"):  # CI installs it: a missing model fails, never skips
            pytest.fail("no spaCy model installed, and CI must have one (requirements-ner.txt)")
        pytest.skip("no spaCy model installed (CI installs requirements-ner.txt)")
    texts, planted = make_planted(20, seed=2)
    src = tmp_path / "p.jsonl"
    src.write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in texts)
        + json.dumps(
            {
                "text": "Angela Merkel traf Emmanuel Macron in Berlin und "
                "sprach lange mit ihm über die Zukunft Europas."
            }
        )
        + "\n"
    )
    from corpuscope import jobs

    data = tmp_path / "data"
    settings = Settings(data=data, workers=1, ner=True)
    jobs.ingest(settings, "n", [str(src)])
    summary = scan(Store(data), "n", settings, LocalExecutor(1))
    assert summary.ner_model and summary.by_entity.get("PERSON", 0) > 0
    assert "de" in summary.by_language and "PERSON" in summary.by_language["de"]["not_detected"]
    assert "not_detected" not in summary.by_language["en"]
    rows = duckdb.execute(
        "select doc_id, start, \"end\" from read_parquet(?) where entity_type = 'PERSON'",
        [[str(p) for p in Store(data).corpus("n").pii_paths()]],
    ).fetchall()
    by_source = {d["doc_id"]: d for d in documents(data, "n").to_pylist()}
    found = {(by_source[d]["text"][s:e]) for d, s, e in rows}
    names = {p.value for p in planted if p.entity_type == "PERSON"}
    assert len(names & found) >= len(names) * 0.6, (names, found)


def _sidecars(data: Path, corpus: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Store(data).corpus(corpus).pii_paths()}


def test_scan_is_byte_identical_on_every_executor(planted_store, tmp_path):
    import shutil

    from corpuscope.ingest.executors import RayExecutor

    data, *_ = planted_store
    runs = {"one": LocalExecutor(1), "pool": LocalExecutor(2)}
    try:
        import ray  # noqa: F401

        runs["ray"] = RayExecutor(workers=2)
    except ImportError:
        if os.environ.get("CI"):  # CI installs the ray extra: without it, fail
            raise
    sidecars = {}
    for name, executor in runs.items():
        copy = tmp_path / name
        shutil.copytree(data, copy)  # same documents and the same store key
        summary = scan(Store(copy), "p", Settings(data=copy), executor, force=True)
        assert summary.ok and summary.shards_scanned == 3 and summary.spans > 100
        sidecars[name] = _sidecars(copy, "p")
    first = sidecars.pop("one")
    assert first and all(other == first for other in sidecars.values())


@pytest.fixture(scope="module")
def to_scan(tmp_path_factory) -> tuple[Path, Path]:
    """A data directory with 1,500 short documents in 60 shards, not scanned, and a copy of
    it scanned cleanly (with the same store key, so that both hash alike)."""
    import shutil

    from tests.test_faults import SHARD_DOCS, run_env, write_many

    root = tmp_path_factory.mktemp("to_scan")
    src = write_many(root / "src", files=2)
    data, clean = root / "data", root / "clean"
    run_env("ingest", src, "--corpus", "k", "--data-dir", data, "--quiet")
    assert len(Store(data).corpus("k").manifest().done()) == 2 * 750 // SHARD_DOCS
    store_key(data)
    shutil.copytree(data, clean)
    run_env("scan", "--corpus", "k", "--data-dir", clean, "--quiet")
    return data, clean


@pytest.mark.parametrize("after", [2, 25])
def test_scan_killed_after_n_sidecars_then_rerun(tmp_path, to_scan, after):
    """SIGKILL once `after` sidecars are published: the process died of the signal with
    shards left to scan, every published sidecar is whole, and a rerun keeps them and ends
    with the sidecars of a clean scan, byte for byte."""
    import hashlib
    import shutil

    from tests.test_faults import kill_when, run_env

    data, clean = to_scan
    crashed = tmp_path / "crashed"
    shutil.copytree(data, crashed)
    cs = Store(crashed).corpus("k")
    total = len(cs.manifest().done())

    def published() -> int:
        try:
            return len(json.loads(cs.pii_manifest_path.read_bytes())["shards"])
        except FileNotFoundError:
            return 0

    args = ("scan", "--corpus", "k", "--data-dir", crashed)
    kill_when((*args, "--quiet"), lambda: published() >= after)
    entries = cs.pii_manifest()["shards"]
    assert after <= len(entries) < total  # killed mid-scan, with shards left
    for entry in entries.values():  # openable; every entry whole
        assert hashlib.sha256((cs.root / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    summary = json.loads(run_env(*args, "--json").stdout)
    assert (summary["shards_skipped"], summary["shards_scanned"]) == (
        len(entries),
        total - len(entries),
    )
    assert _sidecars(crashed, "k") == _sidecars(clean, "k")
    assert sum(pq.read_metadata(p).num_rows for p in cs.pii_paths()) > 0  # not all empty
