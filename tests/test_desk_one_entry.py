"""The desk's day: one entry at receipt (the papers received and the desk step's data
fill the first step), form 02 says what the officer asked for, a new PIN on request."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.adapters.db.models import Event, Task
from engine.adapters.documents.dossier_forms import render_dossier_form, slip_data
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant, ReceivedComponent
from engine.services.procedures import publish_file
from engine.views import dossiers as views
from engine.views import public
from engine.views.desk import receipt_form
from tests.support import SYSTEM, build_world

BIRTH = __import__("pathlib").Path(__file__).resolve().parent.parent / "bpmn" / "1.001193-birth-registration.bpmn"
CHILD = {"child_full_name": "Lê Minh Khang", "child_birth_date": "2026-02-20", "child_sex": "male",
         "requester_full_name": "Lê Thị Hoa", "outcome": "approve"}


def _html(body) -> str:
    return body.decode() if isinstance(body, bytes) else body


@pytest.fixture
def world(db, clock):
    world = build_world(Runtime(db, clock))
    publish_file(world.rt, SYSTEM, BIRTH, effective_from=date(2020, 1, 1))
    return world


def test_the_checklist_and_the_first_step_come_from_the_model(world):
    form = receipt_form(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="1.001193")
    assert [c.name for c in form.components][0] == "Tờ khai đăng ký khai sinh theo mẫu"
    assert form.components[2].kind == "presented" and form.components_unconfirmed
    assert form.step_name and "child_full_name" in form.step_schema["properties"]
    with pytest.raises(NotFound):
        receipt_form(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="0.000000")


def test_one_entry_completes_the_desk_step_and_form_01_lists_the_papers(world):
    rt, clerk = world.rt, world.actor("clerk")
    receipt = dossiers.receive(
        rt, clerk, unit_code="TRIPHU", procedure_code="1.001193", applicant=Applicant("Lê Thị Hoa", "008190001234"),
        components=[ReceivedComponent("Tờ khai đăng ký khai sinh theo mẫu", "original", 1),
                    ReceivedComponent("Giấy chứng sinh", "original", 2)],
        first_step=CHILD)
    view = views.dossier_view(rt, clerk, receipt.code)
    assert [t.role for t in view.open_tasks] == ["justice_officer"]  # the desk never opens a second task
    with rt.db.session_factory() as s:
        desk = s.scalars(select(Task).where(Task.dossier_id == receipt.dossier_id).order_by(Task.id)).first()
    assert desk.state == "completed" and desk.completed_by_id == clerk.user_id
    assert desk.form_data["child_full_name"] == "Lê Minh Khang"
    slip = slip_data(rt, clerk, receipt.code)
    assert slip.documents == ["Tờ khai đăng ký khai sinh theo mẫu (bản chính, 01 bản)",
                              "Giấy chứng sinh (bản chính, 02 bản)"]
    assert slip.papers == [("Tờ khai đăng ký khai sinh theo mẫu", "bản chính", 1), ("Giấy chứng sinh", "bản chính", 2)]
    html = _html(render_dossier_form(rt, clerk, receipt.code, form="01"))
    assert "(2 loại giấy tờ, 3 bản)" in html and "<td>Giấy chứng sinh</td><td>bản chính</td><td class=\"c\">02</td>" in html


def test_a_problem_in_the_step_data_stores_nothing(world):
    rt, clerk = world.rt, world.actor("clerk")
    with pytest.raises(InvalidInput) as caught:
        dossiers.receive(rt, clerk, unit_code="TRIPHU", procedure_code="1.001193", applicant=Applicant("Lê Thị Hoa"),
                         first_step={**CHILD, "child_full_name": ""})
    assert [p.field for p in caught.value.problems] == ["child_full_name"]
    assert views.search_dossiers(rt, clerk, views.DossierFilter())[1] == 0
    with pytest.raises(InvalidInput):
        dossiers.receive(rt, clerk, unit_code="TRIPHU", procedure_code="1.001193", applicant=Applicant("An"),
                         components=[ReceivedComponent("Tờ khai", "original", 0)])


def test_form_02_says_what_the_officer_asked_for(world):
    rt, clerk, officer = world.rt, world.actor("clerk"), world.actor("officer")
    receipt = dossiers.receive(rt, clerk, unit_code="TRIPHU", procedure_code="1.001193", applicant=Applicant("Hoa"),
                               first_step=CHILD)
    [task] = views.dossier_view(rt, clerk, receipt.code).open_tasks
    dossiers.complete_task(rt, officer, task.id, {"outcome": "supplement",
                                                  "supplement_request": "Bản sao giấy chứng sinh; Giấy xác nhận cư trú"})
    view = views.dossier_view(rt, clerk, receipt.code)
    assert [p.reason for p in view.pauses] == ["Bản sao giấy chứng sinh; Giấy xác nhận cư trú"]
    html = _html(render_dossier_form(rt, clerk, receipt.code, form="02"))
    assert "Bản sao giấy chứng sinh" in html and "Giấy xác nhận cư trú" in html
    assert task.name not in html.split("Nội dung yêu cầu bổ sung")[1]


def test_a_new_pin_replaces_the_old_one_with_a_logged_reason(world):
    rt, clerk = world.rt, world.actor("clerk")
    receipt = dossiers.receive(rt, clerk, unit_code="TRIPHU", procedure_code="1.001193", applicant=Applicant("Hoa"))
    assert public.lookup(rt, receipt.code, receipt.pin).code == receipt.code
    with pytest.raises(InvalidInput):
        dossiers.reissue_pin(rt, clerk, receipt.code, "  ")
    with pytest.raises(PermissionDenied):
        dossiers.reissue_pin(rt, world.actor("officer"), receipt.code, "mất giấy hẹn")
    with pytest.raises(NotFound):
        dossiers.reissue_pin(rt, world.actor("nh_clerk"), receipt.code, "mất giấy hẹn")
    again = dossiers.reissue_pin(rt, clerk, receipt.code, "Công dân làm mất giấy hẹn")
    assert again.pin.isdigit() and len(again.pin) == 6
    assert public.lookup(rt, receipt.code, again.pin).code == receipt.code
    if again.pin != receipt.pin:
        with pytest.raises(NotFound):
            public.lookup(rt, receipt.code, receipt.pin)
    with rt.db.session_factory() as s:
        [event] = s.scalars(select(Event).where(Event.kind == "dossier.pin_reissued")).all()
    assert event.after == {"reason": "Công dân làm mất giấy hẹn"} and again.pin not in str(event.after)


def test_no_new_pin_once_the_result_was_handed_back(world):
    from engine.domain.dossier import Dossier

    dossier = Dossier.__new__(Dossier)
    dossier.code, dossier.returned_at, dossier.pin_hash = "X", object(), "old"
    with pytest.raises(Conflict):
        dossier.reissue_pin("lost", "new")
    assert dossier.pin_hash == "old"
