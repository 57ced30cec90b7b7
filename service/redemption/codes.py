"""Voucher codes: drawn unguessable, kept as a keyed hash and a sealed copy, shown in groups of four, read
back as typed.

A code is a bearer secret: whoever holds it takes the reward. The table never holds it in the clear.
`code_hash` is HMAC-SHA256 of the code under a key derived from the configured secret: the counter's code
is found by its hash, and a copy of the table without the key tests no guess (a plain hash of 80 random
bits would resist guessing too, but not a stolen list of codes checked against it). The comparison of
secrets is of keyed hashes, so what timing could tell of the index walk concerns hashes that cannot be
related to any code. `code_sealed` is the code under AES-GCM, bound to its hash, so that the resident can
be shown their own voucher; a sealed copy moved to another row does not open.
"""

from __future__ import annotations

import hashlib
import hmac

from service.kit import typed_codes
from service.kit.secrets import SecretBox, derive_key

# 16 characters carry 80 random bits.
CODE_LENGTH = 16


def new_voucher_code() -> str:
    return typed_codes.new_code(CODE_LENGTH)


def normalise_code(raw: str) -> str | None:
    """The stored form of a code as typed or scanned: dashes, spaces and case ignored."""
    return typed_codes.normalise(raw, CODE_LENGTH)


def display_code(code: str) -> str:
    return typed_codes.grouped(code, 4)


class VoucherCodes:
    """Keeping codes under keys derived from the configured secret (never the secret itself): built once
    per process, on `app.state.voucher_codes`; the migration that hashed the stored codes used it too."""

    def __init__(self, secret_key: str) -> None:
        self._hash_key = derive_key(secret_key, "voucher-code-hash")
        self._box = SecretBox(derive_key(secret_key, "voucher-code-seal"))

    def hash(self, code: str) -> bytes:
        """The keyed hash a voucher is found by; `code` in its stored form (normalise_code)."""
        return hmac.new(self._hash_key, code.encode(), hashlib.sha256).digest()

    def keep(self, code: str) -> tuple[bytes, bytes]:
        """What a voucher row holds of a code: its hash and its sealed copy."""
        code_hash = self.hash(code)
        return code_hash, self._box.seal(code, context=_sealed_for(code_hash))

    def open(self, sealed: bytes, code_hash: bytes) -> str:
        """The code a row holds; refuses (cryptography's InvalidTag) a sealed copy of another row."""
        return self._box.open(sealed, context=_sealed_for(code_hash))


def _sealed_for(code_hash: bytes) -> str:
    return "voucher-code:" + code_hash.hex()
