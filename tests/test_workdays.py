"""Deadlines in working days across the 2026 holiday arrangement, data files, and the fallback for unknown years
(the statutory holidays the law fixes, plus weekends)."""
from __future__ import annotations

import io
import json
import logging
from datetime import date, datetime, time, timezone
from pathlib import Path

import chinese_calendar
import pytest

from bot import data
from bot.clock import TZ, ManualClock
from bot.cli import main as cli_main
from bot.cli.tools import print_deadline as deadline_main, year_lines
from bot.workdays import FALLBACK_SOURCE, LIMITS, HolidayDataError, WorkCalendar, statutory_holidays, statutory_law


def calendar_main(year: int, out, cal: WorkCalendar) -> int:
    """`xiaowei calendar YEAR` as it prints, with a calendar of the test's own."""
    print("\n".join(year_lines(cal, year)), file=out)
    return 0


@pytest.fixture
def cal(tmp_path: Path) -> WorkCalendar:
    # An empty directory keeps tests independent of whatever an admin put in data/holidays.
    return WorkCalendar(holiday_dirs=[tmp_path], clock=ManualClock("2026-12-28T09:00"))


def write_year(directory: Path, year: int, body: str) -> Path:
    path = directory / f"{year}.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_limits():
    assert LIMITS == {"consult": 2, "help": 3, "suggestion": 5, "disclosure": 10, "escalation": 1}


# 2026 per chinesecalendar 1.11.0: off Jan 1-3, Feb 15-23, Apr 4-6, May 1-5, Jun 19-21, Sep 25-27, Oct 1-7;
# adjusted working days Sun Jan 4, Sat Feb 14, Sat Feb 28, Sat May 9, Sun Sep 20, Sat Oct 10.
DEADLINES = [
    # the three legal examples
    ("consult", "2026-09-30T10:00", "2026-10-09"),  # Oct 1-7 off, Oct 8, 9
    ("help", "2026-02-13T10:00", "2026-02-25"),  # Sat Feb 14 works, Feb 15-23 off, Feb 24, 25
    ("escalation", "2026-05-08T10:00", "2026-05-09"),  # Sat May 9 works
    # derived
    ("disclosure", "2026-09-30T10:00", "2026-10-20"),  # Oct 8, 9, Sat 10, 12-16, 19, 20
    ("consult", "2026-10-01T10:00", "2026-10-09"),  # received on a holiday
    ("consult", "2026-10-04T10:00", "2026-10-09"),  # received on a Sunday inside a holiday
    ("help", "2026-03-07T10:00", "2026-03-11"),  # received on a plain Saturday: Mon 9, 10, 11
    ("help", "2026-02-14T10:00", "2026-02-26"),  # received on an adjusted working day, which itself is not counted
    ("consult", "2025-12-31T10:00", "2026-01-05"),  # Jan 1-3 off, Sun Jan 4 works, Mon Jan 5
    ("escalation", "2026-04-03T10:00", "2026-04-07"),  # Qingming Apr 4-6
    ("suggestion", "2026-04-30T10:00", "2026-05-11"),  # May 1-5 off, 6, 7, 8, Sat 9, Mon 11
    ("consult", "2026-06-18T10:00", "2026-06-23"),  # Dragon Boat Jun 19-21
    ("escalation", "2026-09-19T10:00", "2026-09-20"),  # Sun Sep 20 works
    ("help", "2026-09-24T10:00", "2026-09-30"),  # Mid-autumn Sep 25-27: 28, 29, 30
    ("consult", "2026-02-27T10:00", "2026-03-02"),  # Sat Feb 28 works, Sun Mar 1 off, Mon Mar 2
    ("disclosure", "2026-02-13T10:00", "2026-03-05"),  # Sat 14, 24-27, Sat 28, Mar 2-5
]


@pytest.mark.parametrize(("kind", "received", "due"), DEADLINES)
def test_deadline_table_2026(cal: WorkCalendar, kind: str, received: str, due: str):
    got = cal.due_at(kind, datetime.fromisoformat(received).replace(tzinfo=TZ))
    assert got == datetime.combine(date.fromisoformat(due), time(23, 59, 59), tzinfo=TZ)
    assert got.utcoffset().total_seconds() == 8 * 3600


