"""Procedure tables as provinces publish them: the annex of a "Quyết định công bố danh mục
thủ tục hành chính" or an export of the national procedure database, as an Excel workbook
(.xlsx) or a Word document (.docx).

Such a file holds
- a catalogue (danh mục) table: STT, mã TTHC, tên thủ tục, lĩnh vực (a column, or section
  rows such as "I. Lĩnh vực Hộ tịch"), thời hạn giải quyết, địa điểm, phí/lệ phí, căn cứ
  pháp lý, and optionally thành phần hồ sơ and kết quả;
- for each procedure an internal process (quy trình nội bộ) table: bước, nội dung công
  việc, trách nhiệm (bộ phận), thời gian, and optionally biểu mẫu/kết quả; the procedure
  it belongs to is named (by its code) in the title above the table, or by the sheet name;
- optionally a components table per procedure: tên giấy tờ, bản chính/bản sao, số lượng.

Headings are matched accent- and case-insensitively with the usual variants; posts and
fields by their Vietnamese names (current or former) or registry codes; time limits and
step times from the phrases provinces use ("ngay trong ngày tiếp nhận", "03 ngày làm
việc", "15 ngày", "trường hợp cần xác minh thì ..." as a conditional limit). Every cell
that cannot be mapped is reported with its sheet/table and row and the reason, in
Vietnamese and English; a file with any such row is refused whole (nothing is returned).
Nothing is guessed: a step whose kind or post cannot be told is a reported row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.domain import vocabulary as v
from engine.domain.fields import resolve_field
from engine.domain.roles import resolve_role
from engine.domain.textmatch import fold
from engine.errors import InvalidInput, Problem
from engine.procedure import table_facts as facts
from engine.procedure.table_model import ProcedureTable, _build

PROVINCE_SUFFIXES = (".xlsx", ".docx")
MAX_FILE_BYTES = 10 * 1024 * 1024

# canonical column -> heading variants (folded); the longest matching variant wins
CATALOGUE_HEADINGS = {
    "stt": ("stt", "so thu tu", "tt"),
    "code": ("ma tthc", "ma thu tuc", "ma thu tuc hanh chinh", "ma so", "ma so tthc", "ma so thu tuc", "ma"),
    "name": ("ten thu tuc hanh chinh", "ten thu tuc", "ten tthc", "thu tuc hanh chinh"),
    "field": ("linh vuc",),
    "time_limit": ("thoi han giai quyet", "thoi gian giai quyet", "thoi han"),
    "place": ("dia diem thuc hien", "noi thuc hien", "dia diem", "co quan thuc hien", "noi tiep nhan",
              "dia diem tiep nhan"),
    "fee": ("phi le phi", "le phi", "phi", "phi le phi neu co", "muc phi le phi"),
    "legal_basis": ("can cu phap ly", "can cu"),
    "components": ("thanh phan ho so",),
    "result": ("ket qua thuc hien", "ket qua giai quyet", "ket qua"),
    "note": ("ghi chu",),
}
STEP_HEADINGS = {
    "step": ("buoc", "buoc thuc hien", "stt", "tt", "trinh tu"),
    "content": ("noi dung cong viec", "noi dung thuc hien", "noi dung", "cong viec", "noi dung cac buoc"),
    "role": ("trach nhiem", "trach nhiem thuc hien", "bo phan thuc hien", "bo phan", "nguoi thuc hien",
             "don vi nguoi thuc hien", "chuc danh", "bo phan trach nhiem", "can bo cong chuc thuc hien",
             "bo phan ca nhan thuc hien"),
    "duration": ("thoi gian", "thoi gian thuc hien", "thoi gian giai quyet", "thoi han"),
    "record": ("bieu mau ket qua", "bieu mau", "ket qua", "ho so bieu mau", "ket qua san pham", "mau bieu",
               "bieu mau ho so", "ho so ket qua"),
}
COMPONENT_HEADINGS = {
    "stt": ("stt", "tt"),
    "document": ("ten giay to", "thanh phan ho so", "giay to", "ten thanh phan ho so", "ten ho so"),
    "kind": ("loai ban", "hinh thuc", "ban chinh ban sao"),
    "original": ("ban chinh",),
    "copy": ("ban sao",),
    "count": ("so luong",),
    "form": ("mau don to khai", "mau don", "bieu mau"),
}
FIELD_SECTION = re.compile(r"^(?:[ivxlcdm]+|[a-z]|\d+)?\s*linh vuc\s+(.+)$")
CODE = re.compile(r"(?<![\d.])(\d\.\d{6})(?:\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})?(?![\d])")
PUBLICATION = re.compile(r"(?:Quyết định|QUYẾT ĐỊNH)[^\n]{0,20}?số[:\s]*\d+/[^\s,;]+(?:[^\n]{0,40}?ngày[^\n]{0,25}\d{4})?"
                         r"|Số[:\s]*\d+/QĐ-[^\s,;]+")


@dataclass
class Grid:
    """A table as read from the file: text cells, each row with its number in the sheet
    (or in the Word table), and the text written above it (titles, the sheet name)."""
    where_vi: str
    where_en: str
    rows: list[tuple[int, list[str]]]
    context: str = ""


@dataclass
class _Procedure:
    row: int
    grid: Grid
    meta: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] | None = None
    has_steps_table: bool = False


class _Problems:
    """One message per bad row: further reasons for the same row join its message."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.rejected_codes: set[str] = set()  # catalogue rows refused: their other tables are not reported again
        self._last: tuple[int, int | None] | None = None

    def add(self, grid: Grid | None, row: int | None, column: str, vi: str, en: str, hint: str = "") -> None:
        key = (id(grid), row)
        if row is not None and self.items and self._last == key:
            last = self.items[-1]
            self.items[-1] = Problem(last.code, f"{last.message_vi}; {vi}", f"{last.message_en}; {en}",
                                     "; ".join(h for h in (last.hint, hint) if h), line=last.line, field=last.field)
            return
        self._last = key
        where_vi = f"{grid.where_vi}, dòng {row}" if grid and row else (grid.where_vi if grid else "tệp")
        where_en = f"{grid.where_en}, row {row}" if grid and row else (grid.where_en if grid else "file")
        self.items.append(Problem(f"province_{column}", f"{where_vi}: {vi}", f"{where_en}: {en}", hint,
                                  line=row, field=column))


