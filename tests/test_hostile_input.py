"""Hostile input on every endpoint of the API, enumerated from its OpenAPI document (a new
endpoint is covered the day it is added): each answer is a 4xx problem+json with a
message in both languages, and no table of the database gains or loses a row.

Bodies: JSON nested 1,000 deep, an unpaired surrogate, a 5,000-digit integer, NaN and
Infinity, a number that reads as infinity, NUL. Query strings: numbers beyond any
column for every integer parameter, NUL for every string one. Paths: ids beyond any
column."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.adapters.db.models import Base
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.api_support import api  # noqa: F401  (fixture)
from tests.support import SYSTEM

DEEP = "[" * 1000 + "]" * 1000
HOSTILE_VALUES = {
    "nested 1,000 deep": DEEP,
    "unpaired surrogate": '"\\ud800x"',
    "5,000-digit integer": "9" * 5000,
    "integer beyond 64 bits": "18446744073709551616",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400": "1e400",
    "NUL": '"a\\u0000b"',
}
HUGE = "100000000000000000000"
UNSAFE = {"post", "put", "patch", "delete"}


@pytest.fixture
def hostile(api):
    """The world with a dossier, a chair's bearer client and the OpenAPI document."""
    receipt = dossiers.receive(api.rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001",
                               applicant=Applicant("Lò Văn Pa"))
    chair = api.token_client("chair")
    spec = chair.get("/api/openapi.json").json
    return api, chair, spec, receipt.code


def operations(spec: dict, methods: set[str]):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in methods:
                yield path, method, operation


def concrete(path: str, dossier_code: str, ids: str = "1") -> str:
    """An address of real objects: the seeded dossier, the first user/version/task..."""
    return re.sub(r"\{(\w+)\}", lambda m: dossier_code if m.group(1) == "ref" else ids, path)


def body_properties(spec: dict, operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {})) or ["data"]


def row_counts(api) -> dict[str, int]:
    with api.rt.db.engine.connect() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


def assert_refused(response, what: str) -> dict:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json", what
    body = response.json
    assert body["message_vi"] and body["message_en"] and body["status"] == response.status_code, what
    return body


def test_every_write_endpoint_refuses_every_hostile_body(hostile):
    api, chair, spec, code = hostile
    writes = list(operations(spec, UNSAFE))
    assert len(writes) >= 30  # the document lists them all (a broken enumeration must not pass)
    before = row_counts(api)
    for path, method, operation in writes:
        url = concrete(path, code)
        for name, value in HOSTILE_VALUES.items():
            # every documented property gets the value, and `data` (free-form dossier data) too
            fields = [*body_properties(spec, operation), "data"]
            raw = "{" + ", ".join(f'"{field}": {value}' for field in dict.fromkeys(fields)) + "}"
            response = chair.open(url, method=method.upper(), data=raw.encode(), content_type="application/json")
            body = assert_refused(response, f"{method.upper()} {path} with {name}")
            if name in ("nested 1,000 deep", "unpaired surrogate", "NaN", "1e400", "NUL", "5,000-digit integer"):
                assert body["code"] in {"too_deeply_nested", "invalid_unicode", "non_finite_number",
                                        "integer_too_large", "invalid_input"}, (path, name, body)
    assert row_counts(api) == before


def test_hostile_names_are_refused_where_a_name_is_expected(hostile):
    api, chair, _spec, _code = hostile
    before = row_counts(api)
    base = '{"unit_code": "TRIPHU", "procedure_code": "9.000001", "applicant": {"name": %s}, "data": %s}'
    cases = {
        "surrogate name": (base % ('"\\ud800x"', "{}"), "invalid_unicode", "applicant.name"),
        "deep data": (base % ('"A"', '{"a": ' + "[" * 40 + "]" * 40 + "}"), "too_deeply_nested", "data.a" + ".0" * 30),
        "NaN in data": (base % ('"A"', '{"fee": NaN}'), "non_finite_number", None),
        "huge integer in data": (base % ('"A"', '{"fee": ' + "1" * 5000 + "}"), "integer_too_large", None),
    }
    for what, (raw, expected, field) in cases.items():
        body = assert_refused(chair.post("/api/dossiers", data=raw, content_type="application/json"), what)
        assert body["code"] == expected, (what, body)
        if field:
            assert body["problems"][0]["field"] == field, (what, body)
    assert row_counts(api) == before


def test_every_integer_query_parameter_refuses_numbers_beyond_any_column(hostile):
    api, chair, spec, code = hostile
    checked = 0
    for path, method, operation in operations(spec, {"get"}):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            url = concrete(path, code)
            kind = parameter.get("schema", {}).get("type")
            if kind == "integer":
                for value in (HUGE, "-" + HUGE):
                    response = chair.get(url, query_string={parameter["name"]: value})
                    assert_refused(response, f"{path}?{parameter['name']}={value}")
                    checked += 1
            elif kind == "string" and not parameter.get("schema", {}).get("format"):
                response = chair.get(url, query_string={parameter["name"]: "a\x00b"})
                assert_refused(response, f"{path}?{parameter['name']}=NUL")
                checked += 1
    assert checked >= 20


def test_every_id_in_a_path_refuses_numbers_beyond_any_column(hostile):
    api, chair, spec, code = hostile
    before = row_counts(api)
    checked = 0
    for path, method, _operation in operations(spec, UNSAFE | {"get"}):
        if "{" not in path or "{ref}" in path:
            continue
        response = chair.open(concrete(path, code, HUGE), method=method.upper(), json={})
        assert_refused(response, f"{method.upper()} {path}")
        assert response.status_code == 404
        checked += 1
    assert checked >= 15
    assert row_counts(api) == before
