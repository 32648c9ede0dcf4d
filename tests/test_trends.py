"""Trends: recurring topics across villages and weeks, the visit list, week-on-week in the digest, the digest's
window since the last working day's digest, and the numbers behind its counts (clue numbers privately only)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from bot import trends
from bot.workdays import WorkCalendar
from tests.conftest import robot_texts
from tests.schedule_helpers import change, open_case, private, run_at, started
from tests.test_digest import INSPECTORS_ROBOT


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


async def test_topics_that_recur_across_villages_and_weeks_group_their_requests(config, clock):
    bot = await started(config, clock)
    try:
        a = open_case(bot, received="2026-11-16T10:00:00+08:00", text="村口的路灯坏了，晚上看不见")
        b = open_case(bot, received="2026-11-24T10:00:00+08:00", village="双虹村", text="我们组的路灯坏了好几天")
        c = open_case(bot, received="2026-11-25T10:00:00+08:00", village="双虹村", text="自来水停了两天")
        open_case(bot, received="2026-11-26T10:00:00+08:00", kind="report", text="书记把路灯工程给了亲戚")
        open_case(bot, received="2026-11-27T10:00:00+08:00", text="自来水又停了")
        found = bot.store.read_sync(lambda db: trends.recurring_topics(db, at("2026-11-01T00:00:00"),
                                                                       at("2026-12-01T00:00:00")))
        by_word = {t.word: t for t in found}
        lamp = by_word["路灯"]
        assert lamp.numbers == [a.number, b.number]                       # the clue is never in a topic
        assert lamp.villages == {"城南村", "双虹村"} and lamp.weeks == {"2026-W47", "2026-W48"}
        water = by_word["自来水"]
        assert water.villages == {"城南村", "双虹村"} and c.number in water.numbers
        assert found[0].word in ("路灯", "自来水") and "晚上" not in by_word   # a stop word is no topic
        assert "工程" not in by_word and "亲戚" not in by_word
        one_week = bot.store.read_sync(lambda db: trends.recurring_topics(db, at("2026-11-16T00:00:00"),
                                                                          at("2026-11-17T00:00:00")))
        assert one_week == []                                              # one request is not a trend
    finally:
        await bot.stop()


async def test_the_visit_list_names_residents_and_villages_with_repeated_unsatisfied_or_overdue_requests(config,
                                                                                                          clock):
    bot = await started(config, clock)
    try:
        first = open_case(bot, received="2026-11-20T10:00:00+08:00", text="路灯坏了")
        change(bot, first, "2026-11-21T10:00:00+08:00", status="answered", answered_at="2026-11-21T10:00:00+08:00",
               rating="不满意")
        open_case(bot, received="2026-11-23T10:00:00+08:00", text="水沟堵了")      # overdue by Dec 1
        open_case(bot, received="2026-11-24T10:00:00+08:00", text="垃圾没人收")    # overdue too
        happy = open_case(bot, received="2026-11-30T10:00:00+08:00", village="双虹村", text="问个事")
        change(bot, happy, "2026-11-30T11:00:00+08:00", status="answered", answered_at="2026-11-30T11:00:00+08:00",
               rating="满意")
        visits = bot.store.read_sync(lambda db: trends.visit_list(db, at("2026-12-01T09:00:00"),
                                                                  at("2026-11-01T00:00:00")))
        assert [(v.village, v.requester, v.count) for v in visits] == [("城南村", None, 3), ("城南村", "resident-1", 3)]
        resident = visits[1]
        assert resident.unsatisfied == [first.number] and len(resident.overdue) == 2
    finally:
        await bot.stop()


def test_the_digest_window_reaches_back_to_the_last_working_days_digest():
    calendar = WorkCalendar()
    eight = time(8, 0)
    assert trends.digest_window(calendar, at("2026-12-01T08:00:00"), eight) == at("2026-11-30T08:00:00")
    assert trends.digest_window(calendar, at("2026-12-07T08:00:00"), eight) == at("2026-12-04T08:00:00")  # Monday
    assert trends.digest_window(calendar, at("2026-10-08T08:00:00"), eight) == at("2026-09-30T08:00:00")  # 国庆后


async def test_mondays_digest_covers_the_weekend_with_week_on_week_and_the_numbers(config, clock, standin):
    config = replace(config, towns=(replace(config.towns[0], inspector_webhook_key=INSPECTORS_ROBOT),))
    bot = await started(config, clock)
    try:
        open_case(bot, received="2026-11-24T10:00:00+08:00", kind="consult")    # the week before: 2
        open_case(bot, received="2026-11-25T10:00:00+08:00", kind="consult")
        late = open_case(bot, received="2026-12-01T10:00:00+08:00", kind="consult", text="低保怎么申请")
        sour = open_case(bot, received="2026-12-04T09:00:00+08:00", kind="help", text="水管漏水")
        change(bot, sour, "2026-12-04T15:00:00+08:00", status="answered", answered_at="2026-12-04T15:00:00+08:00",
               first_response_at="2026-12-04T10:00:00+08:00", rating="不满意")
        open_case(bot, received="2026-12-05T10:00:00+08:00", kind="help", village="双虹村")     # Saturday
        open_case(bot, received="2026-12-06T16:00:00+08:00", kind="suggestion", village="高峰村")  # Sunday
        open_case(bot, received="2026-12-05T11:00:00+08:00", kind="report", text="村主任收好处费")
        await run_at(bot, clock, "digest", "2026-12-05T08:00:00+08:00")          # Saturday: no digest
        assert private(standin, "zjw-hu") == []
        await run_at(bot, clock, "digest", "2026-12-07T08:00:00+08:00")
        [mine] = private(standin, "zjw-hu")
        lines = mine.split("\n")
        assert lines[1] == "自12月4日（周五）日报以来收到诉求 3 件（求助2 建议1），答复 1 件"
        assert "**周环比**：近7天收到诉求 4 件，前7天 2 件（+2，+100%）" in lines
        assert f"**超期**：101、102、{late.number}" in lines                   # 103 was due Thu 12-03
        assert f"**近7天不满意**：{sour.number}" in lines
        assert "**在办线索 1 条**：J2026-001" in lines                         # the inspectors' own copy
        [group] = robot_texts(standin, INSPECTORS_ROBOT)
        assert "在办线索" not in group and "J2026" in group and f"**超期**：101、102、{late.number}" in group
    finally:
        await bot.stop()
