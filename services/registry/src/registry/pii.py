"""Resident ID numbers at rest (DOMAIN §1.3, ARCHITECTURE §6).

The number is stored encrypted (Fernet), looked up and de-duplicated through a keyed
hash (HMAC-SHA256, never a plain-text index), and shown masked unless the caller holds
``pii:read``. Without ``pii:read`` a person's birth date is shown as the birth year only:
next to any part of the number, the date gives the number back (ARCHITECTURE §6.3).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from cryptography.fernet import Fernet

from contracts.resident_id import mask
from registry.config import RegistrySettings


class IdNumberVault:
    def __init__(self, hash_key: bytes, encryption_key: bytes) -> None:
        self._hash_key = hash_key
        self._fernet = Fernet(encryption_key)

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> IdNumberVault:
        if settings.pii_hash_key is None or settings.pii_encryption_key is None:
            raise RuntimeError(
                "set REGISTRY_PII_HASH_KEY and REGISTRY_PII_ENCRYPTION_KEY (make run creates them)"
            )
        return cls(
            settings.pii_hash_key.get_secret_value().encode(),
            settings.pii_encryption_key.get_secret_value().encode(),
        )

    def lookup_hash(self, id_number: str) -> str:
        return hmac.new(self._hash_key, id_number.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, id_number: str) -> str:
        return self._fernet.encrypt(id_number.encode()).decode()

    def decrypt(self, cipher: str) -> str:
        return self._fernet.decrypt(cipher.encode()).decode()

    @staticmethod
    def mask(id_number: str) -> str:
        return mask(id_number)


def impersonal(person: dict[str, Any]) -> dict[str, Any]:
    """A person as recorded in an audit view, for a caller without ``pii:read``: the birth
    year instead of the date, and the ID number in today's mask (entries written before
    the mask changed keep more digits, and the log is append-only)."""
    shown = dict(person)
    born = shown.pop("birth_date", None)
    if born is not None:
        shown["birth_year"] = int(str(born)[:4])
    if shown.get("id_number_masked"):
        shown["id_number_masked"] = mask(shown["id_number_masked"])
    return shown