# ---------------------------------------------------------------- reading the file


def read_grids(path: Path) -> tuple[list[Grid], str]:
    """The tables of an .xlsx or .docx file, and the file's own text outside them (where
    the publishing decision is named)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                               f"{path} lớn hơn {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                               hint="a procedure annex is a few hundred rows; check that this is the right file")
        if path.suffix.lower() == ".xlsx":
            return _xlsx_grids(path)
        return _docx_grids(path)
    except InvalidInput:
        raise
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", f"không đọc được {path}: {exc.strerror}",
                           hint="check the path") from None
    except Exception as exc:  # noqa: BLE001 - a damaged or mislabelled file: say so, never crash
        raise InvalidInput(f"{path} is not a readable {path.suffix} file: {exc}",
                           f"{path} không phải tệp {path.suffix} đọc được: {exc}",
                           hint="open it in Excel/Word and save it again as .xlsx/.docx") from None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\r", "").strip()


def _xlsx_grids(path: Path) -> tuple[list[Grid], str]:
    from openpyxl import load_workbook  # loaded on use: only province imports need it

    workbook = load_workbook(path, read_only=True, data_only=True)
    grids: list[Grid] = []
    loose: list[str] = []
    for sheet in workbook.worksheets:
        rows = [(index, [_cell_text(c) for c in row]) for index, row in
                enumerate(sheet.iter_rows(values_only=True), start=1)]
        grids += _split_sheet(sheet.title, rows, loose)
    workbook.close()
    return grids, "\n".join(loose)


def _split_sheet(title: str, rows: list[tuple[int, list[str]]], loose: list[str]) -> list[Grid]:
    """A sheet may hold several tables, each under its own title rows: a heading row starts
    a table, which runs until the next title or heading."""
    grids: list[Grid] = []
    context: list[str] = [title]
    current: Grid | None = None
    for number, cells in rows:
        filled = [c for c in cells if c]
        if not filled:
            continue
        if _table_kind(cells) is not None:
            current = Grid(f"trang tính '{title}'", f"sheet '{title}'", [(number, cells)], "\n".join(context))
            grids.append(current)
            context = [title]
        elif current is not None and not (len(filled) == 1 and CODE.search(filled[0]) and _table_after(rows, number)):
            current.rows.append((number, cells))
        else:
            context.append(" ".join(filled))
            loose.append(" ".join(filled))
            current = None
    return grids


def _table_after(rows: list[tuple[int, list[str]]], number: int) -> bool:
    """Is the next non-empty row after `number` a heading row (so this row titles a new table)?"""
    for n, cells in rows:
        if n > number and any(cells):
            return _table_kind(cells) is not None
    return False


def _docx_grids(path: Path) -> tuple[list[Grid], str]:
    from docx import Document  # loaded on use
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = Document(str(path))
    grids: list[Grid] = []
    paragraphs: list[str] = []
    loose: list[str] = []
    table_number = 0
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(block, document).text.strip()
            if text:
                paragraphs.append(text)
                loose.append(text)
        elif tag == "tbl":
            table_number += 1
            table = Table(block, document)
            rows = []
            for index, row in enumerate(table.rows, start=1):
                cells: list[str] = []
                previous = None
                for cell in row.cells:  # a merged cell comes back once per grid column: keep one
                    if previous is not None and cell._tc is previous:
                        cells.append("")
                    else:
                        cells.append(cell.text.strip())
                    previous = cell._tc
                rows.append((index, cells))
            grids.append(Grid(f"bảng {table_number}", f"table {table_number}", rows, "\n".join(paragraphs[-3:])))
            paragraphs = []
    return grids, "\n".join(loose)


# ---------------------------------------------------------------- headings


def _match_heading(text: str, headings: dict[str, tuple[str, ...]]) -> str | None:
    folded = fold(text)
    if not folded:
        return None
    best: tuple[int, str] | None = None
    for column, variants in headings.items():
        for variant in variants:
            if folded == variant or folded.startswith(variant + " "):
                if best is None or len(variant) > best[0]:
                    best = (len(variant), column)
    return best[1] if best else None


def _columns(cells: list[str], headings: dict[str, tuple[str, ...]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for index, text in enumerate(cells):
        column = _match_heading(text, headings)
        if column and column not in out:
            out[column] = index
    return out


def _table_kind(cells: list[str]) -> str | None:
    steps = _columns(cells, STEP_HEADINGS)
    if {"content", "role", "duration"} <= steps.keys():
        return "steps"
    catalogue = _columns(cells, CATALOGUE_HEADINGS)
    if "name" in catalogue and ("code" in catalogue or "time_limit" in catalogue):
        return "catalogue"
    components = _columns(cells, COMPONENT_HEADINGS)
    if "document" in components and ({"kind", "original", "copy", "count"} & components.keys()):
        return "components"
    return None


# ---------------------------------------------------------------- time phrases

_AMOUNT = r"(\d+(?:z\d+)?)"  # decimals kept through folding as 0z5
_UNIT = re.compile(_AMOUNT + r"\s*(ngay lam viec|ngay|gio lam viec|gio|phut|buoi)\b")


def _number(text: str) -> float:
    return float(text.replace("z", "."))


def _fold_numbers(text: str) -> str:
    """fold() but keeping decimals (`0,5` and `1/2` -> `0z5`), which folding would split."""
    text = re.sub(r"(?<!\d)1/2(?!\d)", "0.5", text)
    return fold(re.sub(r"(\d)[.,](\d)", r"\1z\2", text))


def _iso(hours: float) -> str:
    """Working hours -> ISO duration (P3D, P0.5D, PT4H, PT1H30M)."""
    days = hours / 8
    if days >= 0.5 and (days * 2).is_integer():
        return f"P{days:g}D"
    minutes = round(hours * 60)
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "")


def parse_step_time(text: str) -> str | None:
    """`04 giờ` -> PT4H, `0,5 ngày` / `1/2 ngày` / `01 buổi` -> P0.5D, `30 phút` -> PT30M,
    `01 ngày làm việc` -> P1D; several amounts add up. None when it cannot be read."""
    folded = _fold_numbers(text)
    hours = 0.0
    units = set()
    for amount, unit in _UNIT.findall(folded):
        n = _number(amount)
        units.add("day" if unit.startswith("ngay") or unit == "buoi" else "time")
        hours += n * 8 if unit.startswith("ngay") else n * 4 if unit == "buoi" else n if unit.startswith("gio") else n / 60
    if not units or hours <= 0:
        return None
    if units == {"day"} and (hours / 4).is_integer():  # written in days: keep days (0,5 ngày -> P0.5D)
        return f"P{hours / 8:g}D"
    minutes = round(hours * 60)
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "")


@dataclass(frozen=True)
class LimitReading:
    limit: str
    basis: str
    conditional: tuple[facts.ConditionalLimit, ...] = ()
    categories: dict[str, str] = field(default_factory=dict)


_SAME_DAY = ("ngay trong ngay", "trong ngay", "giai quyet ngay", "ngay khi nhan", "ngay sau khi nhan")


def _one_limit(folded: str) -> tuple[str, str] | None:
    match = _UNIT.search(folded)
    if match:
        n, unit = _number(match.group(1)), match.group(2)
        if unit == "ngay":
            if not n.is_integer():
                return None
            return f"P{int(n)}D", v.BASIS_CALENDAR
        if unit == "ngay lam viec":
            return f"P{n:g}D", v.BASIS_WORKING
        if unit.startswith("gio"):
            return f"PT{n:g}H", v.BASIS_WORKING
        return None
    if any(phrase in folded for phrase in _SAME_DAY):
        return "same-day", v.BASIS_WORKING
    return None


_CONDITION_START = re.compile(r"(?i)(?:^|[\s;.,(-])(trường hợp|truong hop|đối với|doi voi|nếu|neu)\s")


def parse_time_limit(text: str) -> LimitReading | None:
    """A catalogue's "thời hạn giải quyết" cell -> the limit, its basis and the conditional
    limits ("Trường hợp cần xác minh thì không quá 05 ngày làm việc"), with the limit for
    remote communes as a category limit. None when the main limit cannot be read."""
    text = " ".join(text.split())
    starts = [m.start(1) for m in _CONDITION_START.finditer(text)]
    main = text[: starts[0]] if starts else text
    parsed = _one_limit(_fold_numbers(main))
    if parsed is None:
        return None
    limit, basis = parsed
    conditional: list[facts.ConditionalLimit] = []
    categories: dict[str, str] = {}
    for index, start in enumerate(starts):
        segment = text[start: starts[index + 1] if index + 1 < len(starts) else len(text)].strip(" ;.,")
        folded = _fold_numbers(segment)
        if "sau 15 gio" in folded or "sau 15h" in folded:
            continue  # the 15:00 cut-off of same-day limits: the calendar applies it already
        reading = _one_limit(folded)
        if reading is None:
            raise ValueError(segment)
        extra_limit, extra_basis = reading
        if "them" in folded.split() and extra_limit != "same-day" and limit != "same-day" and extra_basis == basis:
            base = v.parse_working_duration(limit) if basis == v.BASIS_WORKING else None
            if base is not None:
                extra_limit = _iso((base + v.parse_working_duration(extra_limit)).total_seconds() / 3600)
            else:
                extra_limit = f"P{int(limit[1:-1]) + int(extra_limit[1:-1])}D"
        condition = re.split(r"(?i)\s+(?:thì|thi)\s+", segment, maxsplit=1)[0]
        if any(word in folded for word in ("vung sau", "vung xa", "mien nui", "hai dao", "dac biet kho khan")) \
                and extra_basis == basis:
            categories["mountainous"] = extra_limit
        else:
            conditional.append(facts.ConditionalLimit(condition, extra_limit, extra_basis))
    return LimitReading(limit, basis, tuple(conditional), categories)


# ---------------------------------------------------------------- steps

# what a step does, told by the words of its content; first match wins (order matters)
STEP_KINDS = (
    ("return_result", ("tra ket qua", "tra giay", "ban giao ket qua")),
    ("receive", ("tiep nhan",)),
    ("sign", ("ky ", "ky,", "phe duyet", "duyet ", "ky duyet", "ky ban hanh", "ky giay", "ky quyet dinh")),
    ("appraise", ("tham dinh", "kiem tra", "xem xet", "thu ly", "xac minh", "giai quyet ho so", "xu ly ho so",
                  "to chuc hoa giai", "doi thoai")),
    ("draft", ("du thao", "soan thao", "trinh ", "in giay", "nhap du lieu", "nhap thong tin", "chuyen ho so",
               "vao so", "cap nhat", "dong dau", "phat hanh", "ghi vao so", "lap danh sach", "tong hop")),
)
STEP_FORMS = {"receive": "common_receive", "appraise": "common_appraise", "review": "common_review",
              "draft": "common_draft", "sign": "common_sign", "return_result": "common_return"}
SUPPLEMENT = {"id": "citizen_supplement", "name": "Công dân bổ sung, hoàn thiện hồ sơ", "role": "one_stop_clerk",
              "duration": "P5D", "form": "common_supplement", "clock": "paused", "status": 5,
              "record": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (mẫu 02)"}
REFUSAL = {"id": "return_refusal", "name": "Trả văn bản từ chối, nêu rõ lý do", "role": "one_stop_clerk",
           "duration": "PT2H", "form": "common_return_refusal", "status": 9, "end": True,
           "record": "Phiếu từ chối giải quyết hồ sơ (mẫu 03)", "end_name": "Đã trả văn bản từ chối"}
ADDED_STEPS_NOTE = ("các bước công dân bổ sung hồ sơ và trả văn bản từ chối do isoflow thêm theo cơ chế một cửa "
                    "(Nghị định 118/2025/NĐ-CP); bảng của tỉnh chỉ ghi đường đi chính")


def step_kind(content: str) -> str | None:
    """The kind whose words come first in the content ("Thẩm định hồ sơ, trình ký" examines;
    "Ký Giấy chứng nhận" signs); None when no kind's words occur."""
    folded = " " + fold(content) + " "
    best: tuple[int, int, str] | None = None
    for rank, (kind, words) in enumerate(STEP_KINDS):
        for word in words:
            at = folded.find(" " + word)
            if at >= 0 and (best is None or (at, rank) < best[:2]):
                best = (at, rank, kind)
    return best[2] if best else None


