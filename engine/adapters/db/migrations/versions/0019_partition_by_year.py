"""dossiers and their steps partitioned by year of receipt

Revision ID: 0019_partition_by_year
Revises: 0018_webhook_revision
Create Date: 2026-11-27

PostgreSQL only. History grows without end (a province receives a few million
dossiers a year, four steps each), so `dossiers` and `tasks` become range-partitioned
tables, one partition per local year of the dossier's receipt (2021-2040), plus
`<table>_legacy` for the rows stored before this migration and for receipts of a year
whose partitions do not exist. A closed year can then be vacuumed, archived or moved to
cheaper disk as a whole, and its indexes stop growing.

Partitions are made only as the years come: this migration creates the current and
the next year's (by the database's clock, Vietnam's calendar) and any year already
holding rows; `isoflow_add_year_partitions(year)` adds a year, and the scheduler's
sweep calls it once a day for this year and the next (engine.adapters.db.partitions).
Every partition costs the planner a little on every query that cannot tell the
partitions apart (the inbox, the sweep), so empty years are not made in advance.

The partition key is the row's own id, not the receipt instant: a partitioned table's
primary and unique keys must contain the key, and other tables point
at `dossiers.id` or `tasks.id` by id alone (17 foreign keys). Each year owns a block of ids
(`<table>_ids_y<year>`, BLOCK ids from (year - 2020) * BLOCK), and the store asks
`isoflow_next_id(table, year)` for the id of a new dossier or step, the year being the
dossier's local year of receipt (the year its code carries). So the keys stay `id`, a
lookup by id reads one partition, and every foreign key is kept as it was. The legacy
partition keeps its ids below the first block.

Codes and workflow task ids are unique per partition (a unique key without the
partition key cannot span partitions). A code carries its local receipt day and its
year's dossiers share one partition, so a code is still unique where it could repeat;
the legacy partition keeps the unique keys it had. Codes are numbered by
`dossier_sequences` in any case, and workflow task ids are random UUIDs.

The conversion reads the tables' indexes, constraints, triggers and the foreign keys
that point at them from the catalog, so it carries whatever earlier migrations
created. Rows are copied once, then keys, indexes and triggers are built (263 s for
1,000,000 dossiers and their 4,000,000 steps, docs/performance.md); the migration refuses
to start if the id sequence of the rows stored so far has reached the first year's
block. A downgrade leaves every id as it is; upgrading again puts each row back in its
year and continues each year's ids after its last.
"""
from alembic import op
from sqlalchemy import text

revision = '0019_partition_by_year'
down_revision = '0018_webhook_revision'
branch_labels = None
depends_on = None

TABLES = ('dossiers', 'tasks')  # in this order: the steps' foreign key points at dossiers
FIRST_YEAR, LAST_YEAR = 2021, 2040  # ids are 32-bit integers: 2040's block is the last
BLOCK = 100_000_000  # ids per year; a province receives a few million dossiers a year

# The id of a new row of a year: from the year's block, or (no partition for that year
# yet) from the sequence of the rows stored before partitioning, whose partition takes it.
NEXT_ID = """
CREATE FUNCTION isoflow_next_id(table_name text, year integer) RETURNS integer LANGUAGE sql VOLATILE AS $$
  SELECT nextval(coalesce(to_regclass(format('%s_ids_y%s', table_name, year)),
                          format('%s_id_seq', table_name)::regclass))::integer
$$"""
# A year's partitions of both tables, with their unique keys and id sequences; nothing
# when they exist. The scheduler's sweep calls it for the current and the next year.
ADD_YEAR = f"""
CREATE FUNCTION isoflow_add_year_partitions(year integer) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  first integer;
  t record;
  created boolean := false;
BEGIN
  IF year NOT BETWEEN {FIRST_YEAR} AND {LAST_YEAR} THEN
    RAISE EXCEPTION 'no partition for year %: dossiers and steps are partitioned by year from {FIRST_YEAR} to {LAST_YEAR}',
      year USING HINT = 'rows of other years are kept in the legacy partitions';
  END IF;
  first := (year - 2020) * {BLOCK};
  PERFORM pg_advisory_xact_lock(hashtext('isoflow_add_year_partitions'));
  FOR t IN SELECT * FROM (VALUES ('dossiers', 'code'), ('tasks', 'workflow_task_id')) AS v (name, unique_column) LOOP
    CONTINUE WHEN to_regclass(format('%s_y%s', t.name, year)) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                   t.name || '_y' || year, t.name, first, first + {BLOCK});
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (%I)', t.name || '_y' || year,
                   t.name || '_y' || year || '_' || t.unique_column || '_key', t.unique_column);
    -- owned by the id column: TRUNCATE ... RESTART IDENTITY restarts it with the others
    EXECUTE format('CREATE SEQUENCE %I AS integer MINVALUE %s MAXVALUE %s OWNED BY %I.id',
                   t.name || '_ids_y' || year, first + 1, first + {BLOCK} - 1, t.name);
    created := true;
  END LOOP;
  RETURN created;
END $$"""


