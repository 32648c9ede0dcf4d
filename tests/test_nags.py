"""Deadline nags with an injected clock: due soon, the overdue ladder day by day, holidays, weekends and adjusted
working days, working hours, cases the village cannot solve, and clues that never reach the village."""
from __future__ import annotations

from tests.conftest import robot_texts, rows
from tests.schedule_helpers import change, open_case, private, rotation, run_at, started

NAG_TIME = "T09:30+08:00"


async def nag_on(bot, clock, day: str) -> None:
    await run_at(bot, clock, "nags", day + NAG_TIME)


def counts(standin) -> dict[str, int]:
    people = ("cn-li", "cn-zhang", "zf-liu", "zjw-hu", "zjw-ren")
    return {p: len(private(standin, p)) for p in people} | {"group": len(robot_texts(standin))}


async def test_the_ladder_climbs_one_rung_a_working_day(config, clock, standin):
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-li")                                 # 李明 is on duty every day
    open_case(bot, received="2026-12-01T10:00+08:00")               # help, due Fri 12-04
    await nag_on(bot, clock, "2026-12-02")                          # two working days left: quiet
    assert counts(standin) == {"cn-li": 0, "cn-zhang": 0, "zf-liu": 0, "zjw-hu": 0, "zjw-ren": 0, "group": 0}

    await nag_on(bot, clock, "2026-12-03")                          # one working day left
    [group] = robot_texts(standin)
    assert group == "【办理提醒】\n编号 101（求助）12月4日（周五）到期\n请经办干部抓紧办理并答复。"
    assert standin.robot_messages["robot-key-chengnan"][0]["text"]["mentioned_list"] == ["cn-li"]
    assert private(standin, "cn-li")[0].startswith("【催办提醒】城南村")
    await nag_on(bot, clock, "2026-12-04")
    assert "编号 101（求助）今天到期" in robot_texts(standin)[-1]

    for weekend in ("2026-12-05", "2026-12-06"):
        await nag_on(bot, clock, weekend)
    assert counts(standin) == {"cn-li": 2, "cn-zhang": 0, "zf-liu": 0, "zjw-hu": 0, "zjw-ren": 0, "group": 2}

    await nag_on(bot, clock, "2026-12-07")                          # overdue 1: the holder only
    assert "已超期1个工作日" in robot_texts(standin)[-1]
    assert counts(standin)["cn-zhang"] == 0
    await nag_on(bot, clock, "2026-12-08")                          # overdue 2: + party secretary
    [secretary] = private(standin, "cn-zhang")
    assert secretary.startswith("【超期提醒·请督促】城南村") and "已超期2个工作日，经办李明" in secretary
    await nag_on(bot, clock, "2026-12-09")                          # overdue 3: + link leader
    assert private(standin, "zf-liu")[0].startswith("【超期提醒·挂包领导】")
    await nag_on(bot, clock, "2026-12-10")                          # overdue 4: + township inspectors
    await nag_on(bot, clock, "2026-12-11")                          # and every working day after
    assert counts(standin) == {"cn-li": 7, "cn-zhang": 1, "zf-liu": 1, "zjw-hu": 2, "zjw-ren": 2, "group": 7}
    assert "已超期5个工作日" in private(standin, "zjw-hu")[-1]

    await nag_on(bot, clock, "2026-12-11")                          # a second run the same day: nothing
    assert counts(standin)["group"] == 7
    bot.store.write_sync(lambda db: db.execute("DELETE FROM job_runs"))   # even if the run mark is lost
    await nag_on(bot, clock, "2026-12-11")
    assert counts(standin) == {"cn-li": 7, "cn-zhang": 1, "zf-liu": 1, "zjw-hu": 2, "zjw-ren": 2, "group": 7}
    assert [r["rung"] for r in rows(bot, "SELECT rung FROM nags WHERE day = '2026-12-11'")] == ["duty", "inspectors"]
    await bot.stop()


async def test_no_nags_on_national_day_and_nags_on_the_adjusted_saturday(config, clock, standin):
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-li")
    open_case(bot, received="2026-09-28T10:00+08:00", kind="consult")   # due Wed 09-30
    for day in ("2026-10-01", "2026-10-03", "2026-10-07"):
        await nag_on(bot, clock, day)
    assert robot_texts(standin) == [] and standin.app_messages == []
    assert rows(bot, "SELECT * FROM job_runs") == []                      # not run, rather than run and silent
    await nag_on(bot, clock, "2026-10-10")                                # Sat, 调休上班: 10-08, 10-09, 10-10
    assert "已超期3个工作日" in robot_texts(standin)[-1]
    assert private(standin, "zf-liu") and not private(standin, "cn-zhang")  # third rung: the link leader
    await bot.stop()


async def test_the_adjusted_sunday_before_national_day_counts(config, clock, standin):
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-li")
    open_case(bot, received="2026-09-17T10:00+08:00", kind="consult")   # Thu → Fri 09-18, Sun 09-20 (调休上班)
    await nag_on(bot, clock, "2026-09-19")                              # an ordinary Saturday
    assert robot_texts(standin) == []
    await nag_on(bot, clock, "2026-09-20")                              # Sunday, but a working day
    assert robot_texts(standin) == ["【办理提醒】\n编号 101（咨询）今天到期\n请经办干部抓紧办理并答复。"]
    await bot.stop()


