"""The dossier aggregate (dossier, its steps, pauses, commune and workflow state) as
plain records, read and written with prebuilt Core statements.

Every use case that changes a dossier loads the whole aggregate under the dossier's
row lock, changes the records in memory and saves them in one go: only the columns
that changed are written, new steps and pauses are inserted, and the workflow state
is written with an optimistic version check. The ORM models in `engine.adapters.db.models`
stay the schema and serve the read side; on this path their loading and flushing
cost several times the SQL itself (bench/runtime_bench.py). For the same reason the
statements every write runs (the aggregate's read, its steps and pauses, the save in
one statement) are `DirectStatement`s: on PostgreSQL they run on the driver's cursor.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm.exc import StaleDataError

from engine.adapters.db.direct import DirectStatement
from engine.adapters.db.models import (Dossier, DossierPause, Event, EventChainHead, OrgUnit, SettingRevision, Task,
                                       WorkflowState)
from engine.adapters.db.partitions import code_block, ids_of_bound_block, receipt_year, year_block
from engine.adapters.db.revisions import TOKEN_KINDS
from engine.adapters.spiff import CLOSED_STATE_JSON
from engine.domain import dossier as domain
from engine.domain.lifecycle import StepClock

_dossiers: Table = Dossier.__table__  # type: ignore[assignment]
_tasks: Table = Task.__table__  # type: ignore[assignment]
_pauses: Table = DossierPause.__table__  # type: ignore[assignment]
_units: Table = OrgUnit.__table__  # type: ignore[assignment]
_states: Table = WorkflowState.__table__  # type: ignore[assignment]
_revisions: Table = SettingRevision.__table__  # type: ignore[assignment]
_heads: Table = EventChainHead.__table__  # type: ignore[assignment]
_events: Table = Event.__table__  # type: ignore[assignment]


class Record:
    """A row as a plain object; remembers what was loaded so `changes()` lists only
    the columns to write. Concrete records declare the `_loaded` slot."""

    __slots__ = ()
    COLUMNS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        for name in self.COLUMNS:
            setattr(self, name, values.pop(name, None))
        if values:
            raise TypeError(f"{type(self).__name__} has no column(s) {', '.join(values)}")
        self._loaded: tuple[Any, ...] | None = None  # None: not stored yet

    @classmethod
    def from_values(cls, values: Any) -> Any:
        """A stored record from column values in `COLUMNS` order (a row or a slice of one)."""
        record = cls.__new__(cls)
        loaded = tuple(values)
        for name, value in zip(cls.COLUMNS, loaded):
            setattr(record, name, value)
        record._loaded = loaded
        return record

    @property
    def stored(self) -> bool:
        return self._loaded is not None

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}

    def changes(self) -> dict[str, Any]:
        assert self._loaded is not None
        # A value of another type is a change (a naive datetime for an aware one, True
        # for 1), except an enum member for the value it stands for (Status.PROCESSED for 9).
        return {name: value for name, before in zip(self.COLUMNS, self._loaded)
                if (value := getattr(self, name)) != before
                or (type(value) is not type(before) and not isinstance(value, Enum))}

    def mark_stored(self) -> None:
        self._loaded = tuple(getattr(self, name) for name in self.COLUMNS)


def _columns(table: Table, fields: tuple[str, ...] | None = None, *, derived: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The columns a record reads and writes; `derived` ones are filled by the table's own
    defaults from other columns and are not part of the aggregate."""
    columns = tuple(c.key for c in table.columns if c.key not in derived)
    if fields is not None and set(fields) != set(columns):  # the domain class and the table must agree
        raise TypeError(f"{table.name}: columns {sorted(set(columns) ^ set(fields))} differ from the domain's fields")
    return columns


class UnitRecord(Record):
    """What the aggregate needs of its commune: code, category and working sessions."""

    COLUMNS = ("id", "code", "name", "kind", "category", "sessions", "same_day_cutoff")
    __slots__ = COLUMNS + ("_loaded",)


