"""Person search: how much does a corpus hold about someone, by name and by identifier?

A name is read into given names, particles and surname (`parse_name`) and found in the forms
people write it (`NameMatcher`: "Jane Walker", "Jane A. Walker", "J. Walker", "Walker, Jane",
"Walker, J.", "Walker JA" …; hyphenated and particle names, umlauts either way; the rules are
in docs/api.md, "Person search"). Tantivy phrase queries over the index's folded terms find
the candidates (case and diacritics never count there) and every candidate is confirmed on
the text the index stores, the redacted view, so the forms' punctuation and capitals decide
and no answer depends on a hidden value. E-mails and phone numbers are looked up by their
keyed hash in the PII sidecars (the value itself is never stored or logged); user names and
URLs are matched as identifiers: a whole word, a URL (or the document's own address),
confirmed on the text. The answer counts, per corpus, the documents mentioning the name and
those holding each identifier (never the two together: a phrase and an e-mail would link a
document to the address); the evidence is documents that mention the name, redacted, each
with the form it was written in. Which documents hold an identifier is never shown to the
public (a verified data subject gets it through a case).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

import regex
import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.query import (
    STOPPED_BY_CANDIDATES,
    STOPPED_BY_TIME,
    Deadline,
    check_page,
    public_url,
    targets,
    with_filters,
    withhold,
)
from corpuscope.index.schema import WORD, fold, phrase, tokenize, tokens_with_offsets
from corpuscope.index.searcher import CorpusIndex, Indexes
from corpuscope.index.snippets import snippet, term_spans
from corpuscope.models.answers import Filters, PersonAnswer, PersonCorpus, PersonEvidence
from corpuscope.privacy.lookup import find_identifier

_COUNT_ONLY = 1  # hits fetched when only the count is wanted
_IDENTIFIER_DOCS = 1_000_000  # documents of one identifier read from the sidecars, at most


# -- names ------------------------------------------------------------------------------------
#: Lower-case words that belong to a surname (de Gaulle, van der Berg, von Neumann, bin Talal).
PARTICLES = frozenset(
    {"de", "da", "di", "do", "du", "del", "della", "dei", "des", "der", "den", "dos", "das"}
    | {"van", "von", "ter", "ten", "zu", "zum", "zur", "la", "le", "bin", "ibn", "al"}
)
#: What may join the pieces of one word of a name: a hyphen or an apostrophe (O'Brien, or a curly one).
_JOINERS = ("-", "'", "\u2019")
#: Written out with an e, as German and Scandinavian names often are (Müller = Mueller).
_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ø": "oe", "Ø": "Oe"}
)
#: "ae", "oe", "ue" not after a vowel and before another letter may stand for an umlaut
#: ("mueller" -> "muller", "oestergaard" -> "ostergaard"; not "monroe", "hue", "zoe").
_DIGRAPH = re.compile(r"(?<![aeiou])([aou])e(?=[a-z])")
_SPACES = " \t\u00a0"
_LABEL = re.compile(r"\[[A-Z_]+\]")
_MAX_MIDDLES = 2  # middle names or initials a document may add to the name asked
_MAX_PARTICLES = 3  # particle words in a row ("van der", "de la")
#: The forms searched, for a name with a given name (`PersonAnswer.variants`). "Middle" is any
#: middle names or initials, "F." an initial (with or without its dot), "FM" fused initials.
FORMS = (
    "First [Middle] Last",
    "F. [M.] Last",
    "Last, First [Middle]",
    "Last First",
    "Last, F. [M.]",
    "Last F",
    "Last FM",
)


def _spellings(raw: str) -> frozenset[str]:
    """The terms the index may hold for one piece of a name (folded, umlauts either way)."""
    out = {fold(raw), fold(raw.translate(_UMLAUTS))}
    out |= {_DIGRAPH.sub(r"\1", s) for s in out}
    return frozenset(s for s in out if s)


@dataclass(frozen=True)
class Word:
    """One word of a name as asked: its pieces ("Jean-Paul" has two) and each piece's
    spellings as the index holds them; `terms` is the plain folded form."""

    terms: tuple[str, ...]
    pieces: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, raw: list[str]) -> Word:
        return cls(tuple(fold(r) for r in raw), tuple(_spellings(r) for r in raw))

    @property
    def initial(self) -> str:
        return self.terms[0][0]

    @property
    def is_initial(self) -> bool:
        """Written as an initial ("J.", or "J.-P." for a hyphenated name)."""
        return all(len(t) == 1 for t in self.terms)

    @property
    def letters(self) -> tuple[str, ...]:
        """The initials of its pieces ("j", "p" for Jean-Paul)."""
        return tuple(t[0] for t in self.terms)

    def agrees(self, kind: str, value: tuple[str, ...]) -> bool:
        """Whether a middle name written in a document ("M": its initial) can be this one."""
        if kind == "M" or self.is_initial:
            return value[0][0] == self.initial
        return len(value) == len(self.pieces) and all(
            t in p for t, p in zip(value, self.pieces, strict=True)
        )


@dataclass(frozen=True)
class Name:
    """A name as asked: given names (the first, then middle names or initials), the particles
    of the surname (van, de …) and the surname (all its pieces, "Smith-Jones" has two)."""

    given: tuple[Word, ...]
    particles: tuple[str, ...]
    surname: Word


def _chunks(text: str) -> list[list[str]]:
    """The words of `text` as lists of their pieces: "J.W." is two initials, "J.-P." the
    initials of one hyphenated name."""
    out = []
    for chunk in text.split():
        raw = [m.group() for m in WORD.finditer(chunk) if fold(m.group())]
        if raw and all(len(fold(r)) == 1 for r in raw) and "-" not in chunk:
            out += [[r] for r in raw]
        elif raw:
            out.append(raw)
    return out


def _is_particle(chunk: list[str]) -> bool:
    return len(chunk) == 1 and fold(chunk[0]) in PARTICLES


def parse_name(name: str) -> Name:
    """Read a name: "First Middle Last" (the last word is the surname, with the particles
    before it), "Last, First Middle" (particles at either end of the surname or after the
    given names, "Beethoven, Ludwig van") or "Last F. M." (a surname, then initials)."""
    if name.count(",") > 1:
        raise QueryError("write the name as 'First Last' or 'Last, First' (one comma at most)")
    particles: list[list[str]] = []
    chunks = _chunks(name)
    initials = [all(len(fold(p)) == 1 for p in c) for c in chunks]
    if "," in name or (initials and initials[-1] and not all(initials)):
        if "," in name:
            last, _, first = name.partition(",")
            surname, given = _chunks(last), _chunks(first)
        else:  # "Walker J", "Walker J. A.": the surname, then initials
            split = len(chunks) - initials[::-1].index(False)
            surname, given = chunks[:split], chunks[split:]
        while given and _is_particle(given[-1]):
            particles.insert(0, given.pop())
        while len(surname) > 1 and _is_particle(surname[0]):
            particles.append(surname.pop(0))
    else:
        given = chunks
        surname = given[-1:]
        given = given[:-1]
        # "Ludwig van Beethoven", "de Gaulle"; but "Van Morrison" has a given name, Van
        while given and _is_particle(given[-1]) and (len(given) > 1 or given[-1][0].islower()):
            particles.insert(0, given.pop())
    pieces = [p for chunk in surname for p in chunk]
    if not pieces:
        raise QueryError("the name has no words to look for")
    if all(len(fold(p)) == 1 for p in pieces):
        raise QueryError(
            "write the surname in full: initials alone (such as 'J. W.') would match every "
            "name with those initials"
        )
    return Name(
        given=tuple(Word.of(chunk) for chunk in given),
        particles=tuple(fold(c[0]) for c in particles),
        surname=Word.of(pieces),
    )


def name_variants(name: str) -> list[list[str]]:
    """The plain phrases of a name, no middle names ("ada lovelace", "lovelace ada", "a
    lovelace", "lovelace a"): what person search looked for before it matched the forms of
    `NameMatcher`; bench/person_quality.py measures them as its baseline."""
    n = parse_name(name)
    last = [*n.particles, *n.surname.terms]
    if not n.given:
        return [last]
    everything = [t for w in n.given for t in w.terms]
    given = list(n.given[0].terms[:1])
    out = [everything + last, last + everything, given + last, last + given]
    out += [[given[0][0], *last], [*last, given[0][0]]]
    unique: list[list[str]] = []
    for v in out:
        if v not in unique:
            unique.append(v)
    return unique


@dataclass(frozen=True)
class Mention:
    """Where a document names the person: [start, end) of its text and the form written."""

    start: int
    end: int
    variant: str


class _Tokens:
    """A text's words as the index cuts them, type labels blanked out (never part of a name)."""

    def __init__(self, text: str):
        self.text = text
        blanked = _LABEL.sub(lambda m: "\x00" * len(m.group()), text)
        toks = tokens_with_offsets(blanked)
        self.terms = [t for t, _, _ in toks]
        self.starts = [s for _, s, _ in toks]
        self.ends = [e for _, _, e in toks]
        self.n = len(toks)

    def raw(self, i: int) -> str:
        return self.text[self.starts[i] : self.ends[i]]

    def sep(self, i: int) -> str:
        """The characters between word i and word i + 1."""
        return self.text[self.ends[i] : self.starts[i + 1]]

    def initial(self, i: int) -> bool:
        """Word i is one capital letter."""
        raw = self.raw(i)
        return len(raw) == 1 and raw.isupper()

    def dotted(self, i: int) -> bool:
        return self.text[self.ends[i] : self.ends[i] + 1] == "."

    def end(self, i: int) -> int:
        """Where a name ending with word i ends: after the dot of an initial."""
        return self.ends[i] + (1 if self.initial(i) and self.dotted(i) else 0)

    def lower_next(self, i: int) -> bool:
        """Word i is followed, after white space only, by a word in lower case."""
        return i + 1 < self.n and not self.sep(i).strip(_SPACES) and self.raw(i + 1)[0].islower()


#: Characters of text on each side of a surname that a mention can reach (a name is at most
#: a few words of at most 40 characters each, with gaps of at most 4).
_REACH = 1000


@lru_cache(maxsize=256)
def _capitals(initial: str) -> re.Pattern[str]:
    """Words of one to three letters that may be initials ("J", "JA") of a name whose initial
    is `initial` (folded): starting with its capital, or with any letter outside ASCII (which
    may fold to it). Cut as `WORD` cuts them or wider; a superset, checked after."""
    first = rf"{re.escape(initial.upper())}|[^\W\d_\x00-\x7f]" if initial.isascii() else r"[^\W\d_]"
    return re.compile(rf"(?<![^\W_])(?:{first})[^\W\d_]{{0,2}}(?![^\W_])")


def _near(spots: list[int], at: int) -> bool:
    """Whether a spot (sorted) is within `_REACH` characters of `at`."""
    k = bisect.bisect_left(spots, at - _REACH)
    return k < len(spots) and spots[k] <= at + _REACH


def _around(spots: list[int], size: int) -> list[tuple[int, int]]:
    """[lo, hi) of the text within `_REACH` of each spot, overlapping stretches merged."""
    out: list[list[int]] = []
    for spot in spots:
        lo, hi = max(0, spot - _REACH), min(size, spot + _REACH)
        if out and lo <= out[-1][1]:
            out[-1][1] = hi
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _in_name(sep: str, after_initial: bool) -> bool:
    """A gap between two words of one name: spaces, a hyphen or apostrophe, or after an
    initial its dot ("J. A.", "J.-P."). Never a comma, a line break or a sentence's end."""
    if len(sep) > 4 or "\n" in sep:
        return False
    core = sep.strip(_SPACES)
    return core in ("", *_JOINERS) or (after_initial and core in (".", ".-"))


class NameMatcher:
    """Finds the forms of one name in a text (the rules: docs/api.md, "Person search")."""

    def __init__(self, name: Name):
        self.name = name
        self.middles = name.given[1:]
        self.max_middles = _MAX_MIDDLES + len(self.middles)
        self.window = 3 + 4 * self.max_middles + _MAX_PARTICLES  # words before the surname
        g = name.given[0] if name.given else None
        #: First letters a word must start with to be the given name (written, or an initial).
        self._given_letters = {t[0] for t in g.pieces[0] if t} | {g.initial} if g else set()
        # Where the given name may be written narrows where the surname is checked; not when
        # it was asked as an initial (any capitalised word with that letter may be it).
        self._narrow = g is not None and not g.is_initial
        self._given_terms = g.pieces[0] if self._narrow else frozenset()
        self._capitals = _capitals(g.initial) if self._narrow else None

    @property
    def forms(self) -> tuple[str, ...]:
        """The forms searched (`PersonAnswer.variants`)."""
        return FORMS if self.name.given else ("Last",)

    def candidates(self, schema: tantivy.Schema) -> tantivy.Query:
        """A query every document with a mention matches (a superset, confirmed on the text)."""
        sur = [_alternatives(p) for p in self.name.surname.pieces]
        g = self.name.given[0] if self.name.given else None
        if g is None or g.is_initial:  # any given name with that initial: the surname alone
            if len(sur) == 1:
                return _any(
                    [
                        tantivy.Query.term_query(schema, "text", t)
                        for t in self.name.surname.pieces[0]
                    ]
                )
            return tantivy.Query.regex_phrase_query(schema, "text", sur)
        first = _alternatives(g.pieces[0] | {g.initial})
        after = first
        if g.initial.isascii() and g.initial.isalpha():  # fused initials: "Walker JA"
            after = _alternatives(g.pieces[0] | {g.initial, f"{g.initial}[a-z]{{1,2}}"})
        return _any(
            [
                tantivy.Query.regex_phrase_query(schema, "text", [first, *sur], slop=self.window),
                tantivy.Query.regex_phrase_query(schema, "text", [*sur, after]),
            ]
        )

    def find(self, text: str) -> list[Mention]:
        """Every mention of the name in `text`, in order: the text is cut into words only
        within `_REACH` characters of where the surname is written, and (for a given name
        asked in full) where a word that may be the given name is also within reach, both
        found in C first; not whole (a common surname made every long page a candidate)."""
        surname = self.name.surname.pieces[0]
        words = term_spans(text, surname | self._given_terms)  # one pass over the text
        spots = [start for start, _, term in words if term in surname]
        if self._narrow and spots:  # only where the given name may be written within reach
            given = self._given_spots(text, words)
            spots = [s for s in spots if _near(given, s)]
        out: list[Mention] = []
        for lo, hi in _around(spots, len(text)):
            for m in self._find(text[lo:hi]):
                if not out or lo + m.start >= out[-1].end:
                    out.append(Mention(lo + m.start, lo + m.end, m.variant))
        return out

    def _given_spots(self, text: str, words: list[tuple[int, int, str]]) -> list[int]:
        """Sorted starts of every word that may begin the asked given name: its spellings
        (among `words`) and capitals of one to three letters with its initial ("J", "JA").
        A superset, checked word by word after."""
        g = self.name.given[0]
        out = [start for start, _, term in words if term in self._given_terms]
        out += [
            m.start()
            for m in self._capitals.finditer(text)
            if m.group().isupper() and fold(m.group())[:1] == g.initial
        ]
        return sorted(out)

    def _find(self, text: str) -> list[Mention]:
        d = _Tokens(text)
        first = self.name.surname.pieces[0]
        out: list[Mention] = []
        after = 0
        for i in range(d.n):
            if d.terms[i] not in first or d.starts[i] < after:
                continue
            e = self._surname(d, i)
            if e is None:
                continue
            if not self.name.given:
                m = Mention(d.starts[self._particles_before(d, i)], d.ends[e - 1], "Last")
            else:
                m = self._given_first(d, i, e) or self._surname_first(d, i, e)
            if m is not None:
                out.append(m)
                after = m.end
        return out

    def _surname(self, d: _Tokens, i: int) -> int | None:
        """The word after the surname when it is written at word i (whole: "Walker-Smith" is
        another surname than Walker)."""
        pieces = self.name.surname.pieces
        e = i + len(pieces)
        if e > d.n or any(d.terms[i + x] not in p for x, p in enumerate(pieces)):
            return None
        if any(d.sep(i + x).strip(_SPACES) not in ("", *_JOINERS) for x in range(len(pieces) - 1)):
            return None
        if (i > 0 and d.sep(i - 1) == "-") or (e < d.n and d.sep(e - 1) == "-"):
            return None
        return e

    @staticmethod
    def _particles_before(d: _Tokens, i: int) -> int:
        s = i
        while (
            s > 0
            and i - s < _MAX_PARTICLES
            and d.terms[s - 1] in PARTICLES
            and _in_name(d.sep(s - 1), False)
        ):
            s -= 1
        return s

    def _given(self, d: _Tokens, j: int, fused: bool) -> tuple[int, str, str] | None:
        """The asked given name written at word j: (the word after it, its form, the initials
        fused after its own: "JA" gives "a")."""
        g = self.name.given[0]
        t, raw = d.terms[j], d.raw(j)
        if not t:
            return None
        if d.initial(j):
            if t != g.initial:
                return None
            k = j + 1  # a compound given name's other initials: "J.-P." for Jean-Paul
            for letter in g.letters[1:]:
                if (
                    k < d.n
                    and d.initial(k)
                    and d.terms[k] == letter
                    and _in_name(d.sep(k - 1), True)
                ):
                    k += 1
                else:
                    break
            return k, "F." if d.dotted(k - 1) else "F", ""
        fusable = 2 <= len(raw) <= 3 and raw.isalpha() and raw.isupper()
        if fused and fusable and t[0] == g.initial and t not in g.pieces[0]:
            rest = t[1:]  # "MC" for Marie-Claire, then middle initials
            for letter in g.letters[1:]:
                if not rest.startswith(letter):
                    break
                rest = rest[1:]
            return j + 1, "FM", rest
        if g.is_initial:  # the name was asked with its initials: any given name with them
            if len(t) < 2 or t[0] != g.initial or not raw[0].isupper():
                return None
            k = j + 1  # "Marie-Claire" for "M.-C."
            for letter in g.letters[1:]:
                if k < d.n and d.sep(k - 1) == "-" and d.terms[k][:1] == letter:
                    k += 1
                else:
                    break
            return k, "First", ""
        n = len(g.pieces)
        if (
            j + n <= d.n
            and all(d.terms[j + x] in p for x, p in enumerate(g.pieces))
            and all(_in_name(d.sep(j + x), False) for x in range(n - 1))
        ):
            return j + n, "First", ""
        return None

    def _middle(self, d: _Tokens, k: int) -> tuple[int, str, tuple[str, ...]] | None:
        """A middle name or initial written at word k: (the word after it, "M" for an initial
        or "Middle", its terms)."""
        raw = d.raw(k)
        if not d.terms[k] or not raw[0].isupper() or d.terms[k] in PARTICLES:
            return None
        if d.initial(k):
            return k + 1, "M", (d.terms[k],)
        e = k + 1
        while e < d.n and d.sep(e - 1) == "-" and d.raw(e)[0].isupper():  # "Ann-Marie"
            e += 1
        return e, "Middle", tuple(d.terms[k:e])

    def _consistent(self, mids: list[tuple[str, tuple[str, ...]]]) -> bool:
        """The document's middle names can be the asked ones, in order (any when none asked)."""
        if not self.middles:
            return True
        q = 0
        for kind, value in mids:
            while q < len(self.middles) and not self.middles[q].agrees(kind, value):
                q += 1
            if q == len(self.middles):
                return False
            q += 1
        return True

    @staticmethod
    def _label(
        kind: str, mids: list[tuple[str, tuple[str, ...]]], d: _Tokens, at: list[int]
    ) -> list[str]:
        out = [kind]
        for (m, _), k in zip(mids, at, strict=True):
            out.append("Middle" if m == "Middle" else ("M." if d.dotted(k) else "M"))
        return out

    def _given_first(self, d: _Tokens, i: int, e: int) -> Mention | None:
        """ "Jane Walker", "Jane A. Walker", "J. Walker", "J Walker", "Ludwig van Beethoven"."""
        for j in range(max(0, i - self.window), i):
            if d.terms[j][:1] not in self._given_letters:
                continue  # cheaply: not the given name, nor its initial
            got = self._given(d, j, fused=False)
            if got is None:
                continue
            k, kind, _ = got
            if kind == "F" and d.raw(j) in ("A", "I"):  # without a dot, English words
                continue
            if j > 0 and d.sep(j - 1) in _JOINERS:  # "Mary-Jane"
                continue
            if not all(_in_name(d.sep(x), d.initial(x)) for x in range(j, i)):
                continue
            p = i
            while p > k and i - p < _MAX_PARTICLES and d.terms[p - 1] in PARTICLES:
                p -= 1
            mids, at = [], []
            while k < p:
                got_m = self._middle(d, k)
                if got_m is None:
                    break
                at.append(k)
                k, m, value = got_m
                mids.append((m, value))
            if k != p or len(mids) > self.max_middles or not self._consistent(mids):
                continue
            label = " ".join([*self._label(kind, mids, d, at), "Last"])
            return Mention(d.starts[j], d.ends[e - 1], label)
        return None

    def _surname_first(self, d: _Tokens, i: int, e: int) -> Mention | None:
        """ "Walker, Jane", "Walker Jane", "Walker, J.", "Walker, J. A.", "Walker JA"."""
        if e >= d.n:
            return None
        sep = d.sep(e - 1)
        core = sep.strip(_SPACES)
        if len(sep) > 4 or "\n" in sep or core not in (",", ""):
            return None
        comma = core == ","
        got = self._given(d, e, fused=True)
        if got is None:
            return None
        k, kind, fused = got
        if kind == "First" and self.name.given[0].is_initial and not comma:
            return None  # "Walker John" for "J. Walker": only with the comma
        if kind in ("F", "FM") and d.lower_next(k - 1):
            return None  # "Smith I think", "Smith A lot"
        mids: list[tuple[str, tuple[str, ...]]] = [("M", (c,)) for c in fused]
        at: list[int] = []
        if kind == "FM":
            if not self._consistent(mids):
                return None
            label = ["FM"]
        else:
            while (
                len(mids) < self.max_middles
                and k < d.n
                and _in_name(d.sep(k - 1), d.initial(k - 1))
            ):
                got_m = self._middle(d, k)
                if got_m is None:
                    break
                k2, m, value = got_m
                if m == "M" and not d.dotted(k) and d.lower_next(k):
                    break  # "Walker, Jane I think"
                if not self._consistent([*mids, (m, value)]):
                    if m == "M":
                        return None  # "Walker, J. B." is not Jane Ann Walker
                    break  # a following name ("Walker, Jane, Smith")
                if m == "Middle" and not self.middles:
                    break  # a capitalised word after "Walker, Jane" is only a middle name if asked
                at.append(k)
                mids.append((m, value))
                k = k2
            label = self._label(kind, mids, d, at)
        while (
            k < d.n
            and self.name.particles
            and d.terms[k] in self.name.particles
            and _in_name(d.sep(k - 1), d.initial(k - 1))
        ):
            k += 1  # "Beethoven, Ludwig van"
        start = d.starts[self._particles_before(d, i)]
        text = "Last" + ("," if comma else "") + " " + " ".join(label)
        return Mention(start, d.end(k - 1), text)


def _alternatives(spellings: frozenset[str]) -> str:
    """A regular expression (tantivy's, matched against whole terms) for any of `spellings`."""
    return "(?:" + "|".join(sorted(spellings)) + ")"


@dataclass
class Identifier:
    """One identifier asked about: its label in the answer (never the value) and its kind.

    `raw` is for an officer (a data-subject case, dsr/search.py): a URL is then matched with
    the document's address as stored; the public matches it as shown (`public_url`).
    `partial` is set when more documents were candidates than `max_candidates`.
    """

    label: str  # "email 1", "phone 2" …
    kind: str  # email | phone | username | url
    raw: bool = False
    partial: bool = False

    def query(
        self, indexes: Indexes, ci: CorpusIndex, value: str, settings: Settings, limit: int
    ) -> tantivy.Query:
        """The documents of `ci` holding the identifier, as a set of their ids.

        E-mails and phones are found by their keyed hash in the corpus's PII sidecars (the
        index holds only the redacted view); a user name is a whole word of the text, with
        or without its `@`, never part of another word or a phrase of several; a URL is the
        document's own address, or the same URL written in its text. For the public a URL is
        compared as shown: the guess and each document's address both go through
        `public_url`, so personal data in an address is its type on both sides and a right
        and a wrong guess at it match the same documents; a URL with personal data in it is
        looked for only among addresses (in the text it is its type, never a URL).
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

    def _shown(self, url: str | None) -> str:
        """A URL as this lookup compares it: as shown (or as stored, `raw`), without its
        scheme or a trailing slash, lower-cased."""
        url = (url if self.raw else public_url(url)) or ""
        return _URL_SCHEME.sub("", url).rstrip("/").lower()

    def _confirmed(
        self, indexes: Indexes, ci: CorpusIndex, value: str, settings: Settings
    ) -> list[str]:
        schema = ci.schema
        pattern = None  # on the (redacted) text
        if self.kind == "username":
            name = value.removeprefix("@")
            terms = tokenize(name)
            if not terms:  # person() refuses it; a case's identifier may still be one
                return []
            pattern = regex.compile(rf"(?<![\w@.\-]){regex.escape(name)}(?![\w\-]|\.\w)", regex.I)
            candidates = _phrase(schema, terms)
        else:
            shown = value if self.raw else (public_url(value) or value)
            bare = _URL_SCHEME.sub("", shown).rstrip("/")
            queries = []
            if not _LABEL.search(bare):  # written in a text too (personal data never is)
                start = r"(?:(?<=://)|(?<![\w.\-/:]))"  # after a scheme, or not inside a word
                pattern = regex.compile(rf"{start}{regex.escape(bare)}/?(?![\w\-/.%])", regex.I)
                if terms := tokenize(bare):
                    queries.append(_phrase(schema, terms))
            queries.append(_url_query(schema, bare))
            candidates = _any(queries)
        total, found = indexes.search([ci], lambda c: candidates, settings.max_candidates)
        self.partial |= total > len(found)
        key = self._shown(value) if self.kind == "url" else ""
        ids = []
        for f in found:
            doc = indexes.fetch(f)
            if (pattern is not None and pattern.search(doc.text)) or (
                self.kind == "url" and self._shown(doc.url) == key
            ):
                ids.append(doc.doc_id)
        return ids


_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)


def _url_query(schema: tantivy.Schema, bare: str) -> tantivy.Query:
    """The stored addresses that may be shown (`public_url`) or stored as `bare` (no scheme):
    a regular expression over whole `url` terms that each of them matches, and a few more
    (any scheme, letters in either case, another character also percent-encoded, as
    `public_url` decodes an address it redacts; a type label any characters; a trailing
    slash or not). Past tantivy's size limit for one, a prefix of it and then anything: more
    candidates, never fewer."""
    parts = ["(?:[A-Za-z][A-Za-z0-9+.\\-]*://)?"]
    states = [1]  # about how many automaton states each part takes
    for piece in _LABEL_SPLIT.split(bare):
        if _LABEL.fullmatch(piece):
            parts.append(".+")
            states.append(_URL_WEIGHT // (_URL_LABELS + 1))  # what follows one costs more
            continue
        for c in piece:
            if c.isascii() and c.isalnum():
                either = sorted({f"\\x{{{ord(x):X}}}" for x in (c.lower(), c.upper())})
                parts.append("[" + "".join(either) + "]")
                states.append(1)
            else:  # also percent-encoded, its UTF-8 bytes (or encoded twice: %2540 for @)
                k = len(c.encode())
                parts.append(f"(?:\\x{{{ord(c):X}}}|(?:%(?:25)?[0-9A-Fa-f]{{2}}){{{k}}})")
                states.append(_URL_STATES * k)
    n, weight = len(parts), 0
    for i, w in enumerate(states):  # cut where compiling would surely fail
        weight += w
        if weight > _URL_WEIGHT:
            n = i
            break
    while True:
        pattern = "".join(parts) + "/?" if n == len(parts) else "".join(parts[:n]) + ".*"
        try:
            return tantivy.Query.regex_query(schema, "url", pattern)
        except ValueError:  # too many states after all
            if n <= 1:
                raise
            n //= 2


_URL_WEIGHT = 800  # automaton states a candidate pattern for an address may take (tantivy: 1000)
_URL_STATES = 5  # states of a byte that may be percent-encoded (a letter or digit takes 1)
_URL_LABELS = 2  # type labels spelled out (each may stand for any characters), about
_LABEL_SPLIT = re.compile(r"(\[[A-Z_]+\])")


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
        if kind == "username" and not (
            _USERNAME.match(v.strip()) and tokenize(v.strip().removeprefix("@"))
        ):
            raise QueryError(
                "a user name is 2-64 letters, digits, '.', '_' or '-', with a letter or digit"
            )
        if kind == "url" and not _URL.match(v.strip()):
            raise QueryError("a URL is an address such as https://example.org/path (no spaces)")
    matcher = NameMatcher(parse_name(name)) if name.strip() else None
    if matcher is None and not given:
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
    partial = False
    # E-mails and phones are read from the PII sidecars: a corpus never scanned is a 409.
    hashed = any(kind in ("email", "phone") for kind, _ in given)
    cis = targets(indexes, filters, settings, identifiers=hashed)
    for ci in cis:
        id_qs = [
            (ident, ident.query(indexes, ci, value, settings, _IDENTIFIER_DOCS))
            for ident, value in idents
        ]

        def count(q: tantivy.Query, narrow: Filters, ci: CorpusIndex = ci) -> int:
            total, _ = indexes.search(
                [ci], lambda c: with_filters(q, c.schema, narrow), _COUNT_ONLY
            )
            return total

        named, shown = 0, []
        if matcher is not None:  # every candidate is confirmed on the (redacted) text
            total, found = indexes.search(
                [ci],
                lambda c: with_filters(matcher.candidates(c.schema), c.schema, filters),
                settings.max_candidates,
            )
            partial |= total > len(found)
            for f in found:
                if deadline.passed:
                    partial = True
                    break
                doc = indexes.fetch(f)
                mentions = matcher.find(doc.text)
                if mentions:
                    named += 1
                    if len(shown) < k:
                        shown.append((-f.score, doc, mentions))
        counts = {ident.label: count(q, plain) for ident, q in id_qs}
        partial |= any(ident.partial for ident, _ in idents)
        per = filters.model_copy(update={"corpora": [ci.name]})  # a count per corpus
        small = withhold(indexes, [ci], per, "", named, settings)
        per_corpus.append(
            PersonCorpus(
                corpus=ci.name,
                name_documents=None if small else named,
                identifier_documents=counts,
                # A union of several identifiers' documents would link them (docs/privacy.md,
                # point 3): with one it is that one's count; with several, withheld.
                any_identifier_documents=None if len(counts) > 1 else sum(counts.values()),
            )
        )
        if not small:  # evidence: documents mentioning the name
            ranked += shown
    ranked.sort(key=lambda r: (r[0], r[1].corpus))
    evidence = [
        PersonEvidence(
            doc_id=doc.doc_id,
            corpus=doc.corpus,
            variant=mentions[0].variant,
            matched=doc.text[mentions[0].start : mentions[0].end],
            mentions=len(mentions),
            snippet=snippet(
                doc.text,
                marks=[(m.start, m.end) for m in mentions],
                words=settings.snippet_words,
            ),
        )
        for _score, doc, mentions in ranked[:k]
    ]
    return PersonAnswer(
        name=name,
        variants=list(matcher.forms) if matcher else [],
        corpora=per_corpus,
        evidence=evidence,
        partial=partial or deadline.passed,
        corpus_coverage=cis.covered(
            STOPPED_BY_TIME if deadline.passed else (STOPPED_BY_CANDIDATES if partial else None)
        ),
        took_ms=deadline.ms(),
    )
