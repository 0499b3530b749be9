"""Paging of every list the services return: one cap, one error."""
from __future__ import annotations

from engine.errors import InvalidInput, Problem

MAX_PAGE = 200


def check_page(limit: int, offset: int) -> tuple[int, int]:
    problems = []
    if not 1 <= limit <= MAX_PAGE:
        problems.append(Problem("bad_limit", f"limit phải từ 1 đến {MAX_PAGE}.", f"limit must be 1..{MAX_PAGE}.",
                                field="limit"))
    if offset < 0:
        problems.append(Problem("bad_offset", "offset không được âm.", "offset must not be negative.", field="offset"))
    if problems:
        raise InvalidInput("invalid paging", "tham số phân trang không hợp lệ", code="bad_paging", problems=problems,
                           hint=f"use 1 <= limit <= {MAX_PAGE} and offset >= 0")
    return limit, offset
