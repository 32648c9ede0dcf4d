"""The county level: a case the town passes up goes to the county discipline commission (not the IT officers),
with the kind's limit; the commission hands it to a department and supervises it."""
from __future__ import annotations

from dataclasses import replace

from bot.config import County
from tests.conftest import robot_texts, start_service, stop_service
from tests.test_cases import LAMP, case_row, last_response, private_to, say


async def passed_to_county(service, standin) -> None:
    await say(service, standin, LAMP)                                                     # 101, Tue 12-01
    await say(service, standin, "上报 101 线路老化要整村改造，村里没有这笔钱", userid="cn-zhang")
    await say(service, standin, "上报 101 镇里也没有这笔预算，需要县里统筹", userid="zf-liu")


async def test_a_case_passed_up_by_the_town_goes_to_the_county_commission_with_the_kinds_limit(service, standin,
                                                                                                clock):
    await passed_to_county(service, standin)
    row = case_row(service.bot)
    assert row["level"] == "county"
    assert row["due_at"] == "2026-12-04T23:59:59+08:00"          # help: 3 working days from today
    [told] = [t for t in private_to(standin, "xjw-zhou") if "上报 101" in t]
    assert "县纪委监委" in told and "交办 101 部门 意见" in told and "县住建局" in told
    assert not any("上报 101" in t for t in private_to(standin, "xian-it-wang"))   # not the IT officers


async def test_the_commission_hands_it_to_a_department_which_may_then_act_and_is_supervised(service, standin,
                                                                                            clock):
    await passed_to_county(service, standin)
    clock.set("2026-12-02T10:00:00+08:00")
    await say(service, standin, "交办 101 县住建局 请牵头纳入农村电网改造", userid="xjw-zhou", chattype="single",
              chatid=None)
    assert last_response(standin) == "已把 101 交县住建局办理，期限12月7日（周一），县纪委监委督办。"
    row = case_row(service.bot)
    assert (row["department"], row["supervised"], row["due_at"]) == ("县住建局", 1, "2026-12-07T23:59:59+08:00")
    [order] = private_to(standin, "xzj-lin")
    assert "县纪委监委交办 101" in order and "农村电网改造" in order
    assert "已由县纪委监委交县住建局办理" in robot_texts(standin)[-1]
    # The department's contact now handles it; another department's does not.
    await say(service, standin, "进展 101 已派人勘察", userid="xjt-fu", chattype="single", chatid=None)
    assert "没有办理权限" in last_response(standin)
    await say(service, standin, "办结 101 线路已改造", userid="xzj-lin", chattype="single", chatid=None)
    assert case_row(service.bot)["status"] == "answered"


async def test_only_the_commission_hands_over_and_only_a_case_at_the_county(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, "交办 101 县住建局 请办理", userid="xjw-zhou", chattype="single", chatid=None)
    assert last_response(standin) == "101 还没有上报到县纪委监委，不能交办。"
    await say(service, standin, "上报 101 村里没钱", userid="cn-zhang")
    await say(service, standin, "上报 101 镇里没钱", userid="zf-liu")
    await say(service, standin, "交办 101 县住建局 请办理", userid="zjw-hu", chattype="single", chatid=None)
    assert last_response(standin) == "交办只能由县纪委监委人员发起。"
    await say(service, standin, "交办 101 县水利局 请办理", userid="xjw-zhou", chattype="single", chatid=None)
    assert last_response(standin).startswith("没有“县水利局”这个部门。可交办：县住建局、县交通运输局")
    await say(service, standin, "督办 101 请本周内拿出方案", userid="xjw-zhou", chattype="single", chatid=None)
    assert last_response(standin) == "已对 101 督办。"


async def test_without_a_county_in_the_configuration_a_town_pass_up_still_reaches_someone(config, clock, standin):
    service = await start_service(replace(config, county=County()), clock)
    try:
        await passed_to_county(service, standin)
        assert any("上报 101" in t for t in private_to(standin, "xian-it-wang"))
    finally:
        await stop_service(service)


async def test_a_handed_over_case_presses_the_department_and_overdue_the_commission(service, standin, clock):
    await passed_to_county(service, standin)
    await say(service, standin, "交办 101 县住建局 请牵头办理", userid="xjw-zhou", chattype="single", chatid=None)
    before = {u: len(private_to(standin, u)) for u in ("xzj-lin", "xjw-zhou", "zjw-hu")}
    clock.set("2026-12-04T09:30:00+08:00")                                # due today
    await service.bot.jobs.run("nags")
    await service.bot.settle()
    [due] = private_to(standin, "xzj-lin")[before["xzj-lin"]:]
    assert "101" in due and "今天到期" in due
    assert len(private_to(standin, "xjw-zhou")) == before["xjw-zhou"]     # not yet the commission's concern
    clock.set("2026-12-08T09:30:00+08:00")                                # 2 working days overdue
    await service.bot.jobs.run("nags")
    await service.bot.settle()
    [pressed] = private_to(standin, "xjw-zhou")[before["xjw-zhou"]:]
    assert "101" in pressed and "超期" in pressed
    assert len(private_to(standin, "zjw-hu")) == before["zjw-hu"]         # the county supervises, not the town
