"""Said the way a good public service would: each line below was jargon, an order to the cadre, or wrong."""
from __future__ import annotations

from tests.conftest import CHENGNAN_ROBOT, robot_texts

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人来修一下"


async def say(service, standin, text, userid="resident-1") -> str | None:
    payload = standin.aibot_message(chatid="wrkSFfCgAAcnchengnan", userid=userid, text=text)
    params, body = standin.seal_aibot(payload)
    assert (await service.post("/wecom/aibot", params, body)).status == 200
    await service.bot.settle()
    posted = standin.response_posts.get(payload["response_url"].split("response_code=")[1])
    return posted["markdown"]["content"] if posted else None


async def test_a_status_says_who_handles_it(service, standin):
    await say(service, standin, LAMP)
    assert "村里正在办理" in await say(service, standin, "查询 101")
    await say(service, standin, "认领 101", userid="cn-li")
    assert "由村委会主任李明办理，12月4日（周五）前答复" in await say(service, standin, "查询 101")


async def test_a_pass_up_tells_the_resident_when_and_why(service, standin, clock):
    await say(service, standin, LAMP)
    clock.advance(days=1)
    await say(service, standin, "上报 101 线路老化要整村改造", userid="cn-zhang")
    told = standin.robot_messages[CHENGNAN_ROBOT][-1]["text"]
    assert told["content"] == "编号 101 村里解决不了，已转镇里办理（线路老化要整村改造），12月7日（周一）前答复您。"
    assert told["mentioned_list"] == ["resident-1"]


async def test_unhappy_before_any_answer_is_not_called_reopened(service, standin):
    await say(service, standin, LAMP)
    answer = await say(service, standin, "不满意 101 都一个礼拜了")
    assert "还在办理" in answer and "重新办理" not in answer


async def test_after_unhappy_the_status_says_it_was_reopened_not_the_rejected_answer(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, "办结 101 路灯已换好", userid="cn-li")
    await say(service, standin, "不满意 101 还是不亮")
    status = await say(service, standin, "查询 101")
    assert "已重新办理" in status and "路灯已换好" not in status
