"""Every message addressed to the bot gets an answer (a greeting, who is on duty, a photo), and overheard chatter
gets none — each was silence, or the whole help text, before."""
from __future__ import annotations

import json
from dataclasses import replace

from bot.channels.bridge import bridge_signature
from tests.conftest import BRIDGE_SECRET, CHENGNAN, start_service, stop_service


async def ask(service, standin, payload) -> str | None:
    params, body = standin.seal_aibot(payload)
    assert (await service.post("/wecom/aibot", params, body)).status == 200
    await service.bot.settle()
    posted = standin.response_posts.get(payload["response_url"].split("response_code=")[1])
    return posted["markdown"]["content"] if posted else None


async def test_a_greeting_gets_one_line_on_how_to_raise_a_request(service, standin):
    answer = await ask(service, standin, standin.aibot_message(chatid=CHENGNAN, userid="resident-1", text="你好"))
    assert answer.startswith("您好！") and "@小微 村口路灯坏了" in answer and "编号" in answer
    private = await ask(service, standin, standin.aibot_message(chatid=None, userid="resident-1", text="在吗",
                                                                 chattype="single"))
    assert private.startswith("您好！") and "@小微" not in private        # no @ needed in a private chat


async def test_who_is_on_duty_names_todays_cadre(service, standin):
    service.bot.store.write_sync(lambda db: db.execute(
        "INSERT INTO duty_roster (village, day, userid) VALUES ('城南村', '2026-12-01', 'cn-chen')"))
    answer = await ask(service, standin, standin.aibot_message(chatid=CHENGNAN, userid="resident-1",
                                                                text="今天谁值班"))
    assert answer.startswith("城南村今天值班：文书陈芳（13900000013）")


async def test_a_photo_gets_a_kind_line_asking_for_words_not_the_help_text(service, standin):
    payload = standin.aibot_message(chatid=CHENGNAN, userid="resident-1", text="")
    payload.pop("text")
    payload.update(msgtype="image", image={"url": "https://qyapi.weixin.qq.com/x.jpg"})
    answer = await ask(service, standin, payload)
    assert answer.startswith("看不到图片、文件和语音里的内容") and "我是小微" not in answer


async def test_an_unsure_request_tells_the_resident_it_was_passed_on(config, clock, standin):
    service = await start_service(replace(config, rules=replace(config.rules, confidence_threshold=1.0)), clock)
    try:
        answer = await ask(service, standin, standin.aibot_message(
            chatid=CHENGNAN, userid="resident-1", text="村口那盏路灯坏了一个多星期了，麻烦派人来修一下"))
        assert answer == "收到，已转给值班干部确认，确认后会在群里答复您。"
    finally:
        await stop_service(service)


async def test_an_overheard_greeting_gets_nothing(service, standin, clock):
    raw = json.dumps({"msgid": "b-1", "chat_id": CHENGNAN, "sender": {"userid": "wx-1"}, "text": "大家早上好",
                      "mentions_bot": False}, ensure_ascii=False).encode()
    ts = str(int(clock.now().timestamp()))
    headers = {"X-Xiaowei-Timestamp": ts, "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, raw)}
    assert (await service.post("/bridge", {}, raw, headers=headers)).status == 200
    await service.bot.settle()
    assert standin.robot_messages == {} and standin.response_posts == {}
