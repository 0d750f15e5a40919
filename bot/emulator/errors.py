"""Errors: Discord-shaped API errors (returned to the bot) and emulator-side exceptions."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the emulator answers with, shaped like Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str,
                 errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    @classmethod
    def form(cls, path: str, code: str, message: str) -> ApiError:
        """400 Invalid Form Body (50035) with one error at a dotted ``path`` (e.g. ``embeds.0.title``)."""
        errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
        for part in reversed(path.split(".")):
            errors = {part: errors}
        return cls(400, 50035, "Invalid Form Body", errors)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


class EmulatorError(Exception):
    """A participant action or query could not be performed (test-side error)."""


class EmulatorForbidden(EmulatorError):
    """A participant tried something Discord would refuse (e.g. posting in a locked thread)."""

    def __init__(self, message: str, api_error: ApiError | None = None) -> None:
        super().__init__(message)
        self.api_error = api_error