class StepRecord(Record, domain.Step):
    """One human step of the dossier (a row of the `tasks` projection)."""

    COLUMNS = _columns(_tasks, domain.Step.FIELDS)
    __slots__ = ("_loaded",)


class PauseRecord(Record, domain.Pause):
    """A pause of the dossier's clock; `step` is the citizen-waiting step that opened it."""

    COLUMNS = _columns(_pauses, domain.Pause.FIELDS)
    __slots__ = ("_loaded",)

    def __init__(self, *, step: StepRecord | None = None, **values: Any) -> None:
        Record.__init__(self, **values)
        self.step = step


class StateRecord(Record):
    """The serialized SpiffWorkflow instance (without its spec)."""

    COLUMNS = _columns(_states)
    __slots__ = COLUMNS + ("_loaded",)


class DossierRecord(Record, domain.Dossier):
    """The dossier aggregate (`engine.domain.dossier.Dossier`) as stored: its row, steps
    (by id), pauses, commune and workflow state, and what was read along with it."""

    # The folded applicant name is a search key (models.Dossier fills it on insert; no use
    # case renames an applicant), not a rule of the aggregate.
    COLUMNS = _columns(_dossiers, domain.Dossier.FIELDS, derived=("applicant_name_folded",))
    __slots__ = ("_loaded", "workflow_state", "setting_tokens", "chain_head")
    STEP_TYPE = StepRecord
    PAUSE_TYPE = PauseRecord

    def __init__(self, *, org_unit: UnitRecord, **values: Any) -> None:
        Record.__init__(self, **values)
        self.tasks: list[StepRecord] = []  # type: ignore[assignment]
        self.pauses: list[PauseRecord] = []  # type: ignore[assignment]
        self.org_unit = org_unit
        self.workflow_state: StateRecord | None = None
        self.setting_tokens: dict[str, str] = {}  # as read with the aggregate
        self.chain_head: tuple[int, str] | None = None  # the event log's, as read with the aggregate


# --- statements, built once ---------------------------------------------------------

_AGGREGATE_COLUMNS = (
    [_dossiers.c[name] for name in DossierRecord.COLUMNS]
    + [_units.c[name] for name in UnitRecord.COLUMNS]
    + [_states.c[name] for name in StateRecord.COLUMNS]
)
_UNIT_AT = len(DossierRecord.COLUMNS)
_STATE_AT = _UNIT_AT + len(UnitRecord.COLUMNS)
_TOKENS_AT = _STATE_AT + len(StateRecord.COLUMNS)
# The change tokens of cached reference data ride along (engine.adapters.db.revisions): the
# use case then needs no statement of its own to read them.
_AGGREGATE_COLUMNS += [
    select(_revisions.c.token).where(_revisions.c.kind == kind).scalar_subquery().label(f"token_{kind}")
    for kind in TOKEN_KINDS
]
# So does the event log's chain head, read unlocked: current for SQLite's appends (one
# writer from BEGIN), the head expected by PostgreSQL's (UnitOfWork.save_and_log).
_HEAD = [select(_heads.c[name]).where(_heads.c.id == 1).scalar_subquery() for name in ("last_event_id", "last_hash")]
_HEAD_AT = _TOKENS_AT + len(TOKEN_KINDS)
_AGGREGATE_COLUMNS += [column.label(f"head_{name}") for column, name in zip(_HEAD, ("last_event_id", "last_hash"))]
_AGGREGATE = (
    select(*_AGGREGATE_COLUMNS)
    .select_from(_dossiers.join(_units, _units.c.id == _dossiers.c.org_unit_id)
                 .outerjoin(_states, _states.c.dossier_id == _dossiers.c.id))
)
_BY_ID = _AGGREGATE.where(_dossiers.c.id == bindparam("key"))
_BY_CODE = _AGGREGATE.where(_dossiers.c.code == bindparam("key"))
_BY_TASK = _AGGREGATE.where(
    _dossiers.c.id == select(_tasks.c.dossier_id).where(_tasks.c.id == bindparam("key")).scalar_subquery()
)
_UNIT_BY_CODE = select(*[_units.c[name] for name in UnitRecord.COLUMNS]).where(_units.c.code == bindparam("code"))
_STEPS_OF_DOSSIER = (select(*[_tasks.c[name] for name in StepRecord.COLUMNS])
                     .where(_tasks.c.dossier_id == bindparam("dossier_id")).order_by(_tasks.c.id))
