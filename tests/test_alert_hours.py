"""Private alerts to cadres wait for working hours ([rules] work_start..work_end on working days) unless the
request is urgent (safety, health, fire, flood), which goes at once; the group's answer never waits."""
from __future__ import annotations

from datetime import datetime

from bot.sandbox.standin import app_text
from bot.urgency import is_urgent
from tests.conftest import robot_texts
from tests.test_live_group import say

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，麻烦派人来修一下"
FIRE = "后山那边着火了，烟很大，快来人"


def alerts(standin, number):
    """The duty cadre's new-case alerts (a card with 认领 · 转镇里 · 查看) for case `number`."""
    return [m for m in standin.app_messages if f"新诉求 {number}" in app_text(m)]


async def test_a_request_at_night_reaches_the_cadre_when_work_begins(service, standin, clock):
    clock.set("2026-12-04T22:00+08:00")                          # Friday night: the next working hour is Monday's
    await say(service, standin, LAMP)
    assert "编号 101" in robot_texts(standin)[-1]                  # the group hears at once
    assert alerts(standin, 101) == []
    clock.set("2026-12-05T10:00+08:00")                          # Saturday: still not
    await service.bot.settle()
    assert alerts(standin, 101) == []
    clock.set("2026-12-07T08:30+08:00")                          # Monday, work_start
    await service.bot.settle()
    assert len(alerts(standin, 101)) >= 1


async def test_an_urgent_request_at_night_goes_at_once(service, standin, clock):
    clock.set("2026-12-04T22:00+08:00")
    await say(service, standin, LAMP)                            # waits for Monday in the cadre's later lane …
    await say(service, standin, FIRE, userid="resident-2")       # … and does not hold the fire back
    assert alerts(standin, 101) == [] and len(alerts(standin, 102)) >= 1


def test_urgent_means_safety_health_fire_or_flood():
    assert all(map(is_urgent, ["家里老人晕倒了", "河水涨水快淹到屋里", "电线掉在路上很危险", FIRE]))
    assert not any(map(is_urgent, [LAMP, "请问高龄补贴什么时候发"]))


def test_the_next_working_moment(service):
    cal, rules = service.bot.calendar, service.bot.config.rules
    at = datetime.fromisoformat
    assert cal.working_moment(at("2026-12-01T10:00+08:00"), rules.work_start, rules.work_end) == \
        at("2026-12-01T10:00+08:00")
    assert cal.working_moment(at("2026-12-01T07:00+08:00"), rules.work_start, rules.work_end) == \
        at("2026-12-01T08:30+08:00")
    assert cal.working_moment(at("2026-09-30T19:00+08:00"), rules.work_start, rules.work_end) == \
        at("2026-10-08T08:30+08:00")                              # 国庆: the next working day is Oct 8
