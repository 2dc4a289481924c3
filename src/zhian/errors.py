"""The error tree: each error knows its HTTP status and a stable machine-readable code."""

from __future__ import annotations


class ZhianError(Exception):
    """Base of every error Zhian raises on purpose; carries a status and a stable code."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class BadRequestError(ZhianError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(ZhianError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(ZhianError):
    status_code = 403
    code = "forbidden"


class NotFoundError(ZhianError):
    status_code = 404
    code = "not_found"


class ConflictError(ZhianError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(ZhianError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ZhianError):
    status_code = 415
    code = "unsupported_media_type"


class ConfigurationError(ZhianError):
    status_code = 500
    code = "configuration_error"


class TooManyRequestsError(ZhianError):
    """A sender over a rate limit; `retry_after_seconds` says when to try again."""

    status_code = 429
    code = "too_many_requests"

    def __init__(
        self, message: str, *, field: str | None = None, retry_after_seconds: int = 60
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after_seconds = retry_after_seconds
