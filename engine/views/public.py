"""The citizen's status lookup: dossier code + the PIN printed on the appointment slip.

No login and no personal data: the answer carries the procedure, the national status,
the appointment and the steps' times, never the applicant's or officers' names. A
wrong PIN and an unknown code give the same answer and take the same time (an argon2
check runs either way), so the lookup cannot be used to find which codes exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.adapters.db.models import Dossier
from engine.audit import Actor
from engine.errors import InvalidInput, NotFound, Problem
from engine.domain.vocabulary import status_label
from engine.security import hash_pin, verify_pin
from engine.views.reading import reading

CITIZEN = Actor.system("public lookup")
# Verified when the code is unknown, so both failures cost one argon2 check.
_DUMMY_PIN_HASH = hash_pin("000000")


@dataclass(frozen=True)
class PublicStep:
    name: str
    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    state: str  # open | completed | cancelled


@dataclass(frozen=True)
class PublicStatus:
    code: str
    procedure_code: str
    procedure_name: str
    status_code: int
    status_vi: str
    status_en: str
    received_at: datetime
    appointment_at: datetime  # the current appointment (moves with pauses or an apology letter)
    original_appointment_at: datetime
    finished_at: datetime | None
    returned_at: datetime | None
    steps: list[PublicStep]


def _no_match() -> NotFound:
    return NotFound("no dossier matches this code and PIN", "không tìm thấy hồ sơ với mã và mã PIN đã nhập",
                    code="lookup_failed", hint="check the code and the PIN printed on your appointment slip")


def lookup(rt, code: str, pin: str) -> PublicStatus:
    code, pin = (code or "").strip().upper(), (pin or "").strip()
    problems = []
    if not code or len(code) > 40:
        problems.append(Problem("bad_code", "Mã hồ sơ không hợp lệ.", "The dossier code is not valid.", field="code",
                                hint="e.g. TRIPHU-260303-0001"))
    if not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 12:
        problems.append(Problem("bad_pin", "Mã PIN gồm các chữ số in trên phiếu hẹn.",
                                "The PIN is the digits printed on the appointment slip.", field="pin"))
    if problems:
        raise InvalidInput("the lookup needs a dossier code and its PIN", "cần nhập mã hồ sơ và mã PIN",
                           problems=problems)
    with reading(rt, CITIZEN) as unit:
        dossier = unit.session.scalar(select(Dossier).options(selectinload(Dossier.tasks)).where(Dossier.code == code))
        if dossier is None:
            verify_pin(_DUMMY_PIN_HASH, pin)  # same cost as a real check
            raise _no_match()
        if not verify_pin(dossier.pin_hash, pin):
            raise _no_match()
        version = dossier.procedure_version
        vi, en = status_label(dossier.status_code, "vi"), status_label(dossier.status_code, "en")
        steps = [PublicStep(t.name, t.created_at, t.due_at, t.completed_at, t.state)
                 for t in sorted(dossier.tasks, key=lambda t: (t.created_at, t.id))]
        return PublicStatus(dossier.code, version.procedure.code, version.procedure.name, dossier.status_code, vi, en,
                            dossier.received_at, dossier.due_at, dossier.original_due_at, dossier.finished_at,
                            dossier.returned_at, steps)
