"""Small cryptographic helpers: random tokens, hashing of bearer secrets, encryption at rest."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256(value: str | bytes) -> bytes:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).digest()


def derive_key(master: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one configured secret never serves two uses directly."""
    return hmac.new(master.encode(), purpose.encode(), hashlib.sha256).digest()


class SecretBox:
    """AES-256-GCM with a random nonce: ciphertext = nonce (12 bytes) ‖ sealed data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, ciphertext: bytes, *, context: str) -> str:
        return self._aead.decrypt(ciphertext[:12], ciphertext[12:], context.encode()).decode()
