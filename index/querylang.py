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
punctuation inside (``e-mail``) is the phrase of its parts, as tantivy's parser makes it.

Where the line runs (docs/api.md, "The search query language"). Text people paste holds query
syntax by accident: "Note: the results", an unclosed parenthesis or quote, "AND" at the end of
a line, a footnote's ``*``, ``x^2``, ``--``. A query whose syntax cannot be read is therefore
read as plain words instead (`_read_words`: white space, double quotes and parentheses
separate them; everything else is punctuation), shortened like any plain text, and the answer
says so (`Parsed.read_as` is ``"words"``, `Parsed.reason` says why in one line that never
quotes the query). Cannot be read: a word before a ``:`` that is not a field, a field's colon
followed by a space, an unclosed quote or parenthesis, a closing one with no opening one,
operators in odd places (``fox AND``, ``OR OR``, ``NOT -x``, a +/-/NOT side of OR, ``--x``),
wildcards, ``~`` after a word, boosts and backslashes on words or after a phrase, a phrase
glued to what follows it, a lone ``*`` side by side with words (what stands where a clause
should). What *is* read but asks for what the language does not run is refused with a
`QueryError` (HTTP 422) that says what to write instead and never quotes the query, exactly
as a well-formed query was before: the name of a field the public may not search
(`HIDDEN_FIELDS`: the index's other fields, the stored document's columns, the personal-data
sidecar's; in any case, width, quoting, escaping or dotted, with or without spaces around
the colon; checked on the whole text before anything else, so no reading of the rest lets one
through), a range or comparison on anything but the time (also ``[a TO z]`` on the text), a
regex (``/…/``), a field value that is not one plain term or date, a slop over `max_slop`, a
quoted phrase of more than `max_phrase_words` words: these wherever they stand (`_lex` reads
on past what it cannot read; only what follows an unclosed quote is that quote's text); and, for
a query read in the language, groups nested past MAX_DEPTH, a query or group that only
excludes, structure past the cap (below), a word joined by punctuation past
`max_phrase_words` parts (read as words, it is its parts: a long URL); a query with no word at
all either way. Every word of every phrase and every field clause counts towards
`max_clauses`, a clause said twice once in plain text. The decision reads the text alone (the
service redacts a query before it is parsed), never a document count.

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
words dropped. Text whose only structure is what prose has (double quotes without a slop,
parentheses) is read as plain words past the cap and shortened the same way (the answer says
so); a query with operators, +/- prefixes, fields, a slop or ``*`` past the cap is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import NamedTuple

import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.schema import KEYWORDS, build_schema, positioned
from corpuscope.models.documents import DOCUMENT_SCHEMA

#: Groups in parentheses may nest this deep and no deeper.
MAX_DEPTH = 8
#: The fields the public may name: keyword fields (one raw term each) and the time.
KEYWORD_FIELDS = ("corpus", "domain", "language")
TIME_FIELD = "timestamp"
PUBLIC_FIELDS = (*KEYWORD_FIELDS, TIME_FIELD)
#: Names refused before a ':' in any spelling: the index's other fields, the stored document's
#: columns and the personal-data sidecar's (a hidden field is never read as text by mistake).
HIDDEN_FIELDS = frozenset(
    {*KEYWORDS, "url", "text", *DOCUMENT_SCHEMA.names, "pii", "spans", "value_hash", "entity_type"}
) - set(PUBLIC_FIELDS)
#: How a query was read (`Parsed.read_as`): in the language, or as plain words.
QUERY, WORDS = "query", "words"

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
_NOT_A_FIELD = (
    "a word before a ':' is not a field (only corpus, domain, language and timestamp are): "
    "the ':' is punctuation"
)
_NO_VALUE = (
    "a field's value goes right after its colon (domain:example.com): a ':' with a space "
    "after it is punctuation"
)


class _Unreadable(QueryError):
    """Syntax that cannot be read: the query is read as plain words instead (`_read_words`),
    never refused for it. The message is the one-line reason the answer gives (`Parsed`); `at`
    is where `_lex` goes on reading, for the refusals the rest may hold (None: the end)."""

    def __init__(self, message: str, at: int | None = None):
        super().__init__(message)
        self.at = at


class Parsed(NamedTuple):
    """A public query, read: what to search and what the answer says about the reading."""

    query: tantivy.Query
    #: The text terms searched for (as the index holds them, in order, once each; excluded
    #: ones left out), which snippets highlight.
    terms: list[str]
    #: Words of plain text past `max_clauses` not searched (`_reduce`), in query order.
    dropped: list[str]
    #: QUERY: read in the language; WORDS: read as plain words, because of `reason`.
    read_as: str = QUERY
    #: Why it was read as words (one line, never quoting the query); None for QUERY.
    reason: str | None = None


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
    """Terms counted as they are read (each word of a phrase, each field), whether the query is
    plain text (bare words only, nothing that `_reduce` could not keep or drop as a whole) and
    whether its only structure is prose's (quotes without a slop, parentheses)."""

    def __init__(self, settings: Settings):
        self.used = 0
        self.limit = settings.max_clauses
        self.plain = True
        self.prose = True
        self.unreadable: str | None = None
        self.long_word = False  # a word joined by punctuation past max_phrase_words parts

    def cannot_read(self, exc: _Unreadable) -> None:
        """Note the first syntax that cannot be read (the query is then read as words)."""
        self.unreadable = self.unreadable or str(exc)

    def take(self, n: int) -> None:
        self.used += n

    def check(self) -> None:
        """Refuse a query over `max_clauses` that has structure (phrases, groups, operators,
        fields): only plain text is shortened (`_reduce`)."""
        if self.used > self.limit:
            raise QueryError(
                f"the query searches more than {self.limit} terms (each word of a phrase and "
                f"each field counts); at most {self.limit} are allowed (plain words, quotes and "
                "parentheses are read as words and shortened to the most informative ones; a "
                "query with operators, +/- prefixes, fields, a slop or * is not)"
            )


# -- reading the text ----------------------------------------------------------------------------
_LP, _RP, _OP, _PREFIX, _ATOM = "(", ")", "op", "prefix", "atom"
_YEAR_MONTH = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: A range on the text (``[a TO z]``, ``{a TO z}``): refused, not read as words.
_RANGE = re.compile(r"[\[{][^\s\]}]*\s+TO\s+[^\s\]}]*[\]}]")
#: What separates the words of a query read as plain words (`_read_words`).
_PIECES = re.compile(r'[\s()"]+')


def _ends(q: str, k: int) -> bool:
    """Whether a clause may end before position k (white space, a parenthesis, the end)."""
    return k >= len(q) or q[k].isspace() or q[k] == ")"


def _stuck(q: str, k: int, what: str, colon: str = _FIELD_HELP) -> str | None:
    """What is wrong with the character at k, right after a phrase or a quoted or bracketed
    value (None: it ends there, as it must)."""
    if _ends(q, k):
        return None
    c = q[k]
    if c == "*":
        return "wildcards (*) are not supported"
    if c == "^":
        return "boosts (^) are not supported"
    if c == ":":
        return colon
    if c == "~":
        return f"~ is only allowed once, right after a phrase's closing quote ({what})"
    return f"leave a space after {what}"


def _check_end(q: str, k: int, what: str) -> None:
    """After a field's quoted or bracketed value: nothing may stick to it."""
    if message := _stuck(q, k, what):
        raise QueryError(message)


def _check_word(word: str) -> None:
    """A bare word with syntax: a regex (``/…/``) is refused; a wildcard, ``~``, ``^`` or
    backslash cannot be read (the query is read as plain words)."""
    if len(word) > 2 and word[0] == "/" and word[-1] == "/":
        raise QueryError("regular expressions are not supported" + _QUOTE_TIP)
    if "*" in word:
        raise _Unreadable("wildcards (*) are not supported: the * is punctuation")
    if "~" in word:
        raise _Unreadable(
            "~ after a word (fuzzy matching) is not supported (~N is the slop of a phrase: "
            '"two words"~1): the ~ is punctuation'
        )
    if "^" in word:
        raise _Unreadable("boosts (^) are not supported: the ^ is punctuation")
    if "\\" in word:
        raise _Unreadable("backslash escapes are not supported: the backslash is punctuation")


def _too_long(settings: Settings) -> QueryError:
    return QueryError(
        f"a phrase (or a word joined by punctuation) has more than "
        f"{settings.max_phrase_words} words; at most {settings.max_phrase_words} are allowed"
    )


def _text(
    text: str, slop: int, settings: Settings, budget: _Budget, joined: bool = False
) -> _Text | None:
    """The words of a bare word or a phrase (None: the analyser keeps none of them). A word
    `joined` by punctuation past `max_phrase_words` parts is refused only once the query has
    been read in the language (`_read_query`): in text read as words (a URL, whose colon makes
    it so) it is its separate words."""
    words = positioned(text)
    if not words:
        return None
    if len(words) > settings.max_phrase_words:
        if not joined:
            raise _too_long(settings)
        budget.long_word = True
        return None
    budget.take(len(words))
    first = words[0][0]
    return _Text(tuple((p - first, t) for p, t in words), slop if len(words) > 1 else 0)


def _quoted(q: str, i: int, error: type[QueryError] = QueryError) -> tuple[str, int]:
    """The text between the double quote at i and the next one, and the position after it."""
    j = q.find('"', i + 1)
    if j < 0:
        raise error("a double quote is not closed")
    return q[i + 1 : j], j + 1


def _phrase(q: str, i: int, settings: Settings, budget: _Budget) -> tuple[_Text | None, int]:
    text, k = _quoted(q, i, _Unreadable)
    slop = 0
    if k < len(q) and q[k] == "~":
        budget.prose = False
        m = k + 1
        while m < len(q) and "0" <= q[m] <= "9":
            m += 1
        digits = q[k + 1 : m]
        if not digits:
            raise _Unreadable("~ after a phrase's closing quote is not followed by its slop", m)
        if len(digits) > 3 or int(digits) > settings.max_slop:
            raise QueryError(
                f"the slop of a phrase (~N after its closing quote) is a number from 0 to "
                f"{settings.max_slop}"
            )
        slop, k = int(digits), m
    if message := _stuck(q, k, "a phrase", _NOT_A_FIELD):
        raise _Unreadable(message, k + 1)
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


def _hidden(name: str) -> bool:
    """Whether `name` spells a hidden field: in any case or width, with quotes, backslashes or
    other punctuation around or inside it, or as a part of a dotted name."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("\\", "")
    return any(part in HIDDEN_FIELDS for part in re.split(r"[^0-9a-z_]+", folded))


def _refuse_hidden_fields(q: str) -> None:
    """Refuse a query that names a hidden field before a ':' outside a phrase (white space may
    come between the name and the colon), however the rest of it reads."""
    quotes = [m.start() for m in re.finditer('"', q)]
    for colon in (m.start() for m in re.finditer(":", q)):
        before = sum(1 for p in quotes if p < colon)
        if before % 2 and before < len(quotes):
            continue  # inside a closed phrase: text
        end = colon
        while end > 0 and q[end - 1].isspace():
            end -= 1
        start = end
        while start > 0 and not q[start - 1].isspace() and q[start - 1] not in "():":
            start -= 1
        if start < end and _hidden(q[start:end]):
            raise QueryError(_FIELD_HELP)


def _field(q: str, name: str, k: int, budget: _Budget) -> tuple[_Node, int]:
    field = name.lower()
    if field not in PUBLIC_FIELDS:
        if _hidden(name):  # `_refuse_hidden_fields` has refused it already
            raise QueryError(_FIELD_HELP)
        raise _Unreadable(_NOT_A_FIELD)
    if _ends(q, k):
        raise _Unreadable(_NO_VALUE)
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
                i += 1
                budget.cannot_read(_Unreadable("a + or - is not followed by a word or group"))
                continue
            out.append((_PREFIX, c))
            i += 1
            if after == "(":
                continue
            c = after
        if c == '"':
            budget.plain = False  # a phrase is kept or refused, never shortened
            try:
                node, i = _phrase(q, i, settings, budget)
            except _Unreadable as exc:  # read on: a refusal further on still refuses
                budget.cannot_read(exc)
                i = n if exc.at is None else exc.at
                continue
            out.append((_ATOM, node))
            continue
        if c in "[{" and _RANGE.match(q, i):
            raise QueryError("ranges are only allowed on the time: timestamp:[2019 TO 2020]")
        j = i
        while j < n and not q[j].isspace() and q[j] not in '()":':
            j += 1
        word = q[i:j]
        if j < n and q[j] == ":":
            try:
                node, i = _field(q, word, j + 1, budget)
            except _Unreadable as exc:  # not a field, or no value: the colon is punctuation
                budget.cannot_read(exc)
                i = j + 1
                continue
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
        try:
            _check_word(word)
        except _Unreadable as exc:
            budget.cannot_read(exc)
            continue
        out.append((_ATOM, _text(word, 0, settings, budget, joined=True)))
    if any(kind != _ATOM or not isinstance(node, _Text | None) for kind, node in out):
        budget.plain = False
    if any(
        kind not in (_ATOM, _LP, _RP) or not isinstance(node, _Text | None) for kind, node in out
    ):
        budget.prose = False
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
        lone = any(o == _SHOULD and isinstance(n, _All) for o, n in items)
        if lone and any(
            o == _SHOULD and n is not None and not isinstance(n, _All) and not _fields_only(n)
            for o, n in items
        ):
            raise _Unreadable("a lone * (every document) stands side by side with words")
        return _narrowed(items)

    def clause(self, depth: int) -> tuple[str, _Node | None]:
        parts = [self.and_expr(depth)]
        while self.is_op("OR"):
            self.i += 1
            parts.append(self.and_expr(depth))
        if len(parts) == 1:
            return parts[0]
        if any(occur != _SHOULD for occur, _ in parts):
            raise _Unreadable(
                "+, - and NOT cannot mark a side of OR (group the alternatives: (a OR b) -c)"
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
                raise _Unreadable("NOT is not followed by a word, phrase, field or group")
            return _NOT, self.atom(depth)
        if t is not None and t[0] == _PREFIX:
            self.i += 1
            return (_MUST if t[1] == "+" else _NOT), self.atom(depth)
        return _SHOULD, self.atom(depth)

    def atom(self, depth: int) -> _Node | None:
        t = self.peek()
        if t is None:
            raise _Unreadable("the query ends where a word, phrase, field or group should follow")
        kind, value = t
        if kind == _LP:
            if depth >= MAX_DEPTH:
                raise QueryError(f"parentheses nest at most {MAX_DEPTH} deep")
            self.i += 1
            group = self.query(depth + 1)
            if self.peek() is None:
                raise _Unreadable("a parenthesis is not closed")
            self.i += 1  # the closing one
            return group
        if kind == _RP:
            raise _Unreadable("a word, phrase, field or group is missing before a ')'")
        if kind != _ATOM:
            raise _Unreadable("AND, OR and NOT go between words, phrases, fields or groups")
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


def doc_freq_over(
    searchers: Callable[[], Iterable[tantivy.Searcher]], hidden: frozenset[str] = frozenset()
) -> DocFreq:
    """`DocFreq` over the `text` field of the searchers, less the `hidden` documents (the
    suppressed ones, `dsr.suppression.hidden_ids`: left out of every answer, so their words
    never decide what a query keeps). The searchers are asked for on first use (only a query
    that needs shortening opens them) and each term looked up once."""
    opened: list[tantivy.Searcher] | None = None

    @cache
    def doc_freq(term: str) -> int:
        nonlocal opened
        if opened is None:
            opened = list(searchers())
        n = sum(s.doc_freq("text", term) for s in opened)
        if hidden and n:
            n -= sum(_hidden_with(s, term, hidden) for s in opened)
        return n

    return doc_freq


def _hidden_with(searcher: tantivy.Searcher, term: str, hidden: frozenset[str]) -> int:
    """The hidden documents of `searcher` that hold the text term."""
    schema = build_schema()
    query = tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, tantivy.Query.term_query(schema, "text", term)),
            (tantivy.Occur.Must, tantivy.Query.term_set_query(schema, "doc_id", sorted(hidden))),
        ]
    )
    return searcher.search(query, 1, count=True).count or 0


def _reduce(
    tokens: list[tuple[str, object]], limit: int, doc_freq: DocFreq | None
) -> tuple[list[tuple[str, object]], list[str]]:
    """Plain text past `limit` terms, shortened to its most informative words; and the words
    dropped (as the index holds them, in query order).

    A word said twice is one clause (it is searched once). The words are kept rarest first, by
    their number of documents in the public index (`doc_freq`: the redacted view without the
    suppressed documents, so no hidden value or erased document can change the choice): the commonest words, which add the least to a BM25 score
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


def _finish(root: _Group, schema: tantivy.Schema) -> tuple[tantivy.Query, list[str]]:
    terms: list[str] = []
    query = _build(root, schema, False, terms)
    if query is None:
        raise QueryError("the query has no words to search for")
    return query, list(dict.fromkeys(terms))


def _read_query(
    q: str, schema: tantivy.Schema, settings: Settings, doc_freq: DocFreq | None
) -> Parsed:
    """`q` read in the language; `_Unreadable` where its syntax cannot be read."""
    budget = _Budget(settings)
    tokens = _lex(q, settings, budget)  # at most max_query_chars long: bounded work
    if budget.unreadable:
        raise _Unreadable(budget.unreadable)
    if budget.long_word:
        raise _too_long(settings)
    depth = 0
    for kind, _ in tokens:  # unbalanced parentheses cannot be read, however deep they go
        depth += (kind == _LP) - (kind == _RP)
        if depth < 0:
            raise _Unreadable("a closing parenthesis has no opening one")
    if depth:
        raise _Unreadable("a parenthesis is not closed")
    parser = _Parser(tokens)
    root = parser.query(0)
    if parser.peek() is not None:
        raise _Unreadable("a closing parenthesis has no opening one")
    dropped: list[str] = []
    if budget.used > budget.limit:
        if budget.plain:
            tokens, dropped = _reduce(tokens, budget.limit, doc_freq)
            root = _Parser(tokens).query(0)
        elif budget.prose:
            raise _Unreadable(
                f"past {budget.limit} terms, double quotes and parentheses are punctuation"
            )
        else:
            budget.check()
    query, terms = _finish(root, schema)
    return Parsed(query, terms, dropped)


def _read_words(
    q: str, schema: tantivy.Schema, settings: Settings, doc_freq: DocFreq | None, reason: str
) -> Parsed:
    """`q` read as plain words: separated by white space, double quotes and parentheses, all
    other syntax punctuation (a word joined by punctuation is the phrase of its parts, or its
    separate words past `max_phrase_words`), shortened past `max_clauses` as plain text is."""
    budget = _Budget(settings)
    tokens: list[tuple[str, object]] = []
    for piece in _PIECES.split(q):
        words = positioned(piece)
        units = [words] if len(words) <= settings.max_phrase_words else [[w] for w in words]
        for unit in filter(None, units):
            first = unit[0][0]
            tokens.append((_ATOM, _Text(tuple((p - first, t) for p, t in unit))))
            budget.take(len(unit))
    dropped: list[str] = []
    if budget.used > budget.limit:
        tokens, dropped = _reduce(tokens, budget.limit, doc_freq)
    query, terms = _finish(_Parser(tokens).query(0), schema)
    return Parsed(query, terms, dropped, WORDS, reason)


def parse_public(
    q: str, schema: tantivy.Schema, settings: Settings, doc_freq: DocFreq | None = None
) -> Parsed:
    """The public query `q` as a tantivy query over `schema`, the text terms it searches for
    (as the index holds them, in order, once each; excluded ones left out), for highlighting,
    the words it dropped (plain text past `max_clauses` terms is shortened to its most
    informative words, `_reduce` ranked by `doc_freq`, rather than refused) and how it was
    read: in the language, or as plain words where its syntax cannot be read (`_Unreadable`,
    the reason said). What the language reads but does not allow raises `QueryError`, whose
    message never quotes the query; so does a hidden field's name before a ':' anywhere."""
    if not q.strip():
        raise QueryError("the query is empty")
    if len(q) > settings.max_query_chars:
        raise QueryError(f"the query is longer than {settings.max_query_chars} characters")
    _refuse_hidden_fields(q)
    try:
        return _read_query(q, schema, settings, doc_freq)
    except _Unreadable as exc:
        reason = str(exc)
    return _read_words(q, schema, settings, doc_freq, reason)
