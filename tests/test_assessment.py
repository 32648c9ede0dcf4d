"""Assessment (考核) per village and cadre per month, across a month's boundary and the National Day holiday,
its Excel file read back, and the monthly report on the first working day of the month."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from openpyxl import load_workbook

from bot import assessment, cases, exports
from tests.schedule_helpers import open_case, private, run_at, started


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def event(bot, case, action: str, when: str, actor: str = "cn-li", **state) -> None:
    bot.store.write_sync(lambda db: cases.append(db, case.id, actor=actor, action=action, now=at(when), state=state))


def nag(bot, case, day: str, userid: str) -> None:
    bot.store.write_sync(lambda db: db.execute(
        "INSERT INTO nags (case_id, rung, day, userids, at) VALUES (?, 'duty', ?, ?, ?)",
        [case.id, day, f'["{userid}"]', f"{day}T09:30:00+08:00"]))


def month_of_cases(bot) -> None:
    """September and October 2026 around National Day (Oct 1–7 off; Oct 8 the first working day)."""
    due = bot.base.due_at
    # A: consult on Wed 09-30, due Fri 10-09 because of the holiday; answered on 10-09: on time. Satisfied.
    a = open_case(bot, received="2026-09-30T10:00:00+08:00", kind="consult", text="医保怎么交")
    assert a.due_at == at("2026-10-09T23:59:59")
    event(bot, a, "claimed", "2026-09-30T11:00:00", assignee="cn-li", first_response_at=at("2026-09-30T11:00:00"))
    event(bot, a, "answered", "2026-10-09T16:00:00", status="answered", answered_at=at("2026-10-09T16:00:00"))
    event(bot, a, "rated", "2026-10-09T18:00:00", actor="resident-1", rating="满意", status="closed")
    nag(bot, a, "2026-09-30", "cn-li")
    nag(bot, a, "2026-10-08", "cn-li")                  # sent in October: October's nag, not September's
    # C: marked beyond the village on 09-30, passed up on 10-08: within 1 working day (the holiday does not count).
    c = open_case(bot, received="2026-09-29T09:00:00+08:00", text="河堤塌了")
    event(bot, c, "beyond_village", "2026-09-30T15:00:00", escalate_by=due("escalation", at("2026-09-30T15:00:00")))
    event(bot, c, "escalated", "2026-10-08T09:00:00", level="town", escalate_by=None,
          due_at=due("help", at("2026-10-08T09:00:00")))
    # D: marked on Mon 09-28, passed up on Wed 09-30: a day late.
    d = open_case(bot, received="2026-09-28T09:00:00+08:00", text="桥要修")
    event(bot, d, "beyond_village", "2026-09-28T10:00:00", escalate_by=due("escalation", at("2026-09-28T10:00:00")))
    event(bot, d, "escalated", "2026-09-30T10:00:00", level="town", escalate_by=None,
          due_at=due("help", at("2026-09-30T10:00:00")))
    # B: a help request on the holiday (10-01), answered late, then reopened: October's.
    b = open_case(bot, received="2026-10-01T08:00:00+08:00", text="自来水停了")
    event(bot, b, "answered", "2026-10-20T10:00:00", status="answered", answered_at=at("2026-10-20T10:00:00"),
          first_response_at=at("2026-10-20T10:00:00"))
    event(bot, b, "reopened", "2026-10-21T10:00:00", actor="resident-1", rating="不满意", status="open",
          answered_at=None, due_at=due("help", at("2026-10-21T10:00:00")))
    open_case(bot, received="2026-10-31T23:30:00+08:00", text="垃圾没人收")     # the month's last half hour
    open_case(bot, received="2026-11-01T00:10:00+08:00", text="狗咬人")          # November's
    open_case(bot, received="2026-09-30T12:00:00+08:00", kind="report", text="书记优亲厚友")   # a clue: never counted


async def test_september_and_october_are_counted_apart_with_the_holiday_in_working_days(config, clock):
    bot = await started(config, clock)
    try:
        month_of_cases(bot)
        now = at("2026-12-01T09:00:00")
        sept = bot.store.read_sync(lambda db: assessment.assess(db, bot.config, bot.base.calendar, "2026-09", now))
        village = next(s for s in sept.villages if s.village == "城南村")
        assert village.received == 3                                       # A, C, D; not the clue
        assert (village.on_time, village.decided) == (1, 3)                # A on time; C, D overdue at the town
        assert (village.passed_up_in_time, village.passed_up) == (1, 2)
        assert (village.satisfied, village.rated, village.reopened, village.nags) == (1, 1, 0, 1)
        li = next(s for s in sept.cadres if s.userid == "cn-li")
        assert (li.received, li.first_response, li.on_time_rate, li.nags) == (1, timedelta(hours=1), 1.0, 1)
        zhang = next(s for s in sept.cadres if s.userid == "cn-zhang")    # no roster: the secretary held C and D
        assert (zhang.received, zhang.passed_up_in_time) == (2, 1)
        octo = bot.store.read_sync(lambda db: assessment.assess(db, bot.config, bot.base.calendar, "2026-10", now))
        village = next(s for s in octo.villages if s.village == "城南村")
        assert (village.received, village.reopened, village.rated, village.satisfied) == (2, 1, 1, 0)
        assert village.nags == 1 and village.on_time == 0
        assert sum(s.received for s in octo.villages) == 2
    finally:
        await bot.stop()


async def test_the_assessment_workbook_has_chinese_headers_and_percent_cells(config, clock, tmp_path):
    bot = await started(config, clock)
    try:
        month_of_cases(bot)
        result = bot.store.read_sync(lambda db: assessment.assess(db, bot.config, bot.base.calendar, "2026-09",
                                                                  at("2026-12-01T09:00:00"), town="翠江镇"))
        path = exports.save(exports.assessment_workbook(result), tmp_path / "考核.xlsx")
    finally:
        await bot.stop()
    book = load_workbook(path)
    assert book.sheetnames == ["各村（社区）", "各干部"]
    ws = book["各村（社区）"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["月份", "镇（街道）", "村（社区）", "受理诉求数", "首次响应中位数（小时）"]
    row = {h: c for h, c in zip(header, next(r for r in ws.iter_rows(min_row=2) if r[2].value == "城南村"))}
    assert row["受理诉求数"].value == 3 and row["按时上报率"].value == 0.5
    assert row["按期办结率"].number_format == "0.0%" and abs(row["按期办结率"].value - 1 / 3) < 1e-9
    cadres = book["各干部"]
    assert [c.value for c in cadres[1]][3] == "干部"
    assert any(r[3].value == "村委会主任李明" and r[4].value == 1 for r in cadres.iter_rows(min_row=2))


def test_the_first_working_day_of_the_month_follows_the_holidays():
    from bot.workdays import WorkCalendar
    calendar = WorkCalendar()
    assert [d.day for d in (date(2026, 10, n) for n in range(1, 12)) if
            assessment.first_workday_of_month(calendar, d)] == [8]          # National Day: Oct 8
    assert assessment.first_workday_of_month(calendar, date(2026, 11, 2))   # Nov 1 is a Sunday
    assert not assessment.first_workday_of_month(calendar, date(2026, 11, 3))
    assert assessment.month_bounds("2026-12") == (at("2026-12-01T00:00:00"), at("2027-01-01T00:00:00"))


async def test_the_monthly_report_goes_to_the_inspectors_and_link_leaders_on_the_first_working_day(config, clock,
                                                                                                   standin):
    bot = await started(config, clock)
    try:
        month_of_cases(bot)
        await run_at(bot, clock, "monthly_report", "2026-10-07T08:00:00+08:00")     # still the holiday
        assert not any("月度考核" in t for t in private(standin, "zjw-hu"))
        await run_at(bot, clock, "monthly_report", "2026-10-08T08:00:00+08:00")
        await run_at(bot, clock, "monthly_report", "2026-10-08T10:00:00+08:00")     # a re-run sends nothing twice
        [report] = [t for t in private(standin, "zjw-hu") if "月度考核" in t]
        assert report.startswith("**月度考核·翠江镇** 2026年9月")
        # As of Oct 8, C and D are still within the town's limit: only A is decided yet.
        assert "> 城南村　受理3｜按期办结100%（1/1）｜满意100%（1/1）｜首次响应中位1小时｜按时上报1/2｜被催办1" in report
        assert "书记优亲厚友" not in report
        [leader] = [t for t in private(standin, "zf-liu") if "月度考核" in t]       # 城南村's link leader
        assert "城南村" in leader and "双虹村" not in leader
        await run_at(bot, clock, "monthly_report", "2026-10-09T08:00:00+08:00")     # not the first working day
        assert len([t for t in private(standin, "zjw-hu") if "月度考核" in t]) == 1
    finally:
        await bot.stop()