_STEPS = DirectStatement(_STEPS_OF_DOSSIER)

# On PostgreSQL a code and a dossier's steps say their year of receipt, so these read
# that year's partition and the legacy one, not every year's (engine.adapters.db.partitions).
_BY_CODE_IN_YEAR = _BY_CODE.where(ids_of_bound_block(_dossiers.c.id))
_STEPS_IN_YEAR = DirectStatement(_STEPS_OF_DOSSIER.where(ids_of_bound_block(_tasks.c.id)))


def _locking(by_code: Any) -> dict[str, tuple[DirectStatement, DirectStatement]]:
    return {name: (DirectStatement(query.with_for_update(of=_dossiers)),
                   DirectStatement(query.with_for_update(of=_dossiers, skip_locked=True)))
            for name, query in (("id", _BY_ID), ("code", by_code), ("task", _BY_TASK))}


_LOCKING, _LOCKING_IN_YEAR = _locking(_BY_CODE), _locking(_BY_CODE_IN_YEAR)
_PAUSES = DirectStatement(select(*[_pauses.c[name] for name in PauseRecord.COLUMNS])
                          .where(_pauses.c.dossier_id == bindparam("dossier_id")).order_by(_pauses.c.id))
# New ids come back as `inserted_primary_key`: the row id on SQLite, RETURNING on PostgreSQL.
_INSERT_DOSSIER = insert(_dossiers)
_INSERT_STEP = insert(_tasks)
# PostgreSQL partitions dossiers and steps by their ids, each local year of receipt
# owning a block of ids (migration 0019): the id of a new row comes from its year.
# The dossier's INSERT also brings the event log's head back (unlocked), as the
# aggregate's read does: the receipt's event can then go with the save (`save`).
_INSERT_DOSSIER_IN_YEAR = (
    insert(_dossiers).values(id=func.isoflow_next_id("dossiers", bindparam("receipt_year")))
    .returning(_dossiers.c.id, *_HEAD)
)
_INSERT_STEP_IN_YEAR = insert(_tasks).values(id=func.isoflow_next_id("tasks", bindparam("receipt_year")))
_INSERT_PAUSE = insert(_pauses)
_INSERT_STATE = insert(_states)
_UPDATE_STATE = (
    update(_states)
    .where(_states.c.dossier_id == bindparam("key"), _states.c.version == bindparam("expected_version"))
    .values(state_json=bindparam("state_json"), version=bindparam("new_version"),
            next_timer_at=bindparam("next_timer_at"), updated_at=bindparam("updated_at"))
)
_updates: dict[tuple[Table, tuple[str, ...]], Any] = {}


def _update(table: Table, columns: tuple[str, ...]) -> Any:
    """UPDATE of these columns by id; one statement object per column set."""
    statement = _updates.get((table, columns))
    if statement is None:
        statement = _updates[(table, columns)] = (
            update(table).where(table.c.id == bindparam("key")).values({c: bindparam(c) for c in columns})
        )
    return statement


