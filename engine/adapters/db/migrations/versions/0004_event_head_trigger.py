"""event chain head moved by a trigger

Revision ID: 0004_event_head_trigger
Revises: 0003_setting_revisions
Create Date: 2026-11-26

The event log's head row (last id and hash, locked by appenders on PostgreSQL) is now
moved by the database on every insert into `events`: an appender writes one row
instead of two, and no event can be inserted without moving the head.
"""
from alembic import op

revision = '0004_event_head_trigger'
down_revision = '0003_setting_revisions'
branch_labels = None
depends_on = None

MOVE_HEAD = ("INSERT INTO event_chain_head (id, last_event_id, last_hash) VALUES (1, NEW.id, NEW.hash) "
             "ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id, last_hash = excluded.last_hash")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""CREATE FUNCTION move_event_chain_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MOVE_HEAD};
    RETURN NULL;
END $$""")
        op.execute("CREATE TRIGGER trg_events_chain_head AFTER INSERT ON events "
                   "FOR EACH ROW EXECUTE FUNCTION move_event_chain_head()")
    else:
        op.execute(f"CREATE TRIGGER trg_events_chain_head AFTER INSERT ON events BEGIN {MOVE_HEAD}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER trg_events_chain_head ON events")
        op.execute("DROP FUNCTION move_event_chain_head()")
    else:
        op.execute("DROP TRIGGER trg_events_chain_head")
