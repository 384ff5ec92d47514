"""The public query language of search (`GET /v1/search?q=`), parsed here into tantivy queries.

The public's text never reaches tantivy's own query parser. That parser can say more than is
safe to let anyone say: a phrase with a large slop (``"the of and …"~1000`` made one search
allocate gigabytes, and tantivy cannot cancel a search once it runs), regexes, ranges over any
field, and every field of the schema by name, hidden ones included (the keyed hashes of
personal data, the shard versions). Here a small grammar is parsed by hand and the query is
built with `tantivy.Query` constructors, so only what is provably bounded can be expressed:

    query    := clause*                      side by side: any may match, BM25 ranks; field
                                             clauses among them narrow (each must match)
    clause   := and_expr ("OR" and_expr)*    either side
    and_expr := unary ("AND" unary)*         every side (a NOT side excludes)
    unary    := "NOT" atom | ["+" | "-"] atom     + must match, - and NOT must not
    atom     := word | phrase | field | "*" | "(" query ")"   at most MAX_DEPTH groups deep
    phrase   := '"' words '"' ["~" N]        at most `max_phrase_words` words, N <= `max_slop`
    field    := ("corpus" | "domain" | "language") ":" (value | '"' value '"')
              | "timestamp:" (when | "[" when "TO" when "]" | ">" when | ">=" when | …)

Words are cut and folded by the index's own analyser (`index.schema`), so a word written with
punctuation inside (``e-mail``) is the phrase of its parts, as tantivy's parser makes it. What
the grammar does not have is refused with a `QueryError` (HTTP 422) that says what to write
instead and never quotes the query: any other field name (``pii``, ``unit``, ``shard``,
``doc_id``, ``url``, …), a range or comparison on a field other than the time, regexes,
wildcards (a lone ``*`` is every document, not a wildcard: nothing is expanded), ``~`` after
a word (fuzzy), boosts, backslash escapes. Every word of every phrase
and every field clause counts towards `max_clauses`, a clause said twice once in plain text.

The bound on cost, measured on the 213,000-document benchmark corpus (docs/api.md): a
phrase's work grows with the positions of its words times the slop, and with a slop past the
length of the documents it becomes combinatorial (a 23-word phrase of the commonest words
with slop 1,000 took 97 s and 0.9 GB; slop 200 took 0.1 s). With the slop capped at a few
words, a phrase costs what the same exact phrase costs and memory does not move, so phrases
of only the commonest words are bounded rather than refused: `max_clauses` bounds how many
one query holds (32 distinct two-word phrases of the commonest words, slop 2, take ~0.7 s,
as at slop 0). A clause said n times is searched once and weighs n times in the score (BM25's
query term frequency, as rank_bm25 and Lucene count a bag of words: on Cranfield it brings
MAP from 0.265 to 0.271, docs/benchmarks.md).

Plain text, bare words and nothing else, as people paste it, is never refused for its length
in words: past `max_clauses` distinct terms it is shortened to its most informative words
(`_reduce`: the rarest in the public index of the corpora searched), and the answer names the
words dropped. Anything with structure (a phrase, a group, an operator, a +/- prefix, a field)
past the cap is refused as before.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.schema import positioned

#: Groups in parentheses may nest this deep and no deeper.
MAX_DEPTH = 8
#: The fields the public may name: keyword fields (one raw term each) and the time.
KEYWORD_FIELDS = ("corpus", "domain", "language")
TIME_FIELD = "timestamp"
PUBLIC_FIELDS = (*KEYWORD_FIELDS, TIME_FIELD)

_SHOULD, _MUST, _NOT = "should", "must", "not"
_OCCUR = {_SHOULD: tantivy.Occur.Should, _MUST: tantivy.Occur.Must, _NOT: tantivy.Occur.MustNot}
_OPERATORS = ("AND", "OR", "NOT")

_FIELD_HELP = (
    "only corpus, domain, language and timestamp can be named before a ':' "
    "(to search text that holds a ':', put it in double quotes)"
)
_WHEN_HELP = (
    "timestamp takes ISO 8601 dates: timestamp:2019, timestamp:2019-05-03, "
    "timestamp:[2019-01-01 TO 2020-01-01] (* for an open end), timestamp:>=2019-05"
)
_QUOTE_TIP = " (to search it as text, put it in double quotes)"


# -- what a query says, before it becomes a tantivy query ----------------------------------------
@dataclass(frozen=True)
class _Text:
    """Words of the text: one word, or a phrase with its positions (relative) and slop."""

    terms: tuple[tuple[int, str], ...]
    slop: int = 0


@dataclass(frozen=True)
class _All:
    """Every document (a lone `*`): no term is expanded, its cost is one pass over the ids."""


@dataclass(frozen=True)
class _Keyword:
    field: str
    value: str


@dataclass(frozen=True)
class _Range:
    lower: datetime | None
    upper: datetime | None
    include_lower: bool = True
    include_upper: bool = True


@dataclass(frozen=True)
class _Group:
    """Clauses, each with how it must occur (`_SHOULD`, `_MUST`, `_NOT`)."""

    items: tuple[tuple[str, _Node | None], ...]


_Node = _Text | _All | _Keyword | _Range | _Group


class _Budget:
    """Terms counted as they are read (each word of a phrase, each field), and whether the query
    is plain text: bare words only, nothing that `_reduce` could not keep or drop as a whole."""

    def __init__(self, settings: Settings):
        self.used = 0
        self.limit = settings.max_clauses
        self.plain = True

    def take(self, n: int) -> None:
        self.used += n

    def check(self) -> None:
        """Refuse a query over `max_clauses` that has structure (phrases, groups, operators,
        fields): only plain text is shortened (`_reduce`)."""
        if self.used > self.limit:
            raise QueryError(
                f"the query searches more than {self.limit} terms (each word of a phrase and "
                f"each field counts); at most {self.limit} are allowed (plain words are "
                "shortened to the most informative ones; a query with phrases, fields, groups or "
                "operators is not)"
            )


# -- reading the text ----------------------------------------------------------------------------
_LP, _RP, _OP, _PREFIX, _ATOM = "(", ")", "op", "prefix", "atom"
_YEAR_MONTH = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _ends(q: str, k: int) -> bool:
    """Whether a clause may end before position k (white space, a parenthesis, the end)."""
    return k >= len(q) or q[k].isspace() or q[k] == ")"


def _check_end(q: str, k: int, what: str) -> None:
    """After a phrase or a quoted or bracketed value: nothing may stick to it."""
    if _ends(q, k):
        return
    c = q[k]
    if c == "*":
        raise QueryError("wildcards (*) are not supported")
    if c == "^":
        raise QueryError("boosts (^) are not supported")
    if c == ":":
        raise QueryError(_FIELD_HELP)
    if c == "~":
        raise QueryError(f"~ is only allowed once, right after a phrase's closing quote ({what})")
    raise QueryError(f"leave a space after {what}")


def _check_word(word: str) -> None:
    """A bare word with the syntax of something the language refuses."""
    if len(word) > 1 and word[0] == "/":
        raise QueryError("regular expressions are not supported" + _QUOTE_TIP)
    if "*" in word:
        raise QueryError("wildcards (*) are not supported" + _QUOTE_TIP)
    if "~" in word:
        raise QueryError(
            "~ after a word (fuzzy matching) is not supported; ~N is the slop of a phrase: "
            '"two words"~1' + _QUOTE_TIP
        )
    if "^" in word:
        raise QueryError("boosts (^) are not supported" + _QUOTE_TIP)
    if "\\" in word:
        raise QueryError("backslash escapes are not supported" + _QUOTE_TIP)
    if word[0] in "[{":
        raise QueryError("ranges are only allowed on the time: timestamp:[2019 TO 2020]")


def _text(text: str, slop: int, settings: Settings, budget: _Budget) -> _Text | None:
    """The words of a bare word or a phrase (None: the analyser keeps none of them)."""
    words = positioned(text)
    if not words:
        return None
    if len(words) > settings.max_phrase_words:
        raise QueryError(
            f"a phrase (or a word joined by punctuation) has more than "
            f"{settings.max_phrase_words} words; at most {settings.max_phrase_words} are allowed"
        )
    budget.take(len(words))
    first = words[0][0]
    return _Text(tuple((p - first, t) for p, t in words), slop if len(words) > 1 else 0)


def _quoted(q: str, i: int) -> tuple[str, int]:
    """The text between the double quote at i and the next one, and the position after it."""
    j = q.find('"', i + 1)
    if j < 0:
        raise QueryError("a double quote is not closed")
    return q[i + 1 : j], j + 1


def _phrase(q: str, i: int, settings: Settings, budget: _Budget) -> tuple[_Text | None, int]:
    text, k = _quoted(q, i)
    slop = 0
    if k < len(q) and q[k] == "~":
        m = k + 1
        while m < len(q) and "0" <= q[m] <= "9":
            m += 1
        digits = q[k + 1 : m]
        if not digits or len(digits) > 3 or int(digits) > settings.max_slop:
            raise QueryError(
                f"the slop of a phrase (~N after its closing quote) is a number from 0 to "
                f"{settings.max_slop}"
            )
        slop, k = int(digits), m
    _check_end(q, k, "a phrase")
    return _text(text, slop, settings, budget), k


def _bare(q: str, k: int) -> tuple[str, int]:
    """A bare value from k: up to white space, a parenthesis or a double quote."""
    j = k
    while j < len(q) and not q[j].isspace() and q[j] not in '()"':
        j += 1
    return q[k:j], j


def _keyword(q: str, field: str, k: int, budget: _Budget) -> tuple[_Keyword, int]:
    if k < len(q) and q[k] == '"':
        value, k = _quoted(q, k)
        _check_end(q, k, "a quoted value")
    else:
        if k < len(q) and q[k] == "(":
            raise QueryError("a field takes one value: write domain:a OR domain:b")
        value, k = _bare(q, k)
        if value[:1] in ("[", "{"):
            raise QueryError("ranges are only allowed on the time: timestamp:[2019 TO 2020]")
        if value[:1] in ("<", ">"):
            raise QueryError("comparisons are only allowed on the time: timestamp:>=2019")
        if value[:1] == "/":
            raise QueryError("regular expressions are not supported")
        if "*" in value or "?" in value:
            raise QueryError("wildcards (*, ?) are not supported")
        if "~" in value or "^" in value or "\\" in value:
            raise QueryError("a field's value is one plain term: no ~, ^ or backslash")
        _check_end(q, k, "a field's value")
    if not value.strip():
        raise QueryError(f"{field}: needs a value right after the colon")
    budget.take(1)
    return _Keyword(field, value.lower() if field == "domain" else value), k


def _utc(when: datetime) -> datetime:
    """A time as the index stores it: UTC (naive is UTC), within tantivy's range."""
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return min(max(when, tantivy.MIN_DATETIME), tantivy.MAX_DATETIME)


