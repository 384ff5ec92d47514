"""Tiered personal-data detection: a vectorised candidate pass, then Presidio's recognizers.

Tier 1 runs one cheap trigger pattern per entity over a whole Arrow column of texts (RE2 in
pyarrow, no Python per document). A trigger is a *necessary condition* of every match of that
entity's recognizers (an e-mail has an ``@``, an IBAN starts with two letters and two digits).
Tier 2 runs Presidio's own recognizers only on windows around the triggers, each widened by
the longest match the recognizer can make and then out to white space, so a recognizer sees
the same neighbourhood it would see in the whole text: the spans and scores are the ones a
Presidio run on the whole document gives (checked by `full_scan` in the tests and benchmarks).
Tier 3, names and places, runs a spaCy NER model with `nlp.pipe` when one is installed.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from corpuscope.privacy.hashing import PHONE_REGIONS
from corpuscope.privacy.recognizers import PATTERN_ENTITIES, SECRET_PATTERNS, pattern_recognizers
from presidio_analyzer import EntityRecognizer, RecognizerResult

TOKEN = -1  # widen to the surrounding run of non-space characters only
_SPACES = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)
_MEMO_CHARS = 32_000_000  # characters of window text the memo may hold (about 64-128 MB)


# Characters Python's case-insensitive `[a-z]` matches (ASCII letters, and the long s, the
# Kelvin sign and the Turkish dotted and dotless i): what Presidio's IGNORECASE patterns see.
_LETTERS = "".join(chr(c) for c in range(0x3000) if re.fullmatch("(?i)[a-z]", chr(c)))


@dataclass(frozen=True)
class Trigger:
    """A necessary condition of an entity's matches, and how far its matches can reach.

    `pattern` is used by both engines; `{D}` is a decimal digit (any Unicode digit, like
    Presidio's patterns) and `{A}` a letter as Presidio's case-insensitive patterns see it.
    RE2 (tier 1) reads it case-insensitively; Python's `re` (tier 2) reads `python` instead
    when given, a cheaper condition that is still necessary.
    """

    pattern: str
    margin: int  # characters around a trigger that a match can reach; TOKEN for no spaces
    python_pattern: str | None = None  # read case-insensitively

    def python(self) -> re.Pattern[str]:
        if self.python_pattern:
            return re.compile(self.python_pattern, re.IGNORECASE)
        letters = "[" + re.escape(_LETTERS) + "]"
        return re.compile(self.pattern.replace("{D}", r"\d").replace("{A}", letters))

    def re2(self) -> str:
        return "(?i)" + self.pattern.replace("{D}", r"\p{Nd}").replace("{A}", "[a-z]")


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
_SECRETS = "|".join(
    f"(?:{regex.removeprefix('(?i)').replace(chr(92) + 'b', '')})"
    for _, regex, _ in SECRET_PATTERNS
)
# Every secret pattern starts with one of these literals (see SECRET_PATTERNS).
_SECRET_PREFIXES = (
    r"akia|asia|gh[pousr]_|github_pat_|xox[abposr]-|aiza|[rsp]k_(?:live|test)_|sk-|eyj|-----begin"
    r"|api[_-]?key|api[_-]?secret|access[_-]?token|auth[_-]?token|client[_-]?secret|secret[_-]?key"
)

TRIGGERS: dict[str, Trigger] = {
    "EMAIL_ADDRESS": Trigger("@", TOKEN),
    "IP_ADDRESS": Trigger(r"{D}\.{D}|[0-9a-fA-F]:[0-9a-fA-F]|::", TOKEN),
    "CRYPTO": Trigger(r"(?:{A}{A}1|[13])(?:{A}|[0-9]){25}", TOKEN),
    "CREDIT_CARD": Trigger(r"{D}{D}{D}{D}[- ]?{D}{D}{D}", 32),
    "IBAN_CODE": Trigger(r"{A}{A}{D}{D}", 56),
    "US_SSN": Trigger(r"{D}{D}{D}[- .]?{D}{D}", 16),
    # phonenumbers accepts numbers of 4+ digits (in Germany), their groups separated by at
    # most four of its punctuation characters (spaces included): the whole run, to white space.
    "PHONE_NUMBER": Trigger(r"{D}(?:[" + _PHONE_PUNCT + r"]{0,4}{D}){3,}", TOKEN),
    "SECRET_KEY": Trigger(_SECRETS, 300, python_pattern=_SECRET_PREFIXES),
}


def _may_be_phone(run: str, text: str, start: int) -> bool:
    """False for a digit run no supported region accepts: fewer than six digits, not after a
    ``+``, and not starting 16 or 01 (the only 4- and 5-digit numbers phonenumbers validates
    in Presidio's regions, German pager and service numbers; checked exhaustively in tests)."""
    digits = "".join(str(unicodedata.digit(c)) for c in run if c.isdigit())
    if len(digits) >= 6 or digits.startswith(("16", "01")):
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


def space_positions(text: str) -> list[int]:
    """Positions of white space (as `str.isspace` says) in `text`, vectorised."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return np.flatnonzero(np.isin(codes, _SPACES)).tolist()


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
        self.recognizers = {
            e: r for e, r in pattern_recognizers(phone_regions).items() if e in self.entities
        }
        self._py = {e: TRIGGERS[e].python() for e in self.entities}
        self._re2 = {e: TRIGGERS[e].re2() for e in self.entities}
        self._memo: dict[tuple[str, str], tuple[tuple, ...]] = {}
        self._memo_chars = 0

    # -- tier 1 --------------------------------------------------------------------------
    def candidates(self, texts: pa.Array | pa.ChunkedArray) -> dict[str, pa.Array]:
        """Entity -> boolean mask of the texts that may hold it (vectorised, RE2)."""
        return {e: pc.match_substring_regex(texts, self._re2[e]) for e in self.entities}

    # -- tier 2 --------------------------------------------------------------------------
    def windows(
        self, text: str, entity: str, spaces: list[int] | None = None
    ) -> list[tuple[int, int]]:
        """Merged character ranges around the entity's triggers in `text`, each widened out
        to white space (`spaces`: the positions of white space in `text`, if known)."""
        margin = TRIGGERS[entity].margin
        spans: list[tuple[int, int]] = []
        n = len(text)
        for m in self._py[entity].finditer(text):
            if entity == "PHONE_NUMBER" and not _may_be_phone(m.group(), text, m.start()):
                continue
            if spaces is None:
                spaces = space_positions(text)
            start, end = (
                (m.start(), m.end())
                if margin == TOKEN
                else (max(0, m.start() - margin), min(n, m.end() + margin))
            )
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
                for recognizer in self.recognizers[entity]
                for r in recognizer.analyze(piece, [entity], None)
            )
            if self._memo_chars + len(piece) > _MEMO_CHARS:
                self._memo.clear()
                self._memo_chars = 0
            self._memo[key] = cached
            self._memo_chars += len(piece)
        return cached

    def detect(self, text: str, entities: Iterable[str] | None = None) -> list[RecognizerResult]:
        """Presidio results for the given entities (default all), run on trigger windows."""
        results: list[RecognizerResult] = []
        spaces = None
        for entity in entities if entities is not None else self.entities:
            if spaces is None:
                spaces = space_positions(text)
            for start, end in self.windows(text, entity, spaces):
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
        return EntityRecognizer.remove_duplicates(results)

    def detect_batch(self, texts: pa.Array | pa.ChunkedArray) -> list[list[RecognizerResult]]:
        """Results for every text of a column: tier 1 over the column, tier 2 on candidates."""
        masks = {e: m.to_pylist() for e, m in self.candidates(texts).items()}
        out: list[list[RecognizerResult]] = []
        for i, text in enumerate(texts.to_pylist()):
            wanted = [e for e in self.entities if masks[e][i]]
            out.append(self.detect(text, wanted) if wanted else [])
        return out

    # -- the reference: Presidio's recognizers on the whole text ---------------------------
    def full_scan(self, text: str) -> list[RecognizerResult]:
        """Every recognizer on the whole text: what tiering must reproduce exactly."""
        results: list[RecognizerResult] = []
        for entity in self.entities:
            for recognizer in self.recognizers[entity]:
                results.extend(recognizer.analyze(text, [entity], None))
        return EntityRecognizer.remove_duplicates(results)


@lru_cache(maxsize=4)
def shared_detector(phone_regions: str = ",".join(PHONE_REGIONS)) -> Detector:
    """One detector (and its window memo) per process and phone-region setting."""
    return Detector(phone_regions=tuple(r.strip() for r in phone_regions.split(",") if r.strip()))


def result_key(r: RecognizerResult) -> tuple[str, int, int, float]:
    return (r.entity_type, r.start, r.end, round(r.score, 4))


def detector_name(r: RecognizerResult) -> str:
    meta = r.recognition_metadata or {}
    return meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) or "unknown"
