"""A user's API reads (inbox, queue, a dossier and its control sheet) are served from
one connection and one read transaction: the bearer token's check and the view share
the request's read-only unit, as the web pages do."""
from __future__ import annotations

from tests.api_support import api, assert_problem  # noqa: F401
from tests.test_api_dossiers import receive
from tests.test_web_one_connection import counting


def test_api_reads_check_the_token_and_read_in_one_transaction(api):
    clerk = api.token_client("clerk")
    code = receive(clerk)["code"]
    chair = api.token_client("chair")
    chair.get("/api/auth/me")  # a token's first use is written down (then at most once per resolution)
    reads = [(clerk, "/api/tasks/inbox?limit=50"), (chair, "/api/tasks/queue?unit_code=TRIPHU"),
             (chair, f"/api/dossiers/{code}"), (chair, f"/api/dossiers/{code}/timeline")]
    for client, url in reads:
        with counting(api.rt.db.engine) as seen:
            response = client.get(url)
        assert response.status_code == 200, (url, response.json)
        assert seen["connections"] == 1 and seen["transactions"] == 1, (url, seen)
    assert clerk.get("/api/tasks/inbox").json["items"][0]["dossier_code"] == code


def test_a_revoked_or_unknown_token_is_still_refused_on_those_reads(api):
    clerk = api.token_client("clerk")
    [token] = clerk.get("/api/auth/tokens").json["items"]
    assert clerk.delete(f"/api/auth/tokens/{token['token_id']}").status_code == 200
    for url in ("/api/tasks/inbox", "/api/tasks/queue?unit_code=TRIPHU", "/api/dossiers/1"):
        assert_problem(clerk.get(url), 401, "bad_token")
        assert_problem(api.client().get(url, headers={"Authorization": "Bearer nope"}), 401, "bad_token")
