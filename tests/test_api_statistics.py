"""The statistics endpoint over the §7 report."""
from __future__ import annotations

from tests.api_support import api, assert_problem  # noqa: F401
from tests.test_api_dossiers import open_task, receive


def test_statistics_by_commune_and_officer(api):
    clerk, admin = api.token_client("clerk"), api.token_client("admin")
    code = receive(clerk)["code"]
    receive(clerk, channel=2)
    receive(api.token_client("nh_clerk"), unit_code="NAHANG", channel=3)
    clerk.post(f"/api/tasks/{open_task(clerk, code, 'receive')['id']}/complete", json={})
    report = admin.get("/api/statistics?period=2026-03&group_by=commune").json
    assert report["period"] == {"start": "2026-03-01", "end": "2026-03-31", "label": report["period"]["label"],
                                "kind": "month"}
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == {"TRIPHU", "NAHANG"}
    assert rows["TRIPHU"]["received_new"] == 2 and rows["TRIPHU"]["received_by_channel"] == {"1": 1, "2": 1, "3": 0}
    assert report["total"]["received_new"] == 3 and report["total"]["pending_within_limit"] == 3
    assert report["total"]["indicator_2_1"] is None  # nothing finished yet
    chair = api.token_client("chair").get("/api/statistics?period=2026-Q1").json
    assert [r["key"] for r in chair["rows"]] == ["TRIPHU"] and chair["group_by"] == "commune"
    officers = api.token_client("chair").get("/api/statistics?period=2026&group_by=officer").json
    assert officers["total"]["finished_early"] + officers["total"]["finished_on_time"] == 1
    assert api.token_client("chair").get("/api/statistics?period=2026-H1&group_by=field").json["rows"][0]["key"] == \
        "civil_status"
    assert admin.get("/api/statistics?period=2026-9M&group_by=procedure&unit_code=NAHANG").json["total"][
        "received_new"] == 1


def test_statistics_errors(api):
    chair = api.token_client("chair")
    assert_problem(chair.get("/api/statistics"), 422)
    assert_problem(chair.get("/api/statistics?period=2026-13"), 422)
    assert_problem(chair.get("/api/statistics?period=March"), 422)
    assert_problem(chair.get("/api/statistics?period=2026&group_by=colour"), 422)
    assert_problem(chair.get("/api/statistics?period=2026&unit_code=NAHANG"), 404)
    assert_problem(api.token_client("clerk").get("/api/statistics?period=2026"), 403)
    assert_problem(api.client().get("/api/statistics?period=2026"), 401)


def test_statistics_workbook_items_and_rating(api):
    from io import BytesIO

    from openpyxl import load_workbook

    clerk, chair = api.token_client("clerk"), api.token_client("chair")
    code = receive(clerk)["code"]
    receive(clerk, channel=2)
    response = chair.get("/api/statistics.xlsx?period=2026-03")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(BytesIO(response.data))["Theo lĩnh vực"].iter_rows(values_only=True))
    assert [r for r in rows if r[1] == "Tổng cộng"][0][2] == 2
    assert_problem(clerk.get("/api/statistics.xlsx?period=2026-03"), 403)
    items = chair.get("/api/statistics/items?period=2026-03&group_by=commune&key=TRIPHU&cell=received_new").json
    assert items["total"] == 2 and {i["dossier_code"] for i in items["items"]} >= {code}
    assert_problem(chair.get("/api/statistics/items?period=2026-03&key=TRIPHU&cell=colour"), 422)
    # a dossier still being processed cannot be rated yet
    assert_problem(clerk.post(f"/api/dossiers/{code}/rating", json={"rating": "satisfied"}), 409)
    assert_problem(clerk.post(f"/api/dossiers/{code}/rating", json={"rating": "great"}), 422)
    assert_problem(api.client().post("/api/public/rating", json={"code": code, "pin": "999999", "rating": "satisfied"}),
                   404)