def _period(text: str) -> tuple[datetime, datetime | None]:
    """The first instant a date names and the first instant after it (None: past the end of
    the calendar), or the instant itself twice for a full date and time."""
    text = text.strip()
    try:
        if m := _YEAR_MONTH.fullmatch(text):
            year, month = int(m.group(1)), int(m.group(2) or 0)
            start = datetime(year, month or 1, 1)
            after = (year + 1, 1) if month in (0, 12) else (year, month + 1)
            end = datetime(*after, 1) if after[0] <= 9999 else None
        elif _DAY.fullmatch(text):
            start = datetime.fromisoformat(text)
            end = start + timedelta(days=1) if start.date() < datetime.max.date() else None
        elif "T" in text or " " in text:
            start = datetime.fromisoformat(text)
            return _utc(start), _utc(start)
        else:
            raise ValueError
        return _utc(start), (_utc(end) if end else None)
    except (ValueError, OverflowError):
        raise QueryError(_WHEN_HELP) from None


def _when(text: str) -> datetime | None:
    """One end of a range or comparison: the first instant of the date (None for *)."""
    return None if text == "*" else _period(text)[0]


def _time(q: str, k: int, budget: _Budget) -> tuple[_Range, int]:
    n = len(q)
    c = q[k] if k < n else ""
    if c in ("[", "{"):
        ends = [j for j in (q.find("]", k), q.find("}", k)) if j >= 0]
        if not ends:
            raise QueryError("a time range is not closed: " + _WHEN_HELP)
        j = min(ends)
        parts = q[k + 1 : j].split()
        if len(parts) != 3 or parts[1].upper() != "TO":
            raise QueryError(_WHEN_HELP)
        lower, upper = _when(parts[0]), _when(parts[2])
        if lower is None and upper is None:
            raise QueryError("a time range needs at least one date: " + _WHEN_HELP)
        node = _Range(lower, upper, c == "[" or lower is None, q[j] == "]" or upper is None)
        k = j + 1
        _check_end(q, k, "a time range")
    elif c in ("<", ">"):
        op = ">=" if q.startswith(">=", k) else "<=" if q.startswith("<=", k) else c
        value, k = _bare(q, k + len(op))
        when = _when(value)
        if when is None:
            raise QueryError(_WHEN_HELP)
        node = (
            _Range(when, None, op == ">=") if op[0] == ">" else _Range(None, when, True, op == "<=")
        )
        _check_end(q, k, "a date")
    else:
        if c == '"':
            value, k = _quoted(q, k)
        else:
            value, k = _bare(q, k)
        _check_end(q, k, "a date")
        if not value.strip():
            raise QueryError("timestamp: needs a value right after the colon: " + _WHEN_HELP)
        start, end = _period(value)
        node = _Range(start, end, True, end is None or end == start)
    if node.lower and node.upper and node.lower > node.upper:
        raise QueryError("a time range starts after it ends")
    budget.take(1)
    return node, k


