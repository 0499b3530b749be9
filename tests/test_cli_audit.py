"""`isoflow audit verify|export` on a real database: a changed, removed or inserted row is found."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update

from cli.main import cli
from engine.adapters.db.models import Event
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.support import SYSTEM, build_world


@pytest.fixture
def seeded(db, clock, database_url):
    rt = Runtime(db, clock)
    build_world(rt)
    dossiers.receive(rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001", applicant=Applicant("Lò Văn Pa"))
    return rt, database_url


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_verify_intact_then_each_kind_of_tampering(seeded):
    rt, url = seeded
    ok = run("audit", "verify", "--database-url", url)
    assert ok.exit_code == 0 and "intact" in ok.output
    with rt.db.engine.begin() as conn:
        conn.execute(update(Event).where(Event.id == 3).values(after={"forged": True}))
    changed = run("audit", "verify", "--database-url", url)
    assert changed.exit_code == 1 and "event 3: changed" in changed.stderr
    with rt.db.engine.begin() as conn:
        conn.execute(delete(Event).where(Event.id == 3))
    removed = run("audit", "verify", "--database-url", url)
    assert removed.exit_code == 1 and "event 4: unlinked" in removed.stderr
    with rt.db.engine.begin() as conn:
        row = dict(conn.execute(select(Event.__table__).where(Event.id == 4)).mappings().one())
        conn.execute(insert(Event).values({**row, "id": 3, "kind": "forged.insert"}))
    inserted = run("audit", "verify", "--database-url", url)
    assert inserted.exit_code == 1 and "BROKEN" in inserted.stderr


def test_export_csv_and_json(seeded, tmp_path):
    rt, url = seeded
    out = run("audit", "export", "--database-url", url)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.exit_code == 0 and rows[-1]["kind"] == "dossier.received" and rows[0]["id"] == "1"
    target = tmp_path / "audit.json"
    out = run("audit", "export", "--format", "json", "--kind", "dossier.received", "-o", str(target),
              "--database-url", url)
    assert out.exit_code == 0
    [event] = json.loads(target.read_text())
    assert event["kind"] == "dossier.received" and len(event["hash"]) == 64
    assert json.loads(run("audit", "export", "--format", "json", "--since", "2030-01-01", "--database-url",
                          url).stdout) == []
    bad = run("audit", "export", "--unit", "NOWHERE", "--database-url", url)
    assert bad.exit_code == 1 and "NOWHERE" in bad.stderr and "Traceback" not in bad.output
