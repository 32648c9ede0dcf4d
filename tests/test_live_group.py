"""A live group, walked as residents and cadres really write (issue: understand a live group): a chase with no
number finds the right case or asks which; another village's case is nobody else's business; with all traffic
(the bridge), a neighbour's "是啊路灯坏了好几天" joins the request instead of opening a second case, and the
cadre's natural answer in the group is the case's first response."""
from __future__ import annotations

import json

from bot.channels.bridge import bridge_signature
from bot.sandbox.standin import app_text
from tests.conftest import BRIDGE_SECRET, CHENGNAN, rows

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人来修一下"
SUBSIDY = "请问高龄补贴什么时候发，80岁以上的要去哪里申请"


async def say(service, standin, text, userid="resident-1", chatid=CHENGNAN) -> str | None:
    payload = standin.aibot_message(chatid=chatid, userid=userid, text=text)
    params, body = standin.seal_aibot(payload)
    assert (await service.post("/wecom/aibot", params, body)).status == 200
    await service.bot.settle()
    posted = standin.response_posts.get(payload["response_url"].split("response_code=")[1])
    return posted["markdown"]["content"] if posted else None


async def overheard(service, clock, text, userid, n=[0]):
    n[0] += 1
    raw = json.dumps({"msgid": f"br-{n[0]}", "chat_id": CHENGNAN, "sender": {"userid": userid}, "text": text,
                      "mentions_bot": False}, ensure_ascii=False).encode()
    ts = str(int(clock.now().timestamp()))
    headers = {"X-Xiaowei-Timestamp": ts, "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, raw)}
    assert (await service.post("/bridge", {}, raw, headers=headers)).status == 200
    await service.bot.settle()


async def test_a_chase_without_a_number_finds_the_case_its_words_point_at(service, standin):
    await say(service, standin, LAMP)                     # 101
    await say(service, standin, SUBSIDY)                  # 102
    answer = await say(service, standin, "路那个事情怎么样了")
    assert answer.startswith("编号 101（求助）")
    events = rows(service.bot, "SELECT c.number FROM events e JOIN cases c ON c.id = e.case_id WHERE action = 'chased'")
    assert events == [{"number": "101"}]                   # recorded on the right case


async def test_a_chase_that_fits_two_cases_lists_them_and_asks_which(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, SUBSIDY)
    answer = await say(service, standin, "我那个事怎么样了")
    assert answer.startswith("您有几件诉求，请问是哪一件？") and "101「" in answer and "102「" in answer
    assert rows(service.bot, "SELECT id FROM events WHERE action = 'chased'") == []


async def test_a_resident_never_gets_the_status_of_another_villages_case(service, standin):
    await say(service, standin, SUBSIDY, userid="resident-9", chatid="wrkSFfCgAAcnshuanghong")   # 双虹村's 101
    answer = await say(service, standin, "查询 101")                                              # from 城南村
    assert "高龄" not in answer and "没有找到" in answer


async def test_a_neighbours_support_joins_the_request_instead_of_opening_a_second(service, standin, clock):
    await say(service, standin, LAMP)
    await overheard(service, clock, "是啊路灯坏了好几天", "wx-neighbour")
    await overheard(service, clock, "我们这边的路灯也坏了好几天了，晚上黑乎乎的", "wx-other")
    assert [r["number"] for r in rows(service.bot, "SELECT number FROM cases")] == ["101"]
    assert len(rows(service.bot, "SELECT id FROM events WHERE action = 'seconded'")) == 2
    shown = await say(service, standin, "查看 101", userid="cn-li")
    assert "附议 2 人" in shown


async def test_the_cadres_own_answer_in_the_group_is_the_first_response(service, standin, clock):
    await say(service, standin, LAMP)
    clock.advance(minutes=20)
    await overheard(service, clock, "好的，明天叫电工看看", "cn-li")
    [state] = rows(service.bot, "SELECT first_response_at FROM case_state")
    assert state["first_response_at"] == "2026-12-01T09:20:00+08:00"
    asked = [app_text(m) for m in standin.app_messages if m["touser"] == "cn-li"]
    assert any("是否办结 101" in t and "办结 101 结果" in t for t in asked)
