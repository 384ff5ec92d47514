"""Searching the corpora for a case, and the evidence kept with it.

`search_case` runs the person search (`index.person.person`, whose per-corpus counts go into
the case's record with what was searched) and, with the officer's rights, finds the documents
themselves: those mentioning the name in one of its written forms (`index.person.NameMatcher`,
the very rules of the public person search: its candidates from the index, each confirmed on
the raw text) and those holding each identifier (`index.person.Identifier`: e-mails
and phones by their keyed hash in the PII sidecars, user names and URLs confirmed on the
text, a URL also on the document's address as stored, `raw`; any other identifier as a
literal, confirmed on the raw text). Each document is stored as evidence with its corpus,
shard and the offsets in its raw text of what matched, labelled by identifier ("email 1")
or by the form of the name written ("name: Last, F."), never by value. A search again replaces what a search
found but keeps what the officer added or dropped by hand.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import pyarrow.parquet as pq
import tantivy

from corpuscope.config import Settings
from corpuscope.dsr import cases, db
from corpuscope.dsr.audit import cli_actor
from corpuscope.errors import NotFound, UsageError
from corpuscope.index.person import Identifier, NameMatcher, parse_name, person
from corpuscope.index.schema import phrase, tokenize
from corpuscope.index.searcher import Indexes
from corpuscope.store import CorpusStore, Store

_PERSON_KINDS = ("email", "phone", "username", "url")
_MAX_OFFSETS = 50  # offsets kept per document and label


def _literal_offsets(text: str, value: str) -> list[tuple[int, int]]:
    bare = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", value, flags=re.I).removeprefix("@").rstrip("/")
    return [(m.start(), m.end()) for m in re.finditer(re.escape(bare), text, re.I)][:_MAX_OFFSETS]


def _sidecar_spans(cs: CorpusStore, shard: str, doc_ids: set[str]) -> dict[str, list[dict]]:
    entry = cs.pii_manifest()["shards"].get(shard)
    done = cs.manifest().shards.get(shard)
    if not entry or not done or entry.get("source_sha256") != done.sha256:
        return {}
    out: dict[str, list[dict]] = defaultdict(list)
    table = pq.read_table(cs.root / entry["path"], filters=[("doc_id", "in", sorted(doc_ids))])
    for row in table.to_pylist():
        out[row["doc_id"]].append(row)
    return out


def raw_documents(cs: CorpusStore, shard: str, doc_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Documents of one shard by id, read from its Parquet file (the raw text: officers only)."""
    entry = cs.manifest().shards.get(shard)
    if entry is None or not entry.parquet or not doc_ids:
        return {}
    table = pq.read_table(
        cs.root / entry.parquet,
        columns=["doc_id", "url", "timestamp", "text", "text_hash"],
        filters=[("doc_id", "in", sorted(doc_ids))],
    )
    return {r["doc_id"]: r for r in table.to_pylist()}


