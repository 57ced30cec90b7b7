"""Check a tanpuhui receipt offline: standalone, standard library only, nothing from the service.

A receipt proves that one ledger entry, or one consent a resident granted or revoked, is in the
platform's append-only Merkle log, under a checkpoint the platform signed. Anyone can check it with this file alone (`python receipt_verifier.py receipt.json
PUBLIC_KEY`), and the mini-program can port it line by line. The algorithm:

1. Leaf. Join the entry's fields with "|" in this order, prefixed with "tanpuhui-entry:v1":
   id, transfer_id, account_id, amount_g, kind, debit_account_id, credit_account_id, transfer_amount_g,
   behaviour_id, factor_version_id, reverses_transfer_id, created_at — integers in decimal, an absent
   value as the empty string, created_at exactly as given (UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ").
   A consent receipt carries "consent" in place of "entry": its fields, prefixed "tanpuhui-consent:v1",
   are id, link_id, partner_id, kind, text_version, locale, text_sha256, method, reason, occurred_at —
   link_id the link's id as the resident's app shows it, kind "granted" or "revoked", text_sha256 in
   lower-case hex, occurred_at in the same form as created_at.
   leaf_hash = SHA-256(0x00 || UTF-8 bytes of that line)                          (RFC 6962 §2.1)
2. Inclusion. Fold the proof's hashes into the leaf hash, from the leaf up, as RFC 9162 §2.1.3.2 says,
   with node hashes SHA-256(0x01 || left || right); the result must equal the checkpoint's root_hash.
3. Checkpoint. The signed message is the UTF-8 text
   "tanpuhui checkpoint v1\\n{tree_size}\\n{root_hash as base64}\\n{signed_at}\\n", and the signature is
   Ed25519 (RFC 8032) under the platform's public key, published at /v1/transparency/key.
4. History. Two checkpoints are of one history when a consistency proof between them checks out
   (RFC 9162 §2.1.4.2): a checkpoint from rewritten history fails that check against any earlier one.

All hashes and keys in a receipt are base64 (standard alphabet, padded).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

LEAF_PREFIX = "tanpuhui-entry:v1"
LEAF_FIELDS = (
    "id",
    "transfer_id",
    "account_id",
    "amount_g",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "transfer_amount_g",
    "behaviour_id",
    "factor_version_id",
    "reverses_transfer_id",
    "created_at",
)

CONSENT_PREFIX = "tanpuhui-consent:v1"
CONSENT_FIELDS = (
    "id",
    "link_id",
    "partner_id",
    "kind",
    "text_version",
    "locale",
    "text_sha256",
    "method",
    "reason",
    "occurred_at",
)


class ReceiptInvalid(Exception):
    """The receipt does not prove what it claims; the message says which step failed."""


# ---------------------------------------------------------------------------------------------- hashing


def leaf_line(entry: Mapping[str, Any]) -> bytes:
    values = ("" if entry[name] is None else str(entry[name]) for name in LEAF_FIELDS)
    return "|".join((LEAF_PREFIX, *values)).encode()


def consent_leaf_line(event: Mapping[str, Any]) -> bytes:
    values = ("" if event[name] is None else str(event[name]) for name in CONSENT_FIELDS)
    return "|".join((CONSENT_PREFIX, *values)).encode()


def leaf_hash(line: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + line).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root the proof leads to from the leaf, or None when the proof has the wrong shape."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def consistent(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> bool:
    """True when the tree of size2 with root2 extends the tree of size1 with root1 (RFC 9162 §2.1.4.2)."""
    if size1 < 1 or size1 > size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    if not path:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


# ---------------------------------------------------------------------------------------------- Ed25519
# RFC 8032 §6, verification only: slow and plain, which is all one signature a receipt needs.

_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]


def _add(a: _Point, b: _Point) -> _Point:
    p1 = (a[1] - a[0]) * (b[1] - b[0]) % _P
    p2 = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = p2 - p1, d - c, d + c, p2 + p1
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decompress(data: bytes) -> _Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
assert _GX is not None
_G: _Point = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    a, r = _decompress(public_key), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _Q
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


# ---------------------------------------------------------------------------------------------- receipts


def checkpoint_message(tree_size: int, root_hash: bytes, signed_at: str) -> bytes:
    return f"tanpuhui checkpoint v1\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n{signed_at}\n".encode()


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def verify_checkpoint(checkpoint: Mapping[str, Any], public_key: bytes) -> None:
    message = checkpoint_message(checkpoint["tree_size"], _b64(checkpoint["root_hash"]), checkpoint["signed_at"])
    if not ed25519_verify(public_key, message, _b64(checkpoint["signature"])):
        raise ReceiptInvalid("the checkpoint's signature does not verify under the platform's key")


def verify_receipt(receipt: Mapping[str, Any], public_key: bytes) -> None:
    """Raise ReceiptInvalid unless the entry (or consent) is in the log under a checkpoint signed by
    `public_key`."""
    line = consent_leaf_line(receipt["consent"]) if "consent" in receipt else leaf_line(receipt["entry"])
    computed = leaf_hash(line)
    if computed != _b64(receipt["leaf_hash"]):
        raise ReceiptInvalid("the receipt's fields do not hash to its leaf hash")
    checkpoint = receipt["checkpoint"]
    proof = [_b64(p) for p in receipt["inclusion_proof"]]
    root = root_from_inclusion(receipt["leaf_index"], checkpoint["tree_size"], computed, proof)
    if root is None or root != _b64(checkpoint["root_hash"]):
        raise ReceiptInvalid("the inclusion proof does not lead to the checkpoint's root")
    verify_checkpoint(checkpoint, public_key)


def verify_consistency(earlier: Mapping[str, Any], later: Mapping[str, Any], proof: Sequence[str]) -> None:
    """Raise ReceiptInvalid unless `later` extends `earlier` (both checkpoints checked separately)."""
    if not consistent(
        earlier["tree_size"],
        later["tree_size"],
        _b64(earlier["root_hash"]),
        _b64(later["root_hash"]),
        [_b64(p) for p in proof],
    ):
        raise ReceiptInvalid("the later checkpoint does not extend the earlier one: history was rewritten")


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3:
        print("usage: receipt_verifier.py RECEIPT.json PUBLIC_KEY_BASE64", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        receipt = json.load(handle)
    try:
        verify_receipt(receipt, _b64(argv[2]))
    except (ReceiptInvalid, KeyError, ValueError) as problem:
        print(f"INVALID: {problem}")
        return 1
    what = f"consent {receipt['consent']['id']}" if "consent" in receipt else f"entry {receipt['entry']['id']}"
    print(f"OK: {what} is leaf {receipt['leaf_index']} of {receipt['checkpoint']['tree_size']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
