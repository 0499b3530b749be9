"""Notices to the applicant (docs/api.md "Notices to applicants"): when the result is
ready, when supplementation is requested, when an apology letter is issued. Texts are
Vietnamese templates a commune may edit (stored per commune; the defaults below
otherwise); each notice is an outbox row per channel (email when the applicant gave an
address, SMS when they gave a phone number), written in the transaction of the change
and sent by the scheduler's sweep."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.models import NoticeTemplate, OrgUnit
from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput, NotFound, Problem
from engine.permissions import load_principal, require

RESULT_READY = "result_ready"
SUPPLEMENTATION_REQUESTED = "supplementation_requested"
APOLOGY_ISSUED = "apology_issued"
KINDS = (RESULT_READY, SUPPLEMENTATION_REQUESTED, APOLOGY_ISSUED)

# What a template may name; anything else is refused when the template is saved.
PLACEHOLDERS = {
    "code": "mã hồ sơ", "applicant": "tên người nộp", "procedure": "tên thủ tục", "unit": "tên đơn vị",
    "due_at": "ngày hẹn trả (giờ Việt Nam)", "reason": "lý do (bổ sung, xin lỗi)",
}


@dataclass(frozen=True)
class Template:
    kind: str
    sms_text: str
    email_subject: str
    email_body: str
    customised: bool  # False: the default text


DEFAULTS: dict[str, Template] = {
    RESULT_READY: Template(
        RESULT_READY,
        "{unit}: ho so {code} da co ket qua. Moi ong/ba den Bo phan Mot cua nhan ket qua.",
        "Hồ sơ {code} đã có kết quả",
        "Kính gửi ông/bà {applicant},\n\nHồ sơ {code} ({procedure}) đã được giải quyết xong. Mời ông/bà đến "
        "Bộ phận Một cửa của {unit} để nhận kết quả.\n", False),
    SUPPLEMENTATION_REQUESTED: Template(
        SUPPLEMENTATION_REQUESTED,
        "{unit}: ho so {code} can bo sung: {reason}. Moi ong/ba den Bo phan Mot cua.",
        "Hồ sơ {code} cần bổ sung",
        "Kính gửi ông/bà {applicant},\n\nHồ sơ {code} ({procedure}) cần bổ sung, hoàn thiện: {reason}.\n"
        "Thời gian bổ sung không tính vào thời hạn giải quyết. Mời ông/bà đến Bộ phận Một cửa của {unit}.\n", False),
    APOLOGY_ISSUED: Template(
        APOLOGY_ISSUED,
        "{unit} xin loi: ho so {code} cham giai quyet. Hen tra moi: {due_at}.",
        "Thư xin lỗi về hồ sơ {code}",
        "Kính gửi ông/bà {applicant},\n\n{unit} xin lỗi vì hồ sơ {code} ({procedure}) chưa được giải quyết "
        "đúng hẹn. Lý do: {reason}.\nThời gian hẹn trả kết quả mới: {due_at}.\n", False),
}


def render(text: str, values: dict[str, Any]) -> str:
    return text.format_map({name: values.get(name, "") for name in PLACEHOLDERS})


def _check_text(field: str, text: str, problems: list[Problem]) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        problems.append(Problem("bad_template", f"Mẫu không hợp lệ: {exc}.", f"Invalid template: {exc}.",
                                field=field, hint="write a placeholder as {code}; a brace itself as {{ or }}"))
        return
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        problems.append(Problem(
            "unknown_placeholder", f"Tham số không có: {', '.join(unknown)}.",
            f"Unknown placeholder(s): {', '.join(unknown)}.", field=field,
            hint=f"use only: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"))


def _unit(uow, unit_code: str) -> OrgUnit:
    unit = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    if unit is None:
        raise NotFound(f"org unit {unit_code} not found", f"không tìm thấy đơn vị {unit_code}", code="not_found")
    return unit


def _authorize(uow, unit: OrgUnit, action: str) -> None:
    if uow.actor.user_id is not None:
        require(load_principal(uow, uow.actor.user_id, uow.now.astimezone(VN_TZ).date()), action, unit.id,
                what=f"org unit {unit.code}")


def templates(rt, actor: Actor, unit_code: str) -> list[Template]:
    """The commune's templates, its own where stored, else the default (commune staff read them)."""
    with rt.read(actor) as unit:
        org = _unit(unit, unit_code)
        _authorize(unit, org, "dossier.view")
        return [_template_of(unit.session, org.id, kind) for kind in KINDS]


