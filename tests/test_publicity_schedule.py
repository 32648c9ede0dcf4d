"""公开提醒 with an injected clock: a quarter's item due over the National Day holiday and an adjusted Saturday,
reminded before it is due, nagged up the ladder once late, published late; a month's item published on time is
never nagged; weekends and holidays send nothing; the digest shows each village's 公开及时率 and what is late."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot import publicity
from bot.inbox import Message
from tests.conftest import rows
from tests.schedule_helpers import private, run_at, started

AT = "T09:40+08:00"
ASSETS = "集体三资（2026年第3季度）"


def since(config, day: str):
    return replace(config, power_list=replace(config.power_list, start=date.fromisoformat(day)))


async def post(bot, clock, when: str, sender: str, item: str, title: str, body: str = "详见附表") -> str:
    clock.set(when)
    village = bot.config.village_by_name("城南村")
    msg = Message(channel="aibot", msgid=f"m-{when}", chattype="group", sender=sender, text=title,
                  received_at=clock.now(), village=village)
    return await bot.commit(lambda db, out: publicity.post(db, out, bot.base, msg, village,
                                                          bot.config.power_list.find(item), title, body))


def about(standin, userid: str, what: str = ASSETS, village: str = "城南村") -> list[str]:
    return [t for t in private(standin, userid) if what in t and village in t]


async def test_a_quarter_item_is_reminded_then_climbs_the_ladder_until_published_late(config, clock, standin):
    bot = await started(since(config, "2026-07-01"), clock)
    # Each day the holder is pressed, plus the one rung the late days have reached (as for a case).
    # Q3 ends Wed 09-30; Oct 1-7 are the National Day holiday, Sat 10-10 is worked: the 10th working day is Tue 10-20.
    for day in ("2026-09-30", "2026-10-01", "2026-10-05", "2026-10-10", "2026-10-15"):
        await run_at(bot, clock, "publicity", day + AT)
    assert about(standin, "cn-li") == []
    await run_at(bot, clock, "publicity", "2026-10-16" + AT)           # two working days left: reminded
    [first] = about(standin, "cn-li")
    assert first == ("【公开提醒】城南村以下事项请按时在群里公示：\n· 集体三资（2026年第3季度）：请在10月20日（周二）前公示\n"
                     "在群里@小微 发“公示 事项 标题”，换行写内容，即可公示。")
    for day in ("2026-10-17", "2026-10-18"):                          # the weekend: nothing
        await run_at(bot, clock, "publicity", day + AT)
    for day in ("2026-10-19", "2026-10-20"):
        await run_at(bot, clock, "publicity", day + AT)
    assert len(about(standin, "cn-li")) == 3 and about(standin, "cn-zhang") == []

    await run_at(bot, clock, "publicity", "2026-10-21" + AT)          # late 1: the preparer only
    assert about(standin, "cn-li")[-1].startswith("【公开超期】城南村以下事项已超期未公开，请尽快公示：")
    assert "已超期1个工作日" in about(standin, "cn-li")[-1] and about(standin, "cn-zhang") == []
    await run_at(bot, clock, "publicity", "2026-10-22" + AT)          # late 2: + the party secretary
    [secretary] = about(standin, "cn-zhang")
    assert secretary.startswith("【公开超期·请督促】城南村") and "已超期2个工作日，经办李明" in secretary
    await run_at(bot, clock, "publicity", "2026-10-23" + AT)          # late 3: + the link leader
    assert about(standin, "zf-liu")[0].startswith("【公开超期·挂包领导】城南村")
    await run_at(bot, clock, "publicity", "2026-10-26" + AT)          # late 4 (Mon): + the inspectors
    assert about(standin, "zjw-hu")[0].startswith("【公开超期·纪委】城南村") and "已超期4个工作日" in about(standin, "zjw-hu")[0]
    await run_at(bot, clock, "publicity", "2026-10-26" + AT)          # run twice: nothing twice
    bot.store.write_sync(lambda db: db.execute("DELETE FROM job_runs"))
    await run_at(bot, clock, "publicity", "2026-10-26" + AT)
    assert [len(about(standin, u)) for u in ("cn-li", "cn-zhang", "zf-liu", "zjw-hu")] == [7, 1, 1, 1]

    said = await post(bot, clock, "2026-10-27T15:00+08:00", "cn-li", "集体", "2026年第三季度集体三资情况")
    assert said.startswith("已发布公示1（集体三资）")
    [row] = rows(bot, "SELECT period FROM publicity")
    assert row["period"] == "2026-Q3"
    await run_at(bot, clock, "publicity", "2026-10-28" + AT)          # published (late): nagged no more
    assert [len(about(standin, u)) for u in ("cn-li", "cn-zhang", "zf-liu", "zjw-hu")] == [7, 1, 1, 1]
    assert {r["rung"] for r in rows(bot, "SELECT rung FROM publicity_nags WHERE item = '集体三资' "
                                         "AND village = '城南村'")} == {"duty", "secretary", "leader", "inspectors"}
    # Published late counts against the rate but is no longer listed as missing. 城南村 owed five by 10-28
    # (July, August, September accounts; Q3 三资 and 党费), none on time.
    await run_at(bot, clock, "digest", "2026-10-29T08:00+08:00")
    [digest] = [t for t in private(standin, "zjw-hu") if t.startswith("**巡群日报")]
    [line] = [x for x in digest.split("\n") if x.startswith("· 城南村")]
    assert line.startswith("· 城南村 及时率 0%（0/5） 逾期：") and "集体三资" not in line and "党费收缴（2026年第3季度）" in line
    await bot.stop()


async def test_a_month_published_on_time_is_never_nagged_and_the_digest_shows_timeliness(config, clock, standin):
    bot = await started(since(config, "2026-11-01"), clock)
    # November's accounts are due by the 10th working day of December: Mon 12-14.
    said = await post(bot, clock, "2026-12-03T10:00+08:00", "cn-chen", "财务收支", "2026年11月财务收支")
    assert "公示期至12月14日（周一）" in said
    for day in ("2026-12-10", "2026-12-11", "2026-12-14", "2026-12-15"):
        await run_at(bot, clock, "publicity", day + AT)
    assert about(standin, "cn-zhang", "财务收支（2026年11月）") == []        # 城南村 published on time
    # 双虹村 did not: its secretary (no 报账员 there) is reminded, then told it is late.
    told = about(standin, "sh-huang", "财务收支（2026年11月）", "双虹村")
    assert len(told) == 4 and "已超期1个工作日" in told[-1]

    await run_at(bot, clock, "digest", "2026-12-16T08:00+08:00")
    [digest] = [t for t in private(standin, "zjw-hu") if t.startswith("**巡群日报")]
    # Four villages owed November's accounts by 12-14; only 城南村 published them, on time.
    assert "\n**村务公开** 全镇公开及时率 25%（1/4）\n" in digest
    assert "\n· 双虹村 及时率 0%（0/1） 逾期：财务收支（2026年11月）\n" in digest
    assert "城南村 及时率" not in digest
    await bot.stop()