def _rows(sql: str, **params):
    return op.get_bind().execute(text(sql), params).all()


def _shape(table: str) -> dict:
    """What a table carries besides its columns, as SQL to recreate it."""
    oid = f"'{table}'::regclass"
    return {
        'indexes': _rows(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            f"WHERE x.indrelid = {oid} AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid "
            f"AND c.conrelid = {oid})"),
        'constraints': _rows(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = {oid} AND contype IN ('p', 'u', 'f') AND conparentid = 0 ORDER BY contype DESC, conname"),
        'incoming': _rows(
            "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE confrelid = {oid} AND conrelid <> {oid} AND contype = 'f' AND conparentid = 0"),
        'triggers': _rows(f"SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = {oid} "
                          "AND NOT tgisinternal AND tgparentid = 0"),
    }


def _rebuild(table: str, *, partitioned: bool) -> tuple[list[str], list[str]]:
    """Put an empty table of the same name in place of `table` (renamed `<table>_old`),
    range-partitioned by id with its legacy partition, or plain, owning the id sequence.
    Returns what to build once the rows are in (far cheaper than growing indexes row by
    row, and the name trigger has nothing to add for rows already stored): the keys,
    indexes and triggers of the old table, then the foreign keys from and to it."""
    shape = _shape(table)
    if partitioned:  # unique keys without the id are held per partition
        uniques = [c for c in shape['constraints'] if c[1] == 'u' and 'id' not in _columns(c[2])]
    else:  # the partitions' unique keys become the plain table's again, named as before
        uniques = [(f"uq_{table}_{'_'.join(_columns(d))}", 'u', d) for (d,) in _rows(
            "SELECT DISTINCT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_inherits h ON h.inhrelid = c.conrelid "
            f"WHERE h.inhparent = '{table}'::regclass AND c.contype = 'u'")]
    for name, referrer, _definition in shape['incoming']:
        op.execute(f'ALTER TABLE {referrer} DROP CONSTRAINT {name}')
    op.execute(f'ALTER TABLE {table} RENAME TO {table}_old')
    op.execute(f'ALTER SEQUENCE {table}_id_seq OWNED BY NONE')  # survives dropping the old table
    # the copy needs none of the old table's indexes, and their names are the new one's
    for name, kind, _definition in shape['constraints']:
        if kind in 'pu':
            op.execute(f'ALTER TABLE {table}_old DROP CONSTRAINT {name}')
    for name, _definition in shape['indexes']:
        op.execute(f'DROP INDEX {name}')
    op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
               "INCLUDING COMMENTS)" + (' PARTITION BY RANGE (id)' if partitioned else ''))
    op.execute(f'ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id')
    if partitioned:
        op.execute(f'CREATE TABLE {table}_legacy PARTITION OF {table} FOR VALUES FROM (MINVALUE) TO ({BLOCK})')
    structure = [f'ALTER TABLE {table} ADD CONSTRAINT {name} {definition}'
                 for name, kind, definition in shape['constraints']
                 if kind == 'p' or (kind == 'u' and (name, kind, definition) not in uniques)]
    structure += [f"ALTER TABLE {table}_legacy ADD CONSTRAINT {table}_legacy_{_columns(definition)[0]}_key {definition}"
                  if partitioned else f'ALTER TABLE {table} ADD CONSTRAINT {name} {definition}'
                  for name, _kind, definition in uniques]
    # a partitioned index's definition says ON ONLY: built ON the parent, it builds each partition's
    structure += [definition.replace(' ON ONLY ', ' ON ') for _name, definition in shape['indexes']]
    structure += [definition for (definition,) in shape['triggers']]
    # a key of a table being rebuilt too (`<name>_old`) comes back with that table's own
    foreign_keys = [f'ALTER TABLE {table} ADD CONSTRAINT {name} {definition}'
                    for name, kind, definition in shape['constraints'] if kind == 'f']
    foreign_keys += [f'ALTER TABLE {referrer} ADD CONSTRAINT {name} {definition}'
                     for name, referrer, definition in shape['incoming'] if not referrer.endswith('_old')]
    return structure, foreign_keys


