"""Working-day arithmetic for legal deadlines, following the State Council's yearly holiday arrangement."""
from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path

import chinese_calendar
from tyme4py.lunar import LunarDay
from tyme4py.solar import SolarTerm

from bot import data
from bot.clock import Clock, SystemClock, local
from bot.wording import WEEKDAYS

log = logging.getLogger("xiaowei.workdays")

LIMITS: dict[str, int] = {"consult": 2, "help": 3, "suggestion": 5, "disclosure": 10, "escalation": 1}

FALLBACK_SOURCE = "无官方安排：按法定节假日和周末计算，调休未知"
CC_SOURCE = f"chinesecalendar {chinese_calendar.__version__} (国务院办公厅通知)"
_CC_YEARS = frozenset(d.year for d in chinese_calendar.holidays)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILE_KEYS = {"year", "source", "holidays", "workdays"}


class HolidayDataError(ValueError):
    """A holiday data file an admin dropped in is malformed; the message names the file and entry."""


@dataclass(frozen=True)
class YearTable:
    year: int
    source: str
    known: bool
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]


def _display(path: Path) -> str:
    """How an admin finds the file again: data/holidays/2027.toml for the shipped folder, else the full path."""
    shipped = Path(str(data("holidays")))
    return f"data/holidays/{path.name}" if path.resolve().parent == shipped.resolve() else str(path)


def _parse_dates(where: str, key: str, entries: object, year: int) -> set[date]:
    if not isinstance(entries, list):
        raise HolidayDataError(f"{where}：{key} 应为列表，如 [\"{year}-01-01\", \"{year}-02-05..{year}-02-13\"]")
    out: set[date] = set()
    for i, entry in enumerate(entries, 1):
        label = f"{where}：{key} 第 {i} 项 {entry!r}"
        # TOML's native date literals are accepted too; ranges must be strings.
        parts = [entry] if isinstance(entry, date) else str(entry).split("..")
        days: list[date] = []
        for part in parts:
            if isinstance(part, date) and not isinstance(part, datetime):
                days.append(part)
                continue
            text = str(part).strip()
            try:
                if not _DATE_RE.fullmatch(text):
                    raise ValueError
                days.append(date.fromisoformat(text))
            except ValueError:
                raise HolidayDataError(f"{label} 不是有效日期，应写成 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") from None
        if len(days) > 2 or (len(days) == 2 and days[0] > days[1]):
            raise HolidayDataError(f"{label} 不是有效区间，应写成 开始..结束，且开始不晚于结束")
        if any(d.year != year for d in days):
            raise HolidayDataError(f"{label} 不在 {year} 年内；其他年份的日期请写进对应年份的文件")
        first, last = days[0], days[-1]
        out.update(first + timedelta(n) for n in range((last - first).days + 1))
    return out


def load_year_file(path: Path) -> tuple[YearTable, str]:
    """Read and validate one `YEAR.toml`; returns the table and the notice it cites (may be empty)."""
    where = _display(path)
    if not re.fullmatch(r"\d{4}", path.stem):
        raise HolidayDataError(f"{where}：文件名应为 年份.toml，如 2027.toml")
    year = int(path.stem)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HolidayDataError(f"{where}：不是有效的 TOML（{exc}）") from None
    unknown = sorted(set(doc) - _FILE_KEYS)
    if unknown:
        raise HolidayDataError(f"{where}：无法识别的字段 {', '.join(unknown)}，可用字段 year, source, holidays, workdays")
    if doc.get("year") != year:
        raise HolidayDataError(f"{where}：year = {doc.get('year')!r} 与文件名年份 {year} 不符")
    if "holidays" not in doc:
        raise HolidayDataError(f"{where}：缺少 holidays 列表")
    holidays = _parse_dates(where, "holidays", doc["holidays"], year)
    workdays = _parse_dates(where, "workdays", doc.get("workdays", []), year)
    both = sorted(holidays & workdays)
    if both:
        raise HolidayDataError(f"{where}：{both[0].isoformat()} 同时出现在 holidays 和 workdays 中")
    weekdays = sorted(d for d in workdays if d.weekday() < 5)
    if weekdays:
        # Adjusted working days are always weekend days; a weekday here is almost surely a typo.
        d = weekdays[0]
        raise HolidayDataError(f"{where}：workdays 中的 {d.isoformat()} 是周{WEEKDAYS[d.weekday()]}，调休上班日应在周末")
    table = YearTable(year, where, True, tuple(sorted(holidays)), tuple(sorted(workdays)))
    return table, str(doc.get("source", ""))


@dataclass(frozen=True)
class _Law:
    revised: int  # the year of the revision of 全国年节及纪念日放假办法
    since: int  # the first whole year it governs
    spring: tuple[int, ...]  # 春节 as days after 正月初一; -1 is 除夕, whether the 12th month has 29 or 30 days
    labour: tuple[int, ...]  # 劳动节 days in May
    lunar_festivals: bool  # 清明, 端午 and 中秋 are holidays