async def test_a_request_made_privately_is_pressed_privately_not_in_the_groups_reminder(config, clock, standin):
    """A resident who asked through 微信客服 chose not to ask in the group: the group's reminder lists only what it
    saw raised, and the duty cadre is pressed on both."""
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-li")
    open_case(bot, received="2026-12-01T10:00+08:00", kind="consult")                     # 101, in the group
    open_case(bot, received="2026-12-01T11:00+08:00", kind="consult", text="低保复查要带什么材料",
              chat_id=None)                                                             # 102, privately
    await nag_on(bot, clock, "2026-12-02")                                               # both due tomorrow
    assert robot_texts(standin) == ["【办理提醒】\n编号 101（咨询）12月3日（周四）到期\n请经办干部抓紧办理并答复。"]
    [note] = private(standin, "cn-li")
    assert "101" in note and "102" in note and "低保复查" in note
    await bot.stop()


async def test_nags_wait_for_working_hours(config, clock, standin):
    bot = await started(config, clock)
    open_case(bot, received="2026-12-01T10:00+08:00", kind="consult")   # due Thu 12-03
    await run_at(bot, clock, "nags", "2026-12-02T07:00+08:00")
    await run_at(bot, clock, "nags", "2026-12-02T18:00+08:00")
    assert robot_texts(standin) == []
    await run_at(bot, clock, "nags", "2026-12-02T08:30+08:00")
    assert len(robot_texts(standin)) == 1
    await bot.stop()


async def test_a_case_beyond_the_village_is_nagged_until_passed_up(config, clock, standin):
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-li")
    case = open_case(bot, received="2026-12-01T10:00+08:00", kind="disclosure",   # due 12-15: far away
                     escalate_by="2026-12-02T23:59:59+08:00")
    await nag_on(bot, clock, "2026-12-02")
    assert robot_texts(standin) == ["【办理提醒】\n编号 101（信息公开问题）须今天内上报镇里\n请经办干部抓紧办理并答复。"]
    await nag_on(bot, clock, "2026-12-03")
    assert "上报已超期1个工作日" in private(standin, "cn-li")[-1]
    await nag_on(bot, clock, "2026-12-04")
    assert "上报已超期2个工作日" in private(standin, "cn-zhang")[-1]
    change(bot, case, "2026-12-04T11:00+08:00", level="town", escalate_by=None, assignee=None,
           due_at="2026-12-18T23:59:59+08:00")
    await nag_on(bot, clock, "2026-12-07")
    assert len(robot_texts(standin)) == 3 and len(private(standin, "cn-li")) == 3
    await bot.stop()


async def test_a_town_case_presses_the_town_and_a_clue_only_the_inspectors(config, clock, standin):
    bot = await started(config, clock)
    town_case = open_case(bot, received="2026-12-01T10:00+08:00", kind="consult", level="town")   # due 12-03
    open_case(bot, received="2026-12-01T11:00+08:00", kind="report", text="村主任把低保给了亲戚")
    await nag_on(bot, clock, "2026-12-02")
    assert robot_texts(standin) == []                                     # neither belongs in the village group
    for cadre in ("cn-zhang", "cn-li", "cn-chen"):
        assert private(standin, cadre) == []
    [staff] = private(standin, "zf-liu")
    assert staff.startswith("【催办提醒】翠江镇（镇、县办理）") and town_case.number in staff and "J2026-001" not in staff
    [inspector] = private(standin, "zjw-hu")
    assert "J2026-001" in inspector and "低保" in inspector
    await bot.stop()


async def test_a_heading_says_only_what_is_true_of_its_items(config, clock, standin):
    """"超期多日" heads only items overdue for days: a clue due today is "即将到期" to the inspectors."""
    bot = await started(config, clock)
    open_case(bot, received="2026-12-01T10:00+08:00", kind="report", text="有人反映村干部吃拿卡要")   # due Thu 12-03
    await nag_on(bot, clock, "2026-12-03")
    [note] = private(standin, "zjw-hu")
    assert note.startswith("【到期提醒·纪委】") and "即将到期" in note and "超期" not in note.splitlines()[0]
    await nag_on(bot, clock, "2026-12-07")                                       # overdue 2 working days
    assert private(standin, "zjw-hu")[-1].splitlines()[0].endswith("以下事项已超期，仍未办结：")
    await nag_on(bot, clock, "2026-12-09")                                       # overdue 4
    assert "超期多日" in private(standin, "zjw-hu")[-1].splitlines()[0]
    await bot.stop()


async def test_a_secretary_who_holds_the_case_is_not_asked_to_urge_himself(config, clock, standin):
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-zhang")                              # the party secretary is on duty himself
    open_case(bot, received="2026-12-01T10:00+08:00")               # help, due Fri 12-04
    await nag_on(bot, clock, "2026-12-08")                          # overdue 2: the rung above the holder
    notes = private(standin, "cn-zhang")
    assert notes and all("请督促" not in n for n in notes)           # pressed as the holder, not as his own boss
    assert private(standin, "zf-liu")[0].startswith("【超期提醒·挂包领导】城南村")
    await bot.stop()
