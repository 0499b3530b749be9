"""Reading a dossier's attachments: the list, one file, and the rule of a digitised dossier.

Only the dossier's own commune sees its papers (`dossier.attachments`): to anyone else,
the province included, the dossier's attachments do not exist (NotFound)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select

from engine.adapters.db.models import Attachment, Dossier, Task, User
from engine.audit import Actor
from engine.permissions import not_found
from engine.views.reading import principal_of, reading, visible_dossier


@dataclass(frozen=True)
class AttachmentView:
    id: int
    dossier_code: str
    task_id: int | None
    step_name: str | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    kind: str
    at_receipt: bool
    uploaded_at: datetime
    uploaded_by: str | None


def _dossier_with_papers(unit, dossier_ref: int | str) -> Dossier:
    dossier = visible_dossier(unit, dossier_ref)
    principal = principal_of(unit)
    if principal is not None and not principal.can("dossier.attachments", dossier.org_unit_id):
        raise not_found(f"attachments of dossier {dossier_ref}")
    return dossier


def _views(session, dossier: Dossier, query) -> list[AttachmentView]:
    rows = session.execute(query.outerjoin(Task, Task.id == Attachment.task_id)
                           .outerjoin(User, User.id == Attachment.uploaded_by_id)
                           .add_columns(Task.name, User.full_name)).all()
    return [AttachmentView(a.id, dossier.code, a.task_id, step_name, a.filename, a.content_type, a.size_bytes,
                           a.sha256, a.kind, a.at_receipt, a.uploaded_at, uploader)
            for a, step_name, uploader in rows]


def attachments_of(rt, actor: Actor, dossier_ref: int | str, *, task_id: int | None = None) -> list[AttachmentView]:
    """The dossier's files (or one step's), oldest first."""
    with reading(rt, actor) as unit:
        dossier = _dossier_with_papers(unit, dossier_ref)
        query = select(Attachment).where(Attachment.dossier_id == dossier.id)
        if task_id is not None:
            query = query.where(Attachment.task_id == task_id)
        return _views(unit.session, dossier, query.order_by(Attachment.id))


def may_see_attachments(rt, actor: Actor, dossier_ref: int | str) -> bool:
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        principal = principal_of(unit)
        return principal is None or principal.can("dossier.attachments", dossier.org_unit_id)


def attachment_file(rt, actor: Actor, dossier_ref: int | str, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """One file and what to send it with; NotFound unless it belongs to that dossier."""
    with reading(rt, actor) as unit:
        dossier = _dossier_with_papers(unit, dossier_ref)
        found = _views(unit.session, dossier, select(Attachment).where(Attachment.id == attachment_id,
                                                                        Attachment.dossier_id == dossier.id))
        if not found:
            raise not_found(f"attachment {attachment_id}")
        key = unit.session.scalar(select(Attachment.storage_key).where(Attachment.id == attachment_id))
        return found[0], unit.runtime.storage.get(key)


def digitised(dossier_id) -> ColumnElement[bool]:
    """The one rule of a digitised dossier (Decision 766/QĐ-TTg's digitisation group,
    docs/statistics.md): at least one paper was taken in at the desk on receipt
    (`engine.services.attachments.attach(..., at_receipt=True)`). A predicate on a
    dossier id column; the statistics count it over their period and communes
    (`engine.views.statistics`, cell `received_digitised`), so the rule and the count
    live in one place each. Written as `IN (subquery)`: PostgreSQL hashes the subquery
    once per report instead of probing per dossier, SQLite materialises it."""
    return dossier_id.in_(select(Attachment.dossier_id).where(Attachment.at_receipt.is_(True)))
