"""Errors as problem+json (RFC 9457), with field-level messages in Vietnamese and English.

Engine errors keep their own code, messages and hint; request validation errors
(webargs/marshmallow) become one `Problem` per field, so a form can show each message
next to its field. Nothing else ever reaches a client: an unexpected exception is
logged and answered with a bare 500 problem.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from api import validation_messages
from engine.errors import (
    Conflict,
    InvalidInput,
    IsoflowError,
    NotFound,
    PermissionDenied,
    Problem,
    TooManyAttempts,
    Unauthenticated,
)

log = logging.getLogger("isoflow.api")

PROBLEM_JSON = "application/problem+json"
STATUS_OF: list[tuple[type[IsoflowError], int]] = [
    (InvalidInput, 422),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyAttempts, 429),
]
TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 413: "Request body too large",
    415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests", 500: "Internal server error",
}


def status_of(error: IsoflowError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(error, cls):
            return status
    return 400


def problem_response(status: int, *, code: str, message_en: str, message_vi: str, hint: str = "",
                     problems: list[Problem] | None = None, details: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:isoflow:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": message_en,
        "instance": request.path,
        "code": code,
        "message_vi": message_vi,
        "message_en": message_en,
    }
    if hint:
        body["hint"] = hint
    if problems:
        body["problems"] = [p.to_dict() for p in problems]
    if details:
        body["details"] = details
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_engine_error(error: IsoflowError) -> Response:
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="isoflow"'
    return problem_response(status_of(error), code=error.code, message_en=error.message_en,
                            message_vi=error.message_vi, hint=error.hint, problems=error.problems,
                            details=error.details or None, headers=headers)


def validation_problems(messages: Any, prefix: str = "") -> list[Problem]:
    """Flatten webargs/marshmallow messages ({"json": {"field": ["msg"]}}) into per-field problems."""
    problems: list[Problem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            if not prefix and key in {"json", "query", "form", "files", "headers", "view_args", "path"}:
                problems.extend(validation_problems(value, ""))
            else:
                problems.extend(validation_problems(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            for message in messages:
                problems.append(Problem("invalid", _vi(message), message, field=prefix or None,
                                        hint=_hint(message)))
        else:
            for item in messages:
                problems.extend(validation_problems(item, prefix))
    else:
        problems.append(Problem("invalid", _vi(str(messages)), str(messages), field=prefix or None))
    return problems


def _vi(message: str) -> str:
    return validation_messages.vietnamese(message)


def _hint(message: str) -> str:
    return validation_messages.hint(message)


def wants_problem_json() -> bool:
    """API paths always answer problem+json; other paths (web pages) keep HTML errors
    unless the client prefers JSON."""
    if request.path.startswith("/api") or request.path in ("/healthz", "/readyz"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    return best != "text/html"


def from_http_exception(error: HTTPException):
    if not wants_problem_json():
        return error
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if isinstance(error, CSRFError):
        return problem_response(400, code="csrf_failed", message_en=f"CSRF check failed: {error.description}",
                                message_vi="phiên biểu mẫu không hợp lệ hoặc đã hết hạn (CSRF); hãy tải lại trang",
                                hint="send the token from GET /api/auth/csrf in the X-CSRFToken header, "
                                     "or use a bearer token")
    messages = data.get("messages") or data.get("errors")
    if messages and status == 400:  # the body could not be parsed at all
        return problem_response(400, code="malformed_request", message_en="the request body is not valid JSON",
                                message_vi="nội dung gửi lên không phải JSON hợp lệ", problems=validation_problems(messages),
                                hint="send a JSON object with Content-Type: application/json", headers=headers)
    if messages and status == 422:
        return problem_response(422, code="invalid_input", message_en="the request has invalid fields",
                                message_vi="yêu cầu có trường không hợp lệ", problems=validation_problems(messages),
                                hint="fix the fields listed in problems", headers=headers)
    if status == 405:
        headers.setdefault("Allow", ", ".join(sorted(error.valid_methods or [])))  # type: ignore[attr-defined]
    description = data.get("message") or error.description or TITLES.get(status, "")
    code = (error.name or "error").lower().replace(" ", "_")
    return problem_response(status, code=code, message_en=str(description), message_vi=_VI_STATUS.get(status, str(description)),
                            headers=headers)


_VI_STATUS = {
    400: "yêu cầu không hợp lệ",
    404: "không tìm thấy địa chỉ này",
    405: "phương thức không được hỗ trợ tại địa chỉ này",
    406: "không thể trả về định dạng yêu cầu",
    413: "dữ liệu gửi lên quá lớn",
    415: "kiểu dữ liệu gửi lên không được hỗ trợ",
    500: "lỗi hệ thống; sự cố đã được ghi lại",
}


def unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return problem_response(500, code="internal_error", message_en="internal error; it has been logged",
                            message_vi=_VI_STATUS[500])


def register(app: Flask) -> None:
    app.register_error_handler(IsoflowError, from_engine_error)
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(Exception, unexpected)
