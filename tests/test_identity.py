"""亮明身份 in customer groups, against the stand-in: each morning and on WeCom's change event the group's members
are read; a missing or unlabelled cadre is told privately (once a day) the exact nickname to set, a wrong owner goes
to the admins and the town's inspectors, and the digest lists the villages with gaps."""
from __future__ import annotations

from dataclasses import replace

from bot import identity
from bot.channels.app_events import parse_app_event
from bot.config import Cadre
from bot.crypto import CallbackCrypto
from tests.conftest import rows
from tests.schedule_helpers import private, run_at, started

CHENGNAN, SHUANGHONG = "wrkSFfCgAAcnchengnan", "wrkSFfCgAAcnshuanghong"
RESIDENT = {"userid": "wmResidentLi", "type": 2, "group_nickname": "李阿姨", "name": "李秀英"}


def customer(config, *names: str):
    town = config.towns[0]
    villages = tuple(replace(v, group="customer", webhook_key="") if v.name in names else v for v in town.villages)
    return replace(config, towns=(replace(town, villages=villages),))


def member(userid: str, nickname: str) -> dict:
    return {"userid": userid, "type": 1, "group_nickname": nickname, "name": ""}


def groups(standin, *, chengnan_owner: str = "cn-zhang", shuanghong_owner: str = "sh-huang") -> None:
    # 城南村: the secretary labelled, the director with his name only, the clerk not in the group.
    standin.add_customer_group(CHENGNAN, name="城南村村民群", owner=chengnan_owner, members=[
        member("cn-zhang", "书记-张建"), member("cn-li", "李明"), RESIDENT])
    standin.add_customer_group(SHUANGHONG, name="双虹村村民群", owner=shuanghong_owner, members=[
        member("sh-huang", "支书 黄海"), member("sh-qiu", "邱兰（村委会主任）"), member("sh-zeng", "网格员曾勇"), RESIDENT])


def event(standin, *args, **extra):
    crypto = CallbackCrypto(standin.app_token, standin.app_aes_key, standin.corp_id)
    return parse_app_event(crypto.open_app_xml(*standin.group_change(*args, **extra)))


def told(standin, userid: str) -> list[str]:
    return [t for t in private(standin, userid) if "亮明身份" in t or "村群解散" in t]


def test_a_nickname_shows_name_and_post_in_any_tolerable_form():
    clerk = Cadre("cn-chen", "陈芳", "文书")
    secretary = Cadre("cn-zhang", "张建", "党支部书记", secretary=True)
    director = Cadre("nd-zheng", "郑伟", "社区居委会主任")
    assert identity.expected_nickname(clerk) == "文书-陈芳"
    assert identity.expected_nickname(secretary) == "书记-张建"
    assert identity.expected_nickname(director) == "主任-郑伟"
    for nickname in ("文书-陈芳", "陈芳（文书）", "城南村文书 陈芳", "文书｜陈芳", "ＷＳ文书陈芳"):
        assert identity.shows_identity(nickname, clerk), nickname
    for nickname in ("陈芳", "文书", "阿芳", "", "文书-陈"):
        assert not identity.shows_identity(nickname, clerk), nickname
    assert identity.shows_identity("支书张建", secretary) and identity.shows_identity("党支部书记张建", secretary)
    assert identity.shows_identity("居委主任郑伟", director) and not identity.shows_identity("郑伟", director)
    # A 妇女主任 is not a 主任: the short form keeps what tells residents who she is.
    assert not identity.shows_identity("主任-谢英", Cadre("gf-xie", "谢英", "妇女主任"))


async def test_the_morning_check_tells_each_cadre_once_a_day_and_a_wrong_owner_goes_to_admins_and_inspectors(
        config, clock, standin):
    groups(standin, shuanghong_owner="sh-qiu")
    bot = await started(customer(config, "城南村", "双虹村"), clock)
    await run_at(bot, clock, "identity", "2026-12-01T07:30+08:00")

    [missing] = told(standin, "cn-chen")
    assert "你还不在城南村的客户群里" in missing and "群主张建" in missing and "请把群昵称改为：文书-陈芳" in missing
    [unlabelled] = told(standin, "cn-li")
    assert "「李明」" in unlabelled and "请把群昵称改为：主任-李明" in unlabelled
    assert told(standin, "cn-zhang") == [] and told(standin, "sh-zeng") == []      # labelled right
    [owner] = told(standin, "zjw-hu")
    assert told(standin, "zjw-ren") == [owner]
    assert "双虹村客户群的群主现在是邱兰，不是登记的群主黄海" in owner
    alerts = [t for t in private(standin, "xian-it-wang") if "双虹村客户群的群主" in t]
    assert len(alerts) == 1 and "sh-qiu" in alerts[0] and "owner" in alerts[0]
    assert not any("城南村" in t for t in private(standin, "zjw-hu"))    # cadres' nicknames are their own business

    checks = rows(bot, "SELECT village, trigger, owner, owner_ok, cadres, shown FROM identity_checks ORDER BY village")
    assert [(c["village"], c["owner_ok"], c["shown"], c["cadres"]) for c in checks] == \
        [("双虹村", 0, 3, 3), ("城南村", 1, 1, 3)]
    findings = rows(bot, "SELECT userid, problem, nickname, expected FROM identity_findings ORDER BY userid")
    assert [(f["userid"], f["problem"], f["expected"]) for f in findings] == [
        ("cn-chen", "missing", "文书-陈芳"), ("cn-li", "unlabelled", "主任-李明"), ("sh-qiu", "owner", "sh-huang")]

    await run_at(bot, clock, "identity", "2026-12-01T11:00+08:00")    # the same day again: checked, not re-told
    assert len(rows(bot, "SELECT id FROM identity_checks")) == 4
    assert len(told(standin, "cn-chen")) == 1 and len(told(standin, "cn-li")) == 1 and len(told(standin, "zjw-hu")) == 1

    await run_at(bot, clock, "identity", "2026-12-02T07:30+08:00")    # a new day: still missing, told again
    assert len(told(standin, "cn-chen")) == 2 and len(told(standin, "zjw-hu")) == 2
    await bot.stop()


