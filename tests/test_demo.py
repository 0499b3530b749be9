"""The demo seeding reaches every stage through the real services."""
from datetime import datetime

from sqlalchemy import func, select

from engine.domain.calendar import VN_TZ
from engine.config import REPO_ROOT
from engine.adapters.db.models import Dossier, DossierPause, Procedure
from engine.demo import SAMPLE_PROCEDURES_PER_COMMUNE, is_seeded, seed
from engine.runtime import Runtime


def test_demo_seeds_every_stage(db, clock):
    now = datetime(2026, 11, 26, 10, 0, tzinfo=VN_TZ)
    rt = Runtime(db, clock)
    assert not is_seeded(rt)
    summary = seed(rt, REPO_ROOT / "bpmn", now=now)
    assert is_seeded(rt)
    assert summary.procedures == len(list((REPO_ROOT / "bpmn").glob("*.bpmn"))) >= 100  # the whole library
    assert summary.dossiers == 2 * min(summary.procedures, SAMPLE_PROCEDURES_PER_COMMUNE)
    assert rt.clock is clock  # the seeding clock is restored
    with db.session_factory() as s:
        statuses = set(s.scalars(select(Dossier.status_code)))
        assert {2, 4, 5, 9, 10} <= statuses
        assert s.scalar(select(func.count()).select_from(Dossier).where(
            Dossier.state == "open", Dossier.finished_at.is_(None), Dossier.due_at < now)) > 0
        assert s.scalar(select(func.count()).select_from(DossierPause).where(DossierPause.ended_at.is_(None))) > 0
        assert set(s.scalars(select(Dossier.result))) >= {"granted", "refused"}
        assert s.scalar(select(func.count()).select_from(Procedure)) == summary.procedures
        codes = set(s.scalars(select(Procedure.code)))
        assert {p.name.split("-", 1)[0] for p in (REPO_ROOT / "bpmn").glob("*.bpmn")} == codes
