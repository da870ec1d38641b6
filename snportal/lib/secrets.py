"""Encryption at rest for BMC passwords (and any other secret a row must keep).

A database dump must not hand out the credentials of every BMC in the cluster, so BMC
passwords are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256, with a timestamp).
Keys come from settings as plain strings: each is turned into a Fernet key with
:func:`derive_key`, so ``SNPORTAL_SECRETS_KEY`` may be any passphrase. Rotation is
MultiFernet's: the first key encrypts, every key decrypts, and :func:`rotate`
re-encrypts a token under the first key, so an operator adds the new key in front, keeps
the old one in ``SNPORTAL_SECRETS_KEYS_OLD`` until every row is rotated, then drops it.

Pure module: no Django; callers pass the keys.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MASK", "DecryptionError", "decrypt", "derive_key", "encrypt", "mask", "rotate"]

#: What pages, exports and audit diffs show instead of a secret (as xCAT's lsdef does).
MASK = "*******"

# Fixed, public HKDF parameters: they separate this use of the passphrase from any other
# (Django's SECRET_KEY may be the same string) without needing stored state.
_HKDF_SALT = b"snportal.secrets.v1"
_HKDF_INFO = b"snportal BMC password encryption key"


class DecryptionError(ValueError):
    """No configured key opens the token; the message says what to check."""

    def __init__(self) -> None:
        super().__init__(
            "BMC password cannot be decrypted with the configured keys: "
            "was SNPORTAL_SECRETS_KEY changed? add the old key to SNPORTAL_SECRETS_KEYS_OLD"
        )


def derive_key(secret: str) -> str:
    """A Fernet key derived from any passphrase, the same one every time (HKDF-SHA256)."""
    if not secret:
        raise ValueError("an empty string cannot be an encryption key (SNPORTAL_SECRETS_KEY)")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8"))).decode("ascii")


def encrypt(plaintext: str, keys: Sequence[str]) -> str:
    """Encrypt under the first key; the token is ASCII and differs on every call."""
    return _fernet(tuple(keys)).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, keys: Sequence[str]) -> str:
    """Decrypt with whichever key opens the token, or raise :class:`DecryptionError`."""
    try:
        return _fernet(tuple(keys)).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise DecryptionError() from None


def rotate(token: str, keys: Sequence[str]) -> str:
    """Re-encrypt a token under the first key (it may have been made with any of them)."""
    try:
        return _fernet(tuple(keys)).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise DecryptionError() from None


def mask(value: str | None) -> str:
    """Stars for a set secret, nothing for an unset one, so "no password" stays visible."""
    return MASK if value else ""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    """Derivation is cached: a 10,000-node import encrypts 10,000 passwords."""
    if not keys:
        raise ValueError("no encryption key configured (SNPORTAL_SECRETS_KEY)")
    return MultiFernet([Fernet(derive_key(key)) for key in keys])
