"""setting revisions: change tokens for cached reference data

Revision ID: 0003_setting_revisions
Revises: 0002_scheduler
Create Date: 2026-11-26

Every use case needs the user's roles, the calendar overrides and the escalation
policies, which change a few times a year. Each process caches them, and one row per
kind holds a token that triggers replace on any change to the tables behind it (any
writer, any SQL), so a cached copy is used only while its token is current. Tokens
are random, not counters: a restored backup or a copied database never hands a
process a token it has already seen for other contents.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_setting_revisions'
down_revision = '0002_scheduler'
branch_labels = None
depends_on = None

# table -> the kind of cached data its rows feed
WATCHED = {
    'role_assignments': 'roles',
    'delegations': 'roles',
    'org_units': 'roles',  # province roles spread to the province's communes
    'calendar_overrides': 'calendar',
    'escalation_policies': 'escalation',
}
KINDS = sorted(set(WATCHED.values()))


def upgrade() -> None:
    op.create_table('setting_revisions',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_setting_revisions'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    for kind in KINDS:  # through the same upsert as the triggers, so every token is random
        op.execute(_bump(kind, op.get_bind().dialect.name))


def _bump(kind: str, dialect: str) -> str:
    token = "gen_random_uuid()::text" if dialect == 'postgresql' else "lower(hex(randomblob(16)))"
    return (f"INSERT INTO setting_revisions (kind, token) VALUES ('{kind}', {token}) "
            f"ON CONFLICT (kind) DO UPDATE SET token = excluded.token")


def _sqlite_triggers() -> None:
    for table, kind in WATCHED.items():
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER trg_{table}_{event.lower()}_revision AFTER {event} ON {table} "
                       f"BEGIN {_bump(kind, 'sqlite')}; END")


def _postgresql_triggers() -> None:
    op.execute("""CREATE FUNCTION bump_setting_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO setting_revisions (kind, token) VALUES (TG_ARGV[0], gen_random_uuid()::text)
    ON CONFLICT (kind) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END $$""")
    for table, kind in WATCHED.items():
        op.execute(f"CREATE TRIGGER trg_{table}_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION bump_setting_revision('{kind}')")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER trg_{table}_revision ON {table}")
        op.execute("DROP FUNCTION bump_setting_revision()")
    else:
        for table in WATCHED:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"DROP TRIGGER trg_{table}_{event}_revision")
    op.drop_table('setting_revisions')
