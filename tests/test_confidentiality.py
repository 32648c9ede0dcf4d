"""Never give a reporter away. Each walk below was a leak on the earlier main; the last test sends every kind of
message through every channel and reads the stand-in's full log: no clue text, number or status ever reaches a
village group or a village cadre."""
from __future__ import annotations

import json
import re

from bot.channels.bridge import bridge_signature
from bot.outbound import ConfidentialityBreach
from bot.sandbox.standin import app_text
from tests.conftest import BRIDGE_SECRET, CHENGNAN, rows
from tests.schedule_helpers import run_at

SHUANGHONG = "wrkSFfCgAAcnshuanghong"
REPORT = "村主任把今年的低保名额给了他自己的亲戚，他们家有车有楼房，请纪委来查一查"
LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的老人走路怕摔，麻烦派人来修一下"
CLUE = re.compile(r"J\d{4}-\d{3}")
VILLAGE_PEOPLE = {"cn-zhang", "cn-li", "cn-chen", "sh-huang", "sh-qiu", "sh-zeng", "gf-lei", "gf-xie", "nd-wang",
                  "nd-zheng", "zf-liu", "zf-wu", "zf-xiao", "zf-huang"}   # cadres and link leaders
INSPECTORS = {"zjw-hu", "zjw-ren"}


async def say(service, standin, text, userid="resident-1", **kw) -> str | None:
    """Send as the AI bot would; returns the answer posted to this message's response_url, if any."""
    payload = standin.aibot_message(chatid=kw.pop("chatid", CHENGNAN), userid=userid, text=text, **kw)
    params, body = standin.seal_aibot(payload)
    assert (await service.post("/wecom/aibot", params, body)).status == 200
    await service.bot.settle()
    code = payload["response_url"].split("response_code=")[1]
    posted = standin.response_posts.get(code)
    return posted["markdown"]["content"] if posted else None


async def privately(service, standin, text, userid="resident-1"):
    return await say(service, standin, text, userid, chattype="single", chatid=None)


def private_to(standin, userid):
    return [app_text(m) for m in standin.app_messages if m["touser"] == userid]


async def test_an_inspectors_clue_command_in_a_village_group_gets_one_line(service, standin):
    await privately(service, standin, REPORT)
    answer = await say(service, standin, "查看 J2026-001", userid="zjw-hu")
    assert answer == "请私聊小微办理。"
    shown = await privately(service, standin, "查看 J2026-001", userid="zjw-hu")
    assert "低保名额" in shown                                   # in private, the inspector sees it all


async def test_a_reporters_plain_query_in_the_group_never_selects_the_clue(service, standin):
    await say(service, standin, LAMP)                                          # 101, a public request
    await say(service, standin, REPORT)                                        # the clue, same resident
    answer = await say(service, standin, "查询")
    assert "101" in answer and "J2026" not in answer and "纪委" not in answer
    assert "J2026-001" in await privately(service, standin, "查询 J2026-001")   # the reporter, in private


async def test_rating_a_clue_is_answered_privately_and_touches_no_deadline(service, standin):
    await privately(service, standin, REPORT)
    before = rows(service.bot, "SELECT s.due_at, s.status FROM case_state s")
    assert await say(service, standin, "不满意 J2026-001 根本没人来查") == "请私聊小微办理。"
    answer = await privately(service, standin, "不满意 J2026-001 根本没人来查")
    assert answer == "谢谢您的评价，已保密转告镇纪委。"
    assert rows(service.bot, "SELECT s.due_at, s.status FROM case_state s") == before
    assert private_to(standin, "cn-zhang") == []                               # not the party secretary
    assert any("反映人评价 J2026-001】不满意" in t for t in private_to(standin, "zjw-hu"))


async def test_clues_take_their_own_numbers_and_leave_no_gap(service, standin):
    await say(service, standin, LAMP)
    await privately(service, standin, REPORT)
    await say(service, standin, "请问低保每年什么时候重新评，要准备哪些材料")
    assert [r["number"] for r in rows(service.bot, "SELECT number FROM cases ORDER BY id")] == \
        ["101", "J2026-001", "102"]


async def test_a_link_leader_acts_only_on_the_villages_he_hangs_on(service, standin):
    await say(service, standin, LAMP)                                          # 城南村's 101
    assert "没有办理权限" in await say(service, standin, "认领 101", userid="zf-wu")   # 双虹村's leader
    await say(service, standin, "认领 101", userid="zf-liu")                    # 城南村's own
    assert rows(service.bot, "SELECT assignee FROM case_state") == [{"assignee": "zf-liu"}]


