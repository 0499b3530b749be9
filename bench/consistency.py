"""Is every dossier consistent? Status against open steps and pauses, due instants,
workflow state and the event log, checked in SQL over the whole database.

    .venv/bin/python bench/consistency.py --database-url URL

Prints each rule with the number of dossiers or steps breaking it (and a few ids);
exits 1 if any rule is broken. `bench/load_bench.py` runs it after its load.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from engine.adapters.db.session import Database  # noqa: E402
from engine.adapters.spiff import CLOSED_STATE_JSON  # noqa: E402

# rule -> a query returning the ids that break it
RULES: dict[str, str] = {
    "every dossier has its workflow state":
        "SELECT d.id FROM dossiers d LEFT JOIN workflow_states w ON w.dossier_id = d.id WHERE w.dossier_id IS NULL",
    "a closed dossier keeps the compact workflow record, an open one its instance":
        "SELECT d.id FROM dossiers d JOIN workflow_states w ON w.dossier_id = d.id "
        f"WHERE (d.state = 'closed') <> (w.state_json = '{CLOSED_STATE_JSON}')",
    "an open dossier being processed (status 2-4) has an open step":
        "SELECT d.id FROM dossiers d WHERE d.state = 'open' AND d.status_code BETWEEN 2 AND 4 "
        "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.dossier_id = d.id AND t.state = 'open')",
    "a closed or ended dossier has no open step":
        "SELECT d.id FROM dossiers d WHERE d.state <> 'open' "
        "AND EXISTS (SELECT 1 FROM tasks t WHERE t.dossier_id = d.id AND t.state = 'open')",
    "waiting on the citizen (status 5, 6) if and only if a pause is open":
        "SELECT d.id FROM dossiers d WHERE d.state = 'open' AND (d.status_code IN (5, 6)) <> EXISTS "
        "(SELECT 1 FROM dossier_pauses p WHERE p.dossier_id = d.id AND p.ended_at IS NULL)",
    "finished (status >= 9) if and only if finished_at is set":
        "SELECT d.id FROM dossiers d WHERE (d.status_code >= 9) <> (d.finished_at IS NOT NULL) "
        "AND d.status_code NOT IN (3, 7, 8)",
    "the appointment is after the receipt and never before the one first printed":
        "SELECT d.id FROM dossiers d WHERE d.due_at < d.received_at OR d.due_at < d.original_due_at",
    "an open running step has a due instant after it was handed over":
        "SELECT t.id FROM tasks t WHERE t.state = 'open' AND t.clock = 'running' "
        "AND (t.due_at IS NULL OR t.due_at < t.created_at)",
    "a completed step has its completion instant, officer and classification":
        "SELECT t.id FROM tasks t WHERE t.state = 'completed' AND (t.completed_at IS NULL "
        "OR t.completed_by_id IS NULL OR t.completed_at < t.created_at)",
    "a step's commune is its dossier's":
        "SELECT t.id FROM tasks t JOIN dossiers d ON d.id = t.dossier_id WHERE t.org_unit_id <> d.org_unit_id",
    "every dossier's receipt is in the log once":
        "SELECT d.id FROM dossiers d WHERE (SELECT count(*) FROM events e WHERE e.kind = 'dossier.received' "
        "AND e.entity_type = 'dossier' AND e.entity_id = CAST(d.id AS VARCHAR(64))) <> 1",
    "every completed step is in the log once":
        "SELECT t.id FROM tasks t WHERE t.state = 'completed' AND (SELECT count(*) FROM events e "
        "WHERE e.kind = 'task.completed' AND e.entity_type = 'task' AND e.entity_id = CAST(t.id AS VARCHAR(64))) <> 1",
    "a step the scheduler will look at again is open":
        "SELECT t.id FROM tasks t WHERE t.next_escalation_at IS NOT NULL AND t.state <> 'open'",
}


def check(db: Database) -> dict[str, list[int]]:
    """Rule -> the first ids breaking it (empty when it holds)."""
    out: dict[str, list[int]] = {}
    with db.engine.connect() as conn:
        for rule, query in RULES.items():
            out[rule] = [row[0] for row in conn.execute(text(query + " LIMIT 20"))]
    return out


def report(db: Database) -> bool:
    with db.engine.connect() as conn:
        counts = conn.execute(text(
            "SELECT (SELECT count(*) FROM dossiers), (SELECT count(*) FROM tasks), (SELECT count(*) FROM events)")).one()
    print(f"consistency of {counts[0]:,} dossiers, {counts[1]:,} steps, {counts[2]:,} events")
    ok = True
    for rule, ids in check(db).items():
        ok &= not ids
        print(f"  {'ok    ' if not ids else 'BROKEN'} {rule}" + (f": {ids}" if ids else ""))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    db = Database(parser.parse_args().database_url)
    try:
        sys.exit(0 if report(db) else 1)
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
