"""Management review use cases (ISO 9001 9.3, docs/iso.md): a review of a commune for a
period, its decisions; its actions are corrective actions (`quality.add_action` with
`review_id`), tracked and reminded the same way. The review pack is a read model
(`engine.views.quality.review_pack`)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.adapters.db.models import ManagementReview
from engine.audit import Actor
from engine.domain import quality as rules
from engine.domain.periods import parse_period
from engine.errors import Conflict
from engine.services.quality import QualityContext


def create_review(rt, actor: Actor, *, unit_code: str, period: str, held_on: date, chaired_by: str) -> int:
    """`period` as the statistics read it (2026-Q1, 2026-H1, 2026...)."""
    the_period = parse_period(period)
    chaired_by = rules.required_text(chaired_by, "chaired_by", "Người chủ trì", "chair of the meeting", limit=200)
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        unit = ctx.commune(unit_code)
        ctx.require("quality.manage", unit.id, "org unit")
        key = period.strip().upper()
        if uow.session.scalar(select(ManagementReview.id).where(ManagementReview.org_unit_id == unit.id,
                                                                ManagementReview.period == key)):
            raise Conflict(f"{unit.code} already has a management review for {the_period.label}",
                           f"{unit.code} đã có cuộc xem xét của lãnh đạo cho {the_period.label}", code="review_exists")
        row = ManagementReview(org_unit_id=unit.id, period=key, held_on=held_on, chaired_by=chaired_by, decisions=[],
                               created_at=uow.now, created_by_id=actor.user_id)
        uow.session.add(row)
        uow.session.flush()
        uow.log("management_review.created", "management_review", row.id, org_unit_id=unit.id,
                after={"period": key, "held_on": held_on, "chaired_by": chaired_by})
        uow.commit()
        return row.id


def record_decision(rt, actor: Actor, review_id: int, text: str) -> None:
    text = rules.required_text(text, "text", "Quyết định", "decision", limit=2000)
    with rt.unit_of_work(actor) as uow:
        review = QualityContext(uow).record(ManagementReview, review_id, "management review", "quality.manage")
        review.decisions = [*review.decisions, text]
        uow.log("management_review.decision", "management_review", review.id, org_unit_id=review.org_unit_id,
                after={"decision": text})
        uow.commit()