def _field(q: str, name: str, k: int, budget: _Budget) -> tuple[_Node, int]:
    field = name.lower()
    if field not in PUBLIC_FIELDS:
        raise QueryError(_FIELD_HELP)
    if field == TIME_FIELD:
        return _time(q, k, budget)
    return _keyword(q, field, k, budget)


def _lex(q: str, settings: Settings, budget: _Budget) -> list[tuple[str, object]]:
    """The query as parentheses, operators, +/- prefixes and atoms (words, phrases, fields)."""
    out: list[tuple[str, object]] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            out.append((c, None))
            i += 1
            continue
        if c in "+-":
            after = q[i + 1] if i + 1 < n else ""
            if not after or after.isspace() or after == ")":
                i += 1  # a lone + or - is punctuation
                continue
            if after in "+-":
                raise QueryError("write one + or - before a word, phrase, field or group")
            out.append((_PREFIX, c))
            i += 1
            if after == "(":
                continue
            c = after
        if c == '"':
            budget.plain = False  # a phrase is kept or refused, never shortened
            node, i = _phrase(q, i, settings, budget)
            out.append((_ATOM, node))
            continue
        j = i
        while j < n and not q[j].isspace() and q[j] not in '()":':
            j += 1
        word = q[i:j]
        if j < n and q[j] == ":":
            node, i = _field(q, word, j + 1, budget)
            out.append((_ATOM, node))
            continue
        i = j
        if word in _OPERATORS and not (out and out[-1][0] == _PREFIX):
            out.append((_OP, word))
            continue
        if word == "*":
            budget.take(1)
            out.append((_ATOM, _All()))
            continue
        _check_word(word)
        out.append((_ATOM, _text(word, 0, settings, budget)))
    if any(kind != _ATOM or not isinstance(node, _Text | None) for kind, node in out):
        budget.plain = False
    return out


