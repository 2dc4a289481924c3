"""The JSON error envelope of the API and the OpenAPI `responses` that declare it.

Every `ZhianError` leaves the app as `{"error": {"code", "message", "field"?}}`, whether
the access guard answers (401/403 before a route runs) or the app's exception handler
does. Request validation (422) is FastAPI's own `{"detail": [...]}`, which FastAPI
declares by itself on every operation that has parameters or a body; it is not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from zhian.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ZhianError,
)


class ErrorDetail(BaseModel):
    """What went wrong: a stable code for programs, a message for people, the culprit."""

    code: str = Field(description="Stable machine-readable code, e.g. 'not_found'")
    message: str = Field(description="What went wrong, for a person (English)")
    # Absent, never null, when the error is not about one field (ZhianError.to_dict).
    field: str | SkipJsonSchema[None] = Field(
        default=None, description="The parameter, body field or header at fault, when one is"
    )


class ErrorEnvelope(BaseModel):
    """The body of every error the API answers itself (all but FastAPI's 422)."""

    error: ErrorDetail


_ERRORS: dict[int, type[ZhianError]] = {
    error.status_code: error
    for error in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
    )
}

DESCRIPTIONS: dict[int, str] = {
    400: "A parameter or the body is not acceptable; `field` names which",
    401: "No valid credential: sign in, or send 'Authorization: Bearer <token>'",
    403: "Signed in, but the role lacks the permission, or the CSRF token is missing",
    404: "No such record in your jurisdiction (records of others are not disclosed)",
    409: "The record's state does not allow this now",
    413: "The body is too large",
    415: "The content type is not accepted",
}


def error_responses(
    *statuses: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for `statuses`, each a JSON error envelope.

    `described` replaces the generic description of a status where the route knows better
    (which token a 401 is about, which limit a 413 enforces).
    """
    overrides = dict(described or {})
    if unknown := set(statuses) - set(_ERRORS):
        raise ValueError(f"no ZhianError answers with status {sorted(unknown)}")
    if stray := set(overrides) - set(statuses):
        raise ValueError(f"descriptions for undeclared statuses {sorted(stray)}")
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "model": ErrorEnvelope,
            "description": overrides.get(status, DESCRIPTIONS[status])
            + f" (code '{_ERRORS[status].code}')",
        }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {
                    "description": "Always 'Bearer'",
                    "schema": {"type": "string"},
                }
            }
        responses[status] = response
    return responses
