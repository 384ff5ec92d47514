"""The tantivy schema of a corpus index and the one tokeniser used everywhere.

Text is cut into runs of letters and digits (tantivy's ``simple`` tokenizer), tokens longer
than 40 characters are dropped, the rest lower-cased and folded to ASCII (``José`` ->
``jose``), so case and diacritics never decide whether a name or a passage is found. The
same analyser tokenises queries, membership shingles and the benchmark baselines.
"""

from __future__ import annotations

from functools import lru_cache

import regex
import tantivy

ANALYZER = "corpuscope"
#: Bumped when the schema or the analyser changes: an index of another version is rebuilt.
INDEX_VERSION = 3  # 2: the text is the redacted view; no hash or span fields; 3: the
# domain is its public view (ingest/normalise.py: public_domain, an IP address is [IP])
#: Runs of letters and digits: exactly the cut of tantivy's `simple` tokenizer, which is Rust's
#: `char::is_alphanumeric` (Unicode Alphabetic, combining vowel signs included, or Numeric).
#: Python's `re` has no such class (its \w leaves out the vowel signs of Hindi or Arabic).
WORD = regex.compile(r"[\p{Alphabetic}\p{N}]+")

# Keyword fields (one raw term each) used as filters; `unit` names the shard version a
# document came from, so a replaced or removed shard is deleted by one term.
KEYWORDS = ("doc_id", "corpus", "shard", "unit", "domain", "language")


def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


@lru_cache(maxsize=1)
def _analyzer() -> tantivy.TextAnalyzer:
    return analyzer()


@lru_cache(maxsize=1)
def build_schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in KEYWORDS:
        b.add_text_field(
            name, stored=True, fast=name in ("unit", "domain", "language"), tokenizer_name="raw"
        )
    b.add_text_field("url", stored=True, tokenizer_name="raw")
    # The public view: the text with every personal-data span replaced by its type ([EMAIL] …),
    # so no answer the index gives can depend on a hidden value. No hash of a value is indexed.
    b.add_text_field("text", stored=True, tokenizer_name=ANALYZER, index_option="position")
    b.add_date_field("timestamp", stored=True, indexed=True, fast=True)
    return b.build()


def open_index(path: str, create: bool = False) -> tantivy.Index:
    """Open (or create) a partition with corpuscope's analyser registered."""
    index = tantivy.Index(build_schema(), path=path, reuse=not create)
    index.register_tokenizer(ANALYZER, analyzer())
    return index


@lru_cache(maxsize=100_000)
def fold(word: str) -> str:
    """One word as the index holds it ("" for a word the index drops)."""
    out = _analyzer().analyze(word)
    return out[0] if len(out) == 1 else "".join(out)


def tokenize(text: str) -> list[str]:
    """The index's terms of `text`, in order."""
    return [t for t in (fold(m.group()) for m in WORD.finditer(text)) if t]


def positioned(text: str) -> list[tuple[int, str]]:
    """(position, term) as the index numbers them: a dropped word still takes its position."""
    out = []
    for pos, m in enumerate(WORD.finditer(text)):
        t = fold(m.group())
        if t:
            out.append((pos, t))
    return out


def phrase(
    schema: tantivy.Schema, terms: list[tuple[int, str]], field: str = "text"
) -> tantivy.Query:
    """A phrase (or single-term) query for positioned terms, positions relative to the first."""
    if len(terms) == 1:
        return tantivy.Query.term_query(schema, field, terms[0][1])
    first = terms[0][0]
    return tantivy.Query.phrase_query(schema, field, [(p - first, t) for p, t in terms])


def tokens_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """(term, start, end) for every word of `text` the index keeps."""
    out = []
    for m in WORD.finditer(text):
        t = fold(m.group())
        if t:
            out.append((t, m.start(), m.end()))
    return out