async def test_a_member_leaving_is_rechecked_at_once_and_the_cadre_told(config, clock, standin):
    standin.add_customer_group(CHENGNAN, name="城南村村民群", owner="cn-zhang", members=[
        member("cn-zhang", "书记-张建"), member("cn-li", "主任-李明"), member("cn-chen", "文书-陈芳"), RESIDENT])
    bot = await started(customer(config, "城南村"), clock)
    await run_at(bot, clock, "identity", "2026-12-01T07:30+08:00")
    assert told(standin, "cn-chen") == [] and rows(bot, "SELECT shown FROM identity_checks") == [{"shown": 3}]

    clock.set("2026-12-01T14:00+08:00")
    standin.customer_groups[CHENGNAN]["members"] = [m for m in standin.customer_groups[CHENGNAN]["members"]
                                                    if m["userid"] != "cn-chen"]
    await identity.group_changed(bot, event(standin, CHENGNAN, "update", "del_member", QuitScene=0, MemChangeCnt=1))
    await bot.settle()
    [left] = told(standin, "cn-chen")
    assert "你还不在城南村的客户群里" in left and "文书-陈芳" in left
    latest = rows(bot, "SELECT trigger, shown FROM identity_checks ORDER BY id DESC LIMIT 1")
    assert latest == [{"trigger": "change", "shown": 2}]

    # Another change the same day: checked again, the same finding not told twice.
    await identity.group_changed(bot, event(standin, CHENGNAN, "update", "add_member", JoinScene=3))
    await bot.settle()
    assert len(told(standin, "cn-chen")) == 1 and len(rows(bot, "SELECT id FROM identity_checks")) == 3
    # A new group name moves nobody: no call, no check; a group not configured is not ours to check.
    await identity.group_changed(bot, event(standin, CHENGNAN, "update", "change_name"))
    await identity.group_changed(bot, event(standin, "wrSomebodyElsesGroup", "update", "add_member"))
    assert len(rows(bot, "SELECT id FROM identity_checks")) == 3
    await bot.stop()


async def test_a_dissolved_village_group_is_told_to_admins_and_inspectors_once(config, clock, standin):
    groups(standin)
    bot = await started(customer(config, "城南村"), clock)
    for _ in range(2):
        await identity.group_changed(bot, event(standin, CHENGNAN, "dismiss"))
    await bot.settle()
    [inspector] = told(standin, "zjw-hu")
    assert "城南村的客户群已被群主解散" in inspector and "chat_id" not in inspector
    assert len([t for t in private(standin, "xian-it-wang") if "解散" in t and "chat_id" in t]) == 1
    await bot.stop()


async def test_a_group_wecom_will_not_give_is_alerted_and_the_others_still_checked(config, clock, standin):
    standin.add_customer_group(SHUANGHONG, name="双虹村村民群", owner="sh-huang", members=[member("sh-huang", "书记黄海")])
    bot = await started(customer(config, "城南村", "双虹村"), clock)     # 城南村's group is unknown to WeCom
    await run_at(bot, clock, "identity", "2026-12-01T07:30+08:00")
    assert any("读不到城南村客户群的成员" in t for t in private(standin, "xian-it-wang"))
    assert [r["village"] for r in rows(bot, "SELECT village FROM identity_checks")] == ["双虹村"]
    assert len(told(standin, "sh-qiu")) == 1 and len(told(standin, "sh-zeng")) == 1
    await bot.stop()


async def test_the_digest_lists_the_villages_with_identity_gaps(config, clock, standin):
    groups(standin, shuanghong_owner="sh-qiu")
    bot = await started(customer(config, "城南村", "双虹村"), clock)
    await run_at(bot, clock, "identity", "2026-12-01T07:30+08:00")
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    [digest] = [t for t in private(standin, "zjw-hu") if t.startswith("**巡群日报")]
    assert "**亮明身份**：城南村 1/3、双虹村 3/3（群主不符）" in digest.split("\n")
    await bot.stop()
