"""Paging of every list a use case or view returns: one cap, one error (a rule of input, pure)."""
from __future__ import annotations

from engine.errors import InvalidInput, Problem

MAX_PAGE = 200
MAX_OFFSET = 1_000_000  # deeper pages are refused, never sent to the database as an out-of-range bigint


def check_page(limit: int, offset: int) -> tuple[int, int]:
    problems = []
    if not 1 <= limit <= MAX_PAGE:
        problems.append(Problem("bad_limit", f"limit phải từ 1 đến {MAX_PAGE}.", f"limit must be 1..{MAX_PAGE}.",
                                field="limit"))
    if not 0 <= offset <= MAX_OFFSET:
        problems.append(Problem("bad_offset", f"offset phải từ 0 đến {MAX_OFFSET}.", f"offset must be 0..{MAX_OFFSET}.",
                                field="offset"))
    if problems:
        raise InvalidInput("invalid paging", "tham số phân trang không hợp lệ", code="bad_paging", problems=problems,
                           hint=f"use 1 <= limit <= {MAX_PAGE} and 0 <= offset <= {MAX_OFFSET}; narrow the search "
                                "instead of paging that far")
    return limit, offset