def _steps(procedure: _Procedure, grid: Grid, problems: _Problems) -> None:
    header_number, header = grid.rows[0]
    columns = _columns(header, STEP_HEADINGS)
    rows: list[dict[str, Any]] = []
    used: dict[str, int] = {}
    problems_before = len(problems.items)
    for number, cells in grid.rows[1:]:
        def cell(column: str) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        content, role_text, time_text = cell("content"), cell("role"), cell("duration")
        if not (content or role_text or time_text):
            continue
        if fold(content) in ("tong", "tong cong", "tong thoi gian") or fold(cell("step")) in ("tong", "tong cong"):
            continue  # the total row: the validator adds the steps up itself
        bad_before = len(problems.items)
        kind = step_kind(content)
        if kind is None:
            problems.add(grid, number, "content", f"không xác định được loại bước từ nội dung '{content}'",
                         f"cannot tell the kind of step from '{content}'",
                         "start the content with Tiếp nhận, Thẩm định/Kiểm tra, Dự thảo/Trình, Ký/Phê duyệt or Trả kết quả")
        role = resolve_role(role_text)
        if role is None:
            problems.add(grid, number, "role", f"không nhận ra chức danh, bộ phận '{role_text}'",
                         f"unknown post or unit '{role_text}'",
                         "one post per row, e.g. Công chức Tư pháp - Hộ tịch, Trung tâm Phục vụ hành chính công, "
                         "Chủ tịch UBND xã (engine/domain/roles.py lists the names)")
        duration = parse_step_time(time_text)
        if duration is None:
            problems.add(grid, number, "duration", f"không đọc được thời gian '{time_text}'",
                         f"cannot read the time '{time_text}'", "write e.g. 04 giờ, 0,5 ngày, 01 ngày làm việc, 30 phút")
        if len(problems.items) > bad_before:
            continue
        if kind == "appraise" and any(r["kind"] == "appraise" for r in rows):
            kind = "review"  # a second examination: agree or refuse, the citizen's supplementing loops to the first
        used[kind] = used.get(kind, 0) + 1
        step_id = kind if used[kind] == 1 else f"{kind}_{used[kind]}"
        row: dict[str, Any] = {"id": step_id, "name": content.splitlines()[0].strip(" -+"), "role": role,
                               "duration": duration, "form": STEP_FORMS[kind], "kind": kind, "line": number}
        if cell("record"):
            row["record"] = "; ".join(part.strip(" -+") for part in cell("record").splitlines() if part.strip(" -+"))
        rows.append(row)
    if not rows or len(problems.items) > problems_before:
        return  # the shape of the process is judged once its rows read
    kinds = [r["kind"] for r in rows]
    if kinds[0] != "receive" or kinds[-1] != "return_result":
        problems.add(grid, header_number, "content",
                     "quy trình phải bắt đầu bằng bước tiếp nhận và kết thúc bằng bước trả kết quả",
                     "the process must start with reception and end with returning the result",
                     "add the rows Tiếp nhận hồ sơ ... and Trả kết quả ...")
        return
    appraises = "appraise" in kinds
    for r in rows:
        kind = r.pop("kind")
        if kind == "appraise":
            r["outcomes"] = {"approve": "next", "supplement": "citizen_supplement", "refuse": "return_refusal"}
        elif kind in ("sign", "review"):
            r["outcomes"] = {"approve": "next", "refuse": "return_refusal"}
        elif kind == "return_result":
            r.update(status=9, end=True, end_name="Đã trả kết quả")
    if not appraises:
        problems.add(grid, header_number, "content", "quy trình không có bước thẩm định, kiểm tra hồ sơ",
                     "the process has no examination step", "add the row Thẩm định/Kiểm tra hồ sơ ...")
        return
    supplement = dict(SUPPLEMENT, then=next(r["id"] for r in rows if r.get("outcomes", {}).get("supplement")))
    refusal = dict(REFUSAL, duration=rows[-1]["duration"])  # the desk's return act, as long as returning the result
    procedure.steps = rows + [supplement, refusal]


