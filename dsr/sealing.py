"""A data subject's identifiers at rest: encrypted for the case, hashed where a hash serves.

A value is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the `case_key`
setting and the store's own secret (`<data>/secret.key`), bound to its case id, so a copy of
`state.sqlite` alone reveals nothing and a value cannot be moved to another case. Its keyed
hash (`privacy.hashing.value_hash`, the one the PII sidecars carry) finds it in the corpora
and keeps it visible in the subject's own report without decrypting anything.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path

from corpuscope.config import Settings
from corpuscope.errors import StoreError
from corpuscope.privacy.hashing import store_key, value_hash

#: Identifier kinds a case takes, and the entity type their keyed hash is made as.
KINDS = {
    "name": "PERSON",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "username": "USERNAME",
    "url": "URL",
    "other": "OTHER",
}


@lru_cache(maxsize=8)
def _key(case_key: str, data_dir: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=store_key(Path(data_dir)),
        info=b"corpuscope dsr identifiers v1",
    ).derive(case_key.encode())


def _aead(settings: Settings):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(_key(settings.case_key.get_secret_value(), str(Path(settings.data).resolve())))


def seal(settings: Settings, case_id: str, value: str) -> str:
    """`value` encrypted for `case_id` (base64 of nonce and ciphertext)."""
    nonce = os.urandom(12)
    data = _aead(settings).encrypt(nonce, value.encode(), case_id.encode())
    return base64.b64encode(nonce + data).decode()


def unseal(settings: Settings, case_id: str, sealed: str) -> str:
    """The value `seal` encrypted; `StoreError` when the key is not the one it was sealed with."""
    from cryptography.exceptions import InvalidTag

    raw = base64.b64decode(sealed)
    try:
        return _aead(settings).decrypt(raw[:12], raw[12:], case_id.encode()).decode()
    except InvalidTag:
        raise StoreError(
            "a sealed identifier cannot be decrypted: the case_key setting or secret.key "
            "differs from the one it was sealed with"
        ) from None


def keyed_hash(settings: Settings, kind: str, value: str) -> str:
    """The keyed hash of an identifier (as the PII sidecars hash e-mails, phones, names)."""
    entity = KINDS[kind]
    if kind in ("username", "url", "other"):
        value = value.strip().lower()
    return value_hash(store_key(Path(settings.data)), entity, value, settings.phone_region)
