"""Person search: how much does a corpus hold about someone, by name and by identifier?

A name becomes phrase queries for its usual variants ("Ada Lovelace", "Lovelace, Ada",
"A. Lovelace", "Lovelace A", middle names left out); case and diacritics never count since
the index folds them. E-mails and phone numbers are looked up by their keyed hash in the
index's `pii` field (the value itself is never stored or logged); user names and URLs are
phrase queries on the text (URLs also on the document's own address). The answer counts,
per corpus, the documents mentioning the name, holding each identifier, and holding both,
with redacted evidence ranked by co-occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.query import Deadline, check_page, targets, with_filters
from corpuscope.index.schema import phrase, tokenize
from corpuscope.index.searcher import CorpusIndex, Found, Indexes
from corpuscope.index.snippets import snippet
from corpuscope.models.answers import Filters, PersonAnswer, PersonCorpus, PersonEvidence
from corpuscope.privacy.hashing import store_key, value_hash

_COUNT_ONLY = 1  # hits fetched when only the count is wanted


def name_variants(name: str) -> list[list[str]]:
    """Term sequences under which a name is written ("Last, First" is read as such)."""
    if "," in name:
        last, _, first = name.partition(",")
        first_terms, last_terms = tokenize(first), tokenize(last)
    else:
        terms = tokenize(name)
        first_terms, last_terms = terms[:-1], terms[-1:]
    if not last_terms:
        raise QueryError("the name has no words to look for")
    if not first_terms:
        return [last_terms]
    given = first_terms[:1]
    out = [
        first_terms + last_terms,
        last_terms + first_terms,
        given + last_terms,
        last_terms + given,
        [given[0][0], *last_terms],
        [*last_terms, given[0][0]],
    ]
    seen, unique = set(), []
    for v in out:
        if tuple(v) not in seen:
            seen.add(tuple(v))
            unique.append(v)
    return unique


@dataclass
class Identifier:
    label: str  # "email 1", "phone 2" …: never the value itself
    kind: str  # email | phone | username | url

    def query(self, ci: CorpusIndex, value: str, key: bytes, region: str) -> tantivy.Query:
        schema = ci.schema
        if self.kind in ("email", "phone"):
            entity = "EMAIL_ADDRESS" if self.kind == "email" else "PHONE_NUMBER"
            return tantivy.Query.term_query(schema, "pii", value_hash(key, entity, value, region))
        terms = tokenize(value)
        if not terms:
            raise QueryError(f"{self.label} has no words to look for")
        text = _phrase(schema, terms)
        if self.kind == "url":
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, text),
                    (tantivy.Occur.Should, tantivy.Query.term_query(schema, "url", value.strip())),
                ]
            )
        return text


def _phrase(schema: tantivy.Schema, terms: list[str]) -> tantivy.Query:
    return phrase(schema, list(enumerate(terms)))


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _all(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


_USERNAME = re.compile(r"^@?[\w.\-]{2,64}$")


def person(
    indexes: Indexes,
    name: str,
    settings: Settings,
    emails: list[str] = (),
    phones: list[str] = (),
    usernames: list[str] = (),
    urls: list[str] = (),
    filters: Filters | None = None,
    k: int = 10,
) -> PersonAnswer:
    """Counts per corpus and redacted evidence for a person and their identifiers."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    if len(name) > settings.max_query_chars:
        raise QueryError(f"the name is longer than {settings.max_query_chars} characters")
    check_page(k, 0, settings)
    given = [("email", v) for v in emails] + [("phone", v) for v in phones]
    given += [("username", v) for v in usernames] + [("url", v) for v in urls]
    for kind, values in (
        ("e-mails", emails),
        ("phones", phones),
        ("user names", usernames),
        ("URLs", urls),
    ):
        if len(values) > settings.max_identifiers:
            raise QueryError(f"at most {settings.max_identifiers} {kind} may be given")
    for kind, v in given:
        if not v.strip() or len(v) > 512:
            raise QueryError(f"a {kind} must be between 1 and 512 characters")
        if kind == "username" and not _USERNAME.match(v.strip()):
            raise QueryError("a user name is 2-64 letters, digits, '.', '_' or '-'")
    variants = name_variants(name) if name.strip() else []
    if not variants and not given:
        raise QueryError("give a name or at least one identifier")
    counters: dict[str, int] = {}
    idents = []
    for kind, value in given:
        counters[kind] = counters.get(kind, 0) + 1
        idents.append((Identifier(f"{kind} {counters[kind]}", kind), value))
    key = store_key(indexes.store.root)
    region = settings.phone_region

    per_corpus, ranked = [], []
    for ci in targets(indexes, filters):
        name_q = _any([_phrase(ci.schema, v) for v in variants]) if variants else None
        id_qs = [(ident, ident.query(ci, value, key, region)) for ident, value in idents]

        def count(q: tantivy.Query, ci: CorpusIndex = ci) -> int:
            total, _ = indexes.search(
                [ci], lambda c: with_filters(q, c.schema, filters), _COUNT_ONLY
            )
            return total

        any_id = _any([q for _, q in id_qs]) if id_qs else None
        per_corpus.append(
            PersonCorpus(
                corpus=ci.name,
                name_documents=count(name_q) if name_q else 0,
                identifier_documents={ident.label: count(q) for ident, q in id_qs},
                any_identifier_documents=count(any_id) if any_id else 0,
                both_documents=count(_all([name_q, any_id])) if name_q and any_id else 0,
            )
        )
        # Evidence: documents with the name and an identifier first, then either alone.
        tiers = []
        if name_q and any_id:
            tiers.append(_all([name_q, any_id]))
        tiers += [q for q in (name_q, any_id) if q is not None]
        for tier, q in enumerate(tiers):
            _, found = indexes.search([ci], lambda c, q=q: with_filters(q, c.schema, filters), k)
            ranked += [(tier, -f.score, f, ci, name_q, id_qs) for f in found]
    ranked.sort(key=lambda r: (r[0], r[1], r[2].corpus))
    evidence: list[PersonEvidence] = []
    name_terms = {t for v in variants for t in v if len(t) > 1}
    done: set[tuple[str, str]] = set()
    for _tier, _score, f, ci, name_q, id_qs in ranked:
        if len(evidence) >= k or deadline.passed:
            break
        doc = indexes.fetch(f)
        if (doc.corpus, doc.doc_id) in done:
            continue
        done.add((doc.corpus, doc.doc_id))
        has_name = name_q is not None and _matches(f, ci, name_q, doc.doc_id)
        labels = [ident.label for ident, q in id_qs if _matches(f, ci, q, doc.doc_id)]
        evidence.append(
            PersonEvidence(
                doc_id=doc.doc_id,
                corpus=doc.corpus,
                name=has_name,
                identifiers=labels,
                snippet=snippet(doc.text, doc.spans, name_terms, words=settings.snippet_words),
            )
        )
    return PersonAnswer(
        name=name,
        variants=[" ".join(v) for v in variants],
        corpora=per_corpus,
        evidence=evidence,
        partial=deadline.passed,
        took_ms=deadline.ms(),
    )


def _matches(found: Found, ci: CorpusIndex, query: tantivy.Query, doc_id: str) -> bool:
    """Does the document `found` points at match `query`? (in the snapshot it came from)"""
    q = _all([query, tantivy.Query.term_query(ci.schema, "doc_id", doc_id)])
    return found.searcher.search(q, 1, count=True).count > 0
