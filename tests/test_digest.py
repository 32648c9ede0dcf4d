"""巡群日报: what the inspectors read for the sample town, what the inspectors' group may see, and a 40-village
town that still fits one markdown message (4096 bytes from a robot, 2048 as an app message) with the detail
following."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import TZ
from bot.config import Town
from bot.inbox import Message, record
from schedules.digest import compose
from schedules.digest_stats import TownStats, VillageStats
from tests.conftest import robot_texts, rows
from tests.schedule_helpers import big_town, change, open_case, private, run_at, started

INSPECTORS_ROBOT = "robot-key-inspectors"


def say(bot, village: str, text: str, when: str, sender: str = "resident-1") -> None:
    msg = Message(channel="bridge", msgid=f"{village}-{when}-{text[:4]}", chattype="group", sender=sender, text=text,
                  received_at=datetime.fromisoformat(when), chat_id=None,
                  village=bot.config.village_by_name(village))
    bot.store.write_sync(record, msg)


async def test_the_morning_digest_for_the_sample_town(config, clock, standin):
    config = replace(config, towns=(replace(config.towns[0], inspector_webhook_key=INSPECTORS_ROBOT),))
    bot = await started(config, clock)
    answered = open_case(bot, received="2026-11-30T09:00+08:00", kind="consult")
    change(bot, answered, "2026-11-30T09:20+08:00", first_response_at="2026-11-30T09:20+08:00",
           status="answered", answered_at="2026-11-30T16:00+08:00", rating="满意")
    stale = open_case(bot, received="2026-11-20T09:00+08:00", kind="help")             # answered 9 days ago:
    change(bot, stale, "2026-11-21T09:00+08:00", first_response_at="2026-11-21T09:00+08:00",   # out of the week
           status="answered", answered_at="2026-11-22T10:00+08:00", rating="不满意")
    open_case(bot, received="2026-11-25T09:00+08:00", kind="consult")                 # overdue since 11-27
    open_case(bot, received="2026-11-30T10:00+08:00", kind="consult", village="双虹村")   # due 12-02, no reply
    open_case(bot, received="2026-11-30T15:00+08:00", kind="report", text="村会计把集体的钱借给自己小舅子")
    for village, text in (("城南村", "路灯又不亮了"), ("双虹村", "我们组的路灯也坏了"), ("城南村", "大家早上好"),
                          ("城南村", "路灯什么时候修")):
        say(bot, village, text, "2026-11-30T19:00+08:00")
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")

    [mine] = private(standin, "zjw-hu")
    assert private(standin, "zjw-ren") == [mine]
    assert standin.app_messages[0]["msgtype"] == "markdown"
    lines = mine.split("\n")
    assert lines[0] == "**巡群日报·翠江镇** 12月1日（周二）"
    assert lines[1] == "过去24小时收到诉求 2 件（咨询2），答复 1 件"
    assert lines[2] == '在办 2｜将到期 1｜<font color="warning">超期 1</font>｜超4小时未回应 2'
    assert lines[3] == "近7天满意 1/1｜首次响应中位 20分钟"
    assert lines[5].startswith("> 城南村　") and "超期1" in lines[5] and "响应20分钟" in lines[5]
    assert "> 高峰村　7天无消息" in lines                # the bridge sees all traffic here
    assert "**7天无消息（僵尸群）**：高峰村、南大街社区" in lines
    assert "J2026-001 城南村：村会计把集体的钱借给自己小舅子" in mine            # clue text privately
    assert any(line.startswith("**今日话题**：路灯(3)") for line in lines)

    [group] = [text for text in robot_texts(standin, INSPECTORS_ROBOT) if text]   # the chart image follows it
    assert "**新线索 1 条**：J2026-001（内容已私信纪委）" in group and "小舅子" not in group
    assert [line for line in group.split("\n") if not line.startswith("**新线索")] == \
        [line for line in lines if not line.startswith(("**新线索", "> J2026-001", "审计链：", "**在办线索"))]
    assert lines[-1].startswith("审计链：第 ") and "审计链" not in group   # the anchor goes privately only
    await bot.stop()


async def test_without_the_bridge_no_group_is_called_a_zombie(config, clock, standin):
    bot = await started(replace(config, bridge=replace(config.bridge, secret="")), clock)
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    [mine] = private(standin, "zjw-hu")
    assert "僵尸群" not in mine and "无消息" not in mine
    await bot.stop()


async def test_a_town_of_40_villages_fits_one_message_with_the_detail_following(config, clock, standin):
    config = big_town(config, 40, inspector_key=INSPECTORS_ROBOT)
    bot = await started(config, clock)
    at = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
    for i, village in enumerate(config.villages()):
        for n in range(12):   # a busy town: every kind, old and new, overdue, unanswered, clues
            received = at - timedelta(hours=3 + n * 9 + i)
            kind = ("consult", "help", "suggestion", "disclosure", "report")[(n + i) % 5]
            case = open_case(bot, received=received.isoformat(), kind=kind, village=village.name,
                             text=f"{village.name}第{n}件事，关于道路和路灯的很长很长的一段描述")
            if n % 3 == 0:
                change(bot, case, (received + timedelta(hours=1)).isoformat(), status="answered",
                       first_response_at=(received + timedelta(minutes=30)).isoformat(),
                       answered_at=(received + timedelta(hours=1)).isoformat(), rating="满意" if n % 2 else "不满意")
    await run_at(bot, clock, "digest", at.isoformat())

    payloads = [json.loads(r["payload"]) for r in rows(bot, "SELECT payload FROM outbox ORDER BY id")]
    contents = [p["markdown"]["content"] for p in payloads if p["msgtype"] != "image"]   # the chart follows
    assert all(len(c.encode()) <= 4096 for c in contents)
    assert not any(c.endswith("…") for c in contents)                     # fitted, never clipped
    group = [text for text in robot_texts(standin, INSPECTORS_ROBOT) if text]
    main, *detail = group
    assert detail and all(d.startswith("**巡群日报明细·翠江镇**") for d in detail)
    assert 3000 < len(main.encode()) <= 4096                               # the room is used, not wasted
    shown = [line.split("　")[0][2:] for text in group for line in text.split("\n") if line.startswith("> 第")]
    assert sorted(shown) == sorted(v.name for v in config.villages())      # every village exactly once
    assert f"另有 {len(shown) - sum(1 for line in main.split(chr(10)) if line.startswith('> 第'))} 个村" in main
    mine = private(standin, "zjw-hu")                                    # app markdown: 2048 bytes at most
    assert all(len(m.encode()) <= 2048 and not m.endswith("…") for m in mine) and len(mine) > len(group)
    shown_privately = [line.split("　")[0][2:] for text in mine for line in text.split("\n")
                       if line.startswith("> 第")]
    assert sorted(shown_privately) == sorted(shown)
    assert "**新线索 7 条**" in mine[0] and "> 另有 2 条，见线索私信" in mine[0]
    assert "**新线索 7 条**：J" in main and "描述" not in main
    await bot.stop()


def test_compose_keeps_the_worst_villages_in_the_first_message():
    villages = [VillageStats(f"第{i:02d}村", received=Counter(consult=i), open=i) for i in range(60)]
    villages[41].overdue = 3
    villages[7].unanswered = 2
    town = Town(name="翠江镇", inspectors=(), villages=())
    first, *rest = compose(town, datetime(2026, 12, 1).date(), TownStats(villages, [], [], False), 4,
                           private=True, limit=1200)
    body = first.split("\n")
    start = body.index("**各村**")
    assert body[start + 1].startswith("> 第41村") and body[start + 2].startswith("> 第07村")
    assert len(first.encode()) <= 1200 and all(len(r.encode()) <= 1200 for r in rest)


async def test_the_digest_ends_with_a_link_to_the_towns_desk_page_when_the_desk_has_an_address(config, clock,
                                                                                               standin):
    from urllib.parse import quote
    town = "翠江镇"
    line = f"详情：https://xiaowei.example.gov.cn/desk/town/{quote(town)}"
    config = big_town(config, 40, inspector_key=INSPECTORS_ROBOT)
    config = replace(config, desk=replace(config.desk, base_url="https://xiaowei.example.gov.cn/"))
    bot = await started(config, clock)
    at = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
    for i, village in enumerate(config.villages()):
        for n in range(6):          # enough that the village lines spill into detail messages
            open_case(bot, received=(at - timedelta(hours=3 + n * 9 + i)).isoformat(), kind="consult",
                      village=village.name, text=f"{village.name}第{n}件事，关于道路和路灯的很长很长的一段描述")
    await run_at(bot, clock, "digest", at.isoformat())
    first, *rest = private(standin, "zjw-hu")
    group, *group_rest = [text for text in robot_texts(standin, INSPECTORS_ROBOT) if text]
    assert rest                                                  # the detail follows; the link stays in the first
    assert first.split("\n")[-1] == line and group.split("\n")[-1] == line
    assert not any(line in text for text in rest + group_rest)
    assert len(first.encode()) <= 2048 and len(group.encode()) <= 4096
    await bot.stop()


async def test_without_a_desk_address_the_digest_has_no_link(config, clock, standin):
    bot = await started(config, clock)
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    [mine] = private(standin, "zjw-hu")
    assert "详情：" not in mine and "/desk/" not in mine
    await bot.stop()
