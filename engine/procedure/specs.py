"""What the ISO dialect adds to SpiffWorkflow's specs: the procedure's metadata and one
definition per human step. SpiffWorkflow's own task specs are reused unchanged (so its
serializer config applies); these are read from the same source and kept beside them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class ProcessMetadata:
    process_id: str
    name: str
    name_en: str | None
    procedure_code: str
    field: str
    time_limit: str  # raw text: `P3D`, `PT4H`, `same-day`, `P30D` (calendar basis)
    time_basis: str  # `working` or `calendar`
    limits_by_category: dict[str, str] = field(default_factory=dict)  # category -> raw limit
    legal_basis: str | None = None
    fee: str | None = None
    iso_document_code: str | None = None
    revision: str | None = None

    def limit_for(self, category: str | None) -> str:
        """The raw limit a commune of `category` works to (the default when none is set)."""
        if category and category in self.limits_by_category:
            return self.limits_by_category[category]
        return self.time_limit


@dataclass(frozen=True)
class StepDefinition:
    bpmn_id: str
    name: str
    name_en: str | None
    role: str
    duration: timedelta  # working time
    clock: str  # `running` or `paused`
    form: str | None
    record: str | None
    status: int  # national status code shown while the step is open
    lane: str | None

    @property
    def pauses_clock(self) -> bool:
        return self.clock == "paused"
