"""Keyed hashes of normalised identifiers: look values up without ever storing them.

The key is a per-store secret (`<data>/secret.key`, 32 random bytes, mode 0600) created on
first use; it is never in the repository. `value_hash` is BLAKE2b keyed with it over the
entity type and the normalised value: e-mails lower-cased and trimmed, phone numbers in E.164
(national formats read in the default region, else the first region where they are valid), IPs canonical, card and SSN digits only, IBANs
upper-case without separators, names case-folded without accents.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from corpuscope.config import Settings

_NON_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s+")


def store_key(data_dir: Path) -> bytes:
    """The store's secret hash key, created on first use (atomically, readable by owner only)."""
    path = Path(data_dir) / "secret.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret.key.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, os.urandom(32))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key first: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


def normalise_value(entity_type: str, value: str, region: str = "US") -> str:
    """The canonical form of an identifier, so equal identifiers hash equal."""
    v = value.strip()
    if entity_type == "EMAIL_ADDRESS":
        return v.lower().removeprefix("mailto:")
    if entity_type == "PHONE_NUMBER":
        return _e164(v, region)
    if entity_type == "IP_ADDRESS":
        try:
            return ipaddress.ip_address(v).compressed
        except ValueError:
            return v.lower()
    if entity_type in ("CREDIT_CARD", "US_SSN"):
        return _NON_DIGIT.sub("", v)
    if entity_type == "IBAN_CODE":
        return re.sub(r"[\s-]", "", v).upper()
    if entity_type in ("PERSON", "LOCATION"):
        folded = unicodedata.normalize("NFKD", v.casefold())
        return _SPACE.sub(" ", "".join(c for c in folded if not unicodedata.combining(c)))
    return v


def region_list(regions: str) -> tuple[str, ...]:
    """A comma-separated list of regions ("US, GB") as a tuple (("US", "GB"))."""
    return tuple(r.strip() for r in regions.split(",") if r.strip())


#: Regions tried, after the given one, for a number written without a country code: the
#: first in which the number is valid is taken. The *default* of the `phone_regions` setting
#: (Presidio's phone regions), not its configured value: a lookup must read a number as the
#: scan that hashed it did, however either was configured.
PHONE_REGIONS = region_list(Settings.model_fields["phone_regions"].default)


@lru_cache(maxsize=65_536)
def _e164(value: str, region: str) -> str:
    """E.164 form. A national number is read in `region` if it is valid there, else in the
    first of PHONE_REGIONS where it is valid, so a scan and a lookup agree without knowing
    where the number was written. Cached: a corpus repeats its numbers (in memory only)."""
    import phonenumbers

    international = value.lstrip().startswith(("+", "\uff0b"))
    first = None
    for r in (None,) if international else (region, *PHONE_REGIONS):
        try:
            number = phonenumbers.parse(value, r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        first = first or number
    if first is not None:
        return phonenumbers.format_number(first, phonenumbers.PhoneNumberFormat.E164)
    digits = _NON_DIGIT.sub("", value)
    return f"+{digits}" if international else digits


def value_hash(key: bytes, entity_type: str, value: str, region: str = "US") -> str:
    """Keyed hash (hex) of an identifier's normalised value."""
    data = f"{entity_type}\x00{normalise_value(entity_type, value, region)}".encode()
    return hashlib.blake2b(data, key=key, digest_size=16).hexdigest()


def luhn_valid(digits: str) -> bool:
    """The Luhn check of a card number (ASCII digits only)."""
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
