"""Every library model runs through the engine service on the real database: the happy
path to a returned result, and one alternative (supplementation once, else refusal)."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine.audit import Actor
from engine.domain.calendar import VN_TZ, WorkingCalendar
from engine.domain.clock import FixedClock
from engine.config import REPO_ROOT
from engine.adapters.db.models import Base, Dossier, Task
from engine.adapters.db.session import Database
from engine.procedure.forms import outcome_values, sample_submission
from engine.domain.roles import STEP_ROLES
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.services.identity import assign_role, create_org_unit, create_user
from engine.services.procedures import publish_file
from tests.conftest import TEST_DATABASE_URL

MODELS = sorted((REPO_ROOT / "bpmn").glob("*.bpmn"))
SYSTEM = Actor.system("library-test")
WORKING = WorkingCalendar()  # steps take working time, so pauses always span working hours


@pytest.fixture(scope="module")
def library(_migrated_template, tmp_path_factory):
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in Base.metadata.sorted_tables)
                              + " RESTART IDENTITY CASCADE"))
    else:
        path = tmp_path_factory.mktemp("library") / "library.db"
        shutil.copyfile(_migrated_template, path)
        db = Database(f"sqlite:///{path}")
    rt = Runtime(db, FixedClock(datetime(2026, 3, 3, 8, 0, tzinfo=VN_TZ)))
    create_org_unit(rt, SYSTEM, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
    create_org_unit(rt, SYSTEM, code="XA", name="Xã thử nghiệm", kind="commune", parent_code="TQ")
    holders = {}
    for role in sorted(STEP_ROLES):
        uid = create_user(rt, SYSTEM, username=role, full_name=role)
        assign_role(rt, SYSTEM, user_id=uid, unit_code="XA", role=role, valid_from=date(2020, 1, 1))
        holders[role] = Actor(uid, role)
    for model in MODELS:
        publish_file(rt, SYSTEM, model, effective_from=date(2020, 1, 1))
    yield rt, holders
    db.dispose()


def _procedure_code(model: Path) -> str:
    return model.name.split("-", 1)[0]


def _open_task(rt, dossier_id) -> Task | None:
    with rt.db.session_factory() as s:
        return s.scalar(select(Task).where(Task.dossier_id == dossier_id, Task.state == "open").order_by(Task.id))


def _form(rt, task: Task) -> dict | None:
    with rt.db.session_factory() as s:
        model = rt.model_of_version(s, s.get(Dossier, task.dossier_id).procedure_version_id)
    return model.forms.get(task.form) if task.form else None


def _drive(rt, holders, dossier_id, alternative: str | None) -> list[str]:
    """Complete open steps until the dossier is closed; returns the outcomes chosen."""
    chosen: list[str] = []
    used_alternative = False
    for _ in range(60):
        task = _open_task(rt, dossier_id)
        if task is None:
            break
        rt.clock.set(WORKING.add_working_time(rt.clock.now(), timedelta(minutes=20)))
        form = _form(rt, task)
        offered = outcome_values(form or {}) or frozenset()
        actor = holders[task.role]
        if alternative and not used_alternative and alternative in offered:
            used_alternative = True
            chosen.append(alternative)
            if alternative == "supplement":
                dossiers.request_supplementation(rt, actor, task.id, "Thiếu giấy tờ",
                                                 sample_submission(form, outcome="supplement"))
                continue
            dossiers.complete_task(rt, actor, task.id, sample_submission(form, outcome=alternative))
            continue
        if task.status_code == 9:
            dossiers.return_result(rt, actor, dossier_id, sample_submission(form))
            continue
        data = sample_submission(form, outcome="approve")
        chosen.append(data.get("outcome", "-"))
        dossiers.complete_task(rt, actor, task.id, data)
    return chosen


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_happy_path_through_the_service(library, model):
    rt, holders = library
    receipt = dossiers.receive(rt, holders["one_stop_clerk"], unit_code="XA", procedure_code=_procedure_code(model),
                               applicant=Applicant("Nguyễn Văn An"))
    _drive(rt, holders, receipt.dossier_id, None)
    with rt.db.session_factory() as s:
        d = s.get(Dossier, receipt.dossier_id)
        assert (d.status_code, d.state, d.result) == (10, "closed", "granted")
        assert d.classification in ("early", "on_time", "late")


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_alternative_path_through_the_service(library, model):
    rt, holders = library
    receipt = dossiers.receive(rt, holders["one_stop_clerk"], unit_code="XA", procedure_code=_procedure_code(model),
                               applicant=Applicant("Trần Thị Bình"))
    with rt.db.session_factory() as s:
        forms = rt.model_of_version(s, s.get(Dossier, receipt.dossier_id).procedure_version_id).forms
    offered = set().union(*[outcome_values(f) or set() for f in forms.values()])
    alternative = "supplement" if "supplement" in offered else "refuse"
    chosen = _drive(rt, holders, receipt.dossier_id, alternative)
    assert alternative in chosen
    with rt.db.session_factory() as s:
        d = s.get(Dossier, receipt.dossier_id)
        assert d.status_code == 10 and d.state == "closed"
        if alternative == "supplement":
            assert d.supplement_count == 1 and d.result == "granted"
            assert len(d.pauses) == 1 and d.pauses[0].ended_at is not None
            assert d.due_at > d.original_due_at  # the paused working time moved the appointment
        else:
            assert d.result == "refused"
