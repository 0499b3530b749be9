"""Scanned documents and photos of a dossier: upload from the dossier page and a step's
page (the receive page uploads with the receipt, `pages_desk`), download."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.web.common import actor, bp, report, rt
from engine.errors import IsoflowError, NotFound
from engine.services import attachments
from engine.services.attachments import Upload
from engine.views import attachments as papers

FILES_FIELD = "files"


def uploads_of(form_files, settings) -> list[Upload]:
    """The files of a multipart form, read no further than the size limit allows (a
    larger file is kept one byte over the limit, enough to be refused by name)."""
    limit = settings.attachment_max_bytes + 1
    return [Upload(f.filename or "", f.stream.read(limit)) for f in form_files.getlist(FILES_FIELD)
            if f and (f.filename or f.content_length)]


@bp.post("/dossiers/<code>/attachments")
def upload_attachments(code: str):
    who = actor()
    task_id = request.form.get("task_id", type=int)
    kind = request.form.get("kind", "document")
    try:
        ids = attachments.attach(rt(), who, code, uploads_of(request.files, rt().settings), task_id=task_id, kind=kind)
    except NotFound:
        raise  # another commune's dossier: 404 like every page
    except IsoflowError as error:
        report(error, set())  # each file's problem is flashed: the form is on another page
    else:
        flash(_("Đã đính kèm %(count)s tệp.", count=len(ids)), "success")
    if task_id is not None and request.form.get("back") == "task":
        return redirect(url_for("web.task", task_id=task_id) + "#attachments")
    return redirect(url_for("web.dossier", code=code) + "#attachments")


@bp.get("/dossiers/<code>/attachments/<int:attachment_id>")
def download_attachment(code: str, attachment_id: int):
    view, data = papers.attachment_file(rt(), actor(), code, attachment_id)
    return file_response(view, data)


def file_response(view, data: bytes) -> Response:
    """The file with its checked type; PDFs and pictures open inline only on request."""
    disposition = "inline" if request.args.get("inline") else "attachment"
    ascii_name = view.filename.encode("ascii", "replace").decode().replace("?", "_")
    response = Response(data, mimetype=view.content_type)
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(view.filename)}")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
