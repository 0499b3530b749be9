"""The procedure facts a table carries beyond its steps, as structured data: the dossier
components (thành phần hồ sơ), the result, conditional limits ("trường hợp cần xác minh
thì ...") and the provenance of each legal fact (its source, or an unconfirmed mark).

They travel into the model as process properties holding JSON (`components`,
`conditional_limits`, `provenance`) or text (`result`), so the ISO document, the desk's
checklist and the receipt can read them without parsing prose."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from engine.domain import vocabulary as v
from engine.domain.textmatch import fold

# How a document is handed in; Vietnamese spellings in tables map to these codes.
COMPONENT_KINDS = {
    "original": ("bản chính", "original"),
    "copy": ("bản sao", "copy"),
    "certified_copy": ("bản sao có chứng thực", "certified copy"),
    "original_or_copy": ("bản chính hoặc bản sao", "original or copy"),
    "presented": ("xuất trình bản chính", "original shown"),
}
_KIND_BY_NAME = {fold(name): code for code, names in COMPONENT_KINDS.items() for name in (code, *names)}
_KIND_BY_NAME.update({fold("bản sao chứng thực"): "certified_copy", fold("xuất trình"): "presented",
                      fold("bản chính hoặc bản sao có chứng thực"): "original_or_copy"})

# The legal facts every library model accounts for: each has a source or an unconfirmed mark.
FACTS = ("code", "time_limit", "fee", "legal_basis", "components", "result")
FACT_LABELS = {
    "code": ("mã thủ tục", "procedure code"),
    "name": ("tên thủ tục", "procedure name"),
    "time_limit": ("thời hạn giải quyết", "time limit"),
    "fee": ("phí, lệ phí", "fee"),
    "legal_basis": ("căn cứ pháp lý", "legal basis"),
    "components": ("thành phần hồ sơ", "dossier components"),
    "result": ("kết quả thực hiện", "result"),
    "conditional_limits": ("thời hạn có điều kiện", "conditional limits"),
}
UNCONFIRMED_PREFIXES = ("unconfirmed", "chua xac nhan", "chua kiem chung")


@dataclass(frozen=True)
class Component:
    name: str
    kind: str = "original"
    count: int = 1
    note: str = ""

    def text_vi(self) -> str:
        extra = f"; {self.note}" if self.note else ""
        return f"{self.name} ({COMPONENT_KINDS[self.kind][0]}, {self.count:02d} bản{extra})"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "count": self.count}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class LegalForm:
    """A form the law prescribes for the procedure (e.g. the declaration annexed to a
    ministry's circular): what the ISO document prints in section 6, never a software id."""

    name: str
    code: str = ""  # as the issuing document numbers it ("Mẫu số 01"); empty when not known
    issued_by: str = ""  # the document that issues it (number and date)
    evidence: str = ""  # where this was read, or "unconfirmed: why"

    @property
    def unconfirmed(self) -> bool:
        return not self.evidence or is_unconfirmed(self.evidence)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "code": self.code, "issued_by": self.issued_by, "evidence": self.evidence}


@dataclass(frozen=True)
class ConditionalLimit:
    condition: str
    limit: str  # the limit that applies in that case (ISO duration, or `same-day`)
    basis: str = v.BASIS_WORKING

    def as_dict(self) -> dict[str, str]:
        return {"condition": self.condition, "limit": self.limit, "basis": self.basis}


def is_unconfirmed(evidence: str) -> bool:
    return fold(evidence).startswith(UNCONFIRMED_PREFIXES)


def component_kind(text: str) -> str | None:
    return _KIND_BY_NAME.get(fold(text)) if text else None


Report = Callable[[str, str, str, str], None]  # (key, vi, en, hint)


