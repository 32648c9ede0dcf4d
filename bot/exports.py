"""Excel workbooks (openpyxl) for the people who file reports: the cases with filters, the clue ledger (for the
inspectors only: written to a file, never sent through a group) and the monthly assessment. Chinese headers;
dates are real date cells (local time, with a number format), rates are percentages, durations hours."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlite_utils import Database

from bot import cases, clue_ledger
from bot.assessment import Assessment, Score, month_bounds
from bot.cases import KIND_NAMES, LEVEL_NAMES, STATUS_NAMES, Case
from bot.clock import local
from bot.config import Config
from bot.roles import Roles

DATE_TIME = "yyyy-mm-dd hh:mm"
PERCENT = "0.0%"
HOURS = "0.0"


@dataclass(frozen=True)
class Column:
    header: str
    width: int = 12
    format: str | None = None


def sheet(book: Workbook, title: str, columns: list[Column], rows: Iterable[list[Any]], *, first: bool = False):
    ws = book.active if first else book.create_sheet()
    ws.title = title
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for values in rows:
        ws.append([_cell(v) for v in values])
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = column.width
        if column.format:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = column.format
    ws.freeze_panes = "A2"
    return ws


def _cell(value: Any) -> Any:
    # Excel has no time zones: a moment is written as the local (Asia/Shanghai) wall time it was.
    return local(value).replace(tzinfo=None) if isinstance(value, datetime) else value


def to_bytes(book: Workbook) -> bytes:
    """The workbook as an .xlsx file's bytes, for a download."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def save(book: Workbook, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


# --- cases ---------------------------------------------------------------------------------------------

CASE_COLUMNS = [Column("编号", 8), Column("镇（街道）", 10), Column("村（社区）", 12), Column("类型", 12),
                Column("状态", 10), Column("办理层级", 12), Column("收到时间", 17, DATE_TIME),
                Column("办理期限", 17, DATE_TIME), Column("首次回应", 17, DATE_TIME), Column("办结时间", 17, DATE_TIME),
                Column("是否超期", 8), Column("经办人", 14), Column("交办部门", 14), Column("督办", 6),
                Column("评价", 8), Column("诉求内容", 50)]


def cases_workbook(db: Database, config: Config, now: datetime, *, town: str | None = None,
                   village: str | None = None, month: str | None = None, statuses: Iterable[str] = ()) -> Workbook:
    """Requests (never clues), filtered by town, village, month of receipt and status."""
    start, end = month_bounds(month) if month else (None, None)
    found = cases.find(db, town=town, village=village, statuses=statuses, since=start)
    return case_book([c for c in found if not (end and c.received_at >= end)], config, now)


def case_book(found: Iterable[Case], config: Config, now: datetime) -> Workbook:
    """The given requests, one row each (the desk passes the list its filters chose)."""
    roles = Roles(config)
    rows = []
    for c in found:
        if c.confidential:
            continue           # a clue is never a row of the case export, whoever asks
        holder = roles.person(c.assignee) if c.assignee else None
        late = c.overdue(now) or bool(c.answered_at and c.answered_at > c.due_at)
        rows.append([int(c.number) if c.number.isdigit() else c.number, c.town, c.village, KIND_NAMES[c.kind],
                     STATUS_NAMES.get(c.status, c.status), LEVEL_NAMES[c.level], c.received_at, c.due_at,
                     c.first_response_at, c.answered_at, "是" if late else "否",
                     holder.display if holder else "", c.department or "", "是" if c.supervised else "",
                     c.rating or "", c.text])
    book = Workbook()
    sheet(book, "诉求", CASE_COLUMNS, rows, first=True)
    return book


# --- the clue ledger -----------------------------------------------------------------------------------

CLUE_COLUMNS = [Column("线索编号", 11), Column("镇（街道）", 10), Column("来源村（社区）", 12),
                Column("收到时间", 17, DATE_TIME), Column("当前环节", 12), Column("处置方式", 12),
                Column("结论", 8), Column("诬告陷害待查", 10), Column("澄清正名", 14), Column("办结时间", 17, DATE_TIME),
                Column("线索内容", 50), Column("处置经过", 70)]
STEP_COLUMNS = [Column("线索编号", 11), Column("时间", 17, DATE_TIME), Column("环节", 12), Column("经办人", 16),
                Column("理由或说明", 60)]


def clues_workbook(db: Database, config: Config, now: datetime, *, town: str | None = None,
                   month: str | None = None) -> Workbook:
    """The ledger: one row per clue with its history in one cell, and a second sheet with one row per step."""
    start, end = month_bounds(month) if month else (None, None)
    return ledger_book(clue_ledger.entries(db, config, now, town=town, received_from=start, received_before=end))


def ledger_book(ledger: Iterable[clue_ledger.ClueEntry]) -> Workbook:
    rows, steps = [], []
    for e in ledger:
        disposal = next((s.action for s in e.steps if s.action in clue_ledger.DISPOSALS), "")
        closed = next((s.at for s in e.steps if s.action == "办结"), None)
        story = "\n".join(f"{local(s.at):%Y-%m-%d %H:%M} {s.action}（{s.actor}）" + (f"：{s.note}" if s.note else "")
                          for s in e.steps)
        rows.append([e.number, e.town, e.village, e.received_at, e.stage, disposal, e.outcome or "",
                     "是" if e.flagged else "", e.cleared or "", closed, e.text, story])
        steps += [[e.number, s.at, s.action, s.actor, s.note] for s in e.steps]
    book = Workbook()
    ws = sheet(book, "线索台账", CLUE_COLUMNS, rows, first=True)
    for (cell,) in ws.iter_rows(min_row=2, min_col=len(CLUE_COLUMNS), max_col=len(CLUE_COLUMNS)):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet(book, "处置记录", STEP_COLUMNS, steps)
    return book


# --- the assessment ------------------------------------------------------------------------------------

SCORE_COLUMNS = [Column("受理诉求数", 10), Column("首次响应中位数（小时）", 12, HOURS), Column("应办结数", 9),
                 Column("按期办结数", 10), Column("按期办结率", 10, PERCENT), Column("上报数", 8),
                 Column("1个工作日内上报数", 12), Column("按时上报率", 10, PERCENT), Column("评价数", 8),
                 Column("满意数", 8), Column("满意率", 8, PERCENT), Column("重新办理数", 10), Column("被催办次数", 10)]


def _measures(s: Score) -> list[Any]:
    hours = s.first_response.total_seconds() / 3600 if s.first_response is not None else None
    return [s.received, hours, s.decided, s.on_time, s.on_time_rate, s.passed_up, s.passed_up_in_time,
            s.passed_up_rate, s.rated, s.satisfied, s.satisfaction_rate, s.reopened, s.nags]


def assessment_workbook(assessment: Assessment) -> Workbook:
    book = Workbook()
    head = [Column("月份", 9), Column("镇（街道）", 10), Column("村（社区）", 12)]
    sheet(book, "各村（社区）", head + SCORE_COLUMNS,
          ([s.month, s.town, s.village, *_measures(s)] for s in assessment.villages), first=True)
    sheet(book, "各干部", head + [Column("干部", 16)] + SCORE_COLUMNS,
          ([s.month, s.town, s.village, s.cadre, *_measures(s)] for s in assessment.cadres))
    return book
