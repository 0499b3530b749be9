"""webhook subscriptions get a change token: a write no longer reads them

Revision ID: 0018_webhook_revision
Revises: 0017_name_words
Create Date: 2026-11-27

Every change of a dossier asks which of its commune's integrators subscribed to it
(`engine.services.webhooks.emit`): one statement per write, almost always answering
"none". The subscriptions now sit with the other reference data behind a change token
(migration 0003, `engine.caching.ChangeTokenCache`): a trigger replaces the `webhooks`
token on any change to `webhook_subscriptions`, the token rides along in the dossier
aggregate's read, and each process reads a commune's subscriptions once per change.
"""
from alembic import op

revision = '0018_webhook_revision'
down_revision = '0017_name_words'
branch_labels = None
depends_on = None

TABLE, KIND = 'webhook_subscriptions', 'webhooks'


def _bump(dialect: str) -> str:
    token = "gen_random_uuid()::text" if dialect == 'postgresql' else "lower(hex(randomblob(16)))"
    return (f"INSERT INTO setting_revisions (kind, token) VALUES ('{KIND}', {token}) "
            f"ON CONFLICT (kind) DO UPDATE SET token = excluded.token")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':  # the function of migration 0003
        op.execute(f"CREATE TRIGGER trg_{TABLE}_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TABLE} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION bump_setting_revision('{KIND}')")
    else:
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER trg_{TABLE}_{event.lower()}_revision AFTER {event} ON {TABLE} "
                       f"BEGIN {_bump('sqlite')}; END")
    op.execute(_bump(dialect))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP TRIGGER trg_{TABLE}_revision ON {TABLE}")
    else:
        for event in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER trg_{TABLE}_{event}_revision")
    op.execute(f"DELETE FROM setting_revisions WHERE kind = '{KIND}'")
