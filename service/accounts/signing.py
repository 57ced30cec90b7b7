"""The partner request signature, shared by the server and by clients (tests, load tests, partners).

    string_to_sign = METHOD "\\n" PATH_AND_QUERY "\\n" TIMESTAMP "\\n" hex(SHA-256(body))
    signature      = hex(HMAC-SHA256(secret, string_to_sign))

Headers: X-Tanpuhui-Key-Id, X-Tanpuhui-Timestamp (Unix seconds), X-Tanpuhui-Signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time

KEY_ID_HEADER = "X-Tanpuhui-Key-Id"
TIMESTAMP_HEADER = "X-Tanpuhui-Timestamp"
SIGNATURE_HEADER = "X-Tanpuhui-Signature"


def string_to_sign(method: str, path_and_query: str, timestamp: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path_and_query}\n{timestamp}\n{body_hash}".encode()


def signature(secret: str, method: str, path_and_query: str, timestamp: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), string_to_sign(method, path_and_query, timestamp, body), hashlib.sha256
    ).hexdigest()


def signed_headers(
    key_id: str, secret: str, method: str, path_and_query: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers a partner sends with a request."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret, method, path_and_query, stamp, body),
    }
