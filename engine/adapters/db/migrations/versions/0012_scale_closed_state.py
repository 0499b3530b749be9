"""closed dossiers keep a compact workflow record instead of their finished instance

Revision ID: 0012_scale_closed_state
Revises: 0011_attachments
Create Date: 2026-11-27

From now on the dossier store writes `engine.adapters.spiff.CLOSED_STATE_JSON` as the
workflow state of a dossier when it closes (nothing runs a closed dossier's instance
again; its steps, times, outcomes and log are in `tasks`, `dossier_pauses` and
`events`). This data migration does the same for the dossiers closed before it, in
batches of dossier ids; on PostgreSQL each batch commits on its own, so a province's
millions of rows are never one transaction and an interrupted run resumes where it
stopped (a row already compact is skipped). The freed space is reused by new rows
after autovacuum; `VACUUM FULL workflow_states` gives it back to the disk.

Downgrade keeps the compact records: the finished instances are gone, and no earlier
revision loads a closed dossier's instance.
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_scale_closed_state'
down_revision = '0011_attachments'
branch_labels = None
depends_on = None

# The value of engine.adapters.spiff.CLOSED_STATE_JSON when this revision was written: a
# migration keeps the format of its time (a later format is a later migration).
CLOSED_STATE_JSON = '{"closed": true}'
BATCH = 50_000

_COMPACT = sa.text(
    "UPDATE workflow_states SET state_json = :closed, next_timer_at = NULL, version = version + 1 "
    "WHERE dossier_id >= :low AND dossier_id < :high AND state_json <> :closed "
    "AND dossier_id IN (SELECT id FROM dossiers WHERE state = 'closed' AND id >= :low AND id < :high)")


def compact_closed_states(connection: sa.Connection, batch: int = BATCH) -> int:
    """Rewrite every closed dossier's workflow state as the compact record, `batch`
    dossier ids at a time; returns the number of rows rewritten."""
    low, high = connection.execute(sa.text("SELECT min(dossier_id), max(dossier_id) FROM workflow_states")).one()
    if low is None:
        return 0
    written = 0
    while low <= high:
        written += connection.execute(_COMPACT, {"closed": CLOSED_STATE_JSON, "low": low, "high": low + batch}).rowcount
        low += batch
    return written


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():  # each batch's UPDATE commits by itself
            compact_closed_states(op.get_bind())
    else:
        compact_closed_states(op.get_bind())


def downgrade() -> None:
    pass
