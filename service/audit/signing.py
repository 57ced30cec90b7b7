"""The checkpoint signing key: Ed25519, derived from the server's secret key for this one purpose, so every
worker signs with the same key and production refuses the development one as it refuses that secret."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.audit.receipt_verifier import checkpoint_message
from service.kit.secrets import derive_key


class CheckpointSigner:
    def __init__(self, secret_key: str) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(derive_key(secret_key, "checkpoint-signing"))
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.public_key).hexdigest()[:16]

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    def sign(self, tree_size: int, root_hash: bytes, signed_at: str) -> bytes:
        return self._private.sign(checkpoint_message(tree_size, root_hash, signed_at))
