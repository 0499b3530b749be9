"""Scanned documents and photos attached to a dossier or one of its steps.

The bytes go to the runtime's storage (`engine.adapters.storage`, a directory by
default), a row per file to `attachments`, and each file's SHA-256 to the event log, in
the same unit of work: a file stored for a transaction that then fails is deleted again.
What a file is comes from its first bytes (PDF, JPEG, PNG), never from its name or the
type the browser claimed.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from engine.adapters.db.models import Attachment
from engine.audit import Actor
from engine.config import Settings
from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput, NotFound, Problem
from engine.permissions import LEADERS, load_principal, not_found, require, require_visible

KINDS = ("document", "photo", "result")
MAX_FILENAME = 255
# Magic numbers of the accepted formats -> their media type.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The media type the content itself shows, or None when it is none we accept."""
    for magic, media_type in SIGNATURES:
        if data.startswith(magic):
            return media_type
    return None


def clean_filename(name: str, media_type: str) -> str:
    """The name shown and offered for download: no path, no control characters, an
    extension that matches the content."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?').strip() or "tai-lieu"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    extension = EXTENSIONS[media_type]
    return (stem[: MAX_FILENAME - len(extension)] or "tai-lieu") + extension


def check_uploads(settings: Settings, uploads: list[Upload], *, already: int = 0) -> list[str]:
    """The media type of each upload, or InvalidInput naming every file that is empty,
    too large or not a PDF, JPEG or PNG, and a count over the dossier's limit."""
    problems: list[Problem] = []
    types: list[str] = []
    limit_mb = f"{settings.attachment_max_bytes / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    for upload in uploads:
        name = upload.filename or "?"
        media_type = sniff(upload.data)
        if not upload.data:
            problems.append(Problem("empty_file", f"Tệp '{name}' rỗng.", f"The file '{name}' is empty.",
                                    hint="scan the document again", field="files"))
        elif len(upload.data) > settings.attachment_max_bytes:
            problems.append(Problem("file_too_large", f"Tệp '{name}' lớn hơn {limit_mb} MB.",
                                    f"The file '{name}' is larger than {limit_mb} MB.",
                                    hint="scan at a lower resolution or split the document", field="files"))
        elif media_type is None:
            problems.append(Problem("file_type", f"Tệp '{name}' không phải PDF, JPEG hoặc PNG.",
                                    f"The file '{name}' is not a PDF, JPEG or PNG.",
                                    hint="save the scan as PDF, or the photo as JPEG or PNG", field="files"))
        types.append(media_type or "")
    if already + len(uploads) > settings.attachment_max_count:
        room = max(settings.attachment_max_count - already, 0)
        problems.append(Problem("too_many_files",
                                f"Mỗi hồ sơ có tối đa {settings.attachment_max_count} tệp; còn thêm được {room}.",
                                f"A dossier holds at most {settings.attachment_max_count} files; {room} more fit.",
                                hint="merge pages into one PDF", field="files"))
    if not uploads:
        problems.append(Problem("no_file", "Hãy chọn ít nhất một tệp.", "Choose at least one file.", field="files"))
    if problems:
        raise InvalidInput("the attachments were not accepted", "tài liệu đính kèm không được chấp nhận",
                           code="bad_attachment", problems=problems,
                           hint="PDF, JPEG or PNG files within the size limit")
    return types


def attach(rt, actor: Actor, dossier_ref: int | str, uploads: list[Upload], *, task_id: int | None = None,
           kind: str = "document", at_receipt: bool = False) -> list[int]:
    """Attach files to a dossier (and to one of its steps with `task_id`); returns their ids.

    `at_receipt`: the desk takes the papers in when receiving the dossier (counted as a
    digitised dossier); only a clerk who may receive dossiers there can say so. A
    `result` is the signed result document, attached at a leader's step."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown attachment kind {kind!r}", f"loại tài liệu {kind!r} không hợp lệ",
                           code="bad_attachment", hint=f"one of {', '.join(KINDS)}",
                           problems=[Problem("bad_kind", f"Loại tài liệu phải là một trong: {', '.join(KINDS)}.",
                                             f"The kind must be one of: {', '.join(KINDS)}.", field="kind")])
    stored: list[str] = []
    try:
        with rt.unit_of_work(actor) as uow:
            lookup = {"code": dossier_ref} if isinstance(dossier_ref, str) else {"dossier_id": dossier_ref}
            dossier = uow.lock_dossier(**lookup)  # one writer per dossier: the count limit holds
            principal = load_principal(uow, actor.user_id, uow.now.astimezone(VN_TZ).date()) \
                if actor.user_id is not None else None
            if dossier is None:
                raise not_found(f"dossier {dossier_ref}")
            require_visible(principal, dossier.org_unit_id, f"dossier {dossier_ref}")
            if principal is not None:
                require(principal, "dossier.attach", dossier.org_unit_id, what="dossier")
                at_receipt = at_receipt and principal.can("dossier.receive", dossier.org_unit_id)
            step = None
            if task_id is not None:
                step = dossier.task(task_id)
                if step is None:
                    raise NotFound(f"task {task_id} is not a step of dossier {dossier.code}",
                                   f"công việc {task_id} không thuộc hồ sơ {dossier.code}", code="not_found")
            if kind == "result" and (step is None or step.role not in LEADERS):
                raise InvalidInput("the result document is attached at the chair's step",
                                   "văn bản kết quả được đính kèm tại bước của lãnh đạo UBND xã",
                                   code="bad_attachment", hint="open the chair's step and attach it there")
            session = uow.session
            already = session.scalar(select(func.count()).select_from(Attachment)
                                     .where(Attachment.dossier_id == dossier.id)) or 0
            types = check_uploads(rt.settings, uploads, already=already)
            ids = []
            for upload, media_type in zip(uploads, types):
                key = f"{dossier.id}/{secrets.token_hex(16)}"
                digest = hashlib.sha256(upload.data).hexdigest()
                rt.storage.put(key, upload.data)
                stored.append(key)
                row = Attachment(dossier_id=dossier.id, task_id=task_id, org_unit_id=dossier.org_unit_id,
                                 storage_key=key, filename=clean_filename(upload.filename, media_type),
                                 content_type=media_type, size_bytes=len(upload.data), sha256=digest, kind=kind,
                                 at_receipt=at_receipt, uploaded_at=uow.now, uploaded_by_id=actor.user_id)
                session.add(row)
                session.flush()
                ids.append(row.id)
                uow.log("attachment.added", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                        after={"attachment_id": row.id, "filename": row.filename, "content_type": media_type,
                               "size_bytes": row.size_bytes, "sha256": digest, "kind": kind, "task_id": task_id,
                               "at_receipt": at_receipt})
            uow.commit()
            stored.clear()
            return ids
    finally:
        for key in stored:  # the transaction did not commit: no row points at these files
            rt.storage.delete(key)
