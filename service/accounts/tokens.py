"""Access tokens: short-lived EdDSA (Ed25519) JWTs with a `kid`, verified without touching the database.

Keys rotate without signing anyone out: the keyring verifies with every configured key and signs with
the active one. To rotate, add the new key, make it active, and drop the old key once the access-token
lifetime has passed. The public keys are served as a JWKS at /.well-known/jwks.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from service.accounts.errors import InvalidToken, TokenExpired
from service.accounts.models import Role
from service.config import Settings

ALGORITHM = "EdDSA"
BUILTIN_KID = "development"
_LEEWAY = timedelta(seconds=10)
# Verified tokens are kept by a 16-byte digest until they expire, so that a token is verified (Ed25519)
# once, not on every request: about 30 MB for a district's worth of residents signed in within one
# token lifetime.
_VERIFIED_CACHE_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified access token speaks for."""

    subject_kind: str  # "resident" or "user"
    subject_id: int
    role: Role
    enterprise_id: int | None = None
    # An enterprise user's enterprise approved by an operator when the token was issued; until it is, the
    # user reads only its own application.
    enterprise_approved: bool = True
    # An administrator who must sign in with TOTP and has not enrolled yet: the token reaches only the
    # user's own account (service/accounts/deps.py) until they enrol and refresh it or sign in again.
    enrolment_only: bool = False
    # The one community an administrator is kept to (service/accounts/scope.py); None: the whole district.
    scope_community_id: int | None = None


@dataclass(frozen=True, slots=True)
class StaffCaller:
    """A staff user acting on their own account, and the sign-in (refresh-token family) their token is of."""

    principal: Principal
    session_id: str | None


@dataclass(frozen=True, slots=True)
class Grant:
    """When a verified access token was issued, and the sign-in (refresh-token family) it belongs to:
    what a revocation is checked against."""

    issued_at: float
    session_id: str | None = None


def _builtin_private_key() -> Ed25519PrivateKey:
    seed = hashlib.sha256(b"tanpuhui development signing key").digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


