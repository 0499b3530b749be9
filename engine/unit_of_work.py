"""Unit of work: one transaction, one clock reading, one actor, and the event log.

The only way to open a transaction. Use case code writes rows and appends events
through `uow`; nothing is visible to anyone until `commit()`, and an exception anywhere
rolls everything back, so state, projection and log never disagree. A read-only unit
(`Runtime.read`) serves a whole page or report from one connection and one snapshot.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.audit import Actor, append_event, event_values
from engine.adapters.db.dossier_store import DossierRecord, DossierStore
from engine.adapters.db.revisions import core_connection, read_tokens
from engine.adapters.db.session import as_read_only, end_read_only
from engine.errors import Conflict

if TYPE_CHECKING:
    from engine.adapters.db.session import Database
    from engine.runtime import Runtime


class UnitOfWork:
    """One transaction on one connection. Dossier use cases work on it with Core
    statements (`dossiers`, `log`); `session` is an ORM session joined to the same
    transaction, made only for use cases that need one."""

    def __init__(self, runtime: "Runtime", actor: Actor, *, read_only: bool = False,
                 database: "Database | None" = None) -> None:
        self.runtime = runtime
        self.actor = actor
        self.read_only = read_only
        self.database = database or runtime.db  # a read-only unit may read the replica
        self.now: datetime
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._dossiers: DossierStore | None = None
        self._setting_tokens: dict[str, str] | None = None
        self._chain_head: tuple[int, str] | None = None

    def __enter__(self) -> "UnitOfWork":
        self.now = self.runtime.clock.now()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Closing rolls back whatever was not committed; the session's objects are
        # detached with their loaded state, so read-only use cases can hand them out.
        if self._session is not None:
            self._session.close()
        if self._connection is not None:
            if self.read_only:
                end_read_only(self._connection, failed=exc is not None)
            self._connection.close()
        if exc is not None and not isinstance(exc, Conflict):
            conflict = _as_conflict(exc)
            if conflict is not None:  # a flush inside the use case hit a concurrent writer
                raise conflict from exc

    def _begun(self) -> Connection:
        if self._connection is None:
            self._connection = self.database.engine.connect()
            if self.read_only:
                self._connection = as_read_only(self._connection)
        if not self._connection.in_transaction():
            self._connection.begin()
        return self._connection

    @property
    def connection(self) -> Connection:
        """The transaction's connection for Core statements; the session's pending
        changes are flushed first (Core statements do not autoflush)."""
        if self._session is not None:
            return core_connection(self._session)  # the same connection, joined
        return self._begun()

    @property
    def session(self) -> Session:
        """An ORM session joined to this unit of work's transaction."""
        if self._session is None:
            self._session = self.database.session_factory(bind=self._begun(),
                                                            join_transaction_mode="rollback_only")
        return self._session

    @property
    def dossiers(self) -> DossierStore:
        """Dossier aggregates, read and written in this unit of work's transaction."""
        if self._dossiers is None:
            self._dossiers = DossierStore(self.connection)
        return self._dossiers

    @property
    def setting_tokens(self) -> dict[str, str]:
        """The change tokens of cached reference data (`engine.caching.ChangeTokenCache`), read once
        per unit of work: use cases on dossiers change none of the data behind them."""
        if self._setting_tokens is None:
            self._setting_tokens = read_tokens(self.connection)
        return self._setting_tokens

    def reference_changed(self) -> None:
        """This unit changed reference data (roles, overrides, policies): read the change
        tokens again on next use, so cached values loaded after the change are keyed by
        the new tokens."""
        self._setting_tokens = None

    def lock_dossier(self, **key: Any) -> DossierRecord | None:
        """`DossierStore.lock`, keeping what the aggregate's read brought along: the
        change tokens, and on SQLite (one writer from BEGIN IMMEDIATE on) the event log's
        head, which then stays current for this transaction's appends. (On PostgreSQL
        the save locks the head; `save_and_log` appends with it if the head is still the
        one the aggregate's read brought, `dossier.chain_head`.)"""
        dossier = self.dossiers.lock(**key)
        if dossier is not None:
            if self._setting_tokens is None:
                self._setting_tokens = dossier.setting_tokens
            if self._chain_head is None and self.connection.dialect.name == "sqlite":
                self._chain_head = dossier.chain_head
        return dossier

    def log(
        self,
        kind: str,
        entity_type: str,
        entity_id: str | int,
        *,
        org_unit_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        known_head = self._chain_head
        if known_head is None and self._dossiers is not None:
            known_head = self._dossiers.locked_head  # locked by this transaction's save (PostgreSQL)
        event = append_event(self.connection, known_head=known_head, at=self.now, actor=self.actor, kind=kind,
                             entity_type=entity_type, entity_id=entity_id, org_unit_id=org_unit_id, before=before,
                             after=after)
        # this transaction now holds the head (SQLite's write lock, or the row lock the
        # append took on PostgreSQL): the next appends need not read it again
        self._chain_head = (event["id"], event["hash"])

    def save_and_log(self, dossier: DossierRecord, kind: str, entity_type: str, entity_id: str | int,
                     **fields: Any) -> None:
        """`dossiers.save(dossier)`, then `log(kind, entity_type, entity_id, **fields)`.
        Where the save is one statement (PostgreSQL), that statement also appends the
        event if the log's head is still the one this transaction holds or read with the
        aggregate: one round trip for both; otherwise the event follows as `log` appends it."""
        expected = self._chain_head or dossier.chain_head
        event = None
        if expected is not None and self.dossiers.saves_in_one_statement(dossier):
            event = event_values(head=expected, at=self.now, actor=self.actor, kind=kind, entity_type=entity_type,
                                 entity_id=entity_id, **fields)
        if self.dossiers.save(dossier, event):
            self._chain_head = (event["id"], event["hash"])
            return
        self.log(kind, entity_type, entity_id, **fields)

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit; use Runtime.unit_of_work")
        if self._connection is None:
            return  # nothing was read or written
        try:
            if self._session is not None:
                self._session.flush()
            self._begun().commit()
        except Exception as exc:
            if self._connection is not None:
                self._connection.rollback()
            conflict = _as_conflict(exc)
            if conflict is None:
                raise
            raise conflict from exc


def _as_conflict(exc: BaseException) -> Conflict | None:
    """Database errors that mean "someone else changed the same thing first"."""
    if isinstance(exc, StaleDataError):
        return Conflict(
            "someone else changed this dossier at the same time; reload and try again",
            "hồ sơ vừa được người khác cập nhật cùng lúc; hãy tải lại và thử lại",
            code="concurrent_update",
        )
    if isinstance(exc, IntegrityError):
        return Conflict(
            f"the change collides with existing data: {exc.orig}",
            f"thay đổi trùng với dữ liệu đã có: {exc.orig}",
            code="integrity_conflict",
        )
    if isinstance(exc, OperationalError) and any(w in str(exc).lower() for w in ("lock", "serializ")):
        return Conflict(
            "the database was busy with a concurrent change; try again",
            "cơ sở dữ liệu đang bận xử lý thay đổi đồng thời; hãy thử lại",
            code="concurrent_update",
        )
    return None