def cell_text(value: Any) -> str:
    """A table cell as text: spreadsheets give 3.0 for 3, and None for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()




def read_components(raw: Any, bad: Report) -> tuple[Component, ...]:
    """`components:` is a list of {name, kind, count, note}; kind in English or Vietnamese."""
    if raw in (None, "", []):
        return ()
    if not isinstance(raw, list):
        bad("components", "Thành phần hồ sơ (components) phải là danh sách", "components must be a list",
            "- name: Tờ khai ...\n  kind: original\n  count: 1")
        return ()
    out: list[Component] = []
    for index, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not cell_text(item.get("name")):
            bad("components", f"Thành phần hồ sơ thứ {index} thiếu tên giấy tờ (name)",
                f"component #{index} has no document name", "- name: Tờ khai ...")
            continue
        kind_text = cell_text(item.get("kind")) or "original"
        kind = component_kind(kind_text)
        if kind is None:
            bad("components", f"Thành phần hồ sơ thứ {index}: loại '{kind_text}' không hợp lệ",
                f"component #{index}: unknown kind '{kind_text}'", "one of: " + ", ".join(COMPONENT_KINDS))
            continue
        count_text = cell_text(item.get("count")) or "1"
        if not count_text.isdigit() or int(count_text) < 1:
            bad("components", f"Thành phần hồ sơ thứ {index}: số lượng '{count_text}' không hợp lệ",
                f"component #{index}: invalid count '{count_text}'", "a whole number of copies, at least 1")
            continue
        out.append(Component(cell_text(item["name"]), kind, int(count_text), cell_text(item.get("note"))))
    return tuple(out)


def read_conditional_limits(raw: Any, basis: str, bad: Report) -> tuple[ConditionalLimit, ...]:
    if raw in (None, "", []):
        return ()
    if not isinstance(raw, list):
        bad("conditional_limits", "conditional_limits phải là danh sách", "conditional_limits must be a list",
            "- condition: trường hợp cần xác minh\n  limit: P5D")
        return ()
    out: list[ConditionalLimit] = []
    for index, item in enumerate(raw, start=1):
        condition = cell_text(item.get("condition")) if isinstance(item, dict) else ""
        limit = cell_text(item.get("limit")) if isinstance(item, dict) else ""
        item_basis = (cell_text(item.get("basis")) if isinstance(item, dict) else "") or basis
        try:
            v.limit_budget(limit, item_basis)
            ok = bool(condition) and item_basis in v.TIME_BASES
        except v.DurationError:
            ok = False
        if not ok:
            bad("conditional_limits", f"Thời hạn có điều kiện thứ {index} cần điều kiện và thời hạn hợp lệ",
                f"conditional limit #{index} needs a condition and a valid limit",
                "- condition: trường hợp cần xác minh\n  limit: P5D")
            continue
        out.append(ConditionalLimit(condition, limit, item_basis))
    return tuple(out)


def read_legal_forms(raw: Any, bad: Report) -> tuple[LegalForm, ...]:
    """`legal_forms:` is a list of {code, name, issued_by, evidence}: the procedure's own forms
    as the law numbers them. `evidence` is the page or document read, or `unconfirmed: why`."""
    if raw in (None, "", []):
        return ()
    if not isinstance(raw, list):
        bad("legal_forms", "Biểu mẫu pháp định (legal_forms) phải là danh sách", "legal_forms must be a list",
            "- code: Mẫu số 01\n  name: Tờ khai ...\n  issued_by: Thông tư ...\n  evidence: <page or 'unconfirmed: why'>")
        return ()
    out: list[LegalForm] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not cell_text(item.get("name")):
            bad("legal_forms", f"Biểu mẫu thứ {index} thiếu tên (name)", f"legal form #{index} has no name",
                "- name: Tờ khai đăng ký khai sinh")
            continue
        evidence = cell_text(item.get("evidence"))
        if not evidence:
            bad("legal_forms", f"Biểu mẫu thứ {index} thiếu nguồn (evidence)", f"legal form #{index} has no evidence",
                "name the page or document it was read from, or write 'unconfirmed: <why>'")
            continue
        unknown = set(item) - {"name", "code", "issued_by", "evidence"}
        if unknown:
            bad("legal_forms", f"Biểu mẫu thứ {index}: khóa không được hỗ trợ {', '.join(sorted(unknown))}",
                f"legal form #{index}: unknown keys {', '.join(sorted(unknown))}", "keys: code, name, issued_by, evidence")
            continue
        out.append(LegalForm(cell_text(item["name"]), cell_text(item.get("code")), cell_text(item.get("issued_by")),
                             evidence))
    return tuple(out)


def legal_forms_from_json(text: str) -> tuple[LegalForm, ...]:
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return ()
    return tuple(LegalForm(str(i.get("name", "")), str(i.get("code", "")), str(i.get("issued_by", "")),
                           str(i.get("evidence", ""))) for i in items if isinstance(i, dict) and i.get("name"))


def split_via(value: Any) -> tuple[str, str]:
    """A table entry that is either text, or {text|note: what documents print, via: how it was
    read (a secondary channel such as a public cross-check table)}. `via` stays in the table
    and docs/library-sources.md; it is never written into a model or a document."""
    if isinstance(value, dict):
        return cell_text(value.get("text", value.get("note"))), cell_text(value.get("via"))
    return cell_text(value), ""


def read_evidence(raw: Any, bad: Report, via: dict[str, str] | None = None) -> dict[str, str]:
    """`evidence:` maps a fact (code, time_limit, fee, legal_basis, components, result...) to
    where it was read (document number and date, or a page address) or to `unconfirmed: why`;
    a value may also be {text: ..., via: ...} (see `split_via`), whose `via` goes to `via`."""
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        bad("evidence", "evidence phải là ánh xạ dữ kiện -> nguồn", "evidence must map fact -> source",
            "evidence:\n  time_limit: Quyết định 123/QĐ-UBND ngày 01/7/2025\n  fee: 'unconfirmed: ...'")
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        key = cell_text(key)
        text, how = split_via(value)
        if how and via is not None:
            via[key] = how
        if key not in FACT_LABELS:
            bad("evidence", f"evidence: dữ kiện '{key}' không được hỗ trợ", f"evidence: unknown fact '{key}'",
                "facts: " + ", ".join(FACT_LABELS))
        elif not text:
            bad("evidence", f"evidence: '{key}' trống", f"evidence: '{key}' is empty",
                "name the source, or write 'unconfirmed: <why>'")
        else:
            out[key] = text
    return out


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def components_from_json(text: str) -> tuple[Component, ...]:
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return ()
    return tuple(Component(str(i.get("name", "")), str(i.get("kind", "original")), int(i.get("count", 1)),
                           str(i.get("note", ""))) for i in items if isinstance(i, dict) and i.get("name")
                 and i.get("kind", "original") in COMPONENT_KINDS)


def conditional_limits_from_json(text: str) -> tuple[ConditionalLimit, ...]:
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return ()
    return tuple(ConditionalLimit(str(i.get("condition", "")), str(i.get("limit", "")),
                                  str(i.get("basis", v.BASIS_WORKING))) for i in items if isinstance(i, dict))


def evidence_from_json(text: str) -> dict[str, str]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(val) for k, val in data.items()} if isinstance(data, dict) else {}
