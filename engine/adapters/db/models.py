"""The relational model (SQLAlchemy 2.0 typed declarative).

Dossier data lives here; a workflow's own serialized state holds only what its
gateways need. Every human step is projected into `tasks` so inbox and deadline
queries never deserialize a workflow.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from engine.adapters.db.types import JsonDocument, UTCDateTime
from engine.domain.text import fold

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


# --- organisation and people -------------------------------------------------------


class OrgUnit(Base):
    """The province or one of its communes (a tenant)."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # prefix of dossier codes
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # province | commune
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    category: Mapped[str] = mapped_column(String(32), default="normal")  # normal | mountainous
    address: Mapped[str] = mapped_column(String(300), default="")
    # Working sessions as [["07:00", "11:30"], ["13:30", "17:00"]]; None = the legal default.
    sessions: Mapped[list[list[str]] | None] = mapped_column(JsonDocument)
    same_day_cutoff: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    home_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    created_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]

    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", foreign_keys="RoleAssignment.user_id"
    )


class RoleAssignment(Base):
    """A user holds a role in an org unit for a period (people rotate, docs/domain.md §2)."""

    __tablename__ = "role_assignments"
    __table_args__ = (Index("ix_role_assignments_unit_role", "org_unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    role: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # inclusive; None = open-ended
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(back_populates="assignments", foreign_keys=[user_id])
    org_unit: Mapped[OrgUnit] = relationship()


class Delegation(Base):
    """`delegate` acts for `principal` (leave, absence) for a period."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiToken(Base):
    """Bearer token for API clients; only a hash of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


# --- procedures and their controlled versions (ISO 9001 clause 7.5) ----------------


class Procedure(Base):
    __tablename__ = "procedures"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]

    versions: Mapped[list[ProcedureVersion]] = relationship(
        back_populates="procedure", order_by="ProcedureVersion.version_no"
    )


class ProcedureVersion(Base):
    """One controlled revision of a procedure model; immutable once approved."""

    __tablename__ = "procedure_versions"
    __table_args__ = (
        UniqueConstraint("procedure_id", "version_no"),
        UniqueConstraint("procedure_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    source: Mapped[bytes] = mapped_column(LargeBinary)
    forms: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    content_hash: Mapped[str] = mapped_column(String(64))
    # ProcessMetadata as a dict: name, limits, legal basis... (denormalised for listing)
    model_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument)
    spec_json: Mapped[str] = mapped_column(Text)  # the parsed spec, serialized once
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | approved | retired
    change_note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # First day new dossiers get this version: never before the day it was published.
    effective_from: Mapped[date | None] = mapped_column(Date)
    # The day the legal instrument makes it effective (may be earlier: recorded, not applied).
    legal_effective_from: Mapped[date | None] = mapped_column(Date)
    retired_at: Mapped[datetime | None]
    # None: province-wide; a commune: that commune's local version, which its new
    # dossiers get instead of the province version (engine.services.procedures).
    scope_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)

    procedure: Mapped[Procedure] = relationship(back_populates="versions")
    scope: Mapped[OrgUnit | None] = relationship()


# --- dossiers, their steps and their workflow state --------------------------------


FOLDED_NAME_LENGTH = 400  # folding may lengthen a name a little (casefold("ß") == "ss")


def folded_name(name: str | None) -> str:
    return fold(name or "")[:FOLDED_NAME_LENGTH]


def _folded_applicant_name(context) -> str:
    return folded_name(context.get_current_parameters().get("applicant_name"))


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = (
        Index("ix_dossiers_unit_status_due", "org_unit_id", "status_code", "due_at"),
        Index("ix_dossiers_unit_received", "org_unit_id", "received_at"),
        Index("ix_dossiers_applicant_id_number", "applicant_id_number"),
        Index("ix_dossiers_unit_finished", "org_unit_id", "finished_at"),  # statistics: open at, finished after
        Index("ix_dossiers_next_escalation_at", "next_escalation_at",
              postgresql_where=text("next_escalation_at IS NOT NULL")),
        # statistics: finished in a period (0009); on PostgreSQL covering what indicator
        # 2.2 reads, so that pass never visits the table (0014)
        Index("ix_dossiers_finished_cover", "finished_at",
              postgresql_include=["org_unit_id", "classification", "received_at", "id", "procedure_version_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # compared byte by byte: collation "C" on PostgreSQL (0015)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_versions.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    # fold(applicant_name): the accent- and case-free key the dossier search matches
    # (indexed by migration 0005); kept in step by `_fold_applicant_name` and, for
    # Core inserts that omit it, by the column default.
    applicant_name_folded: Mapped[str] = mapped_column(String(FOLDED_NAME_LENGTH), default=_folded_applicant_name)
    applicant_id_number: Mapped[str] = mapped_column(String(32), default="")
    applicant_address: Mapped[str] = mapped_column(String(300), default="")
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    applicant_email: Mapped[str] = mapped_column(String(254), default="")
    channel: Mapped[int] = mapped_column(Integer)  # 1 in person, 2 online, 3 postal
    # National status code (docs/domain.md §3) and our lifecycle state.
    status_code: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime]  # the appointment; moves with pauses and an apology letter
    original_due_at: Mapped[datetime]  # as first printed on the slip
    finished_at: Mapped[datetime | None]  # processing done (status 9) or ended otherwise
    returned_at: Mapped[datetime | None]
    classification: Mapped[str | None] = mapped_column(String(16))  # early | on_time | late
    result: Mapped[str | None] = mapped_column(String(16))  # granted | refused | withdrawn | stopped
    pin_hash: Mapped[str] = mapped_column(String(255))
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    apology_issued_at: Mapped[datetime | None]
    apology_due_at: Mapped[datetime | None]  # the new appointment given in the apology letter
    apology_reason: Mapped[str | None] = mapped_column(String(1000))
    end_reason: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # Scheduler (engine.services.deadlines): the next instant an escalation may fire
    # (None while paused or nothing left to fire) and the highest level fired so far.
    next_escalation_at: Mapped[datetime | None]
    escalation_level: Mapped[str | None] = mapped_column(String(16))

    org_unit: Mapped[OrgUnit] = relationship()
    procedure_version: Mapped[ProcedureVersion] = relationship()
    pauses: Mapped[list[DossierPause]] = relationship(
        back_populates="dossier", order_by="DossierPause.started_at"
    )
    tasks: Mapped[list[Task]] = relationship(back_populates="dossier", order_by="Task.id")

    @validates("applicant_name")
    def _fold_applicant_name(self, key: str, name: str) -> str:
        self.applicant_name_folded = folded_name(name)
        return name


class DossierPause(Base):
    """An interval while the dossier waits on the citizen; the clock does not run."""

    __tablename__ = "dossier_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # supplementation | financial_obligation
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    reason: Mapped[str] = mapped_column(String(1000), default="")

    dossier: Mapped[Dossier] = relationship(back_populates="pauses")
    task: Mapped[Task | None] = relationship()


class Task(Base):
    """Projection of one human step of a dossier's workflow (process control sheet row)."""

    __tablename__ = "tasks"
    __table_args__ = (
        # Partial on PostgreSQL (migration 0007): they serve open steps only.
        Index("ix_tasks_queue", "org_unit_id", "role", "state", "due_at", postgresql_where=text("state = 'open'")),
        Index("ix_tasks_inbox", "assignee_id", "state", "due_at", postgresql_where=text("state = 'open'")),
        # the inbox's pools: unclaimed open steps, in the inbox's order (0016)
        Index("ix_tasks_pool", "org_unit_id", "role", "due_at", "id",
              postgresql_where=text("state = 'open' AND assignee_id IS NULL")),
        Index("ix_tasks_open_due", "state", "due_at", postgresql_where=text("state = 'open'")),
        Index("ix_tasks_next_escalation_at", "next_escalation_at",
              postgresql_where=text("next_escalation_at IS NOT NULL")),
        Index("ix_tasks_completed_at", "completed_at"),  # statistics: completed in a period (0009)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    workflow_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16))  # open | completed | cancelled
    clock: Mapped[str] = mapped_column(String(16), default="running")
    status_code: Mapped[int] = mapped_column(Integer)
    form: Mapped[str | None] = mapped_column(String(128))
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]  # None while the step waits on the citizen
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(64))
    form_data: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    classification: Mapped[str | None] = mapped_column(String(16))
    # Scheduler (engine.services.deadlines): see Dossier.next_escalation_at.
    next_escalation_at: Mapped[datetime | None]
    escalation_level: Mapped[str | None] = mapped_column(String(16))  # remind | warn | overdue

    dossier: Mapped[Dossier] = relationship(back_populates="tasks")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    handed_over_by: Mapped[User | None] = relationship(foreign_keys=[handed_over_by_id])


class Attachment(Base):
    """A scanned document or photo of a dossier (optionally of one step); the file itself
    lives in the runtime's storage under `storage_key`, its SHA-256 here and in the log."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # document | photo | result
    at_receipt: Mapped[bool] = mapped_column(Boolean, default=False)  # taken in at the desk on receipt
    uploaded_at: Mapped[datetime]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WorkflowState(Base):
    """A dossier's serialized SpiffWorkflow instance, without its spec.

    `version` is SQLAlchemy's optimistic lock: two writers of the same instance
    cannot both commit.
    """

    __tablename__ = "workflow_states"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    state_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    next_timer_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_workflow_states_next_timer_at", "next_timer_at",
                            postgresql_where=text("next_timer_at IS NOT NULL")),)

    __mapper_args__ = {"version_id_col": version}


class DossierSequence(Base):
    """Daily counter behind dossier codes `<unit>-yymmdd-nnnn`."""

    __tablename__ = "dossier_sequences"

    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


# --- escalation and notifications (engine.scheduler) ---------------------------------


class EscalationPolicy(Base):
    """Escalation thresholds as data: a row per commune, per procedure version, or per
    both; missing keys fall back to the wider row, then to the built-in default."""

    __tablename__ = "escalation_policies"
    __table_args__ = (UniqueConstraint("org_unit_id", "procedure_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    procedure_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_versions.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class Escalation(Base):
    """One level fired for one task or dossier. The unique key is the exactly-once
    guarantee: a second scheduler (or a restart) cannot insert the same level again."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))  # task | dossier
    entity_id: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))  # remind | warn | overdue | apology_due
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    threshold_at: Mapped[datetime]  # when the level became due
    fired_at: Mapped[datetime]  # the sweep instant that fired it
    skipped: Mapped[list[str]] = mapped_column(JsonDocument, default=list)  # lower levels passed over on catch-up


