"""The citizen's public lookup: dossier code + PIN (printed on the appointment slip) ->
status, appointment and the steps, without personal data.

A wrong PIN answers exactly like an unknown code (same error, and a PIN hash is
checked either way so the time taken does not tell them apart). Attempts are counted
by the caller's rate limiter (`engine.services.throttle.RateLimiter`), per source
address and per dossier code, before anything is looked up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.db.models import Dossier, OrgUnit, Procedure, ProcedureVersion, Task
from engine.errors import InvalidInput, NotFound, Problem
from engine.security import hash_pin, verify_pin
from engine.services.throttle import RateLimiter
from engine.services.views import STATUS_LABELS_VI, urgency

MAX_CODE_LENGTH = 64
_DUMMY_PIN_HASH = hash_pin("000000")


@dataclass(frozen=True)
class PublicStep:
    name: str
    handed_over_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    result: str | None  # early | on_time | late | None while open
    state: str  # open | completed | cancelled
    waiting_on_citizen: bool


@dataclass(frozen=True)
class PublicDossier:
    code: str
    unit_name: str
    procedure_code: str
    procedure_name: str
    status_code: int
    status_label_vi: str
    received_at: datetime
    due_at: datetime
    finished_at: datetime | None
    returned_at: datetime | None
    result: str | None
    urgency: str
    steps: list[PublicStep]


def _no_match() -> NotFound:
    return NotFound("no dossier matches this code and PIN", "không tìm thấy hồ sơ với mã và mã PIN đã nhập",
                    code="lookup_failed", hint="check the code and the PIN printed on the appointment slip")


def lookup(rt, code: str, pin: str, *, limiter: RateLimiter | None = None, source_address: str | None = None) -> PublicDossier:
    code, pin = (code or "").strip().upper(), (pin or "").strip()
    problems = []
    if not code or len(code) > MAX_CODE_LENGTH:
        problems.append(Problem("required", "Hãy nhập mã hồ sơ in trên giấy hẹn.",
                                "Enter the dossier code printed on the appointment slip.", field="code"))
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        problems.append(Problem("bad_pin", "Mã PIN gồm các chữ số in trên giấy hẹn.",
                                "The PIN is the digits printed on the appointment slip.", field="pin"))
    if problems:
        raise InvalidInput("enter the dossier code and PIN", "hãy nhập mã hồ sơ và mã PIN", problems=problems)
    if limiter is not None:
        limiter.hit(f"lookup-address:{source_address or '-'}", f"lookup-code:{code}")
    now = rt.clock.now()
    with rt.db.session_factory() as session:
        row = session.execute(
            select(Dossier, OrgUnit.name, Procedure.code, Procedure.name)
            .join(OrgUnit, Dossier.org_unit_id == OrgUnit.id)
            .join(ProcedureVersion, Dossier.procedure_version_id == ProcedureVersion.id)
            .join(Procedure, ProcedureVersion.procedure_id == Procedure.id)
            .where(Dossier.code == code)
        ).one_or_none()
        matches = verify_pin(row[0].pin_hash if row is not None else _DUMMY_PIN_HASH, pin)
        if row is None or not matches:
            raise _no_match()
        dossier, unit_name, procedure_code, procedure_name = row
        tasks = session.scalars(select(Task).where(Task.dossier_id == dossier.id, Task.state != "cancelled")
                                .order_by(Task.created_at, Task.id)).all()
        paused = any(t.state == "open" and t.clock == "paused" for t in tasks)
        return PublicDossier(
            code=dossier.code, unit_name=unit_name, procedure_code=procedure_code, procedure_name=procedure_name,
            status_code=dossier.status_code, status_label_vi=STATUS_LABELS_VI.get(dossier.status_code, ""),
            received_at=dossier.received_at, due_at=dossier.due_at, finished_at=dossier.finished_at,
            returned_at=dossier.returned_at, result=dossier.result,
            urgency=urgency(dossier.due_at, now, done=dossier.finished_at is not None or dossier.state != "open",
                            paused=paused),
            steps=[PublicStep(t.name, t.created_at, t.due_at, t.completed_at, t.classification, t.state,
                              t.clock == "paused") for t in tasks],
        )
