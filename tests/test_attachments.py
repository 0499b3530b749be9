"""Attachments: content checked by its bytes, limits, storage outside the database,
SHA-256 in the log, only the dossier's commune sees them, the digitised count."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import select

from engine.adapters.db.models import Attachment, Event
from engine.adapters.storage import FileSystemStorage
from engine.errors import InvalidInput, NotFound
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.attachments import Upload, attach, clean_filename, sniff
from engine.services.dossiers import Applicant
from engine.views import attachments as papers
from engine.views import dossiers as views
from engine.views import statistics
from engine.domain.calendar import VN_TZ
from tests.support import build_world

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture
def world(db, clock, tmp_path):
    rt = Runtime(db, clock)
    rt.storage = FileSystemStorage(tmp_path / "attachments")
    return build_world(rt)


def receive(world, clerk="clerk", unit="TRIPHU"):
    return dossiers.receive(world.rt, world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An"), channel=1)


def test_the_content_decides_the_type_never_the_name():
    assert sniff(PDF) == "application/pdf" and sniff(PNG) == "image/png" and sniff(JPEG) == "image/jpeg"
    assert sniff(b"MZ\x90\x00 not a picture") is None and sniff(b"<html>") is None
    assert clean_filename("C:\\scans\\giay to.exe", "application/pdf") == "giay to.pdf"
    assert clean_filename('../../"x".png', "image/png") == "x.png"


def test_files_are_stored_outside_the_database_with_their_hash_in_the_log(world, tmp_path):
    rt, clerk = world.rt, world.actor("clerk")
    receipt = receive(world)
    ids = attach(rt, clerk, receipt.code, [Upload("cccd.pdf", PDF), Upload("anh.jpg", JPEG)], at_receipt=True)
    listed = papers.attachments_of(rt, clerk, receipt.code)
    assert [a.id for a in listed] == ids
    assert [(a.filename, a.content_type, a.at_receipt) for a in listed] == [
        ("cccd.pdf", "application/pdf", True), ("anh.jpg", "image/jpeg", True)]
    view, data = papers.attachment_file(rt, clerk, receipt.code, ids[0])
    assert data == PDF and view.sha256 == hashlib.sha256(PDF).hexdigest()
    with rt.db.session_factory() as s:
        key = s.scalar(select(Attachment.storage_key).where(Attachment.id == ids[0]))
        logged = [e.after for e in s.scalars(select(Event).where(Event.kind == "attachment.added"))]
    assert (tmp_path / "attachments" / key).read_bytes() == PDF
    assert {e["sha256"] for e in logged} == {hashlib.sha256(PDF).hexdigest(), hashlib.sha256(JPEG).hexdigest()}


def test_a_renamed_program_is_refused_and_nothing_is_stored(world, tmp_path):
    rt, clerk = world.rt, world.actor("clerk")
    receipt = receive(world)
    with pytest.raises(InvalidInput) as caught:
        attach(rt, clerk, receipt.code, [Upload("ok.pdf", PDF), Upload("scan.pdf", b"MZ\x90\x00program")])
    assert [p.code for p in caught.value.problems] == ["file_type"]
    assert "scan.pdf" in caught.value.problems[0].message_vi
    assert papers.attachments_of(rt, clerk, receipt.code) == []
    assert not any(p.is_file() for p in (tmp_path / "attachments").rglob("*"))


def test_size_and_count_limits_come_from_the_settings(world):
    rt, clerk = world.rt, world.actor("clerk")
    rt.settings = replace(rt.settings, attachment_max_bytes=len(PDF), attachment_max_count=2)
    receipt = receive(world)
    with pytest.raises(InvalidInput) as caught:
        attach(rt, clerk, receipt.code, [Upload("big.pdf", PDF + b" ")])
    assert [p.code for p in caught.value.problems] == ["file_too_large"]
    attach(rt, clerk, receipt.code, [Upload("a.pdf", PDF), Upload("b.png", PNG)])
    with pytest.raises(InvalidInput) as caught:
        attach(rt, clerk, receipt.code, [Upload("c.pdf", PDF)])
    assert [p.code for p in caught.value.problems] == ["too_many_files"]


def test_only_the_dossiers_commune_sees_its_papers(world):
    rt = world.rt
    receipt = receive(world)
    [attachment_id] = attach(rt, world.actor("clerk"), receipt.code, [Upload("a.pdf", PDF)])
    assert papers.attachments_of(rt, world.actor("officer"), receipt.code)  # same commune
    for outsider in ("nh_clerk", "admin"):  # another commune; the province sees the dossier, not its papers
        with pytest.raises(NotFound):
            papers.attachments_of(rt, world.actor(outsider), receipt.code)
        with pytest.raises(NotFound):
            papers.attachment_file(rt, world.actor(outsider), receipt.code, attachment_id)
    with pytest.raises(NotFound):
        attach(rt, world.actor("nh_clerk"), receipt.code, [Upload("a.pdf", PDF)])
    other = receive(world, "nh_clerk", "NAHANG")
    with pytest.raises(NotFound):  # an attachment is only found through its own dossier
        papers.attachment_file(rt, world.actor("nh_clerk"), other.code, attachment_id)


def test_the_result_document_is_attached_at_the_chairs_step(world):
    rt, clerk = world.rt, world.actor("clerk")
    receipt = receive(world)
    [desk] = [t for t in views.inbox(rt, clerk) if t.dossier_id == receipt.dossier_id]
    with pytest.raises(InvalidInput):
        attach(rt, clerk, receipt.code, [Upload("kq.pdf", PDF)], task_id=desk.id, kind="result")
    dossiers.complete_task(rt, clerk, desk.id, {})
    [review] = [t for t in views.inbox(rt, world.actor("officer")) if t.dossier_id == receipt.dossier_id]
    dossiers.complete_task(rt, world.actor("officer"), review.id, {"outcome": "approve"})
    [sign] = [t for t in views.inbox(rt, world.actor("chair")) if t.dossier_id == receipt.dossier_id]
    [attachment_id] = attach(rt, world.actor("chair"), receipt.code, [Upload("ket-qua.pdf", PDF)], task_id=sign.id,
                             kind="result")
    [view] = papers.attachments_of(rt, clerk, receipt.code, task_id=sign.id)
    assert (view.id, view.kind, view.step_name) == (attachment_id, "result", sign.name)


def test_digitised_dossiers_count_papers_taken_in_at_receipt(world):
    rt, clerk, chair = world.rt, world.actor("clerk"), world.actor("chair")
    first, second, _third = receive(world), receive(world), receive(world)
    attach(rt, clerk, first.code, [Upload("a.pdf", PDF)], at_receipt=True)
    attach(rt, clerk, first.code, [Upload("b.pdf", PDF)], at_receipt=True)
    attach(rt, world.actor("officer"), second.code, [Upload("c.pdf", PDF)], at_receipt=True)  # not the desk
    month = f"{rt.clock.now().astimezone(VN_TZ):%Y-%m}"
    report = statistics.compute_statistics(rt, chair, period=month, group_by="commune", unit_code="TRIPHU")
    assert (report.total.received_digitised, report.total.received_new) == (1, 3)
