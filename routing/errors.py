"""Errors the service raises; the API turns them into {"error": code, "message": text}."""
from __future__ import annotations

from typing import Any, Dict, Optional


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: Optional[str] = None, details: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def body(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class BadRequest(ServiceError):
    status, code = 400, "bad_request"


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class TooLarge(ServiceError):
    status, code = 413, "too_large"


class Invalid(ServiceError):
    status, code = 422, "invalid"


def ticket_not_found(number: str) -> NotFound:
    return NotFound(f"工单不存在 / ticket not found: {number}", "ticket_not_found")
