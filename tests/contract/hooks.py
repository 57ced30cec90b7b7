"""Schemathesis hooks for the contract run (SCHEMATHESIS_HOOKS=tests.contract.hooks): each operation is
sent as the caller it is for, and one check of ours joins Schemathesis' own. The world the test built is
handed over in CONTRACT_WORLD (JSON): a bearer token per role and a partner key.

Operations that end the caller's own sign-in or account get a resident of their own each time, and
ending a staff session a fresh sign-in of the administrator, so that the rest of the run keeps its
identity.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis

from service.accounts.signing import signed_headers

WORLD: dict[str, Any] = json.loads(os.environ.get("CONTRACT_WORLD", "{}"))
SELF_ENDING = {("DELETE", "/v1/me"), ("POST", "/v1/auth/logout")}


class PartnerSignature(requests.auth.AuthBase):
    """Signs the request as sent: method, path and query, a fresh timestamp, the exact body bytes."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id = key_id
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        assert isinstance(body, str | bytes), "generated bodies are sent whole"
        raw = body.encode() if isinstance(body, str) else body
        url = urlsplit(str(request.url))
        path = url.path + (f"?{url.query}" if url.query else "")
        request.headers.update(signed_headers(self.key_id, self.secret, str(request.method), path, raw))
        return request


# Refusals of schema-valid input for a rule the schema cannot state (schemathesis.toml).
RULE_REFUSALS = {400: {"INVALID_CURSOR"}, 415: {"PHOTO_NOT_IMAGE"}}
VALIDATION_FAILED = "VALIDATION_FAILED"
# Pydantic's codes for what a JSON Schema states (a length, a range, a pattern, a type, a choice, a
# required or unknown field): a schema-valid input refused with one of these is a constraint the document
# leaves out. A rule across fields or beyond the schema's words has a code of its own.
STATABLE = {
    "STRING_TOO_SHORT", "STRING_TOO_LONG", "STRING_PATTERN_MISMATCH", "TOO_SHORT", "TOO_LONG",
    "GREATER_THAN", "GREATER_THAN_EQUAL", "LESS_THAN", "LESS_THAN_EQUAL", "MULTIPLE_OF",
    "ENUM", "LITERAL_ERROR", "MISSING", "EXTRA_FORBIDDEN", "URL_TOO_LONG",
}  # fmt: skip


def _statable(code: str) -> bool:
    return code in STATABLE or code.endswith(("_TYPE", "_PARSING"))


@schemathesis.check
def refusals_name_a_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    """Input the document allows is refused only for a rule it cannot state, named by the problem's
    code: 422 with a rule's own code, a cursor not issued here, a file not an image. A 422 for a length,
    range, pattern or type means the document leaves a constraint out."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 415, 422):
        return None
    problem = response.json()
    code = problem.get("code")
    if response.status_code == 422:
        errors = problem.get("errors") or []
        unstated = [e for e in errors if _statable(str(e.get("code")))] if code == VALIDATION_FAILED else []
        assert not unstated, f"schema-valid input refused for a constraint the document leaves out: {unstated}"
        return None
    assert code in RULE_REFUSALS[response.status_code], f"schema-valid input refused with {code}"
    return None


def _bearer(case: Any, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _role(name: str) -> type:
    class Bearer:
        def get(self, case: Any, context: Any) -> str:
            return str(WORLD["tokens"][name])

        def set(self, case: Any, data: str, context: Any) -> None:
            _bearer(case, data)

    Bearer.__name__ = f"{name.title()}Bearer"
    return Bearer


class FreshResident:
    """A resident signed in for this one request."""

    def get(self, case: Any, context: Any) -> dict[str, str]:
        reply = requests.post(
            f"{WORLD['base_url']}/v1/auth/dev", json={"name": f"contract-{time.monotonic_ns()}"}, timeout=10
        )
        reply.raise_for_status()
        return dict(reply.json())

    def set(self, case: Any, data: dict[str, str], context: Any) -> None:
        _bearer(case, data["access_token"])


class FreshAdmin:
    """The administrator signed in afresh for this one request: a session it may end."""

    def get(self, case: Any, context: Any) -> dict[str, str]:
        reply = requests.post(f"{WORLD['base_url']}/v1/auth/login", json=WORLD["admin_sign_in"], timeout=10)
        reply.raise_for_status()
        return dict(reply.json())

    def set(self, case: Any, data: dict[str, str], context: Any) -> None:
        _bearer(case, data["access_token"])


if WORLD:
    # attached to `schemathesis.auth` at import, which its type does not show
    schemathesis.auth.set_from_requests(  # type: ignore[attr-defined]
        PartnerSignature(WORLD["partner"]["key_id"], WORLD["partner"]["secret"])
    ).apply_to(path_regex="^/v1/partner/")
    for method, path in SELF_ENDING:
        schemathesis.auth(refresh_interval=None).apply_to(method=method, path=path)(FreshResident)
    schemathesis.auth(refresh_interval=None).apply_to(method="DELETE", path_regex="^/v1/staff/me/sessions/")(FreshAdmin)
    schemathesis.auth().apply_to(path_regex="^/v1/(admin|staff)/")(_role("admin"))
    schemathesis.auth().apply_to(path_regex="^/v1/enterprise/")(_role("enterprise"))
    schemathesis.auth()(_role("resident"))