def _template_of(session, org_unit_id: int, kind: str) -> Template:
    row = session.scalar(select(NoticeTemplate).where(NoticeTemplate.org_unit_id == org_unit_id,
                                                      NoticeTemplate.kind == kind))
    if row is None:
        return DEFAULTS[kind]
    return Template(kind, row.sms_text, row.email_subject, row.email_body, True)


def update_template(rt, actor: Actor, unit_code: str, kind: str, *, sms_text: str, email_subject: str,
                    email_body: str) -> Template:
    """Store the commune's own text for one kind of notice (chair or province admin); audited."""
    if kind not in KINDS:
        raise NotFound(f"notice kind {kind!r} not found", f"không có loại thông báo {kind!r}", code="not_found",
                       hint=f"one of: {', '.join(KINDS)}")
    problems: list[Problem] = []
    for field, text in (("sms_text", sms_text), ("email_subject", email_subject), ("email_body", email_body)):
        _check_text(field, text, problems)
    if re.search(r"[\r\n]", email_subject):
        problems.append(Problem("bad_subject", "Tiêu đề thư không được xuống dòng.",
                                "The email subject may not contain a line break.", field="email_subject"))
    if problems:
        raise InvalidInput("the template is invalid", "mẫu thông báo không hợp lệ", code="invalid_input",
                           problems=problems)
    with rt.unit_of_work(actor) as uow:
        org = _unit(uow, unit_code)
        _authorize(uow, org, "integration.manage")
        row = uow.session.scalar(select(NoticeTemplate).where(NoticeTemplate.org_unit_id == org.id,
                                                              NoticeTemplate.kind == kind))
        before = None
        if row is None:
            row = NoticeTemplate(org_unit_id=org.id, kind=kind)
            uow.session.add(row)
        else:
            before = {"sms_text": row.sms_text, "email_subject": row.email_subject, "email_body": row.email_body}
        row.sms_text, row.email_subject, row.email_body = sms_text, email_subject, email_body
        row.updated_at, row.updated_by_id = uow.now, actor.user_id
        uow.session.flush()
        uow.log("notice_template.updated", "notice_template", row.id, org_unit_id=org.id, before=before,
                after={"kind": kind, "sms_text": sms_text, "email_subject": email_subject, "email_body": email_body})
        uow.commit()
        return Template(kind, sms_text, email_subject, email_body, True)


def compose(session, kind: str, dossier: Any, values: dict[str, Any], event_key: str,
            now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of one notice to the dossier's applicant: email and/or SMS."""
    template = _template_of(session, dossier.org_unit_id, kind)
    rows = []
    base = {"event_key": event_key, "event_type": f"notice.{kind}", "subscription_id": None,
            "dossier_id": dossier.id, "org_unit_id": dossier.org_unit_id, "state": "pending", "attempts": 0,
            "created_at": now, "next_attempt_at": now}
    if (dossier.applicant_email or "").strip():
        rows.append({**base, "channel": "email", "address": dossier.applicant_email.strip()[:500],
                     "payload": {"subject": render(template.email_subject, values),
                                 "body": render(template.email_body, values)}})
    if (dossier.applicant_phone or "").strip():
        rows.append({**base, "channel": "sms", "address": dossier.applicant_phone.strip()[:500],
                     "payload": {"text": render(template.sms_text, values)}})
    return rows
