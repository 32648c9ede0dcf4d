"""Bad input is a 4xx and stores nothing, never a 5xx (issue 10, point 5): each case here was a 500, was stored
as it came, or hung the connection, before the callbacks checked shapes, clocks and read times."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.channels.bridge import bridge_signature
from bot.config import load_config
from tests.conftest import BRIDGE_SECRET, CHENGNAN, rows, start_service, stop_service

EXAMPLE = open("config.example.toml", encoding="utf-8").read()


def stored(service) -> list[dict]:
    return rows(service.bot, "SELECT channel, msgid, sender, text, response_url, received_at FROM messages")


def aibot_payload(standin, **changes) -> dict:
    payload = standin.aibot_message(chatid=CHENGNAN, userid="resident-1", text="路灯坏了")
    for key, value in changes.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


async def post_aibot(service, standin, payload: dict | str):
    params, body = standin.seal_aibot(payload)
    return await service.post("/wecom/aibot", params, body)


def bridge_message(**changes) -> dict:
    message = {"msgid": "b-1", "chat_id": CHENGNAN, "sender": {"userid": "wx-abc", "name": "阿婆"},
               "text": "今天天气好", "sent_at": "2026-12-01T08:55:00+08:00", "mentions_bot": False}
    return {**message, **changes}


async def post_bridge(service, clock, message: dict | bytes, stamp: int | None = None):
    raw = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
    ts = str(stamp if stamp is not None else int(clock.now().timestamp()))
    headers = {"X-Xiaowei-Timestamp": ts, "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, raw)}
    return await service.post("/bridge", {}, raw, headers=headers)


# -- headers and query ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["X-Xiaowei-Signature", "X-Xiaowei-Timestamp"])
async def test_non_ascii_bridge_headers_are_refused_not_a_crash(service, clock, header):
    raw = json.dumps(bridge_message()).encode()
    ts = str(int(clock.now().timestamp()))
    values = {"X-Xiaowei-Timestamp": ts.encode(), "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, raw).encode()}
    values[header] = "签名".encode() + b"\xff"
    request = (b"POST /bridge HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % len(raw)
               + b"".join(k.encode() + b": " + v + b"\r\n" for k, v in values.items()) + b"\r\n" + raw)
    answer = await service.raw(request)
    assert answer.split(b" ")[1] in (b"400", b"403"), answer[:60]
    assert stored(service) == []


async def test_a_huge_or_non_ascii_callback_timestamp_is_refused(service, standin):
    for stamp in ("9" * 5000, "１７００", "²"):
        params, body = standin.seal_aibot(aibot_payload(standin))
        resp = await service.post("/wecom/aibot", {**params, "timestamp": stamp}, body)
        assert resp.status == 400, stamp
    assert stored(service) == []


# -- the signature comes before any parse -------------------------------------------------------------------------
async def test_deeply_nested_json_is_refused_before_the_signature_is_even_checked(service, standin):
    params, _ = standin.seal_aibot(aibot_payload(standin))
    for body in (b'{"encrypt": ' + b"[" * 30000 + b"]" * 30000 + b"}", b"[" * 60000,
                 b'{"encrypt": "x", "more": {"a": 1}}'):
        assert (await service.post("/wecom/aibot", params, body)).status == 400
    assert stored(service) == []


async def test_the_app_envelope_is_parsed_without_recursion_or_entities(service, standin):
    # The ciphertext sits inside the XML, so it is parsed before the signature: expat does not recurse and
    # xmltodict refuses entity declarations, so deep nesting and entity bombs are a 400, not a crash.
    params, _ = standin.seal_app(userid="u", text="帮助")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<xml><Encrypt>&b;</Encrypt></xml>")
    for body in (b"<xml>" + b"<a>" * 7000 + b"</a>" * 7000 + b"</xml>", bomb,
                 b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'):
        assert (await service.post("/wecom/app", params, body)).status == 400
    assert stored(service) == []


async def test_a_validly_sealed_but_deeply_nested_payload_is_refused(service, standin):
    assert (await post_aibot(service, standin, '{"msgid": ' + "[" * 20000 + "]" * 20000 + "}")).status == 400
    assert (await post_bridge(service, standin.clock, b'{"msgid": ' + b"[" * 30000 + b"]" * 30000 + b"}")).status == 400
    assert stored(service) == []


async def test_an_escaped_slash_in_the_envelope_is_still_a_valid_callback(service, standin):
    params, body = standin.seal_aibot(aibot_payload(standin, msgid="slash-1"))
    resp = await service.post("/wecom/aibot", params, body.replace(b"/", b"\\/"))
    assert resp.status == 200
    assert [r["msgid"] for r in stored(service)] == ["slash-1"]


# -- strict shapes after decryption -----------------------------------------------------------------------------
WRONG_AIBOT = {
    "chatid a list": {"chatid": ["a", "b"]},
    "group without chatid": {"chatid": ...},
    "text a string": {"text": "路灯坏了"},
    "text.content a number": {"text": {"content": 12}},
    "text too long": {"text": {"content": "长" * 8001}},
    "response_url a dict": {"response_url": {"url": "x"}},
    "response_url file": {"response_url": "file:///etc/passwd"},
    "response_url elsewhere": {"response_url": "https://evil.example.com/cgi-bin/aibot/response"},
    "response_url look-alike host": {"response_url": "https://qyapi.weixin.qq.com.evil.example.com/x"},
    "response_url with userinfo": {"response_url": "https://evil@qyapi.weixin.qq.com/x"},
    "response_url plain http to WeCom": {"response_url": "http://qyapi.weixin.qq.com/x"},
    "mixed a string": {"msgtype": "mixed", "mixed": "路灯"},
    "mixed items not a list": {"msgtype": "mixed", "mixed": {"msg_item": {"msgtype": "text"}}},
    "mixed item not an object": {"msgtype": "mixed", "mixed": {"msg_item": ["路灯"]}},
    "mixed text item without content": {"msgtype": "mixed", "mixed": {"msg_item": [{"msgtype": "text", "text": 5}]}},
    "mixed image item without url": {"msgtype": "mixed", "mixed": {"msg_item": [{"msgtype": "image"}]}},
    "voice a string": {"msgtype": "voice", "voice": "路灯坏了"},
    "voice.content a list": {"msgtype": "voice", "voice": {"content": ["路灯"]}},
    "quote a string": {"quote": "上一条"},
    "quote text a list": {"quote": {"msgtype": "text", "text": ["上一条"]}},
    "msgid null": {"msgid": None},
    "msgid a list": {"msgid": ["a", "b"]},
    "msgid empty": {"msgid": ""},
    "msgid a number": {"msgid": 12345},
    "msgid with a newline": {"msgid": "m-1\nm-2"},
    "msgid too long": {"msgid": "m" * 129},
    "sender null": {"from": None},
    "sender userid null": {"from": {"userid": None}},
    "sender userid empty": {"from": {"userid": " "}},
    "aibotid a dict": {"aibotid": {"id": 1}},
    "chattype unknown": {"chattype": ["group"]},
    "msgtype missing": {"msgtype": ...},
}


async def test_a_validly_sealed_aibot_message_of_the_wrong_shape_is_refused(service, standin):
    for name, changes in WRONG_AIBOT.items():
        assert (await post_aibot(service, standin, aibot_payload(standin, **changes))).status == 400, name
        assert stored(service) == [], name


async def test_a_lone_surrogate_in_the_text_is_refused_not_a_crash(service, standin):
    payload = json.dumps(aibot_payload(standin, text={"content": "路灯\udcff"}))   # ASCII JSON: "\\udcff"
    assert (await post_aibot(service, standin, payload)).status == 400
    assert stored(service) == []


async def test_documented_shapes_are_still_accepted(service, standin):
    ok = {
        "text": {},
        "mixed": {"msgtype": "mixed", "text": ..., "mixed": {"msg_item": [
            {"msgtype": "text", "text": {"content": "@小微 路灯"}}, {"msgtype": "image", "image": {"url": "https://x"}},
            {"msgtype": "text", "text": {"content": "坏了"}}]}},
        "voice": {"msgtype": "voice", "text": ..., "voice": {"content": "路灯坏了"}},
        "quote": {"quote": {"msgtype": "text", "text": {"content": "上一条"}}},
        "wecom response_url": {"response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=c"},
        "single chat": {"chattype": "single", "chatid": ...},
        "image": {"msgtype": "image", "text": ..., "image": {"url": "https://x"}},
    }
    for name, changes in ok.items():
        assert (await post_aibot(service, standin, aibot_payload(standin, msgid=name, **changes))).status == 200, name
    assert {r["msgid"]: r["text"] for r in stored(service)} == {
        "text": "@小微 路灯坏了", "mixed": "@小微 路灯坏了", "voice": "路灯坏了", "quote": "@小微 路灯坏了",
        "wecom response_url": "@小微 路灯坏了", "single chat": "@小微 路灯坏了", "image": ""}


WRONG_APP = {
    "Content nested": "<Content><b>路灯</b></Content>",
    "Content missing": "",
    "MsgId with a control character": "<Content>路灯</Content><MsgId>1\x01</MsgId>",
    "MsgId twice": "<Content>路灯</Content><MsgId>1</MsgId><MsgId>2</MsgId>",
    "FromUserName too long": "<Content>路灯</Content><FromUserName>" + "u" * 129 + "</FromUserName>",
}


async def test_a_validly_sealed_app_message_of_the_wrong_shape_is_refused(service, standin):
    base = {"ToUserName": standin.corp_id, "FromUserName": "resident-7", "CreateTime": "1", "MsgType": "text",
            "MsgId": "42", "AgentID": str(standin.agent_id)}
    for name, fields in WRONG_APP.items():
        given = {tag for tag in base if f"<{tag}>" in fields}
        xml = "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in base.items() if k not in given) + fields + "</xml>"
        params, body = standin.seal_app_xml(xml)
        assert (await service.post("/wecom/app", params, body)).status == 400, name
        assert stored(service) == [], name


WRONG_BRIDGE = {
    "msgid null": {"msgid": None},
    "msgid a list": {"msgid": ["a", "b"]},
    "msgid empty": {"msgid": ""},
    "sender null": {"sender": None},
    "sender userid null": {"sender": {"userid": None}},
    "sender name a list": {"sender": {"userid": "wx-abc", "name": ["阿婆"]}},
    "chat_id a number": {"chat_id": 5},
    "text a dict": {"text": {"content": "x"}},
    "mentions_bot a string": {"mentions_bot": "false"},
    "sent_at 1970": {"sent_at": "1970-01-01T00:00:00+00:00"},
    "sent_at 2100": {"sent_at": "2100-01-01T00:00:00+08:00"},
    "sent_at 9999": {"sent_at": "9999-12-31T23:59:59-12:00"},
    "sent_at 0001": {"sent_at": "0001-01-01T00:00:00+14:00"},
    "sent_at an hour ahead": {"sent_at": "2026-12-01T10:00:00+08:00"},
    "sent_at a number": {"sent_at": 1764550000},
    "sent_at not a time": {"sent_at": "昨天"},
}


async def test_a_signed_bridge_message_of_the_wrong_shape_is_refused(service, clock):
    for name, changes in WRONG_BRIDGE.items():
        assert (await post_bridge(service, clock, bridge_message(**changes))).status == 400, name
        assert stored(service) == [], name


async def test_a_null_msgid_is_not_stored_and_so_cannot_swallow_a_later_one(service, standin, clock):
    assert (await post_aibot(service, standin, aibot_payload(standin, msgid=None))).status == 400
    assert (await post_bridge(service, clock, bridge_message(msgid=None))).status == 400
    assert (await post_aibot(service, standin, aibot_payload(standin, msgid="None"))).status == 200
    assert (await post_bridge(service, clock, bridge_message(msgid="None"))).status == 200
    assert [(r["channel"], r["msgid"]) for r in stored(service)] == [("aibot", "None"), ("bridge", "None")]


async def test_a_bridge_export_of_the_last_days_keeps_its_own_time(service, clock):
    assert (await post_bridge(service, clock, bridge_message(sent_at="2026-11-28T20:00:00+08:00"))).status == 200
    assert [r["received_at"] for r in stored(service)] == ["2026-11-28T20:00:00+08:00"]


# -- clocks -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("skew", [{"days": -1}, {"days": 10}, {"seconds": -601}, {"seconds": 601}])
async def test_a_correctly_signed_callback_from_another_time_is_refused(service, standin, clock, skew):
    clock.advance(**skew)                                   # WeCom's side: sealed then
    sealed = {"aibot": standin.seal_aibot(aibot_payload(standin)),
              "app": standin.seal_app(userid="resident-7", text="帮助"),
              "check": standin.url_check("aibot")[0]}
    clock.advance(**{k: -v for k, v in skew.items()})       # our side: received now
    assert (await service.post("/wecom/aibot", *sealed["aibot"])).status == 403
    assert (await service.post("/wecom/app", *sealed["app"])).status == 403
    async with service.http.get(service.url("/wecom/aibot"), params=sealed["check"]) as resp:
        assert resp.status == 403
    assert stored(service) == []


async def test_a_callback_within_the_window_is_accepted(service, standin, clock):
    clock.advance(seconds=-590)
    params, body = standin.seal_aibot(aibot_payload(standin, msgid="late-1"))
    clock.advance(seconds=590)
    assert (await service.post("/wecom/aibot", params, body)).status == 200


async def test_the_window_is_configurable(config, clock, standin, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert (load_config(path, env={}).server.clock_skew_seconds, load_config(path, env={}).server.read_timeout_seconds) \
        == (600, 10)
    path.write_text(EXAMPLE.replace("port = 8080", "port = 8080\nclock_skew_seconds = 60\nread_timeout_seconds = 3"),
                    encoding="utf-8")
    assert (load_config(path, env={}).server.clock_skew_seconds, load_config(path, env={}).server.read_timeout_seconds) \
        == (60, 3)
    svc = await start_service(replace(config, server=replace(config.server, clock_skew_seconds=60)), clock)
    try:
        clock.advance(seconds=-120)
        params, body = standin.seal_aibot(aibot_payload(standin))
        clock.advance(seconds=120)
        assert (await svc.post("/wecom/aibot", params, body)).status == 403
    finally:
        await stop_service(svc)


# -- slow clients -------------------------------------------------------------------------------------------------
@pytest.fixture
async def impatient(config, clock):
    svc = await start_service(replace(config, server=replace(config.server, read_timeout_seconds=0.2)), clock)
    yield svc
    await stop_service(svc)


async def test_a_trickled_body_is_cut_with_408(impatient, clock):
    raw = json.dumps(bridge_message()).encode()
    ts = str(int(clock.now().timestamp()))
    head = (b"POST /bridge HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Xiaowei-Timestamp: %s\r\n"
            b"X-Xiaowei-Signature: %s\r\n\r\n" % (len(raw), ts.encode(), bridge_signature(BRIDGE_SECRET, ts, raw).encode()))
    answer = await impatient.raw(head + raw[:10])      # and then nothing more
    assert answer.startswith(b"HTTP/1.1 408"), answer[:60]
    assert stored(impatient) == []


async def test_a_silent_or_headerless_connection_is_closed(impatient):
    assert await impatient.raw(b"") == b""
    assert await impatient.raw(b"POST /bridge HTTP/1.1\r\nHost: x\r\n") == b""


async def test_a_short_read_timeout_does_not_slow_or_stop_valid_callbacks(impatient, standin, clock):
    for i in range(3):
        assert (await impatient.aibot(standin, text="@小微 帮助", msgid=f"fast-{i}")).status == 200
    assert (await post_bridge(impatient, clock, bridge_message())).status == 200
    assert len(stored(impatient)) == 4


# -- found by tests/test_fuzz.py -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/healthz", "/wecom/aibot", "/no-such-page", "/bridge"])
async def test_an_expect_header_that_is_not_utf8_is_417_on_every_path(service, path):
    # aiohttp's own Expect handler put the raw value into its 417 text and failed encoding it: a 500
    answer = await service.raw(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: \x80\xff\r\n\r\n"
                               % path.encode())
    assert answer.startswith(b"HTTP/1.1 417"), answer[:60]


async def test_routing_still_answers_404_405_and_100_continue(service, standin):
    async with service.http.get(service.url("/bridge")) as resp:
        assert resp.status == 405 and resp.headers["Allow"] == "POST"
    async with service.http.post(service.url("/healthz")) as resp:
        assert resp.status == 405
    async with service.http.get(service.url("/nowhere")) as resp:
        assert resp.status == 404
    params, body = standin.seal_aibot(aibot_payload(standin, msgid="continued"))
    async with service.http.post(service.url("/wecom/aibot"), params=params, data=body, expect100=True) as resp:
        assert resp.status == 200
    assert [r["msgid"] for r in stored(service)] == ["continued"]
