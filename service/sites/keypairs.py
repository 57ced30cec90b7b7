"""Ed25519 key pairs for sites, and how their keys travel: base64url without padding (RFC 4648 §5), as
in a JWK, so that a kiosk page imports the private seed as `{kty: "OKP", crv: "Ed25519", d, x}`."""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_LENGTH = 32
_BASE64URL = re.compile(r"[A-Za-z0-9_-]{43}=?", re.ASCII)


def encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def decode(text: str) -> bytes:
    """The 32 bytes of a key written in base64url (a trailing `=` allowed); ValueError for anything else."""
    if _BASE64URL.fullmatch(text) is None:
        raise ValueError("expected 32 bytes in base64url: 43 characters A-Z, a-z, 0-9, - and _")
    try:
        key = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
    if encode(key) != text.rstrip("="):
        raise ValueError("not canonical base64url: the last character's unused bits must be zero")
    return key


def generate() -> tuple[bytes, bytes]:
    """A new pair: the 32-byte private seed and the 32-byte public key."""
    private = Ed25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def public_key_of(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
