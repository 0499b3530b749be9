"""province scale: indexes on what is open, search by code and national ID

Revision ID: 0008_scale
Revises: 0007_quality
Create Date: 2026-11-27

With years of history most rows are closed: at 10,000,000 dossiers and 40,000,000
steps (85 % closed), only 1 in 25 steps is open. The indexes that only ever serve
open rows (the inbox, the queue, due open steps, the scheduler's next instants)
become partial on PostgreSQL, so their size follows what is open, not the history
(docs/performance.md, "Province scale"). SQLite keeps them whole: SQLite uses a
partial index only when the query spells the same literal, and the engine binds
its values as parameters.

Search: a whole dossier code is matched through its unique index; a part of a code
as a substring (ILIKE), which a pg_trgm GIN index answers on PostgreSQL (SQLite reads
the narrow unique index on code); the national ID number is matched exactly, through a
B-tree index on both databases.

Statistics: a period's report reads the dossiers still open at its start or finished
after it; (org_unit_id, finished_at) finds those without scanning years of history
received before the period (measured at 10,000,000 dossiers: a commune's month 0.4 s
-> 0.18 s).

The event log, the one table that only grows (about five events per dossier), is
partitioned by local year of `at` on PostgreSQL (range partitions 2020-2040 and a
default partition for anything outside them), so a year of ISO records can be
detached, archived or dropped as a whole and reads by period touch only their years.
A partitioned table's primary key must contain the partition key, so it becomes
(id, at); ids stay unique because every append takes the chain head's row lock and
writes the next id (engine.audit.append_event), and a duplicate would break the chain
that `isoflow audit verify` checks. Nothing above the store changes: the table keeps
its name, columns, indexes, foreign keys and the trigger that moves the chain head.
Dossiers and steps stay plain tables: see docs/scaling.md for why and what
partitioning them by year of receipt would take.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_scale'
down_revision = '0007_quality'
branch_labels = None
depends_on = None

# name -> (table, columns, the condition that makes it partial on PostgreSQL)
PARTIAL = {
    'ix_tasks_inbox': ('tasks', 'assignee_id, state, due_at', "state = 'open'"),
    'ix_tasks_queue': ('tasks', 'org_unit_id, role, state, due_at', "state = 'open'"),
    'ix_tasks_open_due': ('tasks', 'state, due_at', "state = 'open'"),
    'ix_tasks_next_escalation_at': ('tasks', 'next_escalation_at', 'next_escalation_at IS NOT NULL'),
    'ix_dossiers_next_escalation_at': ('dossiers', 'next_escalation_at', 'next_escalation_at IS NOT NULL'),
    'ix_workflow_states_next_timer_at': ('workflow_states', 'next_timer_at', 'next_timer_at IS NOT NULL'),
}
CODE_TRGM = 'ix_dossiers_code_trgm'
ID_NUMBER = 'ix_dossiers_applicant_id_number'
FINISHED = 'ix_dossiers_unit_finished'
EVENT_YEARS = range(2020, 2041)
EVENT_COLUMNS = ('id, at, actor_id, actor_name, source_address, kind, entity_type, entity_id, org_unit_id, '
                 'before, after, prev_hash, hash')
EVENT_TABLE = """CREATE TABLE events (
    id BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor_id INTEGER,
    actor_name VARCHAR(100) NOT NULL,
    source_address VARCHAR(64),
    kind VARCHAR(64) NOT NULL,
    entity_type VARCHAR(32) NOT NULL,
    entity_id VARCHAR(64) NOT NULL,
    org_unit_id INTEGER,
    before JSONB,
    after JSONB,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    CONSTRAINT pk_events PRIMARY KEY ({key}),
    CONSTRAINT fk_events_actor_id_users FOREIGN KEY (actor_id) REFERENCES users (id),
    CONSTRAINT fk_events_org_unit_id_org_units FOREIGN KEY (org_unit_id) REFERENCES org_units (id)
){partitioning}"""


def upgrade() -> None:
    bind = op.get_bind()
    op.create_index(ID_NUMBER, 'dossiers', ['applicant_id_number'])
    op.create_index(FINISHED, 'dossiers', ['org_unit_id', 'finished_at'])
    if bind.dialect.name != 'postgresql':
        return
    for name, (table, columns, condition) in PARTIAL.items():
        op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute(f'CREATE INDEX {name} ON {table} ({columns}) WHERE {condition}')
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        op.execute(f'CREATE INDEX {CODE_TRGM} ON dossiers USING gin (code gin_trgm_ops)')
    _rebuild_events(partitioned=True)


def _rebuild_events(*, partitioned: bool) -> None:
    """Move the event log into a new `events` table (partitioned by year, or plain),
    keeping its rows, id sequence, indexes, foreign keys and chain-head trigger."""
    op.execute('ALTER TABLE events RENAME TO events_old')
    op.execute('ALTER SEQUENCE events_id_seq OWNED BY NONE')  # survives dropping the old table
    op.execute('DROP TRIGGER trg_events_chain_head ON events_old')
    op.execute('ALTER TABLE events_old DROP CONSTRAINT pk_events, DROP CONSTRAINT fk_events_actor_id_users, '
               'DROP CONSTRAINT fk_events_org_unit_id_org_units')
    op.execute('DROP INDEX ix_events_at')
    op.execute('DROP INDEX ix_events_entity')
    if partitioned:
        op.execute(EVENT_TABLE.format(key='id, at', partitioning=' PARTITION BY RANGE (at)'))
        for year in EVENT_YEARS:  # Vietnam's calendar years: the ISO records' years
            op.execute(f"CREATE TABLE events_y{year} PARTITION OF events "
                       f"FOR VALUES FROM ('{year}-01-01 00:00+07') TO ('{year + 1}-01-01 00:00+07')")
        op.execute('CREATE TABLE events_other PARTITION OF events DEFAULT')
    else:
        op.execute(EVENT_TABLE.format(key='id', partitioning=''))
    op.execute('ALTER SEQUENCE events_id_seq OWNED BY events.id')
    op.execute(f'INSERT INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM events_old')
    op.execute('DROP TABLE events_old')
    op.execute('CREATE INDEX ix_events_at ON events (at)')
    op.execute('CREATE INDEX ix_events_entity ON events (entity_type, entity_id)')
    # after the copy: the head already names the last event
    op.execute('CREATE TRIGGER trg_events_chain_head AFTER INSERT ON events '
               'FOR EACH ROW EXECUTE FUNCTION move_event_chain_head()')


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index(ID_NUMBER, 'dossiers')
    op.drop_index(FINISHED, 'dossiers')
    if bind.dialect.name != 'postgresql':
        return
    _rebuild_events(partitioned=False)
    op.execute(f'DROP INDEX IF EXISTS {CODE_TRGM}')
    for name, (table, columns, _condition) in PARTIAL.items():
        op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute(f'CREATE INDEX {name} ON {table} ({columns})')