class DossierStore:
    """Loads and saves dossier aggregates on one connection (the unit of work's)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._skip_locked = self._by_year = self._at_once = connection.dialect.name == "postgresql"
        # the event log's head as the last save locked it (PostgreSQL), for the next append
        self.locked_head: tuple[int, str] | None = None
        self._insert_dossier, self._insert_step, self._locking, self._steps = (
            (_INSERT_DOSSIER_IN_YEAR, _INSERT_STEP_IN_YEAR, _LOCKING_IN_YEAR, _STEPS_IN_YEAR) if self._by_year
            else (_INSERT_DOSSIER, _INSERT_STEP, _LOCKING, _STEPS))

    # --- loading ----------------------------------------------------------------------

    def lock(self, *, dossier_id: int | None = None, code: str | None = None, task_id: int | None = None,
             skip_locked: bool = False) -> DossierRecord | None:
        """The aggregate, its dossier row locked first (`SELECT ... FOR UPDATE`; SQLite
        holds the database lock from BEGIN), so use cases on one dossier run one after
        the other and each sees the other's result. `skip_locked` (PostgreSQL) returns
        None instead of waiting for a row another transaction holds."""
        name, key = (("id", dossier_id) if dossier_id is not None else ("code", code) if code is not None
                     else ("task", task_id))
        statement = self._locking[name][1 if skip_locked and self._skip_locked else 0]
        parameters = {"key": key}
        if name == "code" and self._by_year:
            parameters["first"], parameters["end"] = code_block(code)
        row = statement.first(self.connection, parameters)
        if row is None:
            return None
        dossier = DossierRecord.from_values(row[:_UNIT_AT])
        dossier.org_unit = UnitRecord.from_values(row[_UNIT_AT:_STATE_AT])
        dossier.workflow_state = (StateRecord.from_values(row[_STATE_AT:_TOKENS_AT])
                                  if row[_STATE_AT] is not None else None)
        dossier.setting_tokens = {kind: token for kind, token in zip(TOKEN_KINDS, row[_TOKENS_AT:_HEAD_AT])
                                  if token is not None}
        dossier.chain_head = (row[_HEAD_AT], row[_HEAD_AT + 1]) if row[_HEAD_AT] is not None else None
        steps_of = {"dossier_id": dossier.id}
        if self._by_year:
            steps_of["first"], steps_of["end"] = year_block(receipt_year(dossier.received_at))
        dossier.tasks = [StepRecord.from_values(r) for r in self._steps.rows(self.connection, steps_of)]
        dossier.pauses = []
        # A pause is only ever opened by a citizen-waiting step (Dossier.apply_workflow):
        # without such a step there is nothing to read.
        if any(step.clock == StepClock.PAUSED for step in dossier.tasks):
            steps = {t.id: t for t in dossier.tasks}
            for r in _PAUSES.rows(self.connection, {"dossier_id": dossier.id}):
                pause = PauseRecord.from_values(r)
                pause.step = steps.get(pause.task_id)
                dossier.pauses.append(pause)
        return dossier

    def unit(self, code: str) -> UnitRecord | None:
        row = self.connection.execute(_UNIT_BY_CODE, {"code": code}).first()
        return UnitRecord.from_values(row) if row is not None else None

    # --- saving -----------------------------------------------------------------------

    def insert(self, dossier: DossierRecord) -> None:
        """Insert a new dossier's row (its id comes back, and on PostgreSQL the event
        log's head as `chain_head`); `save` writes the rest."""
        if self._by_year:
            dossier.id, *head = self.connection.execute(self._insert_dossier, self._values(dossier, dossier)).one()
            dossier.chain_head = (head[0], head[1]) if head[0] is not None else None
        else:
            dossier.id = self._insert(self._insert_dossier, dossier, dossier)
        dossier.mark_stored()

    def save(self, dossier: DossierRecord, event: dict[str, Any] | None = None) -> bool:
        """Write what changed: new steps, then new pauses (they point at steps), then
        changed rows, then the workflow state under its version check (a closed
        dossier's state as the compact record). On PostgreSQL, unless a new pause must
        point at a new step, all of it is one statement (`_save_at_once`), which also
        appends `event` (`audit.event_values`, built on the head the caller expects) if
        that head is still the log's. Returns whether the event was appended."""
        if self.saves_in_one_statement(dossier):
            return self._save_at_once(dossier, event)
        for step in dossier.tasks:
            if not step.stored:
                step.id = self._insert(self._insert_step, step, dossier)
                step.mark_stored()
        for pause in dossier.pauses:
            if pause.step is not None:
                pause.task_id = pause.step.id
            if not pause.stored:
                pause.id = self.connection.execute(_INSERT_PAUSE, _insertable(pause)).inserted_primary_key[0]
                pause.mark_stored()
        for table, record in _rows_of(dossier):
            changed = record.changes()
            if changed:
                self.connection.execute(_update(table, tuple(changed)), {**changed, "key": record.id})
                record.mark_stored()
        write = self._state_write(dossier)
        if write is not None:
            statement, values = write
            if self.connection.execute(statement, values).rowcount != 1:
                raise _stale(dossier, values)
            dossier.workflow_state.mark_stored()
        return False

    def saves_in_one_statement(self, dossier: DossierRecord) -> bool:
        """Whether `save` writes this aggregate in one statement (and may append an event)."""
        return self._at_once and all(p.stored and (p.step is None or p.step.stored) for p in dossier.pauses)

    def _save_at_once(self, dossier: DossierRecord, event: dict[str, Any] | None) -> bool:
        """`save` as one statement: each insert and update a data-modifying WITH query,
        which also locks the event log's head and brings it back (`locked_head`), since
        the use case appends its event next; given that event, the statement inserts it
        when the head is the one it was built on (no one appended since the caller
        read it). A write of a few rows and its event is then one round trip instead
        of one per row, one for the head and one for the event."""
        shape: list[tuple[Any, ...]] = []
        values: dict[str, Any] = {}

        def part(kind: Any, row: dict[str, Any]) -> None:
            prefix = f"w{len(shape)}_"
            shape.append((*kind, tuple(row)))
            values.update((prefix + name, value) for name, value in row.items())

        for pause in dossier.pauses:
            if pause.step is not None:
                pause.task_id = pause.step.id
        new_steps = [step for step in dossier.tasks if not step.stored]
        for step in new_steps:
            part(("step",), self._values(step, dossier))
        changed_rows = []
        for table, record in _rows_of(dossier):
            changed = record.changes() if record.stored else None
            if changed:
                part(("update", table.name), {**changed, "key": record.id})
                changed_rows.append(record)
        write = self._state_write(dossier)
        state_at = len(shape)
        if write is not None:
            statement, state_values = write
            part(("state", statement is _UPDATE_STATE), state_values)
        if not shape:
            return False
        event_at = len(shape)
        if event is not None:
            part(("event",), event)
        [row] = _statement_at_once(tuple(shape)).rows(self.connection, values)
        for step, new_id in zip(new_steps, row):
            step.id = new_id
            step.mark_stored()
        for record in changed_rows:
            record.mark_stored()
        if write is not None:
            if row[state_at] != 1:
                raise _stale(dossier, write[1])
            dossier.workflow_state.mark_stored()
        self.locked_head = (row[-2], row[-1]) if row[-2] is not None else None
        return event is not None and row[event_at] == 1

    def _insert(self, statement: Any, record: Record, dossier: DossierRecord) -> int:
        return self.connection.execute(statement, self._values(record, dossier)).inserted_primary_key[0]

    def _values(self, record: Record, dossier: DossierRecord) -> dict[str, Any]:
        """An INSERT's values for a row of `dossier`: with its year of receipt where the
        year chooses the id (PostgreSQL)."""
        values = _insertable(record)
        if self._by_year:
            values["receipt_year"] = receipt_year(dossier.received_at)
        return values

    def _state_write(self, dossier: DossierRecord) -> tuple[Any, dict[str, Any]] | None:
        """The workflow state's INSERT or version-checked UPDATE and its values, if it changed."""
        state = dossier.workflow_state
        if state is None:
            return None
        if not dossier.is_open:
            # A closed dossier's instance never runs again: keep the compact record
            # (engine.adapters.spiff.CLOSED_STATE_JSON), whichever use case closed it.
            state.state_json, state.next_timer_at = CLOSED_STATE_JSON, None
        if not state.stored:
            state.dossier_id, state.version = dossier.id, 1
            return _INSERT_STATE, state.values()
        if not state.changes():
            return None
        expected, state.version = state.version, state.version + 1
        return _UPDATE_STATE, {"key": dossier.id, "expected_version": expected, "new_version": state.version,
                               "state_json": state.state_json, "next_timer_at": state.next_timer_at,
                               "updated_at": state.updated_at}


