"""Demo data: a province with two communes, a user for every role, the whole model
library, and dossiers at every stage (on time, due soon, overdue, paused, refused,
returned). Dossiers are received in the past through the real services, with the
clock set back, so every due date and log entry is what production would compute."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine.domain.lifecycle import Channel, Outcome, Status, StepState
from engine.audit import Actor
from engine.domain.clock import Clock, FixedClock
from engine.adapters.db.models import OrgUnit, Procedure, Task
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.calendars import calendar_for
from engine.services.dossiers import Applicant
from engine.services.identity import assign_role, create_org_unit, create_user
from engine.services.procedures import publish_file

DEMO_PASSWORD = "demo1234"
SYSTEM = Actor.system("demo-seed")

COMMUNES = [
    # code, name, category
    ("TRIPHU", "Xã Tri Phú", "normal"),
    ("HONGTHAI", "Xã Hồng Thái", "mountainous"),
]
STAFF = [
    # username, full name, commune (None = province), roles
    ("clerk", "Nguyễn Thị Lan", "TRIPHU", ["one_stop_clerk"]),
    ("justice", "Trần Văn Hùng", "TRIPHU", ["justice_officer"]),
    ("land", "Lê Minh Tuấn", "TRIPHU", ["land_officer"]),
    ("culture", "Phạm Thị Hoa", "TRIPHU", ["culture_social_officer"]),
    ("office", "Hoàng Văn Nam", "TRIPHU", ["office_officer", "finance_officer"]),
    ("vicechair", "Đỗ Thị Mai", "TRIPHU", ["vice_chair"]),
    ("chair", "Nông Văn Quang", "TRIPHU", ["chair"]),
    ("ht_clerk", "Ma Thị Thu", "HONGTHAI", ["one_stop_clerk"]),
    ("ht_officer", "Hà Văn Sơn", "HONGTHAI", ["justice_officer", "land_officer", "culture_social_officer",
                                               "office_officer", "finance_officer"]),
    ("ht_chair", "Triệu Văn Long", "HONGTHAI", ["chair", "vice_chair"]),
    ("consultant", "Vũ Thị Ngọc", None, ["iso_consultant"]),
    ("province", "Bùi Đức Anh", None, ["province_admin"]),
]
APPLICANTS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em",
              "Vi Thị Giang", "Đặng Văn Hải", "Lý Thị Kim", "Mông Văn Lực", "Quan Thị Nga"]


@dataclass(frozen=True)
class DemoSummary:
    communes: list[str]
    users: list[tuple[str, str, list[str]]]  # username, commune, roles
    procedures: int
    dossiers: int
    password: str = DEMO_PASSWORD


# The library holds about a hundred procedures; sample dossiers for a spread of them keep the
# demo's start-up short (every procedure is still published and can receive dossiers).
SAMPLE_PROCEDURES_PER_COMMUNE = 24


def is_seeded(rt: Runtime) -> bool:
    with rt.read(SYSTEM) as unit:
        return unit.session.scalar(select(OrgUnit.id).limit(1)) is not None


def seed(rt: Runtime, bpmn_dir: Path, *, now: datetime, rng_seed: int = 2026) -> DemoSummary:
    """Fill an empty database. `now` is the instant the demo considers the present."""
    real_clock: Clock = rt.clock
    clock = FixedClock(now - timedelta(days=30))
    rt.clock = clock
    try:
        create_org_unit(rt, SYSTEM, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
        for code, name, category in COMMUNES:
            create_org_unit(rt, SYSTEM, code=code, name=name, kind="commune", parent_code="TQ", category=category,
                            address=f"UBND {name}, tỉnh Tuyên Quang")
        actors: dict[str, Actor] = {}
        for username, full_name, unit, roles in STAFF:
            uid = create_user(rt, SYSTEM, username=username, full_name=full_name, password=DEMO_PASSWORD,
                              home_unit_code=unit or "TQ")
            for role in roles:
                assign_role(rt, SYSTEM, user_id=uid, unit_code=unit or "TQ", role=role, valid_from=date(2025, 7, 1))
            actors[username] = Actor(uid, username)
        published = 0
        for path in sorted(bpmn_dir.glob("*.bpmn")):
            # Province-wide models: the province approves them, effective from the seeding day.
            publish_file(rt, actors["consultant"], path, approver=actors["province"])
            published += 1
        count = _sample_dossiers(rt, clock, actors, now, random.Random(rng_seed))
    finally:
        rt.clock = real_clock
    return DemoSummary([c[0] for c in COMMUNES], [(u, c or "TQ", r) for u, _, c, r in STAFF], published, count)


def _sample_dossiers(rt: Runtime, clock: FixedClock, actors: dict[str, Actor], now: datetime, rng: random.Random) -> int:
    """Receive dossiers over the past days and push each to a different stage."""
    with rt.read(SYSTEM) as unit:
        codes = list(unit.session.scalars(select(Procedure.code).order_by(Procedure.code)))
        calendar = calendar_for(unit, None)
    stages = ["fresh", "step1", "step2", "paused", "done", "returned", "refused", "overdue"]
    count = 0
    step = max(1, len(codes) // SAMPLE_PROCEDURES_PER_COMMUNE)
    for offset, (commune, clerk) in enumerate((("TRIPHU", "clerk"), ("HONGTHAI", "ht_clerk"))):
        # each commune gets dossiers for a different spread of the library's procedures
        sample = codes[offset % step::step][:SAMPLE_PROCEDURES_PER_COMMUNE]
        for index, code in enumerate(sample):
            stage = stages[(index + (3 if commune == "HONGTHAI" else 0)) % len(stages)]
            days_back = {"overdue": 25, "returned": 12, "done": 6, "refused": 5}.get(stage, rng.randint(0, 3))
            received = calendar.next_working_instant(now - timedelta(days=days_back, hours=rng.randint(0, 5)))
            if received >= now:  # e.g. the demo starts before the first session of a week
                received = now - timedelta(hours=1)
            clock.set(received)
            receipt = dossiers.receive(rt, actors[clerk], unit_code=commune, procedure_code=code,
                                       applicant=Applicant(rng.choice(APPLICANTS),
                                                           id_number=f"0080{rng.randint(10**7, 10**8 - 1)}",
                                                           address=f"Thôn {rng.randint(1, 12)}, {commune}",
                                                           phone=f"09{rng.randint(10**7, 10**8 - 1)}"),
                                       channel=rng.choice([Channel.IN_PERSON] * 3 + [Channel.ONLINE, Channel.POSTAL]))
            count += 1
            _advance(rt, clock, actors, receipt.dossier_id, stage, now, calendar, commune)
    clock.set(now)
    return count


def _advance(rt, clock, actors, dossier_id, stage, now, calendar, commune: str) -> None:
    """Push one dossier to its stage through the real services (errors propagate:
    a demo that cannot reach a stage is a bug worth seeing)."""
    limit = {"fresh": 0, "step1": 1, "step2": 2, "overdue": 1, "refused": 1}.get(stage, 99)
    for _ in range(limit):
        task = _next_task(rt, dossier_id)
        if task is None or task.status_code == Status.PROCESSED:
            break
        data = _answer(rt, task, Outcome.APPROVE)
        if stage == "paused" and _offers(rt, task, Outcome.SUPPLEMENT):
            _tick(clock, calendar, now)
            dossiers.request_supplementation(rt, _holder(actors, task.role, commune), task.id,
                                             "Thiếu bản sao giấy tờ tùy thân", data)
            return
        _tick(clock, calendar, now)
        dossiers.complete_task(rt, _holder(actors, task.role, commune), task.id, data)
    if stage == "refused":
        dossiers.refuse(rt, _holder(actors, "chair", commune), dossier_id, "Hồ sơ không đủ điều kiện theo quy định")
    if stage == "returned":
        task = _next_task(rt, dossier_id)
        if task is not None and task.status_code == Status.PROCESSED:
            _tick(clock, calendar, now)
            dossiers.return_result(rt, _holder(actors, "one_stop_clerk", commune), dossier_id,
                                   _answer(rt, task, Outcome.APPROVE))


def _tick(clock: FixedClock, calendar, now: datetime) -> None:
    """Let some working time pass before the next step, never beyond the present."""
    clock.set(min(now, calendar.add_working_time(clock.now(), timedelta(minutes=40))))


def _offers(rt, task: Task, outcome: str) -> bool:
    from engine.procedure.forms import outcome_values

    return outcome in (outcome_values(_form(rt, task) or {}) or ())


def _next_task(rt, dossier_id) -> Task | None:
    with rt.read(SYSTEM) as unit:
        return unit.session.scalar(select(Task).where(Task.dossier_id == dossier_id, Task.state == StepState.OPEN)
                                   .order_by(Task.id))


def _holder(actors: dict[str, Actor], role: str, commune: str) -> Actor:
    for username, _, unit, roles in STAFF:
        if unit == commune and role in roles:
            return actors[username]
    raise LookupError(f"no demo user holds {role} in {commune}")


def _form(rt, task: Task) -> dict | None:
    from engine.adapters.db.models import Dossier

    with rt.read(SYSTEM) as unit:
        model = rt.model(unit.session.get(Dossier, task.dossier_id).procedure_version)
    return model.forms.get(task.form) if task.form else None


def _answer(rt, task: Task, outcome: str) -> dict:
    """Minimal valid form data for a step: the outcome if the form asks for one, and
    every other required field filled with a plausible value."""
    from engine.procedure.forms import sample_submission

    return sample_submission(_form(rt, task), outcome=outcome)