async def test_the_choke_point_refuses_even_a_rule_that_forgets(service, standin):
    await privately(service, standin, REPORT)
    village = service.bot.config.village_by_name("城南村")
    for leak in (f"诉求：{REPORT}", "编号 J2026-001 已办结", "J2026-099"):
        try:
            await service.bot.commit(lambda db, out, t=leak: out.group(village, t))
        except ConfidentialityBreach:
            pass
        else:
            raise AssertionError(f"sent to a village group: {leak}")
        try:
            await service.bot.commit(lambda db, out, t=leak: out.members(["cn-zhang"], t))
        except ConfidentialityBreach:
            continue
        raise AssertionError(f"sent to a village cadre: {leak}")
    await service.bot.commit(lambda db, out: out.members(["zjw-hu"], f"诉求：{REPORT}"))   # the inspectors may


async def test_no_clue_ever_reaches_a_village_target_through_any_channel(service, standin, clock):
    reports = {"aibot-group": "会计把修路款转到自己老婆的账上，账本都做了假",
               "aibot-private": "村主任收了包工头两万块好处费才让他中标",
               "app": "网格员把救灾的大米拉回自己家里分给亲戚",
               "bridge": "书记每天带着村干部用公款吃喝，发票写成办公用品"}
    group_codes: set[str] = set()

    async def group(text, userid="resident-1", chatid=CHENGNAN):
        payload = standin.aibot_message(chatid=chatid, userid=userid, text=text)
        group_codes.add(payload["response_url"].split("response_code=")[1])
        params, body = standin.seal_aibot(payload)
        assert (await service.post("/wecom/aibot", params, body)).status == 200
        await service.bot.settle()

    async def app(text, userid):
        params, body = standin.seal_app(userid=userid, text=text)
        assert (await service.post("/wecom/app", params, body)).status == 200
        await service.bot.settle()

    async def bridge(text, userid, n=[0]):
        n[0] += 1
        raw = json.dumps({"msgid": f"br-{n[0]}", "chat_id": SHUANGHONG, "sender": {"userid": userid},
                          "text": text, "mentions_bot": False}, ensure_ascii=False).encode()
        ts = str(int(clock.now().timestamp()))
        headers = {"X-Xiaowei-Timestamp": ts, "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, raw)}
        assert (await service.post("/bridge", {}, raw, headers=headers)).status == 200
        await service.bot.settle()

    # Every way a report can come in, with a public request beside it.
    await group(LAMP, "res-a")
    await group(reports["aibot-group"], "res-a")
    await privately(service, standin, reports["aibot-private"], "res-b")
    await app(reports["app"], "res-c")
    await bridge(reports["bridge"], "res-d")
    numbers = [r["number"] for r in rows(service.bot, "SELECT number FROM cases WHERE kind = 'report'")]
    assert len(numbers) == 4 and all(CLUE.fullmatch(n) for n in numbers)
    # Every follow-up and command on a clue, in the group and in private, by its reporter, others, cadres.
    for number in numbers:
        for text, who in ((f"查询 {number}", "res-a"), (f"满意 {number}", "res-a"), (f"不满意 {number} 没人管", "res-a"),
                          (f"查看 {number}", "cn-li"), (f"认领 {number}", "cn-zhang"), (f"办结 {number} 查了", "cn-li"),
                          (f"改类 {number} 求助", "cn-chen"), (f"查看 {number}", "zjw-hu"),
                          (f"进展 {number} 已约谈", "zjw-hu"), (f"督办 {number} 抓紧", "zjw-ren")):
            await group(text, who)
            await privately(service, standin, text, who)
            await app(text, who)
    for text, who in (("查询", "res-a"), ("我那个事怎么样了", "res-a"), ("我的", "cn-li"), ("帮助", "res-b")):
        await group(text, who)
        await privately(service, standin, text, who)
    await privately(service, standin, f"办结 {numbers[0]} 情况属实，已责令退款", "zjw-hu")
    # The morning routine over the following days: nags up the ladder, the digest, notices.
    for day in ("2026-12-02", "2026-12-03", "2026-12-07", "2026-12-10"):
        for job, at in (("duty_notice", "08:00"), ("digest", "08:00"), ("nags", "09:30")):
            await run_at(service.bot, clock, job, f"{day}T{at}+08:00")

    clue_words = [re.sub(r"\s", "", t)[i:i + 8] for t in reports.values() for i in range(0, len(t) - 8, 4)]

    def leaks(text: str) -> list[str]:
        flat = re.sub(r"\s", "", text)
        return CLUE.findall(text) + [w for w in clue_words if w in flat] + (["纪委正在核查"] if "正在核查" in text else [])

    village_posts = [m.get("text", m.get("markdown", {})).get("content", "")
                     for key, msgs in standin.robot_messages.items() for m in msgs]
    village_posts += [p["markdown"]["content"] for code, p in standin.response_posts.items() if code in group_codes]
    village_posts += [app_text(m) for m in standin.app_messages if m["touser"] in VILLAGE_PEOPLE]
    assert len(village_posts) > 50                            # the walk really talked to the villages
    assert [(t, leaks(t)) for t in village_posts if leaks(t)] == []
    # No rule even tried: the choke point refused nothing (a refusal would have failed the message).
    assert rows(service.bot, "SELECT id FROM messages WHERE status = 'failed'") == []
    # And the inspectors did get every clue, privately.
    inspector_texts = "\n".join(private_to(standin, "zjw-hu"))
    assert all(n in inspector_texts for n in numbers) and all(t in inspector_texts for t in reports.values())


async def test_customer_group_drafts_and_group_sends_are_held_to_the_groups_rules(config, clock, standin):
    """A draft is addressed to a cadre but meant for the group, and a group send goes to the group: neither may
    carry a clue, whoever delivers it."""
    from dataclasses import replace
    from tests.conftest import start_service, stop_service
    town = config.towns[0]
    villages = tuple(replace(v, group="customer", webhook_key="") if v.name == "城南村" else v for v in town.villages)
    service = await start_service(replace(config, towns=(replace(town, villages=villages),)), clock)
    try:
        await privately(service, standin, REPORT)
        village = service.bot.config.village_by_name("城南村")
        for send in (lambda out: out.group(village, f"诉求：{REPORT}"),
                     lambda out: out.group(village, "编号 J2026-001 已办结", post="morning"),
                     lambda out: out.group_send(village, f"昨日：{REPORT}")):
            try:
                await service.bot.commit(lambda db, out, s=send: s(out))
            except ConfidentialityBreach:
                continue
            raise AssertionError("a clue was let into a customer group")
        assert not [t for t in private_to(standin, "cn-zhang") if "低保名额" in t]
        assert rows(service.bot, "SELECT * FROM group_posts") == [] and rows(service.bot, "SELECT * FROM group_sends") == []
    finally:
        await stop_service(service)


async def test_a_possible_report_goes_to_the_inspectors_to_triage_and_can_be_released(config, clock, standin):
    """Below the line a possible report is not dropped and not sent to the village: it is a 疑似线索 for the
    inspectors, who confirm it as a clue or release it to the village as an ordinary request."""
    from dataclasses import replace
    from tests.conftest import robot_texts, start_service, stop_service
    unsure = replace(config.rules, confidence_threshold=1.0, triage_threshold=0.0)   # everything is unsure
    service = await start_service(replace(config, rules=unsure), clock)
    try:
        answer = await say(service, standin, "村口那盏路灯坏了好久，村里一直没人管")
        assert answer == "收到，已转交有关人员核实处理。"
        assert robot_texts(standin) == [] and not [u for u in VILLAGE_PEOPLE if private_to(standin, u)]
        [triage] = private_to(standin, "zjw-hu")
        assert triage.startswith("【疑似线索 J2026-001】") and "转办 J2026-001 求助" in triage
        released = await privately(service, standin, "转办 J2026-001 求助", userid="zjw-hu")
        assert released == "已把 J2026-001 转为城南村的求助，编号 101。"
        [announced] = robot_texts(standin)
        assert "编号 101" in announced and "J2026" not in announced
        status = rows(service.bot, "SELECT c.number, s.status FROM cases c JOIN case_state s ON s.case_id = c.id "
                               "ORDER BY c.id")
        assert status == [{"number": "J2026-001", "status": "released"}, {"number": "101", "status": "open"}]
        await say(service, standin, "后山那条路坑坑洼洼的，下雨天根本走不了")
        assert await privately(service, standin, "确认 J2026-002", userid="zjw-hu") == "已确认 J2026-002 为问题线索，记入台账。"
    finally:
        await stop_service(service)
