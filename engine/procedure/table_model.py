"""Procedure tables: the steps table a consultant writes (as in the Word table of a
quy trình) plus the procedure's metadata, read from YAML or CSV and checked whole.

`read_table(path)` returns a `ProcedureTable` or raises `InvalidInput` listing every
problem found, each located by line (and column/field) with a Vietnamese and an
English message and a hint. The format is documented in docs/import-table.md.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ErrorCollector, InvalidInput
from engine.domain.fields import FIELDS, resolve_field
from engine.domain import vocabulary as v
from engine.procedure.problems import ModelProblem, located
from engine.procedure.rules import judge_step
from engine.procedure import table_facts as facts
from engine.procedure.table_facts import cell_text as _text

# The vocabulary (names, allowed values, how durations and limits read) lives in
# `vocabulary`; the table only adds its own column names and the reserved-outcome labels.
COMMUNE_CATEGORIES = tuple(v.COMMUNE_CATEGORIES)
RESERVED_OUTCOME_LABELS = {"approve": "Đồng ý", "refuse": "Từ chối", "supplement": "Yêu cầu bổ sung"}

STEP_COLUMNS = (
    "id", "name", "role", "duration", "form", "clock", "status", "record",
    "outcomes", "then", "end", "gateway_name", "end_name", "outcome_labels",
)
META_KEYS = (
    "code", "name", "name_en", "field", "time_limit", "time_basis", "legal_basis", "fee",
    "iso_document_code", "revision", "description", "sources", "unverified",
    "components", "result", "conditional_limits", "evidence", "legal_forms",
) + tuple(v.CATEGORY_LIMIT_PREFIX + c for c in COMMUNE_CATEGORIES)

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TABLE_BYTES = 1024 * 1024


def is_working_duration(text: str) -> bool:
    try:
        v.parse_working_duration(text)
    except v.DurationError:
        return False
    return True


def is_time_limit(text: str, basis: str = v.BASIS_WORKING) -> bool:
    """`same-day`, a working duration, or whole calendar days when the basis is calendar."""
    try:
        v.limit_budget(text, basis)
    except v.DurationError:
        return False
    return True


@dataclass(frozen=True)
class Source:
    """A page or document a table's facts were read from. `via` says how it was reached when
    that was a secondary channel (a public cross-check table...); `secondary` marks an entry
    that is only such a channel. Both stay in the table and docs/library-sources.md: models and
    ISO documents name the primary sources only."""

    title: str
    url: str = ""
    note: str = ""
    via: str = ""
    secondary: bool = False


@dataclass(frozen=True)
class ProcedureMeta:
    code: str
    name: str
    field: str
    time_limit: str
    legal_basis: str
    fee: str
    time_basis: str = v.BASIS_WORKING
    category_limits: dict[str, str] = field(default_factory=dict)  # e.g. {"mountainous": "P30D"}
    name_en: str = ""
    iso_document_code: str = ""
    revision: str = "1"
    description: str = ""
    sources: tuple[Source, ...] = ()
    unverified: tuple[str, ...] = ()
    components: tuple[facts.Component, ...] = ()  # thành phần hồ sơ
    result: str = ""  # kết quả thực hiện
    conditional_limits: tuple[facts.ConditionalLimit, ...] = ()  # "trường hợp cần xác minh thì ..."
    evidence: dict[str, str] = field(default_factory=dict)  # fact -> source, or "unconfirmed: why"
    legal_forms: tuple[facts.LegalForm, ...] = ()  # the procedure's own forms, as the law numbers them
    unverified_via: dict[str, str] = field(default_factory=dict)  # unverified note -> how it was read (not printed)
    evidence_via: dict[str, str] = field(default_factory=dict)  # fact -> how its source was read (not printed)
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)  # metadata key -> line in the table file


@dataclass(frozen=True)
class StepRow:
    id: str
    name: str
    role: str
    duration: str
    form: str
    clock: str = v.CLOCK_RUNNING
    status: int = v.STATUS_PROCESSING
    record: str = ""
    outcomes: dict[str, str] = field(default_factory=dict)  # outcome -> step id or "next"; first = default
    then: str = ""
    end: bool = False
    gateway_name: str = ""
    end_name: str = ""
    outcome_labels: dict[str, str] = field(default_factory=dict)  # outcome -> Vietnamese flow label
    line: int | None = None
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)  # column -> line in the table file

    def outcome_label(self, outcome: str) -> str:
        return self.outcome_labels.get(outcome) or RESERVED_OUTCOME_LABELS.get(outcome, outcome)

    @property
    def decides(self) -> bool:
        return bool(self.outcomes)


@dataclass(frozen=True)
class ProcedureTable:
    meta: ProcedureMeta
    steps: tuple[StepRow, ...]
    slug: str = ""  # english slug for file names, from the table file name when read from disk

    def step(self, step_id: str) -> StepRow:
        return next(s for s in self.steps if s.id == step_id)

    def next_of(self, step_id: str) -> str | None:
        ids = [s.id for s in self.steps]
        i = ids.index(step_id)
        return ids[i + 1] if i + 1 < len(ids) else None

    def successors(self, step: StepRow) -> list[str]:
        """Step ids reached from `step` (gateway branches resolved; `next` = following row)."""
        if step.outcomes:
            return [self.next_of(step.id) if t == "next" else t for t in step.outcomes.values()]  # type: ignore[misc]
        if step.then:
            return [step.then]
        if step.end or self.next_of(step.id) is None:
            return []
        return [self.next_of(step.id)]  # type: ignore[list-item]

    def is_end(self, step: StepRow) -> bool:
        return not step.outcomes and not step.then and (step.end or self.next_of(step.id) is None)


# ---------------------------------------------------------------- reading


def read_table(path: str | Path) -> ProcedureTable:
    """Read a `.yaml`/`.yml` or `.csv` procedure table; raise InvalidInput with every problem."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise InvalidInput(
            f"unsupported table file type {suffix or '(none)'}",
            f"không hỗ trợ loại tệp bảng {suffix or '(không có)'}",
            hint="use a .yaml, .yml or .csv file (from Excel: save as 'CSV UTF-8'; see docs/import-table.md)",
        )
    try:
        if p.stat().st_size > MAX_TABLE_BYTES:
            raise InvalidInput(
                f"table file {p} is larger than {MAX_TABLE_BYTES // 1024} KiB",
                f"tệp bảng {p} lớn hơn {MAX_TABLE_BYTES // 1024} KiB",
                hint="a procedure table has tens of rows; check that this is the right file",
            )
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read table file {p}: {exc.strerror}",
            f"không đọc được tệp bảng {p}: {exc.strerror}",
            hint="check the path; the file must be UTF-8 text",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"table file {p} is not UTF-8 text",
            f"tệp bảng {p} không phải văn bản UTF-8",
            hint="save the table as UTF-8 (in Excel: 'CSV UTF-8')",
        ) from None
    slug = p.stem.split("-", 1)[-1] if "-" in p.stem else p.stem
    if suffix == ".csv":
        return parse_csv_table(text, slug=slug)
    return parse_yaml_table(text, slug=slug)


