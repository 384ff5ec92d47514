"""The entities corpuscope looks for, by their Presidio names (no Presidio import needed)."""

#: Found by patterns, with no model.
PATTERN_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "CRYPTO",
    "SECRET_KEY",
)
#: Found by a spaCy NER model (scan --ner).
NER_ENTITIES = ("PERSON", "LOCATION")