def _components(grid: Grid, problems: _Problems) -> list[dict[str, Any]]:
    header = grid.rows[0][1]
    columns = _columns(header, COMPONENT_HEADINGS)
    out: list[dict[str, Any]] = []
    for number, cells in grid.rows[1:]:
        def cell(column: str) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        name = cell("document")
        if not name:
            continue
        original, copy = cell("original"), cell("copy")
        kind, count = None, None
        if "kind" in columns:
            kind = facts.component_kind(cell("kind"))
            count = cell("count") or "1"
        elif "original" in columns or "copy" in columns:
            n_original = int(original) if original.isdigit() else 0
            n_copy = int(copy) if copy.isdigit() else 0
            kind = "original" if n_original and not n_copy else "copy" if n_copy and not n_original else None
            if n_original and n_copy:
                kind = "original_or_copy"
            count = str(max(n_original, n_copy)) if kind else None
        elif "count" in columns:  # the national database's "Bản chính: 1 - Bản sao: 0"
            found = dict(re.findall(r"(ban chinh|ban sao)\s*:?\s*(\d+)", fold(cell("count"))))
            n_original, n_copy = int(found.get("ban chinh", 0)), int(found.get("ban sao", 0))
            kind = ("original_or_copy" if n_original and n_copy else "original" if n_original
                    else "copy" if n_copy else None)
            count = str(max(n_original, n_copy)) if kind else None
        if kind is None or count is None or not count.isdigit() or int(count) < 1:
            problems.add(grid, number, "components", f"giấy tờ '{name}': không rõ bản chính hay bản sao, bao nhiêu bản",
                         f"document '{name}': original or copy, and how many, cannot be read",
                         "fill Bản chính / Bản sao with the number of copies, or Số lượng as 'Bản chính: 1 - Bản sao: 0'")
            continue
        out.append({"name": " ".join(name.split()).strip(" -+"), "kind": kind, "count": int(count)})
    return out


