"""The applicant-name search: the folded, indexed key against the old case-only match.

    .venv/bin/python bench/search_bench.py [--dossiers 100000] [--database-url URL]

Inserts --dossiers dossiers with Vietnamese names (straight into the table, the folded
key filled by the column default as on every insert), then times, over all of them:

- `folded`: `applicant_name_folded LIKE '%anh duong%'` (what the search runs now:
  accent- and case-insensitive; pg_trgm GIN index on PostgreSQL);
- `ilike`: `applicant_name ILIKE '%Ánh Dương%'` (what it ran before: case-insensitive
  only, and on SQLite for ASCII letters only), for comparison;

and `views.search_dossiers(applicant="ánh dương")` for a chair of one commune (count and
first page). Prints medians in milliseconds.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.api_bench import fresh_database, seed_people  # noqa: E402
from bench.common import median_ms  # noqa: E402
from engine.adapters.db.models import Dossier, OrgUnit, ProcedureVersion  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.audit import Actor  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.views import dossiers as views  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vàng", "Lò", "Ma", "Triệu", "Đặng", "Nông", "Hà", "Lường"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Ngọc", "Quang"]
GIVEN = ["An", "Bình", "Dũng", "Hoa", "Lan", "Mai", "Dương", "Ánh", "Hùng", "Pa", "Mỷ", "Sơn", "Tâm", "Yến"]


def bulk(rt: Runtime, n: int) -> None:
    rng = random.Random(11)
    with rt.db.session_factory() as s:
        units = list(s.scalars(select(OrgUnit.id).where(OrgUnit.kind == "commune").order_by(OrgUnit.id)))
        version = s.scalar(select(ProcedureVersion.id))
    base = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
    with rt.db.engine.begin() as conn:
        for start in range(0, n, 5000):
            rows = []
            for i in range(start, min(n, start + 5000)):
                name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)} {rng.choice(GIVEN)}"
                received = base + timedelta(minutes=i)
                rows.append(dict(
                    code=f"S{i:08d}", org_unit_id=units[i % len(units)], procedure_version_id=version,
                    applicant_name=name, applicant_id_number="", applicant_address="", applicant_phone="",
                    applicant_email="", channel=1, status_code=10, state="closed", received_at=received,
                    received_by_id=None, due_at=received + timedelta(days=3), original_due_at=received,
                    pin_hash="-", supplement_count=0, data={}))
            conn.execute(insert(Dossier.__table__), rows)
    if rt.db.dialect == "postgresql":
        with rt.db.engine.begin() as conn:
            conn.execute(text("ANALYZE dossiers"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, tmp)
        rt = Runtime(Database(url))
        users = seed_people(rt)
        bulk(rt, args.dossiers)
        folded = select(func.count()).where(Dossier.applicant_name_folded.like("%anh duong%"))
        ilike = select(func.count()).where(Dossier.applicant_name.ilike("%Ánh Dương%"))
        with rt.db.engine.connect() as conn:
            found_folded, found_ilike = conn.scalar(folded), conn.scalar(ilike)
            t_folded = median_ms(lambda: conn.scalar(folded), args.repeat)
            t_ilike = median_ms(lambda: conn.scalar(ilike), args.repeat)
        chair = Actor(users["chair"], "chair")
        search = lambda: views.search_dossiers(rt, chair, views.DossierFilter(applicant="ánh dương"), limit=50)  # noqa: E731
        page, total = search()
        t_search = median_ms(search, args.repeat)
        print(f"database: {rt.db.dialect}, {args.dossiers} dossiers")
        print(f"folded LIKE '%anh duong%' over all: {found_folded} rows, median {t_folded:.1f} ms")
        print(f"old ILIKE '%Ánh Dương%' over all:   {found_ilike} rows, median {t_ilike:.1f} ms")
        print(f"search_dossiers(applicant='ánh dương') as a commune chair: {total} found, "
              f"median {t_search:.1f} ms (count and first page)")
        rt.db.dispose()


if __name__ == "__main__":
    main()