# Each revision of the law; older ones are not modelled, so years before 2000 get no statutory days.
_LAWS = (
    _Law(1999, 2000, (0, 1, 2), (1, 2, 3), False),
    _Law(2007, 2008, (-1, 0, 1), (1,), True),
    _Law(2013, 2014, (0, 1, 2), (1,), True),
    _Law(2024, 2025, (-1, 0, 1, 2), (1, 2), True),
)


def _law(year: int) -> _Law | None:
    return next((law for law in reversed(_LAWS) if law.since <= year), None)


def statutory_law(year: int) -> str | None:
    """The law that fixes `year`'s statutory holidays, as a reader would cite it; None before 2000."""
    law = _law(year)
    return f"《全国年节及纪念日放假办法》（{law.revised} 年修订）" if law else None


def statutory_holidays(year: int) -> dict[date, str]:
    """The days off the law itself fixes for `year`, named; without the 调休, 补休 and extra days of the yearly notice.

    A day that is two holidays at once (中秋 on 1 October) is named after both, "中秋节、国庆节".
    """
    return dict(_statutory(year))


@lru_cache(maxsize=None)
def _statutory(year: int) -> tuple[tuple[date, str], ...]:
    law = _law(year)
    if law is None:
        return ()
    days: dict[date, list[str]] = {}

    def add(name: str, *on: date) -> None:
        for day in on:
            days.setdefault(day, []).append(name)

    def lunar(month: int, day: int) -> date:
        solar = LunarDay.from_ymd(year, month, day).get_solar_day()
        return date(solar.get_year(), solar.get_month(), solar.get_day())

    add("元旦", date(year, 1, 1))
    # 正月初一 falls between 21 January and 20 February, so the whole 春节 lies in the same calendar year.
    new_year = lunar(1, 1)
    add("春节", *(new_year + timedelta(n) for n in law.spring))
    if law.lunar_festivals:
        # the day in Beijing time, as China's calendars (and the State Council's notices) give it
        qingming = SolarTerm.from_name(year, "清明").get_solar_day()
        add("清明节", date(year, qingming.get_month(), qingming.get_day()))
    add("劳动节", *(date(year, 5, d) for d in law.labour))
    if law.lunar_festivals:
        add("端午节", lunar(5, 5))
        add("中秋节", lunar(8, 15))
    add("国庆节", *(date(year, 10, d) for d in (1, 2, 3)))
    return tuple((day, "、".join(names)) for day, names in sorted(days.items()))


def _chinesecalendar_table(year: int) -> YearTable:
    return YearTable(
        year, CC_SOURCE, True,
        tuple(sorted(d for d in chinese_calendar.holidays if d.year == year)),
        tuple(sorted(d for d in chinese_calendar.workdays if d.year == year)),
    )