def _problem(code: str, vi: str, en: str, hint: str = "", hint_vi: str = "", *, line: int | None = None,
             field_name: str | None = None, element_id: str | None = None) -> ModelProblem:
    return ModelProblem(code=code, message_vi=vi, message_en=en, hint=hint, hint_vi=hint_vi, line=line,
                        field=field_name, element_id=element_id)


# libyaml's loader when PyYAML was built with it (several times faster), else pure Python.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml_table(text: str, slug: str = "") -> ProcedureTable:
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(
            f"the table is not valid YAML: {getattr(exc, 'problem', exc)}",
            f"bảng không phải YAML hợp lệ: {getattr(exc, 'problem', exc)}",
            problems=[_problem("yaml_syntax", "Lỗi cú pháp YAML", "YAML syntax error",
                               "check indentation and quotes around values containing ':'",
                               "kiểm tra thụt lề và dấu nháy quanh giá trị có dấu ':'",
                               line=mark.line + 1 if mark else None)],
            hint="see docs/import-table.md for the table format",
        ) from None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise InvalidInput(
            "the table must be a mapping with 'procedure' and 'steps'",
            "bảng phải là một ánh xạ gồm 'procedure' và 'steps'",
            hint="see docs/import-table.md",
        )
    lines = _yaml_lines(root)
    return _build(data.get("procedure"), data.get("steps"), lines, slug,
                  unknown_top=[k for k in data if k not in ("procedure", "steps")])


