"""Voucher codes: drawn unguessable, stored in one form, shown in groups of four, read back as typed."""

from __future__ import annotations

import secrets

# Crockford's base32: no I, L, O or U to misread at a counter. 16 characters carry 80 random bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_voucher_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """The stored form of a code as typed or scanned: dashes, spaces and case ignored."""
    code = raw.replace("-", "").replace(" ", "").upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
