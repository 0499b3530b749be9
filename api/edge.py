"""What every request passes before a view sees it, and what every response carries.

- Bodies larger than MAX_CONTENT_LENGTH answer 413 before anything reads them.
- Query strings and form fields: NUL is refused (no database text column holds it) and
  the rest is normalised to NFC, so decomposed Vietnamese is stored like precomposed.
- JSON bodies are checked once by a strict reader before webargs parses them: nesting
  deeper than MAX_JSON_DEPTH, NaN/Infinity, integers beyond 64 bits, unpaired
  surrogates and NUL are refused with the path of the offending value, on every
  endpoint (those that read no body included). (Python's reader accepts
  all four; each then failed deep in the stack as a 500, or was stored.)
- `<int:...>` URL parts are bounded to the databases' integer ids.
- Security headers (CSP, nosniff, frame denial, referrer policy) on every response.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from engine.domain.text import has_lone_surrogate, nfc
from engine.errors import InvalidInput, Problem

MAX_JSON_DEPTH = 32
MAX_JSON_INTEGER = 2**63 - 1  # what a 64-bit column or a JSON consumer can hold
MAX_URL_INTEGER = 2**31 - 1  # ids are 32-bit integer columns
MAX_URL_LENGTH = 4096  # below gunicorn's own request-line limit, so the app answers first

# The pages load scripts and styles from this server only (bpmn-js included); inline
# style attributes are allowed (bpmn-js and the pages set some), inline scripts are not.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class BoundedIntegerConverter(IntegerConverter):
    """`<int:id>` that never matches a number no id column holds (404, not a 500 from the driver)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False) -> None:  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits, min, MAX_URL_INTEGER if max is None else max, signed)


def register(app: Flask) -> None:
    """Install the converter (before any route is added) and the request/response hooks."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(guard_request)
    app.after_request(add_security_headers)


def guard_request() -> None:
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"the request body is larger than {limit} bytes")
    if len(request.full_path) > MAX_URL_LENGTH:
        _too_long_url()
    _check_fields("query", request.args)
    request.args = _nfc_multidict(request.args)
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        _check_fields("form", request.form)
        request.form = _nfc_multidict(request.form)
    if request.is_json and request.content_length != 0:
        check_json_body(request.get_data(cache=True))


def _too_long_url():
    from werkzeug.exceptions import RequestURITooLarge

    raise RequestURITooLarge(f"the address is longer than {MAX_URL_LENGTH} characters")


def _check_fields(location: str, fields: ImmutableMultiDict) -> None:
    problems = [Problem("nul_character", "Không được chứa ký tự NUL.", "Must not contain NUL characters.",
                        hint="remove the U+0000 character", field=name.replace("\x00", "\\0"))
                for name, value in fields.items(multi=True) if "\x00" in name or "\x00" in value]
    if problems:
        raise InvalidInput(f"the {location} holds a NUL character", f"dữ liệu gửi lên ({location}) chứa ký tự NUL",
                           code="nul_character", problems=problems, hint="remove the U+0000 characters")


def _nfc_multidict(fields: ImmutableMultiDict) -> ImmutableMultiDict:
    if all(value.isascii() and name.isascii() for name, value in fields.items(multi=True)):
        return fields
    return ImmutableMultiDict([(nfc(name), nfc(value)) for name, value in fields.items(multi=True)])


class _Unacceptable(ValueError):
    def __init__(self, code: str, message_vi: str, message_en: str, hint: str) -> None:
        super().__init__(message_en)
        self.problem = (code, message_vi, message_en, hint)


def _constant(name: str):
    raise _Unacceptable("non_finite_number", f"Không chấp nhận {name}: JSON chỉ có số hữu hạn.",
                        f"{name} is not a JSON number.", "send a finite number, or null")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_JSON_INTEGER:
        raise _Unacceptable("integer_too_large", "Số nguyên quá lớn (tối đa 64 bit).",
                            f"integer {text[:24]}{'...' if len(text) > 24 else ''} is beyond 64 bits.",
                            "send such a number as a string")
    return value


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e400 reads as infinity
        _constant(text[:24])
    return value


def check_json_body(body: bytes) -> None:
    """Refuse what Python's JSON reader accepts but JSON, the databases or the pages do not."""
    try:
        document = json.loads(body, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except _Unacceptable as error:
        code, vi, en, hint = error.problem
        raise InvalidInput(f"the JSON body is not acceptable: {en}", f"nội dung JSON không chấp nhận được: {vi}",
                           code=code, hint=hint, problems=[Problem(code, vi, en, hint)]) from None
    except RecursionError:
        _too_deep("")
    except ValueError:
        return  # not JSON at all: webargs answers 400 malformed_request as before
    _check_document(document)
    _check_nul(document)


def _check_nul(document: Any) -> None:
    from api.schemas import NUL_MESSAGE, nul_paths  # the schemas' rule, here for bodies no schema reads

    paths = nul_paths(document)
    if paths:
        raise InvalidInput("the JSON body holds NUL characters", "nội dung JSON chứa ký tự NUL", code="invalid_input",
                           hint="remove the U+0000 characters",
                           problems=[Problem("invalid", "Không được chứa ký tự NUL.", NUL_MESSAGE, field=path)
                                     for path in paths])


def _too_deep(path: str):
    vi = f"Dữ liệu lồng nhau quá {MAX_JSON_DEPTH} tầng."
    en = f"nested deeper than {MAX_JSON_DEPTH} levels."
    raise InvalidInput(f"the JSON body is {en}", f"nội dung JSON: {vi}", code="too_deeply_nested",
                       hint="flatten the data", problems=[Problem("too_deeply_nested", vi, en, field=path or None)])


def _check_document(document: Any) -> None:
    """Depth and unpaired surrogates, walked without recursion (the document may be deep)."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if has_lone_surrogate(value):
                _surrogate(path)
            continue
        if isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                _too_deep(path)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and has_lone_surrogate(key):
                    _surrogate(f"{path}.{key!r}" if path else repr(key))
                child = f"{path}.{key}" if path else str(key)
                stack.append((item, child, depth + 1))


def _surrogate(path: str):
    vi = "Văn bản chứa ký tự Unicode không hợp lệ (nửa cặp thay thế UTF-16)."
    en = "text holds an unpaired UTF-16 surrogate, which is not a Unicode character."
    raise InvalidInput(f"the JSON body is not acceptable: {en}", f"nội dung JSON không chấp nhận được: {vi}",
                       code="invalid_unicode", hint="send valid UTF-8 text (escape pairs like \\ud83d\\ude00 together)",
                       problems=[Problem("invalid_unicode", vi, en, field=path or None)])


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.status_code == 413:
        response.headers["Connection"] = "close"  # do not wait for the rest of a body nobody will read
    return response
