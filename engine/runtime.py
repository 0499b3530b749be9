"""The runtime: what every use case needs (database, clock, settings, model cache).

Built once per process by the app factory, the CLI or a test, and passed to the
service functions. Nothing here is global, so several runtimes (tests, benchmarks)
can live side by side.
"""
from __future__ import annotations

from engine.audit import Actor
from engine.domain.clock import Clock, SystemClock
from engine.config import Settings
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.adapters.db.models import ProcedureVersion
from engine.adapters.db.revisions import core_connection
from engine.adapters.db.session import Database
from engine.procedure import ModelCache, ProcedureModel
from engine.services.uow import UnitOfWork


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
        self.models = ModelCache()
        self._models_by_version: dict[int, ProcedureModel] = {}

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> "Runtime":
        read_db = Database(settings.read_database_url) if settings.read_database_url else None
        return cls(Database(settings.database_url), clock, settings, read_db)

    def model(self, version: ProcedureVersion) -> ProcedureModel:
        """The compiled model of a stored version (parsed once per process)."""
        return self.models.get(version.source, version.forms, trusted_scripts=self.settings.trusted_scripts)

    def model_of_version(self, session: Session | Connection, version_id: int) -> ProcedureModel:
        """Like `model`, by version id: versions are immutable, so a dossier's model is
        found without loading the version's source again."""
        model = self._models_by_version.get(version_id)
        if model is None:
            source, forms = core_connection(session).execute(
                select(ProcedureVersion.source, ProcedureVersion.forms).where(ProcedureVersion.id == version_id)).one()
            model = self.models.get(source, forms, trusted_scripts=self.settings.trusted_scripts)
            self._models_by_version[version_id] = model
        return model

    def unit_of_work(self, actor: Actor) -> UnitOfWork:
        return UnitOfWork(self, actor)
