"""Errors the engine raises, each able to tell a user what, where and how to fix.

Every message exists in Vietnamese (default UI language) and English. The edges
(`api/`, `cli/`) translate these classes into problem+json responses and exit codes;
they never invent messages of their own for domain failures.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One located problem: in a BPMN file, a form submission or a command argument."""

    code: str
    message_vi: str
    message_en: str
    hint: str = ""
    element_id: str | None = None
    line: int | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class IsoflowError(Exception):
    """Base of every domain error. `code` is stable and machine-readable."""

    code = "error"

    def __init__(
        self,
        message_en: str,
        message_vi: str | None = None,
        *,
        code: str | None = None,
        hint: str = "",
        problems: list[Problem] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_vi = message_vi or message_en
        if code:
            self.code = code
        self.hint = hint
        self.problems: list[Problem] = list(problems or [])
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.problems:
            out["problems"] = [p.to_dict() for p in self.problems]
        if self.details:
            out["details"] = self.details
        return out


class InvalidInput(IsoflowError):
    """The caller sent something malformed or out of range (HTTP 422, CLI exit 2)."""

    code = "invalid_input"


class NotFound(IsoflowError):
    """Unknown, or not visible to this user (another commune's data answers NotFound)."""

    code = "not_found"


class Conflict(IsoflowError):
    """The action collides with the current state (already completed, stale version...)."""

    code = "conflict"


class PermissionDenied(IsoflowError):
    """The user may see the object but not perform this action on it."""

    code = "permission_denied"


class Unauthenticated(IsoflowError):
    code = "unauthenticated"


class TooManyAttempts(IsoflowError):
    """Too many attempts in a short time (login throttling, public lookup rate limit).

    `retry_after` is how many seconds the caller should wait (HTTP 429 Retry-After)."""

    code = "too_many_attempts"

    def __init__(self, message_en: str, message_vi: str | None = None, *, retry_after: int, **kwargs) -> None:
        super().__init__(message_en, message_vi, **kwargs)
        self.retry_after = max(1, int(retry_after))


@dataclass
class ErrorCollector:
    """Gathers problems so a whole input is reported at once, not one error at a time."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def __bool__(self) -> bool:
        return bool(self.problems)
