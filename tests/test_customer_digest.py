"""Customer villages with no chat-archive licence: they still get nags and digests; their activity comes from
WeCom's group statistics (per owner), which speak for a village only when its owner owns that one group; and the
digest lists the group sends their owners did not confirm."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.config import Cadre
from tests.conftest import rows
from tests.schedule_helpers import big_town, open_case, private, run_at, started
from tests.test_digest import say
from tests.test_identity import customer, member

DAY = date(2026, 12, 1)


def digest_lines(standin, inspector: str = "zjw-hu") -> list[str]:
    [digest] = [t for t in private(standin, inspector) if t.startswith("**巡群日报")]
    return digest.split("\n")


def week(standin, owner: str, **yesterday: int) -> None:
    """An owner's last seven days: nothing said but on the day before DAY, with `yesterday`'s figures."""
    for n in range(1, 8):
        standin.set_group_stats(owner, DAY - timedelta(days=n), chat_total=yesterday.get("chat_total", 1),
                                **({k: v for k, v in yesterday.items() if k != "chat_total"} if n == 1 else {}))


async def test_a_customer_village_without_the_archive_still_gets_nags_and_its_digest_line(config, clock, standin):
    config = customer(config, "城南村")
    assert not config.archive.library
    bot = await started(config, clock)
    open_case(bot, received="2026-11-25T09:00+08:00", kind="consult", text="村口路灯坏了一个星期")   # overdue
    await run_at(bot, clock, "nags", "2026-12-01T09:30+08:00")
    nags = [t for t in private(standin, "cn-zhang") if t.startswith(("【催办提醒】", "【超期提醒"))]
    assert nags and all("城南村" in t for t in nags) and any("101" in t for t in nags)
    assert "robot-key-chengnan" not in standin.robot_messages           # no robot in a customer group
    await run_at(bot, clock, "digest", "2026-12-02T08:00+08:00")
    lines = digest_lines(standin)
    [chengnan] = [line for line in lines if line.startswith("> 城南村")]
    assert "超期1" in chengnan
    # The bridge hears the internal groups, but nothing hears this one: not measured is not a zombie.
    [zombies] = [line for line in lines if line.startswith("**7天无消息")]
    assert "城南村" not in zombies and "高峰村" in zombies
    await bot.stop()


async def test_activity_comes_from_the_owners_statistics_where_the_owner_has_that_one_group(config, clock, standin):
    config = customer(config, "城南村", "双虹村", "高峰村", "南大街社区")
    town = config.towns[0]
    # 高峰村's secretary also owns 南大街社区's group: two configured villages, one owner.
    gaofeng, nandajie = town.villages[2], town.villages[3]
    nandajie = replace(nandajie, owner="gf-lei", cadres=nandajie.cadres + (Cadre("gf-lei", "雷华", "党支部书记"),))
    config = replace(config, towns=(replace(town, villages=(*town.villages[:3], nandajie)),))
    week(standin, "cn-zhang", msg_total=12, member_has_msg=5, member_total=180)
    week(standin, "sh-huang", chat_total=2, msg_total=30, member_has_msg=9)   # a second group of his own
    # WeCom counts one group for gf-lei (say the other is not counted yet): two configured villages still share
    # whatever it counts, so neither is measured.
    week(standin, "gf-lei", chat_total=1, msg_total=7, member_has_msg=3)
    bot = await started(config, clock)
    await run_at(bot, clock, "customer_stats", "2026-12-01T07:40+08:00")
    stored = rows(bot, "SELECT owner, COUNT(*) AS n FROM customer_group_stats GROUP BY owner ORDER BY owner")
    assert stored == [{"owner": o, "n": 7} for o in ("cn-zhang", "gf-lei", "sh-huang")]
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    lines = digest_lines(standin)
    assert "**客户群昨日活跃**（企业微信统计，消息条数/发言人数）：城南村 12/5" in lines
    assert "**群主名下多个群，无法按村统计**：双虹村、高峰村、南大街社区" in lines
    assert not any(line.startswith("**7天无消息") for line in lines)   # every group spoke, or is not measured

    # Asked again the same morning: the week is stored, so nothing is fetched twice.
    calls = sum(r.endpoint == "groupchat_statistic" for r in standin.requests)
    await run_at(bot, clock, "customer_stats", "2026-12-01T07:50+08:00")
    assert sum(r.endpoint == "groupchat_statistic" for r in standin.requests) == calls
    await bot.stop()


async def test_a_measured_customer_group_silent_all_week_is_a_zombie(config, clock, standin):
    week(standin, "cn-zhang")                       # seven days, no message
    week(standin, "sh-huang", msg_total=3, member_has_msg=2)
    bot = await started(replace(customer(config, "城南村", "双虹村"), bridge=replace(config.bridge, secret="")), clock)
    await run_at(bot, clock, "customer_stats", "2026-12-01T07:40+08:00")
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    lines = digest_lines(standin)
    assert "**7天无消息（僵尸群）**：城南村" in lines            # the statistics see it even without the bridge
    assert "**客户群昨日活跃**（企业微信统计，消息条数/发言人数）：城南村 0/0、双虹村 3/2" in lines
    await bot.stop()


async def test_the_digest_lists_yesterdays_group_sends_the_owner_did_not_confirm(config, clock, standin):
    config = customer(config, "城南村", "双虹村", "高峰村")
    for village in config.towns[0].villages[:3]:
        standin.add_customer_group(village.chat_id, name=f"{village.name}群", owner=village.group_owner)
    bot = await started(config, clock)
    for job, at in (("duty_notice", "08:00"), ("group_send", "09:10")):
        await run_at(bot, clock, job, f"2026-12-01T{at}+08:00")
    sends = {r["village"]: r["msgid"] for r in rows(bot, "SELECT village, msgid FROM group_sends")}
    assert set(sends) == {"城南村", "双虹村", "高峰村"} and all(sends.values())
    standin.confirm_group_send(sends["城南村"], "cn-zhang")                  # before the check
    await run_at(bot, clock, "group_send_check", "2026-12-01T10:30+08:00")
    clock.set("2026-12-01T15:00+08:00")
    standin.confirm_group_send(sends["双虹村"], "sh-huang")                  # after the reminder
    await run_at(bot, clock, "customer_stats", "2026-12-02T07:40+08:00")
    status = {r["village"]: r["status"] for r in rows(bot, "SELECT village, status FROM group_sends")}
    assert status == {"城南村": "sent", "双虹村": "sent", "高峰村": "unconfirmed"}
    await run_at(bot, clock, "digest", "2026-12-02T08:00+08:00")
    lines = digest_lines(standin)
    assert "**昨日群发未确认**：高峰村（群主雷华）" in lines
    # WeCom's statistics counted none of these owners' groups: no activity claimed, nobody called a zombie.
    assert not any(line.startswith("**客户群昨日活跃") for line in lines)
    assert "**7天无消息（僵尸群）**：南大街社区" in lines                      # the bridge's internal group only
    await bot.stop()


async def test_with_the_archive_a_customer_group_is_a_zombie_only_when_it_heard_nothing_at_all(config, clock, standin):
    config = replace(customer(config, "城南村", "双虹村", "高峰村"), bridge=replace(config.bridge, secret=""),
                     archive=replace(config.archive, library="/nonexistent/libWeWorkFinanceSdk_C.so", secret="s"))
    bot = await started(config, clock)
    say(bot, "城南村", "今晚停水吗", "2026-11-28T19:00+08:00")
    bot.store.write_sync(lambda db: db.execute(          # a picture only: counted, never stored
        "INSERT INTO archive_activity (village, day, msgtype, count) VALUES ('双虹村', '2026-11-30', 'image', 2)"))
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    lines = digest_lines(standin)
    assert "**7天无消息（僵尸群）**：高峰村" in lines        # no bridge, yet the archive hears these three
    assert not any(line.startswith("**客户群昨日活跃") for line in lines)
    await bot.stop()


async def test_a_town_of_40_customer_villages_with_every_gap_still_fits_the_private_digest(config, clock, standin):
    config = big_town(config, 40)
    town = config.towns[0]
    config = replace(config, towns=(replace(town, villages=tuple(
        replace(v, group="customer", webhook_key="") for v in town.villages)),))
    for i, village in enumerate(config.villages()):
        # The secretary owns the group; the duty cadre is not in it, or half the groups have another owner.
        standin.add_customer_group(village.chat_id, name=f"{village.name}群", owner=village.group_owner if i % 2
                                   else village.cadres[1].userid, members=[member(village.group_owner, "书记")])
        week(standin, village.group_owner, msg_total=i, member_has_msg=i // 2)
    bot = await started(config, clock)
    bot.store.write_sync(lambda db: db["group_sends"].insert_all(
        {"village": v.name, "day": "2026-11-30", "status": "reminded"} for v in config.villages()))
    await run_at(bot, clock, "identity", "2026-12-01T07:30+08:00")
    await run_at(bot, clock, "customer_stats", "2026-12-01T07:40+08:00")
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    [main, *detail] = [t for t in private(standin, "zjw-hu") if t.startswith("**巡群日报")]
    lines = main.split("\n")
    assert len(main.encode()) <= 2048 and detail                     # villages that do not fit follow
    assert lines[-1].startswith("审计链") and not main.endswith("…")   # fitted whole, never clipped
    for head in ("**亮明身份**：", "**客户群昨日活跃**", "**昨日群发未确认**："):
        [line] = [x for x in lines if x.startswith(head)]
        assert line.endswith("等 40 个"), line
    assert "第01村 0/2（群主不符）、第02村 0/2、" in main             # "书记" alone names nobody
    await bot.stop()