def test_is_workday_2026(cal: WorkCalendar):
    assert not cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 2, 23))  # a Monday inside Spring Festival
    assert cal.is_workday(date(2026, 2, 14))  # adjusted Saturday
    assert cal.is_workday(date(2026, 9, 20))  # adjusted Sunday
    assert not cal.is_workday(date(2026, 3, 7))  # ordinary Saturday
    assert cal.is_workday(date(2026, 3, 9))


def test_receipt_just_before_and_after_midnight(cal: WorkCalendar):
    before = cal.due_at("consult", datetime(2026, 9, 29, 23, 59, tzinfo=TZ))
    after = cal.due_at("consult", datetime(2026, 9, 30, 0, 1, tzinfo=TZ))
    assert before.date() == date(2026, 10, 8)  # Sep 30, then straight to Oct 8
    assert after.date() == date(2026, 10, 9)


def test_receipt_in_other_timezone_and_naive(cal: WorkCalendar):
    # 16:01 UTC on Sep 29 is 00:01 on Sep 30 in Shanghai.
    utc = cal.due_at("consult", datetime(2026, 9, 29, 16, 1, tzinfo=timezone.utc))
    assert utc.date() == date(2026, 10, 9)
    naive = cal.due_at("consult", datetime(2026, 9, 29, 23, 59))
    assert naive.date() == date(2026, 10, 8) and naive.tzinfo is TZ


def test_custom_close_and_unknown_kind(cal: WorkCalendar):
    due = cal.due_at("escalation", datetime(2026, 5, 8, 10, tzinfo=TZ), close=time(17, 30))
    assert due == datetime(2026, 5, 9, 17, 30, tzinfo=TZ)
    with pytest.raises(ValueError, match="xyz.*consult, help, suggestion, disclosure, escalation"):
        cal.due_at("xyz", datetime(2026, 5, 8, 10, tzinfo=TZ))


def test_add_workdays_and_between(cal: WorkCalendar):
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    with pytest.raises(ValueError):
        cal.add_workdays(date(2026, 9, 30), 0)
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 9)) == 2
    assert cal.workdays_between(date(2026, 10, 9), date(2026, 10, 9)) == 0
    # overdue direction is the mirror image
    assert cal.workdays_between(date(2026, 10, 9), date(2026, 9, 30)) == -2
    for start, n in [(date(2026, 2, 13), 3), (date(2026, 4, 30), 5), (date(2026, 9, 30), 10)]:
        assert cal.workdays_between(start, cal.add_workdays(start, n)) == n


def test_table_from_chinesecalendar(cal: WorkCalendar):
    t = cal.table(2026)
    assert t is cal.table(2026)
    assert t.known and t.year == 2026 and t.source.startswith("chinesecalendar 1.11.0")
    assert date(2026, 10, 3) in t.holidays and len(t.holidays) == 33
    assert t.workdays == tuple(date(2026, m, d) for m, d in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)])
    assert list(t.holidays) == sorted(t.holidays)


# --- into 2027 -------------------------------------------------------------------------------------

# Test-only data for an imaginary 2027; the real arrangement is not known to us.
FAKE_2027 = """
year = 2027
source = "测试用"
holidays = ["2027-01-01..2027-01-03"]
workdays = ["2027-01-09"]
"""