def search_case(
    settings: Settings,
    indexes: Indexes,
    case_id: str,
    actor: str | None = None,
    clock: cases.Clock = cases.utcnow,
) -> dict[str, Any]:
    """Search every corpus for the case's subject and store the evidence; returns counts."""
    ids = cases.identifiers(settings, case_id)
    name = next(i["value"] for i in ids if i["kind"] == "name")
    given = [i for i in ids if i["kind"] != "name"]
    # Check the step is allowed before any search runs (the step itself is recorded below).
    with db.reading(settings.data) as con:
        state = cases._load(con, case_id)[0]
    if state not in cases.STEPS["search"][0]:
        raise cases.CaseConflict(f"case {case_id} is {state}: the search needs a verified identity")
    by_kind = defaultdict(list)
    for i in given:
        if i["kind"] in _PERSON_KINDS:
            by_kind[i["kind"]].append(i["value"])
    answer = person(
        indexes,
        name,
        settings,
        emails=by_kind["email"][: settings.max_identifiers],
        phones=by_kind["phone"][: settings.max_identifiers],
        usernames=by_kind["username"][: settings.max_identifiers],
        urls=by_kind["url"][: settings.max_identifiers],
    )
    matcher = NameMatcher(parse_name(name))
    limit = settings.dsr_max_documents
    found: dict[tuple[str, str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    cis = indexes.indexed()
    for ci in cis:

        def hits(q: tantivy.Query, ci=ci) -> list:
            _, res = indexes.search([ci], lambda _c: q, limit, count=False)
            return [indexes.fetch(f) for f in res]

        for doc in hits(matcher.candidates(ci.schema)):  # confirmed on the raw text below
            found[(ci.name, doc.shard, doc.doc_id)]["name"] = []
        for i in given:
            if i["kind"] in _PERSON_KINDS:
                # the officer's rights: a URL matched with the addresses as stored
                q = Identifier(i["label"], i["kind"], raw=True).query(
                    indexes, ci, i["value"], settings, limit
                )
            else:  # another identifier: its words, confirmed on the raw text below
                words = tokenize(i["value"])
                if not words:
                    continue
                q = phrase(ci.schema, list(enumerate(words)))
            for doc in hits(q):
                found[(ci.name, doc.shard, doc.doc_id)][i["label"]] = []
    # Offsets in the raw text, shard by shard.
    store = Store(settings.data)
    by_shard: dict[tuple[str, str], set[str]] = defaultdict(set)
    for corpus, shard, doc_id in found:
        by_shard[(corpus, shard)].add(doc_id)
    hashes = {i["label"]: i["value_hash"] for i in given}
    values = {i["label"]: i["value"] for i in given}
    evidence = []
    for (corpus, shard), doc_ids in sorted(by_shard.items()):
        cs = store.corpus(corpus)
        raw = raw_documents(cs, shard, doc_ids)
        spans = _sidecar_spans(cs, shard, doc_ids)
        for doc_id in sorted(doc_ids):
            text = raw.get(doc_id, {}).get("text") or ""
            matches = []
            for label in found[(corpus, shard, doc_id)]:
                if label == "name":
                    by_form: dict[str, list[tuple[int, int]]] = defaultdict(list)
                    for m in matcher.find(text):
                        by_form[m.variant].append((m.start, m.end))
                    matches += [
                        {
                            "label": f"name: {form}",
                            "offsets": [list(w) for w in where[:_MAX_OFFSETS]],
                        }
                        for form, where in by_form.items()
                    ]
                    continue
                where = [
                    (s["start"], s["end"])
                    for s in spans.get(doc_id, [])
                    if s["value_hash"] == hashes[label]
                ] or _literal_offsets(text, values[label])
                if not where and label.startswith("other"):
                    continue  # the words, but not the identifier itself
                matches.append({"label": label, "offsets": [list(w) for w in where]})
            if matches:
                evidence.append((doc_id, corpus, shard, matches))
    counts = {
        c.corpus: {
            "name_documents": c.name_documents,
            **c.identifier_documents,
        }
        for c in answer.corpora
    }

    def change(con, record, state, now):
        con.execute(
            "delete from dsr_evidence where case_id = ? and added_by = 'search'", (case_id,)
        )
        con.executemany(
            "insert or ignore into dsr_evidence (case_id, doc_id, corpus, shard, matches, "
            "added_by) values (?, ?, ?, ?, ?, 'search')",
            [(case_id, d, c, s, json.dumps(m)) for d, c, s, m in evidence],
        )
        record["searches"].append(
            {
                "at": cases._iso(now),
                "corpora": [ci.name for ci in cis],
                "identifiers": ["name", *(i["label"] for i in given)],
                "name_forms": list(matcher.forms),
                "counts": counts,
                "documents": len(evidence),
            }
        )
        return {"documents": len(evidence), "corpora": len(cis)}

    return cases._step(settings, case_id, "search", actor, clock, change)


def edit_evidence(
    settings: Settings,
    case_id: str,
    doc_id: str,
    drop: bool,
    actor: str | None = None,
    clock: cases.Clock = cases.utcnow,
) -> dict[str, Any]:
    """Add a document by hand (any stored document, by id) or drop one before deciding."""
    if not re.fullmatch(r"[0-9a-f]{32}", doc_id):
        raise UsageError("a document id is 32 hexadecimal characters")
    where = None if drop else _locate(settings, doc_id)

    def change(con, record, state, now):
        if drop:
            cur = con.execute(
                "update dsr_evidence set dropped = 1 where case_id = ? and doc_id = ?",
                (case_id, doc_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"document {doc_id} is not in the case's evidence")
            return {"dropped": 1}
        corpus, shard = where
        con.execute(
            "insert into dsr_evidence (case_id, doc_id, corpus, shard, matches, added_by) "
            "values (?, ?, ?, ?, '[]', ?) on conflict(case_id, doc_id) do update set dropped = 0",
            (case_id, doc_id, corpus, shard, actor or cli_actor()),
        )
        return {"added": 1}

    return cases._step(settings, case_id, "evidence", actor, clock, change)


def _locate(settings: Settings, doc_id: str) -> tuple[str, str]:
    """(corpus, shard) of a stored document."""
    import duckdb

    store = Store(settings.data)
    for corpus in store.corpora():
        paths = [str(p) for p in store.corpus(corpus).shard_paths()]
        if not paths:
            continue
        with duckdb.connect() as con:
            row = con.execute(
                "select shard from read_parquet(?) where doc_id = ? limit 1", [paths, doc_id]
            ).fetchone()
        if row:
            return corpus, row[0]
    raise NotFound(f"no stored document {doc_id}")