def _fields_only(node: _Node | None) -> bool:
    """A field clause, or a group of nothing else (``(domain:a OR domain:b)``)."""
    if isinstance(node, _Keyword | _Range):
        return True
    if isinstance(node, _Group):
        children = [child for _, child in node.items if child is not None]
        return bool(children) and all(_fields_only(child) for child in children)
    return False


def _narrowed(items: list[tuple[str, _Node | None]]) -> _Group:
    """Clauses side by side. Field clauses among them narrow the search, as the API's filters
    do (``weaving domain:example.io`` is weaving within that domain, not either): each must
    match, and the other clauses, together, must match too (any of them, ranked)."""
    filters = [(_MUST, n) for o, n in items if o != _NOT and _fields_only(n)]
    if not filters:
        return _Group(tuple(items))
    positive = [(o, n) for o, n in items if o != _NOT and not _fields_only(n)]
    negative = [(o, n) for o, n in items if o == _NOT]
    if len(positive) == 1:
        filters.append((_MUST, positive[0][1]))
    elif positive:
        filters.append((_MUST, _Group(tuple(positive))))
    return _Group(tuple(filters + negative))


class _Parser:
    """Recursive descent over the lexed tokens (depth bounded by MAX_DEPTH groups)."""

    def __init__(self, tokens: list[tuple[str, object]]):
        self.tokens, self.i = tokens, 0

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def is_op(self, name: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == _OP and t[1] == name

    def query(self, depth: int) -> _Group:
        items = []
        while (t := self.peek()) is not None and t[0] != _RP:
            items.append(self.clause(depth))
        return _narrowed(items)

    def clause(self, depth: int) -> tuple[str, _Node | None]:
        parts = [self.and_expr(depth)]
        while self.is_op("OR"):
            self.i += 1
            parts.append(self.and_expr(depth))
        if len(parts) == 1:
            return parts[0]
        if any(occur != _SHOULD for occur, _ in parts):
            raise QueryError(
                "+, - and NOT cannot mark a side of OR: group the alternatives, e.g. (a OR b) -c"
            )
        return _SHOULD, _Group(tuple(parts))

    def and_expr(self, depth: int) -> tuple[str, _Node | None]:
        parts = [self.unary(depth)]
        while self.is_op("AND"):
            self.i += 1
            parts.append(self.unary(depth))
        if len(parts) == 1:
            return parts[0]
        return _SHOULD, _Group(tuple((_NOT if o == _NOT else _MUST, node) for o, node in parts))

    def unary(self, depth: int) -> tuple[str, _Node | None]:
        t = self.peek()
        if t is not None and t[0] == _OP and t[1] == "NOT":
            self.i += 1
            after = self.peek()
            if after is not None and after[0] in (_OP, _PREFIX):
                raise QueryError("NOT is followed by a word, phrase, field or group")
            return _NOT, self.atom(depth)
        if t is not None and t[0] == _PREFIX:
            self.i += 1
            return (_MUST if t[1] == "+" else _NOT), self.atom(depth)
        return _SHOULD, self.atom(depth)

    def atom(self, depth: int) -> _Node | None:
        t = self.peek()
        if t is None:
            raise QueryError("the query ends where a word, phrase, field or group should follow")
        kind, value = t
        if kind == _LP:
            if depth >= MAX_DEPTH:
                raise QueryError(f"parentheses nest at most {MAX_DEPTH} deep")
            self.i += 1
            group = self.query(depth + 1)
            if self.peek() is None:
                raise QueryError("a parenthesis is not closed")
            self.i += 1  # the closing one
            return group
        if kind == _RP:
            raise QueryError("a word, phrase, field or group is missing before a ')'")
        if kind != _ATOM:
            raise QueryError("AND, OR and NOT go between words, phrases, fields or groups")
        self.i += 1
        return value  # type: ignore[return-value]


# -- building the tantivy query ------------------------------------------------------------------
def _build(
    node: _Node | None, schema: tantivy.Schema, negated: bool, terms: list[str]
) -> tantivy.Query | None:
    """The tantivy query of a node (None: it has nothing to match); the text terms of what is
    not excluded are added to `terms` (they are what a snippet highlights)."""
    if node is None:
        return None
    if isinstance(node, _Text):
        if not negated:
            terms.extend(t for _, t in node.terms)
        if len(node.terms) == 1:
            return tantivy.Query.term_query(schema, "text", node.terms[0][1])
        return tantivy.Query.phrase_query(schema, "text", list(node.terms), node.slop)
    if isinstance(node, _All):
        return tantivy.Query.all_query()
    if isinstance(node, _Keyword):
        return tantivy.Query.term_query(schema, node.field, node.value)
    if isinstance(node, _Range):
        return tantivy.Query.range_query(
            schema,
            TIME_FIELD,
            tantivy.FieldType.Date,
            node.lower,
            node.upper,
            node.include_lower,
            node.include_upper,
        )
    subs = []
    said = Counter(node.items)
    for occur, child in said:  # a clause said n times is searched once and weighs n times
        query = _build(child, schema, negated or occur == _NOT, terms)
        if query is None:
            continue
        if said[occur, child] > 1 and occur != _NOT:
            query = tantivy.Query.boost_query(query, float(said[occur, child]))
        subs.append((occur, query))
    if not subs:
        return None
    if all(occur == _NOT for occur, _ in subs):
        raise QueryError(
            "a query or group needs a word, phrase or field to match: - and NOT only exclude"
        )
    if len(subs) == 1:
        return subs[0][1]
    return tantivy.Query.boolean_query([(_OCCUR[occur], query) for occur, query in subs])


#: A text term's number of documents in the public index (summed over the corpora searched).
DocFreq = Callable[[str], int]


def doc_freq_over(searchers: Callable[[], Iterable[tantivy.Searcher]]) -> DocFreq:
    """`DocFreq` over the `text` field of the searchers, which are asked for on first use (only
    a query that needs shortening opens them) and each term looked up once."""
    opened: list[tantivy.Searcher] | None = None

    @cache
    def doc_freq(term: str) -> int:
        nonlocal opened
        if opened is None:
            opened = list(searchers())
        return sum(s.doc_freq("text", term) for s in opened)

    return doc_freq


def _reduce(
    tokens: list[tuple[str, object]], limit: int, doc_freq: DocFreq | None
) -> tuple[list[tuple[str, object]], list[str]]:
    """Plain text past `limit` terms, shortened to its most informative words; and the words
    dropped (as the index holds them, in query order).

    A word said twice is one clause (it is searched once). The words are kept rarest first, by
    their number of documents in the public index (`doc_freq`: the redacted view, so no hidden
    value can change the choice): the commonest words, which add the least to a BM25 score
    (their IDF is the lowest), go first. A word joined by punctuation (``e-mail``) is kept or
    dropped whole, as rare as its rarest part. Words that no document holds can match nothing
    and go before any other. Ties, and every word when there is no `doc_freq`, keep the earlier
    word."""
    first: dict[_Text, int] = {}
    for pos, (_, node) in enumerate(tokens):
        if isinstance(node, _Text) and node not in first:
            first[node] = pos

    def rank(unit: _Text) -> tuple[bool, int, int]:
        if doc_freq is None:
            return False, 0, first[unit]
        n = min(doc_freq(t) for _, t in unit.terms)
        return n == 0, n, first[unit]

    left, kept = limit, set()
    for unit in sorted(first, key=rank):
        if len(unit.terms) <= left:
            kept.add(unit)
            left -= len(unit.terms)
    shortened = [(kind, node) for kind, node in tokens if node in kept]
    dropped = [" ".join(t for _, t in unit.terms) for unit in first if unit not in kept]
    return shortened, dropped


def parse_public(
    q: str, schema: tantivy.Schema, settings: Settings, doc_freq: DocFreq | None = None
) -> tuple[tantivy.Query, list[str], list[str]]:
    """The public query `q` as a tantivy query over `schema`, the text terms it searches for
    (as the index holds them, in order, once each; excluded ones left out), for highlighting,
    and the words it dropped: plain text (bare words, nothing else) past `max_clauses` terms
    is shortened to its most informative words (`_reduce`, ranked by `doc_freq`) rather than
    refused. Anything the language refuses raises `QueryError`, whose message never quotes
    the query."""
    if not q.strip():
        raise QueryError("the query is empty")
    if len(q) > settings.max_query_chars:
        raise QueryError(f"the query is longer than {settings.max_query_chars} characters")
    budget = _Budget(settings)
    tokens = _lex(q, settings, budget)  # at most max_query_chars long: bounded work
    dropped: list[str] = []
    if budget.used > budget.limit:
        if not budget.plain:
            budget.check()
        tokens, dropped = _reduce(tokens, budget.limit, doc_freq)
    parser = _Parser(tokens)
    root = parser.query(0)
    if parser.peek() is not None:
        raise QueryError("a closing parenthesis has no opening one")
    terms: list[str] = []
    query = _build(root, schema, False, terms)
    if query is None:
        raise QueryError("the query has no words to search for")
    return query, list(dict.fromkeys(terms)), dropped