def test_into_2027_without_data_file_uses_statutory_holidays_and_weekends(tmp_path: Path, caplog):
    calls: list[int] = []
    clock = ManualClock("2026-12-28T09:00")
    cal = WorkCalendar(holiday_dirs=[tmp_path], clock=clock, on_fallback=calls.append)
    with caplog.at_level(logging.WARNING, logger="xiaowei.workdays"):
        # Dec 29, 30, 31, Fri Jan 1 2027 is 元旦 by law, then Mon Jan 4, Tue Jan 5
        assert cal.due_at("suggestion", datetime(2026, 12, 28, 10, tzinfo=TZ)).date() == date(2027, 1, 5)
        # Dec 29-31, Jan 4-8, Mon 11, Tue 12
        assert cal.due_at("disclosure", datetime(2026, 12, 28, 10, tzinfo=TZ)).date() == date(2027, 1, 12)
        assert not cal.table(2027).known
    assert calls == [2027]
    warnings = [r for r in caplog.records if r.name == "xiaowei.workdays" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2027" in warnings[0].getMessage() and "statutory" in warnings[0].getMessage()

    clock.advance(hours=14)  # 23:00 the same day: still quiet
    cal.is_workday(date(2027, 3, 1))
    assert calls == [2027]
    clock.advance(days=1)
    cal.is_workday(date(2027, 3, 1))
    assert calls == [2027, 2027]
    t = cal.table(2027)
    assert t.source == FALLBACK_SOURCE == "无官方安排：按法定节假日和周末计算，调休未知"
    # the law's days, computed once and kept; no adjusted working days, which only the State Council's notice gives
    assert t is cal.table(2027)
    assert t.holidays == tuple(sorted(statutory_holidays(2027))) and t.workdays == ()


def test_fallback_counts_every_statutory_day_and_nothing_else(cal: WorkCalendar):
    off = {d for m in range(1, 13) for d in _month(2027, m) if not cal.is_workday(d)}
    weekends = {d for d in off if d.weekday() >= 5}
    assert off - weekends == {d for d in statutory_holidays(2027) if d.weekday() < 5}
    assert not cal.is_workday(date(2027, 2, 5))  # Fri, 除夕
    assert cal.is_workday(date(2027, 2, 9))  # Tue, 初四: only the notice could make it a day off
    assert cal.is_workday(date(2027, 10, 4))  # Mon: 国庆 is Oct 1-3 by law


def _month(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    return [first.replace(day=d) for d in range(1, 32) if _valid(year, month, d)]


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# The issue's example: a disclosure received Fri 2026-12-25 used to come out due 2027-01-08, counting 元旦 as a
# working day. Dec 28, 29, 30, 31 (4), Jan 1 off by law, Jan 4-8 (9), Mon Jan 11 (10).
ISSUE_EXAMPLE = ("disclosure", "2026-12-25T10:00+08:00", "2027-01-11T23:59:59+08:00")


def test_issue_example_disclosure_over_new_year_2027(cal: WorkCalendar):
    kind, received, due = ISSUE_EXAMPLE
    assert cal.due_at(kind, datetime.fromisoformat(received)).isoformat() == due
    out, err = io.StringIO(), io.StringIO()
    assert deadline_main(kind, received, out, err, cal) == 0
    assert json.loads(out.getvalue()) == {"kind": kind, "received_at": "2026-12-25T10:00:00+08:00", "due_at": due}


@pytest.mark.skipif((Path(str(data("holidays"))) / "2027.toml").exists(),
                    reason="data/holidays/2027.toml now gives 2027's published arrangement")
def test_issue_example_through_the_cli(capsys):
    kind, received, due = ISSUE_EXAMPLE
    assert cli_main(["deadline", kind, received]) == 0
    assert json.loads(capsys.readouterr().out)["due_at"] == due


def test_fallback_callback_failure_does_not_break_deadlines(tmp_path: Path):
    def boom(year: int) -> None:
        raise RuntimeError("alert channel down")

    cal = WorkCalendar(holiday_dirs=[tmp_path], clock=ManualClock("2026-12-28T09:00"), on_fallback=boom)
    assert cal.add_workdays(date(2027, 1, 1), 1) == date(2027, 1, 4)


def test_known_years_do_not_trigger_fallback(tmp_path: Path):
    calls: list[int] = []
    cal = WorkCalendar(holiday_dirs=[tmp_path], clock=ManualClock("2026-12-28T09:00"), on_fallback=calls.append)
    cal.due_at("disclosure", datetime(2026, 2, 13, 10, tzinfo=TZ))
    assert calls == []


def test_into_2027_with_data_file(tmp_path: Path):
    write_year(tmp_path, 2027, FAKE_2027)
    calls: list[int] = []
    cal = WorkCalendar(holiday_dirs=[tmp_path], clock=ManualClock("2026-12-28T09:00"), on_fallback=calls.append)
    # Dec 29, 30, 31, Jan 1-3 off, Mon 4, Tue 5
    assert cal.due_at("suggestion", datetime(2026, 12, 28, 10, tzinfo=TZ)).date() == date(2027, 1, 5)
    assert cal.add_workdays(date(2027, 1, 8), 1) == date(2027, 1, 9)  # the file's adjusted Saturday
    t = cal.table(2027)
    assert t.known and t.source == str(tmp_path / "2027.toml")
    assert t.holidays == (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3))
    assert calls == []


def test_data_file_overrides_chinesecalendar(tmp_path: Path):
    write_year(tmp_path, 2026, 'year = 2026\nholidays = ["2026-10-01..2026-10-08"]\nworkdays = ["2026-10-10"]\n')
    cal = WorkCalendar(holiday_dirs=[tmp_path], clock=ManualClock("2026-09-01T09:00"))
    # Oct 8 now off: Fri 9, Sat 10
    assert cal.due_at("consult", datetime(2026, 9, 30, 10, tzinfo=TZ)).date() == date(2026, 10, 10)
    # the file replaces the whole year, so the Spring Festival it leaves out is no longer off
    assert cal.is_workday(date(2026, 2, 16))
    assert cal.table(2026).source.endswith("2026.toml")


def test_later_directory_wins(tmp_path: Path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write_year(first, 2027, 'year = 2027\nholidays = ["2027-01-01"]\n')
    write_year(second, 2027, 'year = 2027\nholidays = ["2027-01-04"]\n')
    cal = WorkCalendar(holiday_dirs=[first, second], clock=ManualClock("2026-12-28T09:00"))
    assert cal.is_workday(date(2027, 1, 1)) and not cal.is_workday(date(2027, 1, 4))


@pytest.mark.parametrize(("body", "needle"), [
    ('year = 2027\nholidays = ["2027-02-30"]\n', "2027-02-30"),
    ('year = 2027\nholidays = ["2027/01/01"]\n', "2027/01/01"),
    ('year = 2027\nholidays = ["2027-02-13..2027-02-05"]\n', "2027-02-13..2027-02-05"),
    ('year = 2026\nholidays = ["2027-01-01"]\n', "2026"),
    ('year = 2027\nholidays = ["2026-12-31"]\n', "2026-12-31"),
    ('year = 2027\nholidays = ["2027-02-05..2027-02-13"]\nworkdays = ["2027-02-06"]\n', "2027-02-06"),
    ('year = 2027\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-04"]\n', "2027-01-04"),  # a Monday
    ('year = 2027\nholiday = ["2027-01-01"]\n', "holiday"),
    ('year = 2027\nholidays = ["2027-01-01"\n', "TOML"),
])
def test_bad_data_files(tmp_path: Path, body: str, needle: str):
    write_year(tmp_path, 2027, body)
    with pytest.raises(HolidayDataError) as info:
        WorkCalendar(holiday_dirs=[tmp_path])
    assert "2027.toml" in str(info.value) and needle in str(info.value)


def test_bad_file_name(tmp_path: Path):
    (tmp_path / "2027年.toml").write_text('year = 2027\nholidays = []\n', encoding="utf-8")
    with pytest.raises(HolidayDataError, match="2027年.toml"):
        WorkCalendar(holiday_dirs=[tmp_path])


def test_shipped_data_dir_loads():
    # Whatever an admin adds to data/holidays must at least parse.
    WorkCalendar()


# --- the statutory holidays the law fixes --------------------------------------------------------

def test_statutory_holidays_2027_by_the_2024_law():
    assert statutory_holidays(2027) == {
        date(2027, 1, 1): "元旦",
        # 除夕 Fri Feb 5, 正月初一 to 初三 Sat Feb 6 - Mon Feb 8
        date(2027, 2, 5): "春节", date(2027, 2, 6): "春节", date(2027, 2, 7): "春节", date(2027, 2, 8): "春节",
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节", date(2027, 5, 2): "劳动节",
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        date(2027, 10, 1): "国庆节", date(2027, 10, 2): "国庆节", date(2027, 10, 3): "国庆节",
    }
    assert statutory_law(2027) == "《全国年节及纪念日放假办法》（2024 年修订）"


def test_new_years_eve_on_the_29th_of_the_12th_month():
    # 2025's 12th lunar month had 29 days: 除夕 was 腊月廿九, Tue Jan 28; 正月初一 Wed Jan 29.
    spring = sorted(d for d, name in statutory_holidays(2025).items() if name == "春节")
    assert spring == [date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30), date(2025, 1, 31)]
    # and one with a 30th: 2030's 除夕 is 腊月三十, Sat Feb 2
    assert min(d for d, name in statutory_holidays(2030).items() if name == "春节") == date(2030, 2, 2)


def test_two_holidays_on_one_day_and_the_copy_is_the_callers():
    days = statutory_holidays(2020)
    assert days[date(2020, 10, 1)] == "中秋节、国庆节" and len(days) == 10
    days.clear()
    assert len(statutory_holidays(2020)) == 10
    assert statutory_holidays(1999) == {} and statutory_law(1999) is None  # the law before 1999's is not modelled


def _cc_years() -> list[int]:
    return sorted({d.year for d in chinese_calendar.holidays})


# chinesecalendar 1.11.0 leaves out Sat 2012-06-23, 端午 itself, though the notice gave Jun 22-24 off.
CC_OMISSIONS = {date(2012, 6, 23)}


@pytest.mark.parametrize("year", [y for y in _cc_years() if y >= 2025])
def test_statutory_days_are_holidays_in_every_published_year_since_the_2024_law(year: int):
    days = statutory_holidays(year)
    assert len(days) == 13 or (len(days) == 12 and "中秋节、国庆节" in days.values())
    for day, name in days.items():
        assert day in chinese_calendar.holidays, (day, name)  # the notice adds bridged days; it never drops these
        official = chinese_calendar.Holiday(chinese_calendar.holidays[day]).chinese
        assert official.rstrip("节") in name, (day, name, official)


@pytest.mark.parametrize("year", [y for y in _cc_years() if 2008 <= y <= 2024])
def test_fixed_and_lunar_festivals_are_holidays_2008_to_2024(year: int):
    days = statutory_holidays(year)
    wanted = {"元旦": 1, "清明节": 1, "端午节": 1, "中秋节": 1, "国庆节": 3}
    for festival, count in wanted.items():
        on = [d for d, name in days.items() if festival in name]
        assert len(on) == count, (festival, on)
        for day in on:
            if day in CC_OMISSIONS:
                assert day.weekday() >= 5 and day not in chinese_calendar.workdays
            else:
                assert day in chinese_calendar.holidays, (festival, day)
    assert [d for d, name in days.items() if "国庆节" in name] == [date(year, 10, n) for n in (1, 2, 3)]


@pytest.mark.parametrize("year", [y for y in _cc_years() if y < 2025])
def test_earlier_laws_days_are_never_working_days(year: int):
    # 春节 and 劳动节 changed with each revision (2008: 除夕 to 初二, May 1; 2014: 初一 to 初三); whatever
    # the law in force gave, the published arrangement kept off.
    for day, name in statutory_holidays(year).items():
        assert chinese_calendar.is_holiday(day), (day, name)


# --- command-line entry points -------------------------------------------------------------------

def test_calendar_main_known_year(cal: WorkCalendar):
    out = io.StringIO()
    assert calendar_main(2026, out, cal) == 0
    text = out.getvalue()
    assert "chinesecalendar 1.11.0" in text
    assert "2026-10-01 周四 至 2026-10-07 周三（国庆节，共 7 天）" in text
    assert "2026-02-15 周日 至 2026-02-23 周一（春节，共 9 天）" in text
    holidays_part, workdays_part = text.split("调休上班")
    assert "2026-02-14 周六" in workdays_part and "2026-02-14" not in holidays_part
    assert "2026-09-20 周日" in workdays_part


def test_calendar_main_data_file_year(tmp_path: Path):
    write_year(tmp_path, 2027, FAKE_2027)
    out = io.StringIO()
    assert calendar_main(2027, out, WorkCalendar(holiday_dirs=[tmp_path])) == 0
    text = out.getvalue()
    assert "2027.toml" in text and "测试用" in text
    assert "2027-01-01 周五 至 2027-01-03 周日（共 3 天）" in text
    assert "2027-01-09 周六" in text


def test_calendar_main_unknown_year(cal: WorkCalendar):
    out = io.StringIO()
    assert calendar_main(2027, out, cal) == 0
    text = out.getvalue()
    assert "周末" in text and "data/holidays/2027.toml" in text and "README" in text
    # what comes from the law, by name and date
    assert "《全国年节及纪念日放假办法》（2024 年修订）" in text and "法定节假日（共 13 天）" in text
    for line in ["  2027-01-01 周五（元旦）", "  2027-02-05 周五 至 2027-02-08 周一（春节，共 4 天）",
                 "  2027-04-05 周一（清明节）", "  2027-05-01 周六 至 2027-05-02 周日（劳动节，共 2 天）",
                 "  2027-06-09 周三（端午节）", "  2027-09-15 周三（中秋节）",
                 "  2027-10-01 周五 至 2027-10-03 周日（国庆节，共 3 天）"]:
        assert line in text.splitlines()
    # and what only the published arrangement will give
    assert "调休上班的周末、补休和为连休增加的放假日" in text and "国务院办公厅公布安排" in text


def test_calendar_main_marks_statutory_days(cal: WorkCalendar):
    out = io.StringIO()
    assert calendar_main(2026, out, cal) == 0
    lines = out.getvalue().splitlines()
    assert "  2026-02-15 周日 至 2026-02-23 周一（春节，共 9 天） 法定：02-16 至 02-19 春节" in lines
    assert "  2026-10-01 周四 至 2026-10-07 周三（国庆节，共 7 天） 法定：10-01 至 10-03 国庆节" in lines
    assert any(line.startswith("放假（共 33 天，其中 13 天是《全国年节及纪念日放假办法》（2024 年修订）") for line in lines)
    assert not any("注意" in line for line in lines)

    out = io.StringIO()
    calendar_main(2020, out, cal)  # 中秋 on Oct 1, under the 2013 law
    assert "法定：10-01 中秋节、国庆节，10-02 至 10-03 国庆节" in out.getvalue()
    out = io.StringIO()
    calendar_main(2015, out, cal)  # a day off the notice added, not the law
    assert "2015-09-03 周四 至 2015-09-04 周五（中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日，共 2 天） 非法定" in out.getvalue()


def test_calendar_main_flags_statutory_days_a_data_file_leaves_working(tmp_path: Path):
    write_year(tmp_path, 2027, FAKE_2027)  # lists 元旦 only
    out = io.StringIO()
    calendar_main(2027, out, WorkCalendar(holiday_dirs=[tmp_path]))
    text = out.getvalue()
    assert "2027-01-01 周五 至 2027-01-03 周日（共 3 天） 法定：01-01 元旦" in text
    warning = text.split("注意：")[1]
    # the law's weekdays the file leaves working; its weekend days stay off anyway
    assert warning.splitlines()[1:] == ["  2027-02-05 周五（春节）", "  2027-02-08 周一（春节）", "  2027-04-05 周一（清明节）",
                                        "  2027-06-09 周三（端午节）", "  2027-09-15 周三（中秋节）",
                                        "  2027-10-01 周五（国庆节）"]


def test_deadline_main_examples(cal: WorkCalendar):
    for kind, received, due in DEADLINES[:3]:
        out, err = io.StringIO(), io.StringIO()
        assert deadline_main(kind, received, out, err, cal) == 0
        assert err.getvalue() == "" and out.getvalue().count("\n") == 1
        data = json.loads(out.getvalue())
        assert data == {"kind": kind, "received_at": f"{received}:00+08:00", "due_at": f"{due}T23:59:59+08:00"}


def test_deadline_main_normalises_timezone(cal: WorkCalendar):
    out, err = io.StringIO(), io.StringIO()
    assert deadline_main("consult", "2026-09-29T16:01:00Z", out, err, cal) == 0
    data = json.loads(out.getvalue())
    assert data["received_at"] == "2026-09-30T00:01:00+08:00"
    assert data["due_at"] == "2026-10-09T23:59:59+08:00"


@pytest.mark.parametrize(("kind", "received", "needle"), [
    ("xyz", "2026-09-30T10:00", "未知类型 xyz，可选 consult, help, suggestion, disclosure, escalation"),
    ("consult", "下周一", "下周一"),
    ("consult", "2026-02-30T10:00", "2026-02-30"),
])
def test_deadline_main_errors(cal: WorkCalendar, kind: str, received: str, needle: str):
    out, err = io.StringIO(), io.StringIO()
    assert deadline_main(kind, received, out, err, cal) == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("错误：") and needle in err.getvalue()
    assert err.getvalue().count("\n") == 1


@pytest.mark.parametrize("start, end", [
    ("2026-12-01T10:00", "2026-12-01T14:00"),     # within one working day
    ("2026-12-01T07:00", "2026-12-01T12:30"),     # before work: counted from work_start
    ("2026-12-01T18:00", "2026-12-02T12:30"),     # after work: from the next morning
    ("2026-12-04T16:00", "2026-12-07T11:00"),     # Friday afternoon: over the weekend
    ("2026-09-30T16:00", "2026-10-08T11:00"),     # over the National Day holiday (Oct 1-7 off in 2026)
])
def test_working_hours_count_only_the_working_day_between_work_start_and_work_end(cal, start, end):
    hours = (time(8, 30), time(17, 30))
    assert cal.add_work_hours(datetime.fromisoformat(start).replace(tzinfo=TZ), 4, *hours) == \
        datetime.fromisoformat(end).replace(tzinfo=TZ)
    assert cal.work_hours_between(datetime.fromisoformat(start).replace(tzinfo=TZ),
                                  datetime.fromisoformat(end).replace(tzinfo=TZ), *hours) == 4
