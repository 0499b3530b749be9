"""Calendar overrides: the government's decisions the holiday package does not know.

- extra days off (e.g. a bridge day given in exchange for a make-up Saturday),
- make-up working days (the Saturday worked in exchange),
- cancelled holidays (a listed holiday the government decided to keep as a working day).

Overrides are data with an audit trail. `OverrideStore` is the port their storage
implements (the database: `engine.services.calendars.DatabaseOverrideStore`, the one
store the server, the scheduler and the CLI share); `apply_change` is the one place that
checks a change and builds the audit entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal, Mapping, Protocol

from engine.errors import InvalidInput, Problem

OverrideKind = Literal["day_off", "makeup_day", "cancelled_holiday"]
OVERRIDE_KINDS: tuple[OverrideKind, ...] = ("day_off", "makeup_day", "cancelled_holiday")
_FIELD_OF_KIND = {"day_off": "days_off", "makeup_day": "makeup_days", "cancelled_holiday": "cancelled_holidays"}


@dataclass(frozen=True)
class CalendarOverrides:
    """Immutable set of overrides; each date maps to the reason (decision, dispatch...)."""

    days_off: Mapping[date, str] = field(default_factory=dict)
    makeup_days: Mapping[date, str] = field(default_factory=dict)
    cancelled_holidays: Mapping[date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("days_off", "makeup_days", "cancelled_holidays"):
            value = getattr(self, name)
            object.__setattr__(self, name, MappingProxyType(dict(sorted(dict(value).items()))))
        both = sorted(set(self.days_off) & set(self.makeup_days))
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise InvalidInput(
                f"{listed}: a date cannot be both an extra day off and a make-up working day",
                f"{listed}: một ngày không thể vừa là ngày nghỉ thêm vừa là ngày làm bù",
                hint="Remove one of the two overrides for that date.",
            )

    def __hash__(self) -> int:  # usable as a cache key (e.g. one WorkingCalendar per org unit)
        return hash(tuple(tuple(self.of_kind(k).items()) for k in OVERRIDE_KINDS))

    def of_kind(self, kind: OverrideKind) -> Mapping[date, str]:
        return getattr(self, _FIELD_OF_KIND[kind])

    def with_change(self, kind: OverrideKind, day: date, reason: str | None) -> "CalendarOverrides":
        """A copy with `day` set to `reason` in `kind`, or removed when reason is None."""
        maps = {k: dict(self.of_kind(k)) for k in OVERRIDE_KINDS}
        if reason is None:
            maps[kind].pop(day, None)
        else:
            maps[kind][day] = reason
        return CalendarOverrides(maps["day_off"], maps["makeup_day"], maps["cancelled_holiday"])

    def merged(self, other: "CalendarOverrides") -> "CalendarOverrides":
        """These overrides plus `other`'s (other wins on the same date and kind)."""
        maps = {k: {**self.of_kind(k), **other.of_kind(k)} for k in OVERRIDE_KINDS}
        return CalendarOverrides(maps["day_off"], maps["makeup_day"], maps["cancelled_holiday"])

    def to_json(self) -> dict[str, dict[str, str]]:
        return {
            _FIELD_OF_KIND[k]: {d.isoformat(): reason for d, reason in self.of_kind(k).items()}
            for k in OVERRIDE_KINDS
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CalendarOverrides":
        maps = {}
        for kind in OVERRIDE_KINDS:
            raw = data.get(_FIELD_OF_KIND[kind], {}) or {}
            maps[kind] = {date.fromisoformat(k): str(v) for k, v in raw.items()}
        return cls(maps["day_off"], maps["makeup_day"], maps["cancelled_holiday"])


@dataclass(frozen=True)
class AuditEntry:
    """One change of the overrides: who, when, what, why; before/after are the reasons
    stored for that date and kind (None = absent)."""

    at: datetime
    actor: str
    action: Literal["add", "remove"]
    kind: OverrideKind
    day: date
    reason: str
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "kind": self.kind,
            "date": self.day.isoformat(),
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AuditEntry":
        return cls(
            at=datetime.fromisoformat(data["at"]),
            actor=data["actor"],
            action=data["action"],
            kind=data["kind"],
            day=date.fromisoformat(data["date"]),
            reason=data["reason"],
            before=data.get("before"),
            after=data.get("after"),
        )


class OverrideStore(Protocol):
    """Where overrides live. Every change goes through `add`/`remove`, which audit it."""

    def load(self) -> CalendarOverrides: ...

    def add(self, kind: OverrideKind, day: date, *, reason: str, actor: str) -> AuditEntry: ...

    def remove(self, kind: OverrideKind, day: date, *, reason: str, actor: str) -> AuditEntry: ...

    def audit(self) -> list[AuditEntry]: ...


def apply_change(
    current: CalendarOverrides,
    action: Literal["add", "remove"],
    kind: OverrideKind,
    day: date,
    *,
    reason: str,
    actor: str,
    at: datetime,
) -> tuple[CalendarOverrides, AuditEntry]:
    """Check one change against the current overrides and the holiday package, and
    return the new overrides with the audit entry to append. Shared by every store."""
    from engine.domain.calendar.working import WorkingCalendar  # the calendar judges the date

    if kind not in OVERRIDE_KINDS:
        raise InvalidInput(
            f"kind: unknown override kind {kind!r}",
            f"kind: loại điều chỉnh không hợp lệ {kind!r}",
            hint=f"Use one of: {', '.join(OVERRIDE_KINDS)}.",
        )
    problems: list[Problem] = []
    if not reason or not reason.strip():
        problems.append(Problem(
            "reason_required", "Phải ghi lý do (số văn bản, quyết định).", "A reason is required (decision or dispatch number).",
            hint="Pass --reason, e.g. 'Công văn 2450/VPCP-KGVX'.", field="reason"))
    if not actor or not actor.strip():
        problems.append(Problem(
            "actor_required", "Phải ghi người thực hiện.", "The actor (who makes the change) is required.",
            hint="Pass --actor with your user name.", field="actor"))
    if problems:
        raise InvalidInput(problems[0].message_en, problems[0].message_vi, problems=problems)

    before = current.of_kind(kind).get(day)
    iso = day.isoformat()
    if action == "remove":
        if before is None:
            raise InvalidInput(
                f"date: {iso} has no {kind.replace('_', ' ')} override to remove",
                f"date: ngày {iso} không có điều chỉnh loại {kind} để xóa",
                hint="Run `isoflow calendar show YEAR` to see the stored overrides.",
                problems=[Problem("override_not_found", f"Không có điều chỉnh cho ngày {iso}.",
                                  f"No override for {iso}.", field="date")],
            )
        return current.with_change(kind, day, None), AuditEntry(at, actor, "remove", kind, day, reason, before, None)

    if action != "add":
        raise ValueError(f"unknown action {action!r}")
    if before is not None:
        raise InvalidInput(
            f"date: {iso} already has a {kind.replace('_', ' ')} override ({before!r})",
            f"date: ngày {iso} đã có điều chỉnh loại {kind} ({before!r})",
            code="duplicate_override",
            hint="To change its reason, remove the override first, then add it again.",
            problems=[Problem("duplicate_override", f"Ngày {iso} đã có điều chỉnh này.",
                              f"{iso} already has this override.", field="date")],
        )
    base = WorkingCalendar(overrides=current.with_change(kind, day, None))
    package_holiday = base.public_holiday_name(day)
    if kind == "cancelled_holiday" and package_holiday is None:
        raise InvalidInput(
            f"date: {iso} is not a public holiday in the holiday package, nothing to cancel",
            f"date: ngày {iso} không phải ngày lễ trong dữ liệu ngày lễ, không có gì để hủy",
            hint="Run `isoflow calendar show YEAR` to see the listed holidays; to add a working day use makeup-day.",
            problems=[Problem("unknown_holiday", f"{iso} không phải ngày lễ.", f"{iso} is not a holiday.", field="date")],
        )
    if kind == "day_off" and day in current.makeup_days:
        raise InvalidInput(
            f"date: {iso} is a stored make-up working day; remove that override first",
            f"date: ngày {iso} đang là ngày làm bù; hãy xóa điều chỉnh đó trước",
            hint=f"isoflow calendar makeup-day remove {iso} --reason ... --actor ...",
        )
    if kind == "makeup_day" and day in current.days_off:
        raise InvalidInput(
            f"date: {iso} is a stored extra day off; remove that override first",
            f"date: ngày {iso} đang là ngày nghỉ thêm; hãy xóa điều chỉnh đó trước",
            hint=f"isoflow calendar day-off remove {iso} --reason ... --actor ...",
        )
    if kind == "makeup_day" and base.is_working_day(day):
        raise InvalidInput(
            f"date: {iso} is already a working day; a make-up day must be a day that is otherwise off",
            f"date: ngày {iso} đã là ngày làm việc; ngày làm bù phải là ngày vốn được nghỉ",
            hint="Make-up days are usually Saturdays; check the date.",
            problems=[Problem("already_working", f"{iso} đã là ngày làm việc.", f"{iso} is already a working day.", field="date")],
        )
    if kind == "day_off" and not base.is_working_day(day):
        raise InvalidInput(
            f"date: {iso} is already a non-working day",
            f"date: ngày {iso} đã là ngày nghỉ",
            hint="Extra days off are working days the government gives off; check the date.",
            problems=[Problem("already_off", f"{iso} đã là ngày nghỉ.", f"{iso} is already a non-working day.", field="date")],
        )
    return current.with_change(kind, day, reason.strip()), AuditEntry(at, actor.strip(), "add", kind, day, reason.strip(), before, reason.strip())
