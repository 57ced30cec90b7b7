"""Standard Webhooks signing (https://www.standardwebhooks.com): secrets, the headers every attempt
carries, and the signature a receiver recomputes.

A secret is `whsec_` followed by the base64 of 32 random bytes; the bytes, not the text, are the HMAC
key. An attempt signs `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 and sends
`webhook-signature: v1,<base64 digest>`; while a rotated-out secret still counts, the header holds one
signature per secret, separated by a space, as the scheme allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from service.config import Settings
from service.kit.secrets import SecretBox, derive_key

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, *, message_id: str, timestamp: int, body: str) -> str:
    """`v1,` and the base64 HMAC-SHA256 of `{message_id}.{timestamp}.{body}` under the secret's bytes."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_in_force: Iterable[str], *, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three headers of the scheme, signed with every secret in force."""
    signed = " ".join(signature(s, message_id=message_id, timestamp=timestamp, body=body) for s in secrets_in_force)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signed}


def box_for(settings: Settings) -> SecretBox:
    """Seals endpoints' secrets at rest, under a key of its own derived from the service's secret key."""
    return SecretBox(derive_key(settings.secret_key.get_secret_value(), "webhook-secrets"))


def sealing_context(*, partner_id: int | None, enterprise_id: int | None) -> str:
    """Binds a sealed secret to its owner: a ciphertext moved to another owner's row does not open."""
    return (
        f"webhook-secret:partner:{partner_id}"
        if partner_id is not None
        else f"webhook-secret:enterprise:{enterprise_id}"
    )