def _move_rows(tables: tuple[str, ...], later: list[tuple[list[str], list[str]]]) -> None:
    """Copy the rows into the new tables, drop the old ones, then build the keys,
    indexes and triggers, and last the foreign keys (each checked once over the rows)."""
    for table in tables:
        op.execute(f'INSERT INTO {table} SELECT * FROM {table}_old')
    for table in reversed(tables):
        op.execute(f'DROP TABLE {table}_old')
    for statement in [s for structure, _ in later for s in structure] + [s for _, keys in later for s in keys]:
        op.execute(statement)


def _columns(definition: str) -> list[str]:
    """'UNIQUE (code)' -> ['code']."""
    return [c.strip() for c in definition[definition.index('(') + 1:definition.rindex(')')].split(',')]


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    # the current and the next year by the database's clock; the sweep moves them on
    this_year = _rows("SELECT extract(year FROM now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::int")[0][0]
    years = {this_year, this_year + 1}
    for table in TABLES:
        legacy, highest = _rows(f'SELECT (SELECT last_value FROM {table}_id_seq), (SELECT max(id) FROM {table})')[0]
        if legacy >= BLOCK:
            raise RuntimeError(f'{table}_id_seq has reached {legacy}, where the ids of {FIRST_YEAR} start ({BLOCK}): '
                               'rows stored before partitioning would take ids of the year partitions. '
                               'Partitioning by year needs that sequence below it.')
        if highest is not None and highest >= (LAST_YEAR - 2019) * BLOCK:
            raise RuntimeError(f'{table} holds id {highest}, beyond the ids of {LAST_YEAR}: no partition would take it.')
        # a table partitioned before (a downgrade keeps the ids) has rows in year blocks
        years |= {row[0] for row in _rows(f'SELECT DISTINCT 2020 + id / {BLOCK} FROM {table} WHERE id >= {BLOCK}')}
    years = sorted(y for y in years if FIRST_YEAR <= y <= LAST_YEAR)
    op.execute(NEXT_ID)
    op.execute(ADD_YEAR)
    later = [_rebuild(table, partitioned=True) for table in TABLES]
    for year in years:
        op.execute(f'SELECT isoflow_add_year_partitions({year})')
    _move_rows(TABLES, later)
    for table in TABLES:
        for year in years:  # each year's ids go on after its last
            op.execute(f"SELECT setval('{table}_ids_y{year}', max(id)) FROM {table}_y{year} HAVING count(*) > 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    tables = tuple(reversed(TABLES))
    # the year sequences go with the old tables that own them
    _move_rows(tables, [_rebuild(table, partitioned=False) for table in tables])
    op.execute('DROP FUNCTION IF EXISTS isoflow_add_year_partitions(integer)')
    op.execute('DROP FUNCTION IF EXISTS isoflow_next_id(text, integer)')