class Keyring:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.jwt_issuer
        self.ttl = timedelta(seconds=settings.access_token_ttl_s)
        self._public: dict[str, Ed25519PublicKey] = {}
        self._private: dict[str, Ed25519PrivateKey] = {}
        if settings.uses_builtin_signing_keys:
            self._private[BUILTIN_KID] = _builtin_private_key()
            self.active_kid = BUILTIN_KID
        else:
            for key in settings.jwt_keys:
                if key.private_key is not None:
                    private = serialization.load_pem_private_key(key.private_key.get_secret_value().encode(), None)
                    if not isinstance(private, Ed25519PrivateKey):
                        raise ValueError(f"signing key {key.kid!r} is not an Ed25519 private key")
                    self._private[key.kid] = private
                else:
                    assert key.public_key is not None
                    public = serialization.load_pem_public_key(key.public_key.encode())
                    if not isinstance(public, Ed25519PublicKey):
                        raise ValueError(f"verification key {key.kid!r} is not an Ed25519 public key")
                    self._public[key.kid] = public
            self.active_kid = settings.jwt_active_kid or settings.jwt_keys[0].kid
        for kid, private in self._private.items():
            self._public[kid] = private.public_key()
        # Tokens already verified, with their expiry: a signature check costs more than the rest of a
        # request's authentication. The keys are fixed for the life of the process, so an entry stays
        # true until its token expires.
        self._verified: OrderedDict[bytes, tuple[Principal, Grant, float]] = OrderedDict()

    def issue(
        self, principal: Principal, *, now: datetime | None = None, session_id: str | None = None
    ) -> tuple[str, int]:
        """Sign an access token, of the sign-in `session_id` if it has one; returns it with its lifetime in
        seconds."""
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"{principal.subject_kind}:{principal.subject_id}",
            "role": principal.role.value,
            # to the millisecond (a NumericDate may have a fraction): a revocation refuses tokens issued
            # before it, and a sign-in a moment after it must not share its second
            "iat": round(issued.timestamp(), 3),
            "exp": issued + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        if principal.enterprise_id is not None:
            claims["ent"] = principal.enterprise_id
            claims["eok"] = principal.enterprise_approved
        if principal.scope_community_id is not None:
            claims["scp"] = principal.scope_community_id
        if session_id is not None:
            claims["sid"] = session_id
        if principal.enrolment_only:
            claims["enr"] = True
        token = jwt.encode(
            claims, self._private[self.active_kid], algorithm=ALGORITHM, headers={"kid": self.active_kid}
        )
        return token, int(self.ttl.total_seconds())

    def verify_grant(self, token: str) -> tuple[Principal, Grant]:
        """The token's principal and grant, if its signature, issuer and times check out."""
        key = hashlib.blake2b(token.encode(), digest_size=16).digest()
        cached = self._verified.get(key)
        if cached is not None:
            principal, grant, expires = cached
            if time.time() < expires + _LEEWAY.total_seconds():
                return principal, grant
            del self._verified[key]
        principal, grant, expires = self._verify_signed(token)
        self._verified[key] = (principal, grant, expires)
        if len(self._verified) > _VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal, grant

    def _verify_signed(self, token: str) -> tuple[Principal, Grant, float]:
        """The compact JWS checked by hand rather than by PyJWT, whose decoding costs several times the
        signature check itself on every fresh token: strictly three canonical base64url segments, an
        EdDSA header naming a configured key, a good signature over the first two, then the claims."""
        if _COMPACT_JWS.fullmatch(token) is None:
            raise InvalidToken("The token is malformed.", "令牌格式错误。")
        header_b64, claims_b64, signature_b64 = token.split(".")
        try:
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, RecursionError) as exc:
            raise InvalidToken("The token is malformed.", "令牌格式错误。") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != ALGORITHM:
            raise InvalidToken("The token is malformed.", "令牌格式错误。")
        kid = header.get("kid")
        key = self._public.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("The token was signed with an unknown key.", "令牌的签名密钥未知。")
        try:
            key.verify(signature, f"{header_b64}.{claims_b64}".encode("ascii"))
        except InvalidSignature as exc:
            raise InvalidToken("The token failed verification.", "令牌校验失败。") from exc
        now = time.time()
        leeway = _LEEWAY.total_seconds()
        expires, issued = claims.get("exp"), claims.get("iat")
        if not _is_number(expires) or not _is_number(issued) or claims.get("iss") != self.issuer:
            raise InvalidToken("The token failed verification.", "令牌校验失败。")
        if issued > now + leeway or (_is_number(claims.get("nbf")) and claims["nbf"] > now + leeway):
            raise InvalidToken("The token is not valid yet.", "令牌尚未生效。")
        if expires <= now - leeway:
            raise TokenExpired("Refresh the token or sign in again.", "请刷新令牌或重新登录。")
        try:
            kind, _, ident = str(claims["sub"]).partition(":")
            role = Role(claims["role"])
            if kind not in ("resident", "user") or (kind == "resident") != (role is Role.resident):
                raise ValueError(kind)
            enterprise, scope = claims.get("ent"), claims.get("scp")
            principal = Principal(
                kind,
                int(ident),
                role,
                int(enterprise) if enterprise is not None else None,
                enterprise_approved=claims.get("eok") is not False,
                enrolment_only=claims.get("enr") is True,
                scope_community_id=int(scope) if scope is not None else None,
            )
            session = claims.get("sid")
            grant = Grant(float(issued), session if isinstance(session, str) else None)
            return principal, grant, float(expires)
        except (KeyError, ValueError) as exc:
            raise InvalidToken("The token's claims are not ours.", "令牌声明无法识别。") from exc

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = []
        for kid, public in sorted(self._public.items()):
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": ALGORITHM, "x": _b64url(raw)})
        return {"keys": keys}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# header.claims.signature, each unpadded base64url; a segment of 4n+1 characters cannot be base64.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _b64url_decode(segment: str) -> bytes:
    """Strict: a segment whose unused trailing bits are set decodes, but is not the encoding of what it
    decodes to, so it is refused (one token, one spelling)."""
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if _b64url(data) != segment:
        raise ValueError("non-canonical base64url")
    return data


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def generate_signing_key_pem() -> str:
    """A fresh Ed25519 private key in PEM, for `tanpuhui keys generate`."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
