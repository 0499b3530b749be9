"""The lifecycle's enums: one table each, stored values unchanged, labels in both languages."""
from __future__ import annotations

import json

import pytest

from engine.domain import vocabulary
from engine.domain.dossier import require_reason, require_supplementation_reason
from engine.domain.lifecycle import (
    Classification, DossierState, Outcome, PauseKind, Result, Status, StepClock, StepState, status_label)
from engine.errors import InvalidInput


def test_national_statuses_are_one_table_with_both_labels():
    assert [int(s) for s in Status] == list(range(1, 11))
    assert (Status.PROCESSED, Status(9).vi, Status(9).en) == (9, "Đã xử lý xong", "Processed")
    assert status_label(10) == "Đã trả kết quả" and status_label(10, "en") == "Result returned"
    assert status_label(42) == "42"
    # the dialect's vocabulary reads the same table
    assert vocabulary.NATIONAL_STATUSES[5] == (Status.SUPPLEMENTATION.vi, Status.SUPPLEMENTATION.en)
    assert vocabulary.status_label is status_label
    assert (vocabulary.STATUS_PROCESSING, vocabulary.CLOCK_PAUSED) == (4, "paused")


@pytest.mark.parametrize("enum, values", [
    (DossierState, ["open", "closed"]), (StepState, ["open", "completed", "cancelled"]),
    (StepClock, ["running", "paused"]), (Result, ["granted", "refused", "withdrawn", "stopped"]),
    (Outcome, ["approve", "refuse", "supplement"]), (PauseKind, ["supplementation", "financial_obligation"]),
    (Classification, ["early", "on_time", "late"]),
])
def test_stored_values_are_unchanged_and_every_member_has_both_labels(enum, values):
    assert [m.value for m in enum] == values
    for member in enum:
        assert member == member.value and json.dumps(member) == json.dumps(member.value)
        assert member.label("vi") and member.label("en") and member.label() == member.vi


def test_reasons_are_required():
    with pytest.raises(InvalidInput) as err:
        require_reason("  ")
    assert err.value.problems[0].field == "reason"
    with pytest.raises(InvalidInput) as err:
        require_supplementation_reason("")
    assert "bổ sung" in err.value.message_vi
    assert require_supplementation_reason(" Thiếu giấy chứng sinh ") == "Thiếu giấy chứng sinh"


def test_the_domain_imports_no_framework():
    """engine/domain is pure: no SQLAlchemy, SpiffWorkflow or Flask (checked in a fresh interpreter)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, engine.domain.dossier, engine.domain.lifecycle, engine.domain.vocabulary\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'SpiffWorkflow', 'flask'}))")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env={"PYTHONPATH": str(root)},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
