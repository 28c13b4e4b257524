"""The AppError hierarchy and the one JSON error shape."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A user-facing error: a status, a stable code and a message a person can act on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, code: str | None = None,
                 audit: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        # Keyword arguments for core.audit.service.record: the refusal itself is recorded after the rollback
        # (denied access attempts and failed logins belong in the audit chain too).
        self.audit = audit
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The one error shape: {"error": {"code", "message", "details"}}."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build the error shape for errors raised outside AppError."""
    return {"error": {"code": code, "message": message, "details": details or []}}
