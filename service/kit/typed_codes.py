"""Codes people read and type: Crockford's base32 (no I, L, O or U to misread), shown in groups, read back
as typed. Each character carries 5 random bits."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise(raw: str, length: int) -> str | None:
    """The stored form of a code as typed or scanned: dashes, spaces and case ignored; None if it is not
    `length` characters of the alphabet."""
    code = raw.replace("-", "").replace(" ", "").upper().translate(_READ_AS)
    if len(code) != length or any(c not in ALPHABET for c in code):
        return None
    return code


def grouped(code: str, size: int) -> str:
    """The code as shown: groups of `size` characters joined by dashes."""
    return "-".join(code[i : i + size] for i in range(0, len(code), size))