class Notification(Base):
    """A notice for one person: the in-app inbox row and the outbox of its channels."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("escalation_id", "recipient_id"),
        Index("ix_notifications_inbox", "recipient_id", "deliver_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))  # task.remind | task.warn | task.overdue | dossier.apology_due
    title_vi: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    body_vi: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"))
    dossier_code: Mapped[str | None] = mapped_column(String(40))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    actions: Mapped[list[str]] = mapped_column(JsonDocument, default=list)  # e.g. ["reassign"]
    created_at: Mapped[datetime]
    deliver_after: Mapped[datetime]  # the next working instant: notices wait for office hours
    read_at: Mapped[datetime | None]


class Delivery(Base):
    """One message to send on an outside channel (email, webhook); retried with backoff."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("escalation_id", "channel", "address"),
        Index("ix_notification_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    address: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None]


# --- calendar overrides --------------------------------------------------------------


class CalendarOverrideRow(Base):
    """A government decision the `holidays` package does not know: an extra day off,
    a make-up working day, or a listed holiday that is cancelled."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("day", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))  # day_off | makeup_day | cancelled_holiday
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


# --- the append-only, hash-chained event log (ISO records) -------------------------


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    source_address: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class EventChainHead(Base):
    """Single row holding the last event's hash; locked while appending so concurrent
    transactions cannot fork the chain."""

    __tablename__ = "event_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class SettingRevision(Base):
    """A change token per kind of cached reference data (roles, calendar, escalation);
    database triggers replace it on any change to the tables behind it (migration 0003)."""

    __tablename__ = "setting_revisions"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))


# --- the ISO 9001 quality system (engine/services/quality*.py, docs/iso.md) -----------

# The sweep looks for open dossiers past their appointment (a nonconformity opens for
# each): through this index it reads only the open ones already due, never the history.
Index("ix_dossiers_state_due", Dossier.state, Dossier.due_at)


class QualityObjective(Base):
    """ISO 9001 6.2: a measurable objective of a commune for a year; the engine measures
    it itself (`engine.domain.quality.MEASURES`)."""

    __tablename__ = "quality_objectives"
    __table_args__ = (Index("ix_quality_objectives_unit_year", "org_unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    measure: Mapped[str] = mapped_column(String(32))
    target: Mapped[float]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None]


class Complaint(Base):
    """A citizen's complaint (phản ánh, kiến nghị) about a dossier: who, what, the answer."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    complainant: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Nonconformity(Base):
    """ISO 9001 8.7 / 10.2. The unique key (source kind, source id) makes the automatic
    ones open exactly once: source id is the dossier for `late_dossier` and `apology`,
    the complaint or the audit finding for those kinds, none for `manual`."""

    __tablename__ = "nonconformities"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id"),
        Index("ix_nonconformities_unit_state", "org_unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    source_kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int | None] = mapped_column(Integer)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    description: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="open")
    correction: Mapped[str | None] = mapped_column(Text)
    corrected_at: Mapped[datetime | None]
    root_cause: Mapped[str | None] = mapped_column(Text)
    verification: Mapped[str | None] = mapped_column(Text)
    effective: Mapped[bool | None] = mapped_column(Boolean)
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ManagementReview(Base):
    """ISO 9001 9.3: a management review of a commune for a period, with its minutes."""

    __tablename__ = "management_reviews"
    __table_args__ = (UniqueConstraint("org_unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    period: Mapped[str] = mapped_column(String(16))  # as statistics reads it: 2026-Q1, 2026-H1, 2026...
    held_on: Mapped[date] = mapped_column(Date)
    chaired_by: Mapped[str] = mapped_column(String(200))
    decisions: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CorrectiveAction(Base):
    """An action with an owner and a due date, against a nonconformity (10.2) or a
    management review (9.3); reminded in working time like a step (`reminder_level`)."""

    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]  # the close of the due day in the commune's calendar
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    done_at: Mapped[datetime | None]
    done_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    next_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    reminder_level: Mapped[str | None] = mapped_column(String(16))  # remind | overdue


class ActionReminder(Base):
    """One reminder level fired for one corrective action: the unique key is the
    exactly-once guarantee, as `escalations` is for steps."""

    __tablename__ = "action_reminders"
    __table_args__ = (UniqueConstraint("action_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("corrective_actions.id"))
    level: Mapped[str] = mapped_column(String(16))
    threshold_at: Mapped[datetime]
    fired_at: Mapped[datetime]
    skipped: Mapped[list[str]] = mapped_column(JsonDocument, default=list)


class AuditProgramme(Base):
    """ISO 9001 9.2: a commune's internal audit programme for a year."""

    __tablename__ = "audit_programmes"
    __table_args__ = (UniqueConstraint("org_unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class InternalAudit(Base):
    """One planned audit of a procedure in a commune: the auditor, the period whose
    dossiers are sampled, the pinned model version the checklist comes from, the sample."""

    __tablename__ = "internal_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("audit_programmes.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_versions.id"))
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    planned_on: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    state: Mapped[str] = mapped_column(String(16), default="planned")  # planned | in_progress | reported
    sample_size: Mapped[int] = mapped_column(Integer)
    sample_seed: Mapped[int | None] = mapped_column(BigInteger)
    sample: Mapped[list[int]] = mapped_column(JsonDocument, default=list)  # dossier ids
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    conclusion: Mapped[str | None] = mapped_column(Text)
    generated_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AuditFinding(Base):
    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("internal_audits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # conformity | observation | nonconformity
    step: Mapped[str | None] = mapped_column(String(255))  # the checklist step (BPMN id) concerned
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"))
    text: Mapped[str] = mapped_column(Text)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Risk(Base):
    """ISO 9001 6.1: a risk or an opportunity of a commune, linked to a procedure."""

    __tablename__ = "risks"
    __table_args__ = (Index("ix_risks_unit_state", "org_unit_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    kind: Mapped[str] = mapped_column(String(16))  # risk | opportunity
    description: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    treatment: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class QualityMark(Base):
    """How far the sweep has looked for dossiers that closed late (a watermark)."""

    __tablename__ = "quality_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]


# --- the chair's monitoring (engine/services/satisfaction.py, lateness.py) ------------


class SatisfactionRating(Base):
    """The citizen's rating of one dossier's handling (ISO 9001 clause 9.1.2): one per
    dossier, given at the desk when the result is returned or through the public lookup."""

    __tablename__ = "satisfaction_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    rating: Mapped[str] = mapped_column(String(16))  # very_satisfied | satisfied | not_satisfied
    comment: Mapped[str] = mapped_column(String(1000), default="")
    via: Mapped[str] = mapped_column(String(16))  # desk | public
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the clerk at the desk
    rated_at: Mapped[datetime] = mapped_column(index=True)


class LatenessReason(Base):
    """Why a step finished (or a dossier ran) past its due instant, as the responsible
    officer explained it: one of a short list plus free text. One per step."""

    __tablename__ = "lateness_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # engine.services.lateness.REASONS
    detail: Mapped[str] = mapped_column(String(1000), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


# --- integrators' webhooks and notices to applicants (outbox) -------------------------


class WebhookSubscription(Base):
    """An integrator's endpoint for a commune's dossier events, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JsonDocument)  # event types, e.g. ["dossier.received"]
    description: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """One message owed to the outside (an integrator's webhook, an applicant's email or
    SMS), written in the transaction of the change it tells about and sent by the
    scheduler's sweep with retries. `event_key` names the change; with the channel and
    the address it is unique, so a change is told to each receiver once."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("event_key", "channel", "address"),
        Index("ix_outbox_messages_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | sms
    address: Mapped[str] = mapped_column(String(500))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None]


class NoticeTemplate(Base):
    """A commune's own Vietnamese text for a notice to applicants (the defaults are in
    `engine.services.notices`)."""

    __tablename__ = "notice_templates"
    __table_args__ = (UniqueConstraint("org_unit_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(32))  # result_ready | supplementation_requested | apology_issued
    sms_text: Mapped[str] = mapped_column(String(640))
    email_subject: Mapped[str] = mapped_column(String(200))
    email_body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
