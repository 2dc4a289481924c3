"""The OpenAPI document declares the errors the JSON API answers, in the envelope it sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.conftest import log_in
from zhian.web.openapi_errors import error_responses
from zhian.web.permissions import DEVICE, PUBLIC, ROUTES

ENVELOPE = "#/components/schemas/ErrorEnvelope"
VALIDATION = "#/components/schemas/HTTPValidationError"


def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.app.openapi()  # type: ignore[attr-defined]
    return document


def declared_schema(document: dict[str, Any], method: str, path: str, status: int) -> str | None:
    """The `$ref` of the JSON body declared for `status` of an operation (None: undeclared)."""
    response = document["paths"][path][method.lower()]["responses"].get(str(status))
    if response is None:
        return None
    ref: str | None = response["content"]["application/json"]["schema"].get("$ref")
    return ref


def assert_answers_as_declared(
    document: dict[str, Any],
    method: str,
    path: str,
    response: Any,
    **path_parameters: str,
) -> None:
    """Status, content type and body as the document declares them (the fuzzer's checks)."""
    operation = schemathesis.openapi.from_dict(copy.deepcopy(document))[path][method]
    operation.Case(path_parameters=path_parameters).validate_response(
        response,
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )


def test_representative_operations_declare_the_error_envelope(client: TestClient) -> None:
    document = openapi(client)
    expected = [
        ("GET", "/api/v1/alerts", 401),
        ("GET", "/api/v1/alerts", 403),
        ("GET", "/api/v1/alerts", 400),
        ("GET", "/api/v1/alerts/{alert_id}", 404),
        ("POST", "/api/v1/alerts/{alert_id}/{action}", 409),
        ("POST", "/api/v1/alerts/{alert_id}/steps/{step}", 409),
        ("POST", "/api/v1/events", 400),
        ("POST", "/api/v1/events", 413),
        ("POST", "/api/v1/events", 415),
        ("POST", "/api/v1/images", 415),
        ("GET", "/api/v1/status", 403),
    ]
    assert {
        (method, path, status): declared_schema(document, method, path, status)
        for method, path, status in expected
    } == {case: ENVELOPE for case in expected}
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert envelope["required"] == ["error"]
    assert detail["required"] == ["code", "message"]
    # `field` is left out, never null, when no one field is at fault.
    assert detail["properties"]["field"]["type"] == "string"
    # A 401 names its scheme, as the answers do.
    responses = document["paths"]["/api/v1/alerts"]["get"]["responses"]
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_each_api_operation_declares_the_errors_of_its_access(client: TestClient) -> None:
    """From the route map: a login or token means 401; a permission means 403 as well."""
    document = openapi(client)
    missing = []
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            access = ROUTES[(method.upper(), path)]
            needed = {"401", "403"}
            if access == PUBLIC:
                needed = set()
            elif access == DEVICE:
                needed = {"401"}
            declared = {
                status
                for status, response in operation["responses"].items()
                if response.get("content", {}).get("application/json", {}).get("schema")
                == {"$ref": ENVELOPE}
            }
            if not needed <= declared or (access == PUBLIC and declared):
                missing.append((method.upper(), path, sorted(needed), sorted(declared)))
    assert missing == []


def test_error_answers_match_their_declaration(client: TestClient) -> None:
    document = openapi(client)

    anonymous = client.get("/api/v1/alerts")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert_answers_as_declared(document, "GET", "/api/v1/alerts", anonymous)

    # Refused by the route's own dependency (not the guard): the same envelope and header.
    device = client.post(
        "/api/v1/events", content=b"{}", headers={"Authorization": "Bearer not-a-token"}
    )
    assert device.status_code == 401
    assert device.headers["WWW-Authenticate"] == "Bearer"
    assert device.json()["error"]["field"] == "Authorization"
    assert_answers_as_declared(document, "POST", "/api/v1/events", device)

    log_in(client, "analyst")  # reads alerts, never closes them
    refused = client.post("/api/v1/alerts/1/close", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert_answers_as_declared(
        document,
        "POST",
        "/api/v1/alerts/{alert_id}/{action}",
        refused,
        alert_id="1",
        action="close",
    )

    unknown = client.get("/api/v1/alerts/987654")
    assert unknown.status_code == 404
    assert_answers_as_declared(
        document, "GET", "/api/v1/alerts/{alert_id}", unknown, alert_id="987654"
    )

    bad_filter = client.get("/api/v1/alerts", params={"since": "yesterday"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["error"]["field"] == "since"
    assert_answers_as_declared(document, "GET", "/api/v1/alerts", bad_filter)

    # Request validation keeps FastAPI's own shape, and the document says so.
    invalid = client.get("/api/v1/alerts/not-a-number")
    assert invalid.status_code == 422
    assert declared_schema(document, "GET", "/api/v1/alerts/{alert_id}", 422) == VALIDATION
    assert_answers_as_declared(
        document, "GET", "/api/v1/alerts/{alert_id}", invalid, alert_id="not-a-number"
    )


def test_error_responses_refuses_a_status_no_error_answers_with() -> None:
    assert set(error_responses(404, 409)) == {404, 409}
    with pytest.raises(ValueError, match="418"):
        error_responses(418)
    with pytest.raises(ValueError, match="413"):
        error_responses(400, described={413: "too large"})
