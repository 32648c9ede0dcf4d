"""The WeCom stand-in over real loopback HTTP: protocol answers, limits, expiry and injected faults."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sandbox.standin import ERR_RESPONSE_CODE, WeComStandIn


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2025-03-01T09:00:00")


@pytest.fixture
async def standin(clock: ManualClock) -> AsyncIterator[WeComStandIn]:
    async with WeComStandIn(clock) as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> dict:
    kwargs = {"data": body} if isinstance(body, (bytes, str)) else {"json": body}
    async with http.post(url, **kwargs) as resp:
        assert resp.status == 200  # WeCom reports failures in errcode, never in the HTTP status
        return await resp.json()


def text(content: str, **extra: Any) -> dict:
    return {"msgtype": "text", "text": {"content": content, **extra}}


async def token(http: aiohttp.ClientSession, s: WeComStandIn) -> str:
    async with http.get(f"{s.url}/cgi-bin/gettoken", params={"corpid": s.corp_id, "corpsecret": s.corp_secret}) as r:
        answer = await r.json()
    assert answer["errcode"] == 0
    return answer["access_token"]


def app_text(s: WeComStandIn, touser: str, content: str) -> dict:
    return {"touser": touser, "msgtype": "text", "agentid": s.agent_id, "text": {"content": content}}


# -- webhook -------------------------------------------------------------------------------
async def test_serves_on_loopback(standin: WeComStandIn) -> None:
    assert standin.url.startswith("http://127.0.0.1:")


async def test_webhook_accepts_and_records(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    msg = text("明天上午9点村委会开会", mentioned_list=["zhangsan"], mentioned_mobile_list=["13800001111"])
    assert await post(http, standin.webhook_url("k1"), msg) == {"errcode": 0, "errmsg": "ok"}
    assert await post(http, standin.webhook_url("k1"), {"msgtype": "markdown", "markdown": {"content": "**停水**"}}) \
        == {"errcode": 0, "errmsg": "ok"}
    assert standin.robot_messages["k1"][0] == msg
    assert [r.errcode for r in standin.requests] == [0, 0]
    assert standin.requests[0].endpoint == "webhook" and standin.requests[0].target == "k1"


async def test_webhook_rate_limit_is_a_sliding_minute(standin: WeComStandIn, http: aiohttp.ClientSession,
                                                      clock: ManualClock) -> None:
    url = standin.webhook_url("busy")
    for i in range(20):
        assert (await post(http, url, text(f"#{i}")))["errcode"] == 0
    over = await post(http, url, text("#20"))
    assert over["errcode"] == 45009 and "api freq out of limit" in over["errmsg"]
    assert len(standin.robot_messages["busy"]) == 20
    assert (await post(http, standin.webhook_url("quiet"), text("other key")))["errcode"] == 0
    clock.advance(seconds=59)
    assert (await post(http, url, text("still too soon")))["errcode"] == 45009
    clock.advance(seconds=1)
    assert (await post(http, url, text("#20 again")))["errcode"] == 0
    assert standin.robot_messages["busy"][-1]["text"]["content"] == "#20 again"


@pytest.mark.parametrize("body,errcode", [
    (text("村" * 683), 40058),                                             # 2049 bytes
    ({"msgtype": "markdown", "markdown": {"content": "a" * 4097}}, 40058),
    (text(""), 44004),
    ({"msgtype": "image", "image": {"base64": "x", "md5": "y"}}, 40008),
    (b'{"msgtype": "text", ', 40035),
    (b"[1, 2]", 40035),
])
async def test_webhook_refusals(standin: WeComStandIn, http: aiohttp.ClientSession, body: Any, errcode: int) -> None:
    answer = await post(http, standin.webhook_url("k"), body)
    assert answer["errcode"] == errcode
    assert f"devtool/query?e={errcode}" in answer["errmsg"]
    assert standin.robot_messages == {}


async def test_webhook_limits_are_inclusive(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    assert (await post(http, standin.webhook_url("k"), text("村" * 682 + "ab")))["errcode"] == 0  # 2048 bytes
    md = {"msgtype": "markdown", "markdown": {"content": "a" * 4096}}
    assert (await post(http, standin.webhook_url("k"), md))["errcode"] == 0


async def test_unknown_or_missing_webhook_key(clock: ManualClock, http: aiohttp.ClientSession) -> None:
    async with WeComStandIn(clock, webhook_keys={"good"}) as s:
        assert (await post(http, s.webhook_url("bad"), text("x")))["errcode"] == 93000
        assert (await post(http, f"{s.url}/cgi-bin/webhook/send", text("x")))["errcode"] == 93000
        assert (await post(http, s.webhook_url("good"), text("x")))["errcode"] == 0


# -- app API ---------------------------------------------------------------------------------
async def test_gettoken_and_send(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{standin.url}/cgi-bin/gettoken",
                        params={"corpid": standin.corp_id, "corpsecret": standin.corp_secret}) as r:
        answer = await r.json()
    assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    assert await token(http, standin) == answer["access_token"]  # still valid: handed out again
    url = f"{standin.url}/cgi-bin/message/send?access_token={answer['access_token']}"
    sent = await post(http, url, app_text(standin, "zhangsan|lisi", "您的低保申请已受理"))
    assert sent == {"errcode": 0, "errmsg": "ok", "invaliduser": ""}
    assert standin.app_messages == [app_text(standin, "zhangsan|lisi", "您的低保申请已受理")]
    assert standin.requests[-1].target == "zhangsan|lisi"


@pytest.mark.parametrize("params,errcode", [
    ({"corpid": "wwstandin", "corpsecret": "wrong"}, 40001),
    ({"corpid": "wwother", "corpsecret": "standin-secret"}, 40013),
    ({}, 40013),
])
async def test_gettoken_refusals(standin: WeComStandIn, http: aiohttp.ClientSession,
                                 params: dict, errcode: int) -> None:
    async with http.get(f"{standin.url}/cgi-bin/gettoken", params=params) as r:
        assert (await r.json())["errcode"] == errcode


async def test_token_expiry(standin: WeComStandIn, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    first = await token(http, standin)
    send = f"{standin.url}/cgi-bin/message/send?access_token="
    standin.expire_tokens()
    assert (await post(http, send + first, app_text(standin, "zhangsan", "hi")))["errcode"] == 42001
    second = await token(http, standin)
    assert second != first
    assert (await post(http, send + second, app_text(standin, "zhangsan", "hi")))["errcode"] == 0
    clock.advance(seconds=7199)
    assert (await post(http, send + second, app_text(standin, "zhangsan", "hi")))["errcode"] == 0
    clock.advance(seconds=1)
    assert (await post(http, send + second, app_text(standin, "zhangsan", "hi")))["errcode"] == 42001
    assert (await post(http, send + "forged", app_text(standin, "zhangsan", "hi")))["errcode"] == 40014
    assert (await post(http, send, app_text(standin, "zhangsan", "hi")))["errcode"] == 41001
    assert len(standin.app_messages) == 2


async def test_app_send_refusals_and_truncation(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    url = f"{standin.url}/cgi-bin/message/send?access_token={await token(http, standin)}"
    assert (await post(http, url, {**app_text(standin, "zhangsan", "x"), "agentid": 1}))["errcode"] == 40056
    assert (await post(http, url, app_text(standin, "", "x")))["errcode"] == 81013
    assert (await post(http, url, app_text(standin, "zhangsan", "")))["errcode"] == 44004
    assert (await post(http, url, b"{oops"))["errcode"] == 40035
    assert (await post(http, url, app_text(standin, "zhangsan", "村" * 1000)))["errcode"] == 0
    assert standin.app_messages[-1]["text"]["content"] == "村" * 682  # cut at 2048 bytes, whole chars
    markdown = {"touser": "zhangsan", "msgtype": "markdown", "agentid": standin.agent_id}
    too_long = await post(http, url, {**markdown, "markdown": {"content": "a" * 2049}})
    assert too_long["errcode"] == 40058                                 # app markdown is refused, not cut
    assert (await post(http, url, {**markdown, "markdown": {"content": "a" * 2048}}))["errcode"] == 0


async def test_app_per_member_rate_limit(standin: WeComStandIn, http: aiohttp.ClientSession,
                                         clock: ManualClock) -> None:
    url = f"{standin.url}/cgi-bin/message/send?access_token={await token(http, standin)}"
    for _ in range(30):
        assert (await post(http, url, app_text(standin, "zhangsan", "x")))["errcode"] == 0
    assert (await post(http, url, app_text(standin, "lisi|zhangsan", "x")))["errcode"] == 45009
    assert (await post(http, url, app_text(standin, "lisi", "x")))["errcode"] == 0
    clock.advance(seconds=60)
    assert (await post(http, url, app_text(standin, "zhangsan", "x")))["errcode"] == 0


# -- AI bot response_url ------------------------------------------------------------------------
async def test_response_url_single_use(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    payload = standin.aibot_message(chatid="wrg1", userid="zhangsan", text="村里几点停电")
    url = payload["response_url"]
    reply = {"msgtype": "markdown", "markdown": {"content": "**明早8点**"}}
    assert (await post(http, url, reply))["errcode"] == 0
    again = await post(http, url, reply)
    assert again["errcode"] == ERR_RESPONSE_CODE
    code = url.split("response_code=")[1]
    assert standin.response_posts == {code: reply}
    assert [r.errcode for r in standin.requests] == [0, ERR_RESPONSE_CODE]


async def test_response_url_expires_after_an_hour(standin: WeComStandIn, http: aiohttp.ClientSession,
                                                  clock: ManualClock) -> None:
    reply = {"msgtype": "markdown", "markdown": {"content": "ok"}}
    early, late = standin.new_response_url(), standin.new_response_url()
    clock.advance(minutes=59, seconds=59)
    assert (await post(http, early, reply))["errcode"] == 0
    clock.advance(seconds=1)
    assert (await post(http, late, reply))["errcode"] == ERR_RESPONSE_CODE
    assert len(standin.response_posts) == 1


async def test_response_url_bad_body_does_not_spend_it(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    url = standin.new_response_url()
    assert (await post(http, url, b"not json"))["errcode"] == 40035
    assert (await post(http, url, {"msgtype": "markdown", "markdown": {"content": ""}}))["errcode"] == 44004
    assert (await post(http, url, {"msgtype": "markdown", "markdown": {"content": "ok"}}))["errcode"] == 0


def test_aibot_message_shapes(clock: ManualClock) -> None:
    s = WeComStandIn(clock)
    s.url = "http://127.0.0.1:1"  # builders only need the base URL
    group = s.aibot_message(chatid="wrg1", userid="zhangsan", text="你好", msgid="m1", quote="上一条")
    assert group["chattype"] == "group" and group["chatid"] == "wrg1" and group["msgid"] == "m1"
    assert group["from"] == {"userid": "zhangsan"} and group["aibotid"] == s.aibot_id
    assert group["text"] == {"content": "@小微 你好"}
    assert group["quote"] == {"msgtype": "text", "text": {"content": "上一条"}}
    single = s.aibot_message(chatid=None, userid="lisi", text="你好", chattype="single")
    assert "chatid" not in single and single["text"] == {"content": "你好"}
    assert single["response_url"] != group["response_url"]


def test_response_url_needs_a_running_standin(clock: ManualClock) -> None:
    with pytest.raises(RuntimeError):
        WeComStandIn(clock).new_response_url()


# -- injected faults -------------------------------------------------------------------------------
async def test_fail_next(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    standin.fail_next("webhook", -1, times=2)
    url = standin.webhook_url("k")
    assert (await post(http, url, text("a")))["errcode"] == -1
    assert (await post(http, url, text("b")))["errcode"] == -1
    assert (await post(http, url, text("c")))["errcode"] == 0
    assert [m["text"]["content"] for m in standin.robot_messages["k"]] == ["c"]
    assert [(r.endpoint, r.errcode) for r in standin.requests] == [("webhook", -1), ("webhook", -1), ("webhook", 0)]


async def test_fail_next_other_endpoints(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    standin.fail_next("gettoken", 40001)
    async with http.get(f"{standin.url}/cgi-bin/gettoken",
                        params={"corpid": standin.corp_id, "corpsecret": standin.corp_secret}) as r:
        assert (await r.json())["errcode"] == 40001
    url = f"{standin.url}/cgi-bin/message/send?access_token={await token(http, standin)}"
    standin.fail_next("message", 45009)
    assert (await post(http, url, app_text(standin, "zhangsan", "x")))["errcode"] == 45009
    assert standin.requests[-1].target == "zhangsan"
    response_url = standin.new_response_url()
    standin.fail_next("response", -1)
    reply = {"msgtype": "markdown", "markdown": {"content": "ok"}}
    assert (await post(http, response_url, reply))["errcode"] == -1
    assert (await post(http, response_url, reply))["errcode"] == 0  # the injected failure did not spend it


async def test_disconnect_next(standin: WeComStandIn, http: aiohttp.ClientSession) -> None:
    standin.disconnect_next("webhook")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, standin.webhook_url("k"), text("lost"))
    assert (await post(http, standin.webhook_url("k"), text("kept")))["errcode"] == 0
    assert [m["text"]["content"] for m in standin.robot_messages["k"]] == ["kept"]
    assert [r.errcode for r in standin.requests] == [None, 0]


async def test_disconnect_gettoken_needs_two_drops_for_aiohttp(standin: WeComStandIn,
                                                               http: aiohttp.ClientSession) -> None:
    standin.disconnect_next("gettoken")
    assert await token(http, standin)  # aiohttp silently retried the GET once
    standin.disconnect_next("gettoken", times=2)
    with pytest.raises(aiohttp.ClientError):
        await token(http, standin)
    assert [r.errcode for r in standin.requests] == [None, 0, None, None]


def test_unknown_endpoint(clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        WeComStandIn(clock).fail_next("webhooks", -1)
    with pytest.raises(ValueError):
        WeComStandIn(clock).disconnect_next("nope")