def _components_in_cell(text: str, grid: Grid, number: int, problems: _Problems) -> list[dict[str, Any]] | None:
    """A catalogue cell listing components, one per line: `Tờ khai ... (bản chính, 01 bản)`."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip(" -+•;")
        if not line:
            continue
        match = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", line)
        kind = count = None
        if match:
            parts = [p.strip() for p in re.split(r"[,;]", match.group(2))]
            kind = facts.component_kind(parts[0])
            numbers = [int(n) for p in parts[1:] for n in re.findall(r"\d+", p)]
            count = numbers[0] if numbers else 1
        if kind is None:
            problems.add(grid, number, "components", f"thành phần hồ sơ '{line}': không rõ bản chính hay bản sao",
                         f"component '{line}': original or copy is not stated",
                         "write each document as 'Tên giấy tờ (bản chính, 01 bản)' on its own line")
            return None
        out.append({"name": match.group(1).strip(), "kind": kind, "count": count})  # type: ignore[union-attr]
    return out


# ---------------------------------------------------------------- the catalogue


def _catalogue(grid: Grid, source: str, problems: _Problems) -> list[_Procedure]:
    columns = _columns(grid.rows[0][1], CATALOGUE_HEADINGS)
    section_field: str | None = None
    out: list[_Procedure] = []
    for number, cells in grid.rows[1:]:
        filled = [c for c in cells if c]
        if not filled:
            continue
        stt = columns.get("stt")
        texts = {fold(c) for i, c in enumerate(cells) if c and i != stt}
        if len(texts) <= 1 and not CODE.search(" ".join(filled)):
            # a section row ("I | LĨNH VỰC HỘ TỊCH"), often merged across the columns, or a title
            match = FIELD_SECTION.match(next(iter(texts), ""))
            if match:
                section_field = resolve_field(match.group(1))
                if section_field is None:
                    problems.add(grid, number, "field", f"lĩnh vực '{filled[0]}' không có trong danh mục",
                                 f"unknown field '{filled[0]}'", "fields: engine/domain/fields.py (Vietnamese names accepted)")
            continue  # other one-cell rows are titles ("A. Thủ tục hành chính cấp xã")

        def cell(column: str) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        name = " ".join(cell("name").split())
        bad_before = len(problems.items)
        code_match = CODE.search(cell("code"))
        if not code_match:
            problems.add(grid, number, "code", f"mã thủ tục '{cell('code')}' không đúng dạng",
                         f"procedure code '{cell('code')}' is not like 1.000894",
                         "the national code: one digit, a dot, six digits (1.000894 or 1.000894.000.00.00.H12)")
        if not name:
            problems.add(grid, number, "name", "thiếu tên thủ tục", "missing procedure name")
        field_text = cell("field")
        field_code = resolve_field(field_text) if field_text else section_field
        if field_text and field_code is None:
            problems.add(grid, number, "field", f"lĩnh vực '{field_text}' không có trong danh mục",
                         f"unknown field '{field_text}'", "fields: engine/domain/fields.py (Vietnamese names accepted)")
        elif field_code is None:
            problems.add(grid, number, "field", "không biết thủ tục thuộc lĩnh vực nào",
                         "the procedure's field is not given",
                         "add a Lĩnh vực column or a section row 'I. Lĩnh vực ...' above the rows")
        limit_text = cell("time_limit")
        try:
            reading = parse_time_limit(limit_text)
            unreadable = ""
        except ValueError as exc:
            reading, unreadable = None, str(exc)
        if reading is None:
            problems.add(grid, number, "time_limit",
                         f"không đọc được thời hạn '{unreadable or limit_text}'",
                         f"cannot read the time limit '{unreadable or limit_text}'",
                         "write e.g. 'Ngay trong ngày tiếp nhận', '03 ngày làm việc', '15 ngày', "
                         "'...; trường hợp cần xác minh thì không quá 05 ngày làm việc'")
        fee = " ".join(cell("fee").split())
        if not fee:
            problems.add(grid, number, "fee", "ô phí, lệ phí để trống", "the fee cell is empty",
                         "write 'Không' when there is no fee, or the amount / the council's resolution")
        basis = "; ".join(" ".join(line.split()).strip(" -+;") for line in cell("legal_basis").splitlines()
                          if line.strip(" -+;"))
        if not basis:
            problems.add(grid, number, "legal_basis", "thiếu căn cứ pháp lý", "missing legal basis",
                         "name the laws, decrees and circulars the procedure rests on")
        components = None
        if cell("components"):
            components = _components_in_cell(cell("components"), grid, number, problems)
        if len(problems.items) > bad_before or reading is None or code_match is None:
            if code_match:
                problems.rejected_codes.add(code_match.group(1))
            continue
        meta: dict[str, Any] = {
            "code": code_match.group(1), "name": name, "field": field_code, "time_limit": reading.limit,
            "time_basis": reading.basis, "legal_basis": basis, "fee": _fee(fee),
        }
        for category, limit in reading.categories.items():
            meta[v.CATEGORY_LIMIT_PREFIX + category] = limit
        if reading.conditional:
            meta["conditional_limits"] = [c.as_dict() for c in reading.conditional]
        if cell("result"):
            meta["result"] = " ".join(cell("result").split())
        if cell("place"):
            meta["description"] = "Địa điểm thực hiện: " + " ".join(cell("place").split())
        evidence = source or "unconfirmed: tệp không ghi văn bản công bố (Quyết định số ...)"
        meta["evidence"] = {fact: evidence for fact in ("code", "name", "time_limit", "fee", "legal_basis")}
        if reading.conditional:
            meta["evidence"]["conditional_limits"] = evidence
        if cell("result"):
            meta["evidence"]["result"] = evidence
        if source:
            meta["sources"] = [{"title": source, "note": "danh mục và quy trình nội bộ do tỉnh công bố"}]
        out.append(_Procedure(number, grid, meta, components=components))
    return out


def _fee(text: str) -> str:
    folded = fold(text)
    if folded in ("khong", "khong co", "mien phi", "mien", "khong thu", "khong quy dinh"):
        return "Không"
    return text


# ---------------------------------------------------------------- the file


def read_province_file(path: str | Path, source: str = "") -> list[ProcedureTable]:
    """Every procedure of a province's .xlsx/.docx annex as a checked ProcedureTable; raise
    InvalidInput listing every row that could not be mapped (then nothing is returned)."""
    p = Path(path)
    grids, loose_text = read_grids(p)
    problems = _Problems()
    if not source:
        found = PUBLICATION.search(loose_text)
        source = " ".join(found.group(0).split()) if found else ""
    procedures: list[_Procedure] = []
    catalogues = [g for g in grids if _table_kind(g.rows[0][1]) == "catalogue"]
    if not catalogues:
        problems.add(None, None, "catalogue", "không có bảng danh mục thủ tục (cột Mã TTHC, Tên thủ tục, Thời hạn...)",
                     "no catalogue table (columns Mã TTHC, Tên thủ tục, Thời hạn giải quyết...)",
                     "see docs/import-table.md, section 'Provinces' tables'")
    for grid in catalogues:
        procedures += _catalogue(grid, source, problems)
    by_code = {proc.meta["code"]: proc for proc in procedures}
    for grid in grids:
        kind = _table_kind(grid.rows[0][1])
        if kind not in ("steps", "components"):
            continue
        codes = CODE.findall(grid.context)
        owner = by_code.get(codes[-1]) if codes else None
        if owner is None:
            folded_context = fold(grid.context)
            owner = next((proc for proc in procedures if fold(proc.meta["name"]) in folded_context), None)
        if owner is None and codes and codes[-1] in problems.rejected_codes:
            # its catalogue row is refused already; still report this table's own bad rows
            if kind == "steps":
                _steps(_Procedure(0, grid, {}), grid, problems)
            else:
                _components(grid, problems)
            continue
        if owner is None:
            what_vi = "bảng quy trình nội bộ" if kind == "steps" else "bảng thành phần hồ sơ"
            what_en = "internal process table" if kind == "steps" else "components table"
            problems.add(grid, grid.rows[0][0], "procedure",
                         f"{what_vi} không gắn được với thủ tục nào trong danh mục"
                         + (f" (mã {codes[-1]} không có trong danh mục)" if codes else ""),
                         f"the {what_en} belongs to no procedure of the catalogue"
                         + (f" (code {codes[-1]} is not in it)" if codes else ""),
                         "write the procedure code in the title above the table (or name the sheet by it)")
            continue
        if kind == "steps":
            if owner.has_steps_table:
                problems.add(grid, grid.rows[0][0], "procedure", f"thủ tục {owner.meta['code']} có hai bảng quy trình nội bộ",
                             f"procedure {owner.meta['code']} has two internal process tables", "keep one")
                continue
            owner.has_steps_table = True
            _steps(owner, grid, problems)
            if owner.steps:
                owner.meta.setdefault("unverified", []).append(ADDED_STEPS_NOTE)
        else:
            owner.components = (owner.components or []) + _components(grid, problems)
    tables: list[ProcedureTable] = []
    for proc in procedures:
        if not proc.steps:
            if not proc.has_steps_table:  # a table that was there but bad is reported already
                problems.add(proc.grid, proc.row, "procedure",
                             f"thủ tục {proc.meta['code']} chưa có bảng quy trình nội bộ",
                             f"procedure {proc.meta['code']} has no internal process table",
                             "add the quy trình nội bộ table under a title naming the procedure code")
            continue
        if proc.components:
            proc.meta["components"] = proc.components
            proc.meta["evidence"]["components"] = proc.meta["evidence"]["code"]
        else:
            proc.meta["evidence"]["components"] = "unconfirmed: bảng của tỉnh không ghi thành phần hồ sơ"
        lines = {"procedure": {key: proc.row for key in proc.meta}, "top": {},
                 "steps": [(s.pop("line", proc.row), {}) for s in proc.steps]}
        try:
            tables.append(_build(proc.meta, proc.steps, lines, slug_of(proc.meta), unknown_top=[]))
        except InvalidInput as exc:
            for problem in exc.problems:
                problems.add(proc.grid, problem.line, problem.field or "table", problem.message_vi, problem.message_en,
                             problem.hint)
    if problems.items:
        raise InvalidInput(
            f"{p.name}: {len(problems.items)} row(s) could not be mapped; nothing was imported",
            f"{p.name}: {len(problems.items)} dòng không chuyển được; chưa nhập thủ tục nào",
            problems=problems.items,
            hint="fix every listed row (format: docs/import-table.md, 'Provinces' tables'), then import again",
        )
    return tables


def slug_of(meta: dict[str, Any]) -> str:
    words = fold(meta.get("name", "")).split()
    return "-".join(words[:8]) or "procedure"