def _yaml_lines(root: yaml.MappingNode) -> dict[str, Any]:
    """Line numbers: {'procedure': {key: line}, 'steps': [(line, {key: line})], 'top': {key: line}}."""
    out: dict[str, Any] = {"procedure": {}, "steps": [], "top": {}}
    for key_node, value_node in root.value:
        key = key_node.value
        out["top"][key] = key_node.start_mark.line + 1
        if key == "procedure" and isinstance(value_node, yaml.MappingNode):
            out["procedure"] = {k.value: k.start_mark.line + 1 for k, _ in value_node.value}
        elif key == "steps" and isinstance(value_node, yaml.SequenceNode):
            for item in value_node.value:
                keys = {k.value: k.start_mark.line + 1 for k, _ in item.value} if isinstance(item, yaml.MappingNode) else {}
                out["steps"].append((item.start_mark.line + 1, keys))
    return out


def parse_csv_table(text: str, slug: str = "") -> ProcedureTable:
    """CSV layout: a metadata block of `key,value` rows, one empty row, then the steps table
    whose first row names the columns. `sources` and `unverified` rows may repeat."""
    rows = list(csv.reader(io.StringIO(text)))
    meta: dict[str, Any] = {}
    meta_lines: dict[str, int] = {}
    i = 0
    while i < len(rows) and any(c.strip() for c in rows[i]):
        row = [c.strip() for c in rows[i]]
        key, value = row[0], row[1] if len(row) > 1 else ""
        meta_lines.setdefault(key, i + 1)
        if key == "sources":
            meta.setdefault("sources", []).append(  # sources,<title>,<url>,<note>[,<via>]
                {"title": value, "url": row[2] if len(row) > 2 else "", "note": row[3] if len(row) > 3 else "",
                 "via": row[4] if len(row) > 4 else ""})
        elif key == "unverified":
            meta.setdefault("unverified", []).append(value)
        elif key == "components":  # components,<name>,<kind>,<count>
            meta.setdefault("components", []).append(
                {"name": value, "kind": row[2] if len(row) > 2 else "", "count": row[3] if len(row) > 3 else ""})
        elif key == "conditional_limits":  # conditional_limits,<condition>,<limit>
            meta.setdefault("conditional_limits", []).append({"condition": value, "limit": row[2] if len(row) > 2 else ""})
        elif key == "evidence":  # evidence,<fact>,<source or unconfirmed: why>[,<via>]
            text = row[2] if len(row) > 2 else ""
            meta.setdefault("evidence", {})[value] = {"text": text, "via": row[3]} if len(row) > 3 and row[3] else text
        elif key == "legal_forms":  # legal_forms,<code>,<name>,<issued_by>,<evidence>
            meta.setdefault("legal_forms", []).append(
                {"code": value, "name": row[2] if len(row) > 2 else "", "issued_by": row[3] if len(row) > 3 else "",
                 "evidence": row[4] if len(row) > 4 else ""})
        else:
            meta[key] = value
        i += 1
    while i < len(rows) and not any(c.strip() for c in rows[i]):
        i += 1
    steps: list[dict[str, Any]] = []
    step_lines: list[tuple[int, dict[str, int]]] = []
    if i < len(rows):
        header = [c.strip() for c in rows[i]]
        for j in range(i + 1, len(rows)):
            cells = rows[j]
            if not any(c.strip() for c in cells):
                continue
            record = {h: (cells[k].strip() if k < len(cells) else "") for k, h in enumerate(header) if h}
            steps.append({k: v for k, v in record.items() if v != ""})
            step_lines.append((j + 1, {h: j + 1 for h in header if h}))
    lines = {"procedure": meta_lines, "steps": step_lines, "top": {}}
    return _build(meta or None, steps or None, lines, slug, unknown_top=[])