def _rows_of(dossier: DossierRecord) -> list[tuple[Table, Record]]:
    """The stored rows of the aggregate that `save` may update, in the order it writes them."""
    return [(_tasks, s) for s in dossier.tasks] + [(_pauses, p) for p in dossier.pauses] + [(_dossiers, dossier)]


def _stale(dossier: DossierRecord, values: dict[str, Any]) -> StaleDataError:
    # someone wrote the state since we read it (the row lock should prevent this); the
    # unit of work reports it as a concurrent update
    return StaleDataError(f"workflow state of dossier {dossier.id} is no longer at version {values['expected_version']}")


_TABLES = {table.name: table for table in (_tasks, _pauses, _dossiers)}
_at_once: dict[tuple[tuple[Any, ...], ...], DirectStatement] = {}


def _statement_at_once(shape: tuple[tuple[Any, ...], ...]) -> DirectStatement:
    """The one statement of `_save_at_once` for a shape of writes, built once per shape:
    ("step", columns) inserts a step and selects its new id; ("update", table, columns)
    and ("state", is_update, columns) write a row and select how many they wrote;
    ("event", columns), last, inserts the event if it follows the head and selects how
    many it inserted; the last two columns are the event log's head, locked, as it was
    before the statement. Parameters are `w<i>_<column>`."""
    statement = _at_once.get(shape)
    if statement is not None:
        return statement
    selected, ctes = [], []
    head = select(_heads.c.last_event_id, _heads.c.last_hash).where(_heads.c.id == 1).with_for_update().cte("head")
    for i, (kind, *rest) in enumerate(shape):
        prefix, columns = f"w{i}_", rest[-1]
        if kind == "step":
            values = {c: bindparam(prefix + c) for c in columns if c != "receipt_year"}
            cte = (insert(_tasks).values(id=func.isoflow_next_id("tasks", bindparam(prefix + "receipt_year")), **values)
                   .returning(_tasks.c.id).cte(f"w{i}"))
            selected.append(select(cte.c.id).scalar_subquery())
            ctes.append(cte)
            continue
        if kind == "event":
            follows_head = (head.c.last_event_id + 1 == bindparam(prefix + "id"),
                            head.c.last_hash == bindparam(prefix + "prev_hash"))
            row = select(*[bindparam(prefix + c, type_=_events.c[c].type) for c in columns]).where(*follows_head)
            written = insert(_events).from_select(list(columns), row).returning(_events.c.id)
        elif kind == "update":
            table = _TABLES[rest[0]]
            written = (update(table).where(table.c.id == bindparam(prefix + "key"))
                       .values({c: bindparam(prefix + c) for c in columns if c != "key"}).returning(table.c.id))
        elif rest[0]:  # the state's version-checked update
            written = (update(_states).where(_states.c.dossier_id == bindparam(prefix + "key"),
                                             _states.c.version == bindparam(prefix + "expected_version"))
                       .values(state_json=bindparam(prefix + "state_json"), version=bindparam(prefix + "new_version"),
                               next_timer_at=bindparam(prefix + "next_timer_at"),
                               updated_at=bindparam(prefix + "updated_at"))
                       .returning(_states.c.dossier_id))
        else:
            written = insert(_states).values({c: bindparam(prefix + c) for c in columns}).returning(_states.c.dossier_id)
        cte = written.cte(f"w{i}")
        selected.append(select(func.count()).select_from(cte).scalar_subquery())
        ctes.append(cte)
    statement = _at_once[shape] = DirectStatement(
        select(*selected, select(head.c.last_event_id).scalar_subquery(), select(head.c.last_hash).scalar_subquery())
        .add_cte(head, *ctes))
    return statement


def _insertable(record: Record) -> dict[str, Any]:
    """Column values for an INSERT: the id comes from the database, and a column left
    unset takes the schema's default (NULL or the model's `default=`)."""
    return {name: value for name, value in record.values().items() if value is not None and name != "id"}
