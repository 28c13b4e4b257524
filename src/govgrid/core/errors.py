"""The AppError hierarchy and the one JSON error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Work that must outlive the refused request's rollback (a failed-login counter, a lockout's audit record).
Followup = Callable[["Session"], None]


class AppError(Exception):
    """A user-facing error: a status, a stable code and a message a person can act on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, code: str | None = None,
                 audit: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                 followups: list[Followup] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        # Keyword arguments for core.audit.service.record: the refusal itself is recorded after the rollback
        # (denied access attempts and failed logins belong in the audit chain too).
        self.audit = audit
        # HTTP headers the answer must carry (Retry-After, WWW-Authenticate).
        self.headers = dict(headers or {})
        # Callables run in a fresh transaction after the rollback, with the audit record.
        self.followups = list(followups or [])
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The one error shape: {"error": {"code", "message", "details"}}."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequestError(AppError):
    status = 400
    code = "bad_request"


class UnauthorizedError(AppError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class ForbiddenError(AppError):
    status = 403
    code = "forbidden"


class NotFoundError(AppError):
    status = 404
    code = "not_found"


class ConflictError(AppError):
    status = 409
    code = "conflict"


class PayloadTooLargeError(AppError):
    status = 413
    code = "payload_too_large"


class ValidationFailedError(AppError):
    status = 422
    code = "validation_error"


class RateLimitedError(AppError):
    """Too many requests: the answer says when to come back (Retry-After, in seconds)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, int(retry_after))))


class UnavailableError(AppError):
    """The server is busy or a dependency is down: retry after a short wait (503 + Retry-After)."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 2, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, int(retry_after))))


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build the error shape for errors raised outside AppError."""
    return {"error": {"code": code, "message": message, "details": details or []}}