def _parse_outcomes_text(text: str) -> dict[str, str] | None:
    """CSV form `approve=draft; supplement=fix; refuse=return_refusal`."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            return None
        k, v = (s.strip() for s in part.split("=", 1))
        out[k] = v
    return out


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "x", "có"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "", "không"):
        return False
    return None


def _build(meta_raw: Any, steps_raw: Any, lines: dict[str, Any], slug: str,
           unknown_top: list[str]) -> ProcedureTable:
    errors = ErrorCollector()
    mline = lines["procedure"]
    for key in unknown_top:
        errors.add(_problem("unknown_key", f"Khóa không được hỗ trợ: {key}", f"unknown top-level key: {key}",
                            "the table has only 'procedure' and 'steps'",
                            "bảng chỉ có hai phần 'procedure' và 'steps'", line=lines["top"].get(key), field_name=key))
    meta = _check_meta(meta_raw, mline, errors)
    steps = _check_steps(steps_raw, lines["steps"], errors)
    if steps:
        _check_flow(steps, errors)
    if errors or meta is None:
        raise InvalidInput(
            f"the procedure table has {len(errors.problems)} problem(s)",
            f"bảng quy trình có {len(errors.problems)} lỗi",
            problems=errors.problems,
            hint="fix every listed row and column, then import again (format: docs/import-table.md)",
        )
    return ProcedureTable(meta=meta, steps=tuple(steps), slug=slug)




def _check_meta(raw: Any, mline: dict[str, int], errors: ErrorCollector) -> ProcedureMeta | None:
    if not isinstance(raw, dict):
        errors.add(_problem("missing_procedure", "Thiếu phần thông tin thủ tục (procedure)",
                            "the procedure metadata block is missing",
                            "add 'procedure:' with code, name, field, time_limit, legal_basis, fee",
                            "thêm phần 'procedure:' gồm code, name, field, time_limit, legal_basis, fee"))
        return None

    def bad(key: str, vi: str, en: str, hint: str = "", hint_vi: str = "") -> None:
        errors.add(_problem(f"invalid_{key.replace('.', '_')}", vi, en, hint, hint_vi, line=mline.get(key),
                            field_name=key))

    for key in raw:
        if key not in META_KEYS:
            bad(key, f"Khóa thông tin thủ tục không được hỗ trợ: {key}", f"unknown procedure key: {key}",
                "allowed: " + ", ".join(META_KEYS), "các khóa được dùng: " + ", ".join(META_KEYS))
    structured = ("sources", "unverified", "components", "conditional_limits", "evidence", "legal_forms")
    values = {k: _text(raw.get(k)) for k in META_KEYS if k not in structured}
    values["field"] = resolve_field(values["field"]) or values["field"]  # "Hộ tịch" as well as civil_status
    for key, vi_name in (("code", "mã thủ tục"), ("name", "tên thủ tục"), ("field", "lĩnh vực"),
                         ("time_limit", "thời hạn giải quyết"), ("legal_basis", "căn cứ pháp lý"),
                         ("fee", "phí, lệ phí")):
        if not values[key]:
            bad(key, f"Thiếu {vi_name} ({key})", f"missing procedure {key}",
                "write 'Không' when there is no fee" if key == "fee" else f"fill in {key}",
                "ghi 'Không' khi không có phí" if key == "fee" else f"điền {vi_name} ({key})")
    if values["code"] and not v.PROCEDURE_CODE_PATTERN.match(values["code"]):
        bad("code", f"Mã thủ tục '{values['code']}' không đúng dạng", f"procedure code '{values['code']}' is not like 1.000894",
            "use the national database code: one digit, a dot, six digits (quote it in YAML)",
            "dùng mã trong Cơ sở dữ liệu quốc gia: một chữ số, dấu chấm, sáu chữ số (đặt trong dấu nháy trong YAML)")
    if values["field"] and values["field"] not in FIELDS:
        bad("field", f"Lĩnh vực '{values['field']}' không có trong danh mục", f"unknown field '{values['field']}'",
            "use a code from engine/domain/fields.py, e.g. " + ", ".join(list(FIELDS)[:6]),
            "dùng một mã trong engine/domain/fields.py, ví dụ " + ", ".join(list(FIELDS)[:6]))
    basis = values["time_basis"] or v.BASIS_WORKING
    if values["time_limit"] and not is_time_limit(values["time_limit"], basis if basis in v.TIME_BASES else v.BASIS_WORKING):
        bad("time_limit", f"Thời hạn '{values['time_limit']}' không hợp lệ", f"invalid time limit '{values['time_limit']}'",
            "use 'same-day' or an ISO duration such as P3D, P0.5D, PT4H; with time_basis calendar, whole days such as P30D",
            "dùng 'same-day' hoặc thời lượng ISO như P3D, P0.5D, PT4H; với time_basis calendar, số ngày nguyên như P30D")
    if basis not in v.TIME_BASES:
        bad("time_basis", f"Cách tính thời hạn '{basis}' không hợp lệ", f"invalid time basis '{basis}'",
            "use 'working' (working days) or 'calendar' (calendar days)",
            "dùng 'working' (ngày làm việc) hoặc 'calendar' (ngày lịch)")
    category_limits: dict[str, str] = {}
    for cat in COMMUNE_CATEGORIES:
        key = v.CATEGORY_LIMIT_PREFIX + cat
        if values[key]:
            if is_time_limit(values[key], basis if basis in v.TIME_BASES else v.BASIS_WORKING):
                category_limits[cat] = values[key]
            else:
                bad(key, f"Thời hạn '{values[key]}' không hợp lệ", f"invalid time limit '{values[key]}'",
                    "use an ISO duration such as P30D", "dùng thời lượng ISO như P30D")
    sources: list[Source] = []
    raw_sources = raw.get("sources") or []
    if not isinstance(raw_sources, list):
        bad("sources", "Nguồn (sources) phải là danh sách", "sources must be a list", "- title: ...\n  url: ...",
            "- title: ...\n  url: ... (một danh sách)")
        raw_sources = []
    for item in raw_sources:
        if isinstance(item, dict) and _text(item.get("title")):
            secondary = _as_bool(item.get("secondary", False))
            if secondary is None:
                bad("sources", "secondary phải là true hoặc false", "secondary must be true or false",
                    "write secondary: true for a source that is only a secondary channel",
                    "ghi secondary: true cho nguồn chỉ là kênh thứ cấp")
                secondary = False
            sources.append(Source(_text(item.get("title")), _text(item.get("url")), _text(item.get("note")),
                                  _text(item.get("via")), secondary))
        elif isinstance(item, str) and item.strip():
            sources.append(Source(item.strip()))
        else:
            bad("sources", "Mỗi nguồn cần có tiêu đề (title)", "each source needs a title", "- title: ...\n  url: ...",
                "- title: ...\n  url: ... (mỗi nguồn có tiêu đề)")
    unverified = raw.get("unverified") or []
    if isinstance(unverified, str):
        unverified = [unverified]
    if not isinstance(unverified, list):
        bad("unverified", "unverified phải là danh sách", "unverified must be a list of notes",
            "- a note per line", "- mỗi dòng một ghi chú")
        unverified = []
    notes: list[str] = []
    unverified_via: dict[str, str] = {}
    for item in unverified:
        note, how = facts.split_via(item)
        if not note:
            continue
        notes.append(note)
        if how:
            unverified_via[note] = how
    components = facts.read_components(raw.get("components"), bad)
    conditional = facts.read_conditional_limits(raw.get("conditional_limits"), basis, bad)
    evidence_via: dict[str, str] = {}
    evidence = facts.read_evidence(raw.get("evidence"), bad, evidence_via)
    legal_forms = facts.read_legal_forms(raw.get("legal_forms"), bad)
    if not all(values[k] for k in ("code", "name", "field", "time_limit", "legal_basis", "fee")):
        return None
    return ProcedureMeta(
        code=values["code"], name=values["name"], field=values["field"], time_limit=values["time_limit"],
        legal_basis=values["legal_basis"], fee=values["fee"], time_basis=basis,
        category_limits=category_limits, name_en=values["name_en"],
        iso_document_code=values["iso_document_code"], revision=values["revision"] or "1",
        description=values["description"], sources=tuple(sources),
        unverified=tuple(notes), unverified_via=unverified_via,
        components=components, result=values["result"], conditional_limits=conditional, evidence=evidence,
        evidence_via=evidence_via, legal_forms=legal_forms,
        key_lines=dict(mline),
    )


def _check_steps(raw: Any, step_lines: list[tuple[int, dict[str, int]]], errors: ErrorCollector) -> list[StepRow]:
    if not isinstance(raw, list) or not raw:
        errors.add(_problem("missing_steps", "Bảng chưa có bước nào (steps)", "the table has no steps",
                            "add at least one row under 'steps' (or below the CSV header row)",
                            "thêm ít nhất một dòng dưới 'steps' (hoặc dưới dòng tiêu đề của CSV)"))
        return []
    steps: list[StepRow] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        start_line, key_lines = step_lines[index] if index < len(step_lines) else (None, {})
        if not isinstance(item, dict):
            errors.add(_problem("invalid_step", f"Bước thứ {index + 1} không phải một dòng có các cột",
                                f"step #{index + 1} is not a row of columns", "write each step as 'key: value' pairs",
                                "viết mỗi bước thành các cặp 'khóa: giá trị'",
                                line=start_line))
            continue
        sid = _text(item.get("id"))
        where = sid or f"#{index + 1}"
        count_before = len(errors.problems)

        def bad(col: str, vi: str, en: str, hint: str = "", hint_vi: str = "") -> None:
            errors.add(_problem(f"invalid_step_{col}", f"Bước {where}, cột {col}: {vi}", f"step {where}, column {col}: {en}",
                                hint, hint_vi, line=key_lines.get(col, start_line), field_name=col,
                                element_id=sid or None))

        for col in item:
            if col not in STEP_COLUMNS:
                bad(col, "cột không được hỗ trợ", "unknown column", "columns: " + ", ".join(STEP_COLUMNS),
                    "các cột: " + ", ".join(STEP_COLUMNS))
        if not sid:
            bad("id", "thiếu mã bước", "missing step id", "a short English id such as receive, appraise, sign",
                "một mã ngắn bằng tiếng Anh như receive, appraise, sign")
        elif not _ID.match(sid):
            bad("id", f"mã bước '{sid}' không hợp lệ", f"step id '{sid}' is invalid",
                "letters, digits and underscores, starting with a letter",
                "chữ cái, chữ số và dấu gạch dưới, bắt đầu bằng chữ cái")
        elif sid in seen:
            bad("id", f"mã bước '{sid}' bị trùng", f"duplicate step id '{sid}'", "every step id must be unique",
                "mỗi mã bước phải là duy nhất")
        seen.add(sid)
        values, issues = judge_step(
            name=_text(item.get("name")), role=_text(item.get("role")), duration=_text(item.get("duration")),
            clock=_text(item.get("clock")), status=_text(item.get("status")), form=_text(item.get("form")),
            label=_text(item.get("name")) or where,  # as the BPMN validator names a step
        )
        for issue in issues:
            errors.add(located(
                issue, code=f"invalid_step_{issue.field}", field=issue.field, element_id=sid or None,
                line=key_lines.get(issue.field, start_line),
                message_vi=f"Bước {where}, cột {issue.field}: {issue.message_vi}",
                message_en=f"step {where}, column {issue.field}: {issue.message_en}",
            ))
        outcomes_raw = item.get("outcomes")
        outcomes: dict[str, str] = {}
        if isinstance(outcomes_raw, str):
            parsed = _parse_outcomes_text(outcomes_raw)
            if parsed is None:
                bad("outcomes", "không đọc được", "cannot read outcomes", "write approve=next; refuse=return_refusal",
                    "viết approve=next; refuse=return_refusal")
            else:
                outcomes = parsed
        elif isinstance(outcomes_raw, dict):
            outcomes = {_text(k): _text(v) for k, v in outcomes_raw.items()}
        elif outcomes_raw is not None:
            bad("outcomes", "phải là ánh xạ kết quả -> bước", "must map outcome -> step id", "{approve: next, refuse: return_refusal}",
                "{approve: next, refuse: return_refusal} (kết quả -> mã bước)")
        for key in outcomes:
            if not _ID.match(key):
                bad("outcomes", f"kết quả '{key}' không hợp lệ", f"invalid outcome value '{key}'",
                    "lowercase identifiers such as approve, refuse, supplement",
                    "mã viết thường như approve, refuse, supplement")
        if outcomes and len(outcomes) < 2:
            bad("outcomes", "một quyết định cần ít nhất hai kết quả", "a decision needs at least two outcomes",
                "add the alternative, or use 'then' for a plain jump",
                "thêm kết quả còn lại, hoặc dùng 'then' để chuyển bước đơn giản")
        labels_raw = item.get("outcome_labels") or {}
        then = _text(item.get("then"))
        end = _as_bool(item.get("end", False))
        if end is None:
            bad("end", "phải là true hoặc false", "must be true or false", "write end: true or leave it out",
                "ghi end: true hoặc bỏ trống")
            end = False
        if sum(bool(x) for x in (outcomes, then, end)) > 1:
            bad("outcomes" if outcomes else "then", "chỉ dùng một trong outcomes, then, end",
                "use only one of outcomes, then, end", "a step either decides, jumps, or ends",
                "một bước hoặc quyết định, hoặc chuyển tới bước khác, hoặc kết thúc")
        if outcomes and values.form is None and not any(i.field == "form" for i in issues):
            bad("form", "bước quyết định cần một biểu mẫu", "a deciding step needs a form",
                "give the step a form whose required 'outcome' offers exactly its outcomes, e.g. common_review",
                "gắn cho bước một biểu mẫu có trường bắt buộc 'outcome' đưa ra đúng các kết quả của bước, "
                "ví dụ common_review")
        if len(errors.problems) > count_before:
            continue
        labels: dict[str, str] = {}
        if isinstance(labels_raw, dict):
            labels = {_text(k): _text(v) for k, v in labels_raw.items()}
        elif isinstance(labels_raw, str):
            labels = _parse_outcomes_text(labels_raw) or {}
        steps.append(StepRow(
            id=sid, name=values.name, role=values.role, duration=_text(item.get("duration")), form=values.form or "",
            clock=values.clock, status=values.status,
            record=_text(item.get("record")), outcomes=outcomes, then=then, end=bool(end),
            gateway_name=_text(item.get("gateway_name")), end_name=_text(item.get("end_name")),
            outcome_labels=labels, line=start_line, key_lines=dict(key_lines),
        ))
    return steps


def _check_flow(steps: list[StepRow], errors: ErrorCollector) -> None:
    ids = [s.id for s in steps]
    table = ProcedureTable(meta=None, steps=tuple(steps))  # type: ignore[arg-type]

    def bad(step: StepRow, col: str, vi: str, en: str, hint: str, hint_vi: str) -> None:
        errors.add(_problem(f"invalid_step_{col}", f"Bước {step.id}, cột {col}: {vi}", f"step {step.id}, column {col}: {en}",
                            hint, hint_vi, line=step.line, field_name=col, element_id=step.id))

    targets_ok = True
    for step in steps:
        for outcome, target in step.outcomes.items():
            if target == "next":
                if table.next_of(step.id) is None:
                    bad(step, "outcomes", f"kết quả '{outcome}' trỏ tới bước kế tiếp nhưng đây là bước cuối",
                        f"outcome '{outcome}' goes to the next step but this is the last row", "name a step id instead",
                        "ghi mã một bước thay cho next")
                    targets_ok = False
            elif target not in ids:
                bad(step, "outcomes", f"kết quả '{outcome}' trỏ tới bước không tồn tại '{target}'",
                    f"outcome '{outcome}' goes to unknown step '{target}'", "use 'next' or an id from the id column",
                    "dùng 'next' hoặc một mã trong cột id")
                targets_ok = False
            elif target == step.id:
                bad(step, "outcomes", "một kết quả trỏ về chính bước này", "an outcome loops to the step itself",
                    "route the loop through another step (e.g. the citizen supplements)",
                    "cho vòng lặp đi qua một bước khác (ví dụ công dân bổ sung hồ sơ)")
                targets_ok = False
        if step.then and step.then not in ids:
            bad(step, "then", f"bước không tồn tại '{step.then}'", f"unknown step '{step.then}'", "use an id from the id column",
                "dùng một mã trong cột id")
            targets_ok = False
        elif step.then == step.id:
            bad(step, "then", "bước trỏ về chính nó", "the step jumps to itself", "point to another step",
                "trỏ tới một bước khác")
            targets_ok = False
    if not targets_ok:
        return
    reached = {steps[0].id}
    frontier = [steps[0]]
    while frontier:
        current = frontier.pop()
        for target in table.successors(current):
            if target not in reached:
                reached.add(target)
                frontier.append(table.step(target))
    for step in steps:
        if step.id not in reached:
            bad(step, "id", "không có đường nào dẫn tới bước này", "no path from the first step reaches this step",
                "the row before it ends or jumps elsewhere: add it to an 'outcomes' or 'then' of another step",
                "dòng trước nó kết thúc hoặc chuyển đi nơi khác: thêm bước này vào 'outcomes' hoặc 'then' của bước khác")
    # every step must be able to finish the procedure (no endless loops)
    can_end = {s.id for s in steps if table.is_end(s)}
    changed = True
    while changed:
        changed = False
        for step in steps:
            if step.id not in can_end and any(t in can_end for t in table.successors(step)):
                can_end.add(step.id)
                changed = True
    for step in steps:
        if step.id in reached and step.id not in can_end:
            bad(step, "then", "từ bước này không thể kết thúc thủ tục", "the procedure can never end from this step",
                "give one of the steps on this loop an exit, or mark a step 'end: true'",
                "cho một bước trong vòng lặp này lối ra, hoặc đánh dấu một bước 'end: true'")
