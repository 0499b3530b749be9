"""The runtime: what every use case needs (database, clock, settings) and every cache.

Built once per process by the app factory, the CLI or a test, and passed to the
service functions and views. The caches live here and nowhere else (no module-level
state), so several runtimes (tests, benchmarks) live side by side independently:
- compiled procedure models, by content hash and by (immutable) version id;
- reference data behind the database's change tokens (roles, calendar overrides,
  escalation policies), see `engine.caching.ChangeTokenCache`;
- working calendars, shared by content (a calendar memoizes which days are working).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.adapters.db.models import ProcedureVersion
from engine.adapters.db.revisions import core_connection
from engine.adapters.db.session import Database
from engine.adapters.storage import BlobStorage, storage_for
from engine.audit import Actor
from engine.caching import ChangeTokenCache, LruCache
from engine.config import Settings
from engine.domain.clock import Clock, SystemClock
from engine.procedure import ModelCache, ProcedureModel

if TYPE_CHECKING:  # the unit of work is built lazily: services.uow does not import this module
    from engine.domain.calendar import WorkingCalendar
    from engine.unit_of_work import UnitOfWork

MODEL_CAPACITY = 256
VERSION_CAPACITY = 1024
REFERENCE_CAPACITY = 4096
CALENDAR_CAPACITY = 256


class Runtime:
    def __init__(self, db: Database, clock: Clock | None = None, settings: Settings | None = None,
                 read_db: Database | None = None) -> None:
        self.db = db
        # Where reports may read (statistics, search, exports): a replica when one is
        # configured, else the primary. Writes, the inbox and anything read to decide a
        # write stay on `db`: a replica lags by a fraction of a second.
        self.read_db = read_db or db
        self.clock = clock or SystemClock()
        self.settings = settings or Settings(database_url=db.url)
        self.models = ModelCache(MODEL_CAPACITY)
        self.models_by_version: LruCache[int, ProcedureModel] = LruCache(VERSION_CAPACITY)
        self.reference = ChangeTokenCache(REFERENCE_CAPACITY)
        self.calendars: LruCache[tuple[Any, ...], WorkingCalendar] = LruCache(CALENDAR_CAPACITY)
        # Attachment files; a deployment may replace it (S3-compatible storage, engine.adapters.storage).
        self.storage: BlobStorage = storage_for(self.settings.attachment_dir)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> "Runtime":
        read_db = Database(settings.read_database_url) if settings.read_database_url else None
        return cls(Database(settings.database_url), clock, settings, read_db)

    def model(self, version: ProcedureVersion) -> ProcedureModel:
        """The compiled model of a stored version (parsed once per runtime)."""
        return self.models.get(version.source, version.forms, trusted_scripts=self.settings.trusted_scripts)

    def model_of_version(self, session: Session | Connection, version_id: int) -> ProcedureModel:
        """Like `model`, by version id: versions are immutable, so a dossier's model is
        found without loading the version's source again."""
        def load() -> ProcedureModel:
            source, forms = core_connection(session).execute(
                select(ProcedureVersion.source, ProcedureVersion.forms).where(ProcedureVersion.id == version_id)).one()
            return self.models.get(source, forms, trusted_scripts=self.settings.trusted_scripts)

        return self.models_by_version.get_or_load(version_id, load)

    def unit_of_work(self, actor: Actor) -> "UnitOfWork":
        """One read-write transaction: the only way use cases change the database."""
        from engine.unit_of_work import UnitOfWork

        return UnitOfWork(self, actor)

    def read(self, actor: Actor, *, replica: bool = False) -> "UnitOfWork":
        """One read-only transaction on one connection, for a whole page or report
        (a consistent snapshot; it cannot commit). `replica`: a report that may read a
        replica when one is configured (`read_db`); it may lag the primary briefly."""
        from engine.unit_of_work import UnitOfWork

        return UnitOfWork(self, actor, read_only=True, database=self.read_db if replica else self.db)


class Unit(Protocol):
    """What reads need of an open unit of work (read-write or read-only): its
    connection and session, the change tokens it read, and the runtime's caches."""

    runtime: Runtime
    actor: Actor
    now: datetime

    @property
    def connection(self) -> Connection: ...

    @property
    def session(self) -> Session: ...

    @property
    def setting_tokens(self) -> dict[str, str]: ...


@contextmanager
def reading(source: "Runtime | Unit", actor: Actor | None, *, replica: bool = False) -> Iterator[Unit]:
    """The unit to read in: `source` itself when it is an open unit (a page that shows
    several views reads them all from one connection), else a new read-only unit of the
    runtime (on its replica for a `replica` report), closed on exit. `actor` None: a read
    of public facts, for anyone."""
    if isinstance(source, Runtime):
        with source.read(actor or Actor.system("reader"), replica=replica) as unit:
            yield unit
        return
    if actor is not None and source.actor.user_id != actor.user_id:
        raise ValueError(f"the unit reads for {source.actor.name!r}, not for {actor.name!r}")
    yield source
