"""Person search: how much does a corpus hold about someone, by name and by identifier?

A name becomes phrase queries for its usual variants ("Ada Lovelace", "Lovelace, Ada",
"A. Lovelace", "Lovelace A", middle names left out); case and diacritics never count since
the index folds them. E-mails and phone numbers are looked up by their keyed hash in the PII
sidecars (the value itself is never stored or logged); user names and URLs are matched as
identifiers: a whole word, a URL (or the document's own address), confirmed on the text. The
answer counts, per corpus, the documents mentioning the name and those holding each
identifier (never the two together: a phrase and an e-mail would link a document to the
address); the evidence is documents that mention the name, redacted. Which documents hold
an identifier is never shown to the public (a verified data subject gets it through a case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex
import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.query import Deadline, check_page, targets, with_filters, withhold
from corpuscope.index.schema import phrase, tokenize
from corpuscope.index.searcher import CorpusIndex, Indexes
from corpuscope.index.snippets import snippet
from corpuscope.models.answers import Filters, PersonAnswer, PersonCorpus, PersonEvidence
from corpuscope.privacy.lookup import find_identifier

_COUNT_ONLY = 1  # hits fetched when only the count is wanted
_IDENTIFIER_DOCS = 1_000_000  # documents of one identifier read from the sidecars, at most


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
    """One identifier asked about: its label in the answer (never the value) and its kind."""

    label: str  # "email 1", "phone 2" …
    kind: str  # email | phone | username | url

    def query(
        self, indexes: Indexes, ci: CorpusIndex, value: str, settings: Settings, limit: int
    ) -> tantivy.Query:
        """The documents of `ci` holding the identifier, as a set of their ids.

        E-mails and phones are found by their keyed hash in the corpus's PII sidecars (the
        index holds only the redacted view); a user name is a whole word of the text, with
        or without its `@`, never part of another word or a phrase of several; a URL is the
        document's own address, or the same URL written in its text.
        """
        if self.kind in ("email", "phone"):
            entity = "EMAIL_ADDRESS" if self.kind == "email" else "PHONE_NUMBER"
            (found,) = find_identifier(
                indexes.store, value, entity, [ci.name], settings.phone_region, limit
            )
            ids = found.documents
        else:
            ids = self._confirmed(indexes, ci, value.strip(), settings)
        return tantivy.Query.term_set_query(ci.schema, "doc_id", ids)

    def _confirmed(
        self, indexes: Indexes, ci: CorpusIndex, value: str, settings: Settings
    ) -> list[str]:
        schema = ci.schema
        if self.kind == "username":
            name = value.removeprefix("@")
            pattern = regex.compile(rf"(?<![\w@.\-]){regex.escape(name)}(?![\w\-]|\.\w)", regex.I)
            candidates = _phrase(schema, tokenize(name))
        else:
            bare = _URL_SCHEME.sub("", value).rstrip("/")
            start = r"(?:(?<=://)|(?<![\w.\-/:]))"  # after a scheme, or not inside a word
            pattern = regex.compile(rf"{start}{regex.escape(bare)}/?(?![\w\-/.%])", regex.I)
            candidates = _any(
                [
                    _phrase(schema, tokenize(bare)),
                    *(
                        tantivy.Query.term_query(schema, "url", u)
                        for u in {value, f"https://{bare}", f"http://{bare}", f"https://{bare}/"}
                    ),
                ]
            )
        _, found = indexes.search([ci], lambda c: candidates, settings.max_candidates, count=False)
        ids = []
        for f in found:
            doc = indexes.fetch(f)
            url = _URL_SCHEME.sub("", doc.url or "").rstrip("/").lower()
            if pattern.search(doc.text) or (self.kind == "url" and url == bare.lower()):
                ids.append(doc.doc_id)
        return ids


_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)


def _phrase(schema: tantivy.Schema, terms: list[str]) -> tantivy.Query:
    return phrase(schema, list(enumerate(terms)))


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


_USERNAME = re.compile(r"^@?[\w.\-]{2,64}$")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://)?[\w\-]+(?:\.[\w\-]+)+(?::\d+)?(?:[/?#]\S*)?$", re.I)


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
        if kind == "url" and not _URL.match(v.strip()):
            raise QueryError("a URL is an address such as https://example.org/path (no spaces)")
    variants = name_variants(name) if name.strip() else []
    if not variants and not given:
        raise QueryError("give a name or at least one identifier")
    counters: dict[str, int] = {}
    idents = []
    for kind, value in given:
        counters[kind] = counters.get(kind, 0) + 1
        idents.append((Identifier(f"{kind} {counters[kind]}", kind), value))
    # Identifiers give counts, never documents, and only per corpus: a count narrowed by
    # domain, language or time would tell where a known address was posted.
    plain = Filters(corpora=filters.corpora)
    per_corpus, ranked = [], []
    for ci in targets(indexes, filters):
        name_q = _any([_phrase(ci.schema, v) for v in variants]) if variants else None
        id_qs = [
            (ident, ident.query(indexes, ci, value, settings, _IDENTIFIER_DOCS))
            for ident, value in idents
        ]

        def count(q: tantivy.Query, narrow: Filters, ci: CorpusIndex = ci) -> int:
            total, _ = indexes.search(
                [ci], lambda c: with_filters(q, c.schema, narrow), _COUNT_ONLY
            )
            return total

        any_id = _any([q for _, q in id_qs]) if id_qs else None
        named = count(name_q, filters) if name_q else 0
        per = filters.model_copy(update={"corpora": [ci.name]})  # a count per corpus
        small = withhold(indexes, [ci], per, "", named, settings)
        per_corpus.append(
            PersonCorpus(
                corpus=ci.name,
                name_documents=None if small else named,
                identifier_documents={ident.label: count(q, plain) for ident, q in id_qs},
                any_identifier_documents=count(any_id, plain) if any_id else 0,
            )
        )
        if name_q is not None and not small:  # evidence: documents mentioning the name
            _, found = indexes.search(
                [ci], lambda c, q=name_q: with_filters(q, c.schema, filters), k
            )
            ranked += [(-f.score, f) for f in found]
    ranked.sort(key=lambda r: (r[0], r[1].corpus))
    name_terms = {t for v in variants for t in v if len(t) > 1}
    evidence: list[PersonEvidence] = []
    for _score, f in ranked[:k]:
        if deadline.passed:
            break
        doc = indexes.fetch(f)
        evidence.append(
            PersonEvidence(
                doc_id=doc.doc_id,
                corpus=doc.corpus,
                snippet=snippet(doc.text, name_terms, words=settings.snippet_words),
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
