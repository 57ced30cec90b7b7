"""mobile_api_docs/openapi.json: the committed document is the app's, and it says what a client needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.errors import PROBLEM_JSON, every_error_class
from service.main import EXPORTED, exported_document

ROOT = Path(__file__).resolve().parents[2]
# Operations that cannot fail for the caller: no input, no sign-in, no database.
CANNOT_FAIL = {"healthz", "jwks", "factors_in_force", "factor_versions", "public_key"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(exported_document())
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_the_committed_document_is_the_apps() -> None:
    committed = (ROOT / EXPORTED).read_text(encoding="utf-8")
    assert committed == exported_document(), "mobile_api_docs/openapi.json is out of date: run `make openapi`"


def test_every_operation_has_an_id_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations(spec):
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation.get("description"), f"{method} {path} has no description"
        assert operation.get("tags"), f"{method} {path} has no tag"


def test_every_field_and_parameter_has_a_description_and_an_example(spec: dict[str, Any]) -> None:
    missing = []
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            missing += [f"{name}.{field}: {key}" for key in ("description", "examples") if key not in prop]
    for method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} ?{parameter['name']}"
            if "description" not in parameter:
                missing.append(f"{where}: description")
            if not {"example", "examples"} & (parameter.keys() | parameter["schema"].keys()):
                missing.append(f"{where}: examples")
    assert missing == []


def test_every_operation_lists_its_errors_as_problems(spec: dict[str, Any]) -> None:
    examples = spec["components"]["examples"]
    silent = set()
    for method, path, operation in operations(spec):
        errors = {status: response for status, response in operation["responses"].items() if status[0] in "45"}
        if not errors:
            silent.add(operation["operationId"])
        for status, response in errors.items():
            content = response["content"][PROBLEM_JSON]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert content["examples"], f"{method} {path} {status} names no error code"
            for code, ref in content["examples"].items():
                assert ref == {"$ref": f"#/components/examples/{code}"}
                assert examples[code]["value"]["status"] == int(status), f"{code} is not a {status}"
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"]
    assert silent == CANNOT_FAIL


def test_what_routes_are_built_from_shows_in_their_errors(spec: dict[str, Any]) -> None:
    def codes(method: str, path: str) -> set[str]:
        responses = spec["paths"][path][method]["responses"]
        return {
            code
            for r in responses.values()
            if PROBLEM_JSON in r.get("content", {})
            for code in r["content"][PROBLEM_JSON]["examples"]
        }

    record = codes("post", "/v1/behaviours")
    assert {"INVALID_TOKEN", "TOKEN_EXPIRED", "ROLE_NOT_ALLOWED", "MALFORMED_JSON", "VALIDATION_FAILED"} <= record
    assert {
        "DUPLICATE_CONFLICT",
        "TRIP_ALREADY_RECORDED",
        "TIME_IN_FUTURE",
        "RATE_LIMITED",
        "DATABASE_UNAVAILABLE",
    } <= record
    partner = codes("post", "/v1/partner/behaviours")
    assert {"PARTNER_SIGNATURE_INVALID", "PARTNER_SIGNATURE_REPLAYED", "RATE_LIMITED"} <= partner
    assert "INVALID_TOKEN" not in partner
    assert "INVALID_CURSOR" in codes("get", "/v1/me/behaviours")
    # any signed-in role may read the group boards, so no role is refused there
    assert "ROLE_NOT_ALLOWED" not in codes("get", "/v1/leaderboards/groups")
    assert codes("get", "/v1/certificates/{number}") == {
        "VALIDATION_FAILED",
        "CERTIFICATE_NOT_FOUND",
        "DATABASE_UNAVAILABLE",
    }


def test_error_codes_are_unique(spec: dict[str, Any]) -> None:
    statuses: dict[str, set[int]] = {}
    for error in every_error_class():
        statuses.setdefault(error.code, set()).add(error.status)
    assert all(len(found) == 1 for found in statuses.values()), statuses
    assert set(spec["components"]["examples"]) == set(statuses)
