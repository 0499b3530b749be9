"""Citizen satisfaction (ISO 9001 clause 9.1.2): one rating per dossier, given at the
desk when the result is returned (the clerk records it for the citizen) or by the
citizen through the public lookup with the dossier code and PIN. The statistics count
the ratings (engine.views.statistics, docs/statistics.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.adapters.db.models import Dossier, SatisfactionRating
from engine.audit import Actor
from engine.domain.feedback import RATINGS
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput, NotFound, Problem
from engine.permissions import load_principal, require
from engine.security import hash_pin, verify_pin

MAX_COMMENT = 1000
_DUMMY_PIN_HASH: list[str] = []


@dataclass(frozen=True)
class RatingView:
    dossier_code: str
    rating: str
    comment: str
    via: str
    rated_at: datetime


def _check(rating: str, comment: str) -> tuple[str, str]:
    comment = (comment or "").strip()
    problems = []
    if rating not in RATINGS:
        problems.append(Problem("bad_rating", "Hãy chọn một mức đánh giá.", "Choose a rating.", field="rating",
                                hint="very_satisfied, satisfied or not_satisfied"))
    if len(comment) > MAX_COMMENT:
        problems.append(Problem("comment_too_long", f"Góp ý dài tối đa {MAX_COMMENT} ký tự.",
                                f"The comment may be at most {MAX_COMMENT} characters.", field="comment"))
    if problems:
        raise InvalidInput("the rating is not valid", "đánh giá chưa hợp lệ", code="bad_rating", problems=problems)
    return rating, comment


def _already_rated(code: str) -> Conflict:
    return Conflict(f"dossier {code} has already been rated; each dossier is rated once",
                    f"hồ sơ {code} đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần",
                    code="already_rated", hint="the first rating stands; a complaint goes through the complaint form")


def _store(uow, dossier: Dossier, rating: str, comment: str, via: str, recorded_by: int | None) -> RatingView:
    if dossier.finished_at is None:
        raise Conflict(f"dossier {dossier.code} is still being processed; rate it once the result is ready",
                       f"hồ sơ {dossier.code} đang được giải quyết; hãy đánh giá khi đã có kết quả",
                       code="not_finished", hint="ratings are given when the result is returned")
    s = uow.session
    if s.scalar(select(SatisfactionRating.id).where(SatisfactionRating.dossier_id == dossier.id)) is not None:
        raise _already_rated(dossier.code)
    row = SatisfactionRating(dossier_id=dossier.id, org_unit_id=dossier.org_unit_id, rating=rating, comment=comment,
                             via=via, recorded_by_id=recorded_by, rated_at=uow.now)
    s.add(row)
    try:
        s.flush()
    except IntegrityError:  # a rating committed in between (the unique constraint decides)
        raise _already_rated(dossier.code) from None
    uow.log("dossier.rated", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
            after={"rating": rating, "via": via, "comment": comment})
    uow.commit()
    return RatingView(dossier.code, rating, comment, via, uow.now)


def rate_at_desk(rt, actor: Actor, dossier_code: str, rating: str, comment: str = "") -> RatingView:
    """The clerk who returns the result records the citizen's rating (kiosk page)."""
    rating, comment = _check(rating, comment)
    with rt.unit_of_work(actor) as uow:
        s = uow.session
        dossier = s.scalar(select(Dossier).where(Dossier.code == (dossier_code or "").strip().upper()))
        principal = load_principal(uow, actor.user_id, uow.now.astimezone(VN_TZ).date())
        if dossier is None or not principal.sees(dossier.org_unit_id):
            raise NotFound(f"dossier {dossier_code} not found", f"không tìm thấy hồ sơ {dossier_code}", code="not_found")
        require(principal, "dossier.return_result", dossier.org_unit_id, what=f"dossier {dossier.code}")
        return _store(uow, dossier, rating, comment, "desk", actor.user_id)


def rate_by_citizen(rt, code: str, pin: str, rating: str, comment: str = "") -> RatingView:
    """The citizen rates through the public lookup: the dossier code and the PIN printed
    on the appointment slip prove it is theirs (same answer for a wrong code or PIN)."""
    rating, comment = _check(rating, comment)
    code, pin = (code or "").strip().upper(), (pin or "").strip()
    no_match = NotFound("no dossier matches this code and PIN", "không tìm thấy hồ sơ với mã và mã PIN đã nhập",
                        code="lookup_failed", hint="check the code and the PIN printed on your appointment slip")
    if not code or len(code) > 40 or not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 12:
        raise no_match
    with rt.unit_of_work(Actor.system("public")) as uow:
        dossier = uow.session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None:
            if not _DUMMY_PIN_HASH:
                _DUMMY_PIN_HASH.append(hash_pin("000000"))
            verify_pin(_DUMMY_PIN_HASH[0], pin)  # same cost as a real check: no timing oracle
            raise no_match
        if not verify_pin(dossier.pin_hash, pin):
            raise no_match
        return _store(uow, dossier, rating, comment, "public", None)


def rating_of(rt, dossier_id: int) -> RatingView | None:
    with rt.unit_of_work(Actor.system("public")) as uow:
        row = uow.session.execute(select(SatisfactionRating, Dossier.code).join(Dossier, Dossier.id == SatisfactionRating.dossier_id)
                                  .where(SatisfactionRating.dossier_id == dossier_id)).first()
        if row is None:
            return None
        r, code = row
        return RatingView(code, r.rating, r.comment, r.via, r.rated_at)
