"""The in-app notice inbox over HTTP, filled by a real scheduler sweep."""
from __future__ import annotations

from datetime import timedelta

from engine.adapters.channels import ChannelSettings
from engine.scheduler.sweep import Sweeper
from tests.api_support import api, assert_problem  # noqa: F401
from tests.test_api_dossiers import receive


def test_notices_after_a_sweep_and_mark_read(api):
    clerk = api.token_client("clerk")
    receive(clerk)
    assert clerk.get("/api/notifications").json["items"] == []
    sweeper = Sweeper(api.rt, channel_settings=ChannelSettings())
    for _ in range(12):  # the desk step (2 working hours) runs late: remind, warn, overdue
        api.rt.clock.advance(timedelta(minutes=30))
        assert not sweeper.run_once().errors
    notices = clerk.get("/api/notifications").json["items"]
    assert notices, "the clerk's overdue desk step should have produced notices"
    first = notices[0]
    assert first["read_at"] is None and first["title_vi"]
    r = clerk.post(f"/api/notifications/{first['id']}/read")
    assert r.status_code == 200 and r.json["read_at"] is not None
    unread = clerk.get("/api/notifications?unread_only=true").json["items"]
    assert first["id"] not in [n["id"] for n in unread]
    assert_problem(api.token_client("officer").post(f"/api/notifications/{first['id']}/read"), 404)
    assert_problem(clerk.post("/api/notifications/99999/read"), 404)
    assert_problem(clerk.get("/api/notifications?limit=0"), 422)
    assert_problem(api.client().get("/api/notifications"), 401)