class WorkCalendar:
    """Which days count as working days; data files override chinesecalendar.

    A year neither knows falls back to the statutory holidays the law fixes plus weekends: only the State
    Council's 调休 swaps and extra days are missing, which it warns about.
    """

    def __init__(self, holiday_dirs: Sequence[Path] | None = None, clock: Clock | None = None,
                 on_fallback: Callable[[int], None] | None = None):
        self._clock = clock or SystemClock()
        self._on_fallback = on_fallback
        self._tables: dict[int, YearTable] = {}
        self._sets: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self._notices: dict[int, str] = {}
        self._fallback_notified: dict[int, date] = {}
        # Files are read up front so a bad one stops the bot at start-up, not mid-deadline.
        # Later directories win, so a config-given directory can correct the shipped one.
        for directory in (Path(str(data("holidays"))),) if holiday_dirs is None else holiday_dirs:
            for path in sorted(Path(directory).glob("*.toml")):
                table, notice = load_year_file(path)
                self._tables[table.year] = table
                self._notices[table.year] = notice

    def table(self, year: int) -> YearTable:
        table = self._tables.get(year)
        if table is None:
            if year in _CC_YEARS:
                table = _chinesecalendar_table(year)
            else:
                # Computed once per year: the table is kept in self._tables like any other.
                table = YearTable(year, FALLBACK_SOURCE, False, tuple(sorted(statutory_holidays(year))), ())
            self._tables[year] = table
        if not table.known:
            self._notify_fallback(year)
        return table

    def notice(self, year: int) -> str:
        """The State Council notice a data file cites, or "" if none."""
        return self._notices.get(year, "")

    def _notify_fallback(self, year: int) -> None:
        today = local(self._clock.now()).date()
        if self._fallback_notified.get(year) == today:
            return
        self._fallback_notified[year] = today
        log.warning("no holiday arrangement for %d: counting statutory holidays and weekends only, adjusted "
                    "working days unknown; add data/holidays/%d.toml", year, year)
        if self._on_fallback is not None:
            try:
                self._on_fallback(year)
            except Exception:  # a failing alert must never break deadline computation
                log.exception("on_fallback(%d) failed", year)

    def is_workday(self, day: date) -> bool:
        table = self.table(day.year)
        sets = self._sets.get(day.year)
        if sets is None:
            sets = self._sets[day.year] = (frozenset(table.holidays), frozenset(table.workdays))
        holidays, workdays = sets
        return day in workdays or (day.weekday() < 5 and day not in holidays)

    def add_workdays(self, start: date, n: int) -> date:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        day = start
        while n:
            day += timedelta(days=1)
            n -= self.is_workday(day)
        return day

    def working_moment(self, at: datetime, start: time, end: time) -> datetime:
        """`at` if it falls within working hours [start, end) of a working day, else when they next begin."""
        day = at.date()
        if self.is_workday(day) and at.time() < end:
            return at if at.time() >= start else datetime.combine(day, start, at.tzinfo)
        day += timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, start, at.tzinfo)

    def break_ahead(self, day: date, within: int = 7) -> "HolidayBreak | None":
        """The holiday whose days off begin within `within` days of `day` (or are under way): its name, its whole
        run of days off (weekends joined to it included) and the adjusted working days (调休上班) around it."""
        for n in range(within + 1):
            off = day + timedelta(n)
            # A named day off, not a plain weekend (next year's table is read only once the days reach it).
            if self.is_workday(off) or off not in self.table(off.year).holidays:
                continue
            first, last = off, off
            while not self.is_workday(first - timedelta(1)) and first - timedelta(1) >= day - timedelta(10):
                first -= timedelta(1)
            while not self.is_workday(last + timedelta(1)):
                last += timedelta(1)
            near = set(self.table(first.year).workdays) | set(self.table(last.year).workdays)
            adjusted = tuple(sorted(d for d in near if first - timedelta(10) <= d <= last + timedelta(10)
                                    and d.weekday() >= 5))
            return HolidayBreak(_holiday_title(off), first, last, adjusted)
        return None

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative (the count in (end, start]) when end is before start."""
        if end < start:
            return -self.workdays_between(end, start)
        return sum(self.is_workday(start + timedelta(n)) for n in range(1, (end - start).days + 1))

    def add_work_hours(self, start: datetime, hours: float, work_start: time, work_end: time) -> datetime:
        """The moment `hours` of working time after `start`, counting only work_start..work_end on working days
        (local time): 4 working hours from Friday 16:00 end on Monday 11:00 with an 08:30–17:30 day."""
        left = timedelta(hours=hours)
        at = local(start)
        while True:
            opens, closes = (local(datetime.combine(at.date(), t)) for t in (work_start, work_end))
            if self.is_workday(at.date()) and at < closes:
                at = max(at, opens)
                if at + left <= closes:
                    return at + left
                left -= closes - at
            at = local(datetime.combine(at.date() + timedelta(days=1), work_start))

    def work_hours_between(self, start: datetime, end: datetime, work_start: time, work_end: time) -> float:
        """Working hours in [start, end) as add_work_hours counts them; 0 when end is not after start."""
        total = timedelta(0)
        at, end = local(start), local(end)
        while at < end:
            opens, closes = (local(datetime.combine(at.date(), t)) for t in (work_start, work_end))
            if self.is_workday(at.date()):
                span = min(end, closes) - max(at, opens)
                total += max(span, timedelta(0))
            at = local(datetime.combine(at.date() + timedelta(days=1), time(0)))
        return total.total_seconds() / 3600

    def due_at(self, kind: str, received_at: datetime, close: time = time(23, 59, 59)) -> datetime:
        if kind not in LIMITS:
            raise ValueError(f"未知类型 {kind}，可选 {', '.join(LIMITS)}")
        due = self.add_workdays(local(received_at).date(), LIMITS[kind])
        return local(datetime.combine(due, close.replace(tzinfo=None)))


@dataclass(frozen=True)
class HolidayBreak:
    name: str                     # 元旦 | 春节 | 国庆 …, as a notice says it ("元旦假期")
    first: date
    last: date
    adjusted: tuple[date, ...]    # weekend days worked instead (调休上班): they count


_SHORT = {"国庆节": "国庆", "中秋节": "中秋", "端午节": "端午", "清明节": "清明"}


def _holiday_title(day: date) -> str:
    name = holiday_name(day) or statutory_holidays(day.year).get(day) or "节假日"
    return "、".join(_SHORT.get(part, part) for part in name.split("、"))


def holiday_name(day: date) -> str | None:
    """The holiday (or the holiday a 调休 working day belongs to) as chinesecalendar names it, in Chinese."""
    value = chinese_calendar.holidays.get(day) or chinese_calendar.workdays.get(day)
    try:
        return chinese_calendar.Holiday(value).chinese if value else None
    except ValueError:
        return value


def official_years() -> tuple[int, int]:
    return min(_CC_YEARS), max(_CC_YEARS)


class Counted:
    """The calendar as `casework.pressing` uses it, its counts of working days kept for one run (a morning job): a
    province's cases share a few hundred deadlines, and each count walks the days between."""

    def __init__(self, calendar: WorkCalendar):
        self.workdays_between = cache(calendar.workdays_between)
        self.add_workdays = calendar.add_workdays
