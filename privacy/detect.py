"""Tiered personal-data detection: a vectorised candidate pass, then Presidio's recognizers.

Tier 1 runs one cheap trigger pattern per entity over a whole Arrow column of texts (RE2 in
pyarrow, no Python per document). A trigger is a *necessary condition* of every match of that
entity's recognizers (an e-mail has an ``@``, an IBAN starts with two letters and two digits).
Tier 2 runs Presidio's own recognizers only on windows around the triggers, each widened by
the longest match the recognizer can make and then out to white space, so a recognizer sees
the same neighbourhood it would see in the whole text: the spans and scores are the ones a
Presidio run on the whole document gives (checked by `full_scan` in the tests and benchmarks).
Tier 3, names and places, runs a spaCy NER model with `nlp.pipe` when one is installed.
Tiers 1 and 2 end with `recognizers.review` on the whole document: it drops `::` alone and
adjusts scores where the text shows a value is something else (a date, a DOI, an ISBN, a run
of numbers) or is written as a phone number or SSN (a context word, a dialling format).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import re2
from presidio_analyzer import EntityRecognizer, RecognizerResult

from corpuscope.privacy.entities import PATTERN_ENTITIES
from corpuscope.privacy.hashing import PHONE_REGIONS, region_list
from corpuscope.privacy.recognizers import pattern_recognizers, review
from corpuscope.whitespace import space_positions

TOKEN = -1  # widen to the surrounding run of non-space characters only
_MEMO_CHARS = 32_000_000  # characters of window text the memo may hold (about 64-128 MB)


# Letters Presidio's case-insensitive `[A-Z]` can match beyond what RE2's `(?i)[a-z]` does
# (RE2 folds the long s and the Kelvin sign, not the Turkish dotted and dotless i).
_EXTRA_LETTERS = "".join(chr(c) for c in range(0x80, 0x3000) if re.fullmatch("(?i)[a-z]", chr(c)))


@dataclass(frozen=True)
class Trigger:
    """A necessary condition of an entity's matches, and how far its matches can reach.

    `pattern` is an RE2 pattern read case-insensitively, by pyarrow over a column (tier 1) and
    by `re2` over a document's UTF-8 (tier 2); `{D}` is a decimal digit (any Unicode digit,
    like Presidio's `\\d`), `{A}` a letter and `{I}` the letter i as Presidio's
    case-insensitive patterns see them.
    """

    pattern: str
    margin: int  # characters around a trigger that a match can reach; TOKEN for no spaces

    def re2(self) -> str:
        letters = "[a-z" + _EXTRA_LETTERS + "]"
        pattern = self.pattern.replace("{D}", r"\p{Nd}").replace("{A}", letters)
        return "(?i)" + pattern.replace("{I}", "[i\u0130\u0131]")


def _phone_punctuation() -> str:
    from phonenumbers.phonenumberutil import _VALID_PUNCTUATION

    return _VALID_PUNCTUATION  # already escaped for a character class


_PHONE_PUNCT = _phone_punctuation()


def _phone_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    from phonenumbers.phonenumbermatcher import _LEAD_CLASS_CHARS
    from phonenumbers.phonenumberutil import _EXTN_PATTERNS_FOR_MATCHING

    lead = re.compile("[" + _PHONE_PUNCT + _LEAD_CLASS_CHARS + r"\s]+")
    return lead, re.compile(_EXTN_PATTERNS_FOR_MATCHING, re.IGNORECASE)


_PHONE_LEAD, _PHONE_EXTN = _phone_patterns()
# Every secret pattern (SECRET_PATTERNS) starts, after a `\\b` or at "-----BEGIN", with one
# of these literals. RE2's `\\b` is ASCII-only, so it holds wherever Presidio's Unicode one does.
_SECRET_PREFIXES = (
    r"\b(?:akia|asia|gh[pousr]_|github_pat_|xox[abposr]-|aiza|[rsp]k_(?:live|test)_|sk-|eyj"
    r"|api[_-]?key|api[_-]?secret|access[_-]?token|auth[_-]?token|client[_-]?secret"
    r"|secret[_-]?key)|-----begin"
).replace("i", "{I}")
# Each trigger is what every match of the entity's Presidio patterns must contain (their
# patterns in presidio_analyzer/predefined_recognizers; `{D}` is wider than their `[0-9]`).
TRIGGERS: dict[str, Trigger] = {
    "EMAIL_ADDRESS": Trigger("@", TOKEN),
    # A dotted quad (IPv4, and IPv6 with an embedded IPv4), "::" (every compressed IPv6
    # form) or eight colon-separated groups (the full IPv6 form).
    "IP_ADDRESS": Trigger(
        r"{D}\.{D}{1,3}\.{D}{1,3}\.{D}|::|(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]", TOKEN
    ),
    "CRYPTO": Trigger(r"(?:{A}{A}1|[13])(?:{A}|[0-9]){25}", TOKEN),
    # Four digits, then three groups of 3-4, 3-4 and 3-5 digits, optionally separated.
    "CREDIT_CARD": Trigger(r"{D}{4}[- ]?{D}{3}{D}?[- ]?{D}{3}{D}?[- ]?{D}{3}", 32),
    # Country code, check digits and at least two groups of four.
    "IBAN_CODE": Trigger(r"{A}{A}{D}{D}(?:[ -]?(?:{A}|{D}){4}){2}", 56),
    # Nine digits: 3-2-4, 5-4 and 3-6 with separators, or nine in a row.
    "US_SSN": Trigger(r"{D}{3}[- .]?{D}{2}[- .]?{D}{4}", 16),
    # phonenumbers accepts numbers of 4+ digits (in Germany), their groups separated by at
    # most four of its punctuation characters (spaces included): the whole run, to white space.
    "PHONE_NUMBER": Trigger(r"{D}(?:[" + _PHONE_PUNCT + r"]{0,4}{D}){3,}", TOKEN),
    "SECRET_KEY": Trigger(_SECRET_PREFIXES, 300),
}
#: Entities whose triggers few texts hold: tier 1 looks for all of them in one pass first.
RARE = frozenset(TRIGGERS) - {"EMAIL_ADDRESS", "PHONE_NUMBER"}


_NON_DIGITS = re.compile(r"\D+")


def _may_be_phone(run: str, text: str, start: int) -> bool:
    """False for a digit run no supported region accepts: fewer than six digits, not after a
    ``+``, and not starting 16 or 01 (the only 4- and 5-digit numbers phonenumbers validates
    in Presidio's regions, German pager and service numbers; checked exhaustively in tests)."""
    digits = _NON_DIGITS.sub("", run)
    if len(digits) >= 6 or "".join(str(unicodedata.digit(c)) for c in digits[:2]) in ("16", "01"):
        return True
    before = text[max(0, start - 5) : start]  # a "+" up to four punctuation marks back
    return "+" in before or "\uff0b" in before


def _phone_edges(text: str, spaces: list[int], start: int, end: int) -> tuple[int, int]:
    """Widen a phone window to what phonenumbers' matcher can add around a digit run: a
    leading token of only "+", brackets and punctuation ("+ 33 …", "( 212 …"), and a trailing
    extension in phonenumbers' own pattern (" ext. 12", ", x 4711")."""
    before = _token_before(spaces, start)
    if before < start and not _PHONE_LEAD.fullmatch(text, before, start):
        before = start
    ext = _PHONE_EXTN.match(text, end)
    if ext and ext.end() > end:
        end = _token_end(spaces, ext.end(), len(text))
    return before, end


def _token_before(spaces: list[int], start: int) -> int:
    """Start of the token before the one starting at `start` (0 if none)."""
    k = bisect.bisect_left(spaces, start) - 1  # the white space just before start
    if k < 0:
        return start
    while k > 0 and spaces[k - 1] == spaces[k] - 1:
        k -= 1  # back over a run of white space
    return spaces[k - 1] + 1 if k > 0 else 0


def _token_start(spaces: list[int], pos: int) -> int:
    """Start of the token that `pos` is in (just after the white space before it)."""
    i = bisect.bisect_left(spaces, pos)
    return spaces[i - 1] + 1 if i > 0 else 0


def _token_end(spaces: list[int], pos: int, n: int) -> int:
    """End of the token that `pos` is in: the first white space at or after it, or n."""
    j = bisect.bisect_left(spaces, pos)
    return spaces[j] if j < len(spaces) else n


class Detector:
    """The pattern entities (tiers 1 and 2), with Presidio's recognizers, offline."""

    def __init__(
        self,
        entities: Sequence[str] = PATTERN_ENTITIES,
        phone_regions: tuple[str, ...] | None = None,
    ):
        unknown = set(entities) - set(PATTERN_ENTITIES)
        if unknown:
            raise ValueError(f"not a pattern entity: {sorted(unknown)}")
        self.entities = tuple(entities)
        # Presidio's own recognizers: the reference (`full_scan`); the windows use the same
        # ones but for phones, where `FastPhoneRecognizer` gives the same results faster.
        self.recognizers = {
            e: r for e, r in pattern_recognizers(phone_regions).items() if e in self.entities
        }
        self._window_recognizers = {
            e: r
            for e, r in pattern_recognizers(phone_regions, fast=True).items()
            if e in self.entities
        }
        self._re2 = {e: TRIGGERS[e].re2() for e in self.entities}
        self._finders = {e: re2.compile(p) for e, p in self._re2.items()}
        rare = [e for e in self.entities if e in RARE]
        self._any_rare = "|".join(f"(?:{self._re2[e]})" for e in rare) if len(rare) > 1 else None
        self._memo: dict[tuple[str, str], tuple[tuple, ...]] = {}
        self._memo_chars = 0

    # -- tier 1 --------------------------------------------------------------------------
    def candidates(self, texts: pa.Array | pa.ChunkedArray) -> dict[str, list[bool]]:
        """Entity -> for each text, whether it may hold the entity (vectorised, RE2). The
        rare entities share a first pass; each then runs only on the texts it flagged."""
        masks = {}
        some = None
        if self._any_rare:
            flagged = pc.match_substring_regex(texts, self._any_rare)
            rows = np.flatnonzero(flagged.to_numpy(zero_copy_only=False))
            some = texts.take(pa.array(rows, pa.int64()))
        for e in self.entities:
            if some is None or e not in RARE:
                masks[e] = pc.match_substring_regex(texts, self._re2[e]).to_pylist()
                continue
            mask = np.zeros(len(texts), dtype=bool)
            mask[rows] = pc.match_substring_regex(some, self._re2[e]).to_numpy(zero_copy_only=False)
            masks[e] = mask.tolist()
        return masks

    # -- tier 2 --------------------------------------------------------------------------
    def triggers(
        self, text: str, entity: str, data: bytes | None = None
    ) -> Iterator[tuple[int, int]]:
        """Character ranges of the entity's trigger matches in `text` (`data`: its UTF-8)."""
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        found = ((m.start(), m.end()) for m in self._finders[entity].finditer(data))
        if len(data) == len(text):  # ASCII: byte offsets are character offsets
            yield from found
            return
        byte = char = 0
        for start, end in found:
            char += len(data[byte:start].decode("utf-8", "surrogatepass"))
            first = char
            char += len(data[start:end].decode("utf-8", "surrogatepass"))
            byte = end
            yield first, char

    def windows(
        self,
        text: str,
        entity: str,
        spaces: list[int] | None = None,
        data: bytes | None = None,
    ) -> list[tuple[int, int]]:
        """Merged character ranges around the entity's triggers in `text`, each widened out
        to white space (`spaces`: the positions of white space in `text`, if known; `data`:
        the UTF-8 of `text`, if at hand)."""
        margin = TRIGGERS[entity].margin
        spans: list[tuple[int, int]] = []
        n = len(text)
        for start, end in self.triggers(text, entity, data):
            if entity == "PHONE_NUMBER" and not _may_be_phone(text[start:end], text, start):
                continue
            if spaces is None:
                spaces = space_positions(text)
            if margin != TOKEN:
                start, end = max(0, start - margin), min(n, end + margin)
            start, end = _token_start(spaces, start), _token_end(spaces, end, n)
            if entity == "PHONE_NUMBER":
                start, end = _phone_edges(text, spaces, start, end)
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        return spans

    def _analyze_window(self, entity: str, piece: str) -> tuple[tuple, ...]:
        """Recognizer results on one window, memoised: web text repeats windows (dates,
        prices, tables of numbers in boilerplate) very often, and a result depends on the
        window's text only."""
        key = (entity, piece)
        cached = self._memo.get(key)
        if cached is None:
            cached = tuple(
                (r.entity_type, r.start, r.end, r.score, detector_name(r))
                for recognizer in self._window_recognizers[entity]
                for r in recognizer.analyze(piece, [entity], None)
            )
            if self._memo_chars + len(piece) > _MEMO_CHARS:
                self._memo.clear()
                self._memo_chars = 0
            self._memo[key] = cached
            self._memo_chars += len(piece)
        return cached

    def detect(
        self, text: str, entities: Iterable[str] | None = None, data: bytes | None = None
    ) -> list[RecognizerResult]:
        """Presidio results for the given entities (default all), run on trigger windows
        (`data`: the UTF-8 of `text`, if at hand)."""
        results: list[RecognizerResult] = []
        spaces = None
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        for entity in entities if entities is not None else self.entities:
            if spaces is None:
                spaces = space_positions(text)
            for start, end in self.windows(text, entity, spaces, data):
                for etype, s, e, score, name in self._analyze_window(entity, text[start:end]):
                    results.append(
                        RecognizerResult(
                            etype,
                            s + start,
                            e + start,
                            score,
                            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: name},
                        )
                    )
        return review(text, EntityRecognizer.remove_duplicates(results))

    def detect_batch(
        self, texts: pa.Array | pa.ChunkedArray, pytexts: list[str] | None = None
    ) -> list[list[RecognizerResult]]:
        """Results for every text of a column: tier 1 over the column, tier 2 on candidates
        (`pytexts`: the column as Python strings, if the caller has them already)."""
        masks = self.candidates(texts)
        if pytexts is None:
            pytexts = texts.to_pylist()
        utf8 = texts.cast(
            pa.large_binary() if pa.types.is_large_string(texts.type) else pa.binary()
        )
        out: list[list[RecognizerResult]] = []
        for i, (text, data) in enumerate(zip(pytexts, utf8.to_pylist(), strict=True)):
            wanted = [e for e in self.entities if masks[e][i]]
            out.append(self.detect(text, wanted, data) if wanted else [])
        return out

    # -- the reference: Presidio's recognizers on the whole text ---------------------------
    def full_scan(self, text: str) -> list[RecognizerResult]:
        """Every recognizer on the whole text, then `review`: what tiering must reproduce
        exactly."""
        results: list[RecognizerResult] = []
        for entity in self.entities:
            for recognizer in self.recognizers[entity]:
                results.extend(recognizer.analyze(text, [entity], None))
        return review(text, EntityRecognizer.remove_duplicates(results))


@lru_cache(maxsize=4)
def shared_detector(phone_regions: str = ",".join(PHONE_REGIONS)) -> Detector:
    """One detector (and its window memo) per process and phone-region setting."""
    return Detector(phone_regions=region_list(phone_regions))


def result_key(r: RecognizerResult) -> tuple[str, int, int, float]:
    return (r.entity_type, r.start, r.end, round(r.score, 4))


def detector_name(r: RecognizerResult) -> str:
    meta = r.recognition_metadata or {}
    return meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) or "unknown"
