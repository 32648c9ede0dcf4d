"""Property-based fuzzing of every endpoint: whatever arrives, the answer is below 500, a refusal stores nothing,
and the server still answers /healthz. Signed and encrypted payloads are sealed by the stand-in, so the shapes
behind the signature are fuzzed too, not only what a forger could send."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.channels.bridge import bridge_signature
from tests.conftest import BRIDGE_SECRET, CHENGNAN, rows

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PATHS = ["/wecom/aibot", "/wecom/app", "/bridge", "/healthz", "/", "/wecom/aibot/", "/%FF", "/bridge?x"]
METHODS = ["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH", "BREW"]
HEADERS = ["X-Xiaowei-Signature", "X-Xiaowei-Timestamp", "Content-Type", "Content-Encoding", "Accept-Encoding",
           "Expect", "Cookie", "Origin", "X-Forwarded-For"]
QUERY = ["msg_signature", "timestamp", "nonce", "echostr", "encrypt", "x"]
KEEP, DROP = object(), object()

any_text = st.text(st.characters(exclude_categories=()), max_size=40)      # lone surrogates and controls too
weird_text = st.one_of(any_text, st.sampled_from(["", " ", "None", "\x00", "\n", "长" * 9000, "m" * 129,
                                                  "file:///etc/passwd", "https://qyapi.weixin.qq.com/x",
                                                  "1970-01-01T00:00:00", "9999-12-31T23:59:59-12:00",
                                                  "0001-01-01T00:00:00+14:00", "2026-12-01T09:00:00+08:00"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), weird_text,
                    st.integers(min_value=-10**30, max_value=10**30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(["content", "url", "msg_item", "msgtype", "userid",
                                                              "text", "image", "name", "x"]) | any_text,
                                             inner, max_size=4), max_leaves=12)
header_value = st.one_of(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.encode),
                         st.binary(max_size=40)).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
plain_id = st.text("abcdef-0123456789", min_size=1, max_size=24)


def status_of(answer: bytes) -> int:
    found = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert found, answer[:80]                            # an answer, not a dropped connection
    return int(found[1])


def stored(service) -> list[dict]:
    return rows(service.bot, "SELECT channel, msgid FROM messages ORDER BY id")


async def check_answer(service, before: list[dict], status: int, sent: object = None) -> None:
    """sent: the payload whose msgid, if it is stored, must be stored as it was sent (not as a repr)."""
    event(f"HTTP {status}")                             # --hypothesis-show-statistics shows the mix
    assert status < 500
    after = stored(service)
    if status >= 400:
        assert after == before                           # a refusal stores nothing
    elif len(after) > len(before):
        [new] = after[len(before):]                      # one message at most
        if isinstance(sent, dict):
            assert new["msgid"] == sent.get("msgid")
    async with service.http.get(service.url("/healthz")) as resp:
        assert resp.status == 200


def mutate(draw, valid: dict, fields: list[str], shaped: dict[str, st.SearchStrategy]) -> dict:
    """A valid payload with some fields dropped or replaced by a value of any type (or of a plausible shape)."""
    payload = dict(valid)
    for field in draw(st.lists(st.sampled_from(fields), unique=True, max_size=4)):
        value = draw(st.one_of(st.just(DROP), json_values, shaped.get(field, json_values)))
        if value is DROP:
            payload.pop(field, None)
        else:
            payload[field] = value
    return payload


@FUZZ
@given(method=st.sampled_from(METHODS), path=st.sampled_from(PATHS),
       query=st.dictionaries(st.sampled_from(QUERY) | any_text, any_text, max_size=5),
       headers=st.lists(st.tuples(st.sampled_from(HEADERS), header_value), max_size=4),
       body=st.one_of(st.binary(max_size=300), st.sampled_from([b"{", b'{"encrypt": 1}', b"[" * 5000, b"<xml>",
                                                                b'{"encrypt": "' + b"A" * 64 + b'"}'])))
async def test_any_request_to_any_endpoint(service, method, path, query, headers, body):
    before = stored(service)
    target = path + ("?" + "&".join(f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
                                     for k, v in query.items()) if query else "")
    request = (f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
               .encode() + b"".join(k.encode() + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body)
    await check_answer(service, before, status_of(await service.raw(request)))


AIBOT_FIELDS = ["msgid", "aibotid", "chatid", "chattype", "from", "response_url", "msgtype", "text", "mixed",
                "voice", "image", "quote", "event"]
AIBOT_SHAPES = {
    "msgtype": st.sampled_from(["text", "mixed", "voice", "image", "file", "event", "stream", ""]),
    "chattype": st.sampled_from(["group", "single", "GROUP"]),
    "from": st.fixed_dictionaries({"userid": json_values}),
    "text": st.fixed_dictionaries({"content": json_values}),
    "voice": st.fixed_dictionaries({"content": json_values}),
    "mixed": st.fixed_dictionaries({"msg_item": st.lists(st.fixed_dictionaries(
        {"msgtype": st.sampled_from(["text", "image", "x"]), "text": st.fixed_dictionaries({"content": json_values}),
         "image": st.fixed_dictionaries({"url": json_values})}), max_size=3) | json_values}),
    "quote": st.fixed_dictionaries({"msgtype": st.sampled_from(["text", "mixed", "voice"]) | json_values,
                                    "text": st.fixed_dictionaries({"content": json_values})}),
    "response_url": weird_text,
}


@FUZZ
@given(data=st.data())
async def test_sealed_aibot_payloads_of_any_shape(service, standin, data):
    before = stored(service)
    valid = standin.aibot_message(chatid=data.draw(st.sampled_from([CHENGNAN, "wr-unknown"])), userid="resident-1",
                                  text=data.draw(any_text), msgid=data.draw(plain_id | any_text))
    payload = data.draw(st.one_of(st.just(valid), st.composite(lambda draw: mutate(draw, valid, AIBOT_FIELDS, AIBOT_SHAPES))(),
                                  json_values))
    params, body = standin.seal_aibot(json.dumps(payload))           # ASCII JSON: lone surrogates survive as \u escapes
    resp = await service.post("/wecom/aibot", params, body)
    await check_answer(service, before, resp.status, payload)


XML_TAGS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "AgentID", "Event"]
xml_text = st.one_of(any_text.map(lambda t: t.replace("]]>", "")).map(lambda t: f"<![CDATA[{t}]]>"),
                     st.sampled_from(["", "text", "event", "42", "&amp;", "&#0;", "&#xD800;", "&x;", "<a>1</a>",
                                      "<a><b/></a>", "u" * 129, "\x01", "<![CDATA[]]>"]))


@FUZZ
@given(fields=st.lists(st.tuples(st.sampled_from(XML_TAGS), xml_text), max_size=9),
       prefix=st.sampled_from(["", "<?xml version='1.0'?>", "<!DOCTYPE x [<!ENTITY x 'y'>]>"]),
       root=st.sampled_from(["xml", "xml", "root"]))
async def test_sealed_app_messages_of_any_shape(service, standin, fields, prefix, root):
    before = stored(service)
    base = {"ToUserName": standin.corp_id, "FromUserName": "resident-7", "MsgType": "text", "MsgId": "42",
            "Content": "路灯坏了"}
    given_tags = {tag for tag, _ in fields}
    inner = (f"{prefix}<{root}>" + "".join(f"<{k}>{v}</{k}>" for k, v in base.items() if k not in given_tags)
             + "".join(f"<{k}>{v}</{k}>" for k, v in fields) + f"</{root}>")
    try:
        params, body = standin.seal_app_xml(inner)
    except UnicodeEncodeError:                    # the stand-in cannot even encrypt a lone surrogate
        return
    resp = await service.post("/wecom/app", params, body)
    await check_answer(service, before, resp.status)


@FUZZ
@given(which=st.sampled_from(["aibot", "app"]), data=st.data())
async def test_url_verification_with_any_query(service, standin, which, data):
    before = stored(service)
    params, expected = standin.url_check(which)
    params = mutate(data.draw, params, ["msg_signature", "timestamp", "nonce", "echostr"],
                    {k: any_text for k in ("msg_signature", "timestamp", "nonce", "echostr")})
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    query = "&".join(f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in params.items())
    async with service.http.get(service.url(f"/wecom/{which}") + "?" + query) as resp:
        if resp.status == 200:
            assert await resp.text() == expected
    await check_answer(service, before, resp.status)


BRIDGE_FIELDS = ["msgid", "chat_id", "sender", "text", "sent_at", "mentions_bot"]
BRIDGE_SHAPES = {
    "sender": st.fixed_dictionaries({"userid": json_values}, optional={"name": json_values}),
    "sent_at": st.one_of(weird_text, st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())),
    "mentions_bot": st.booleans(),
}


@FUZZ
@given(data=st.data(), offset=st.one_of(st.just(0), st.integers(min_value=-400, max_value=400), st.integers()),
       stamp_text=st.one_of(st.none(), st.none(), st.none(), any_text))
async def test_signed_bridge_messages_of_any_shape(service, clock, data, offset, stamp_text):
    before = stored(service)
    valid = {"msgid": data.draw(plain_id | any_text), "chat_id": CHENGNAN, "sender": {"userid": "wx-abc", "name": "阿婆"},
             "text": "今天天气好", "mentions_bot": False}
    payload = data.draw(st.one_of(st.just(valid), st.composite(
        lambda draw: mutate(draw, valid, BRIDGE_FIELDS, BRIDGE_SHAPES))(), json_values))
    raw = json.dumps(payload).encode()
    stamp = stamp_text if stamp_text is not None else str(int(clock.now().timestamp()) + offset)
    stamp_bytes = stamp.encode("utf-8", "surrogatepass").replace(b"\r", b"").replace(b"\n", b"")
    signature = bridge_signature(BRIDGE_SECRET, stamp_bytes.decode("latin-1"), raw)
    answer = await service.raw(b"POST /bridge HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n"
                               b"X-Xiaowei-Timestamp: %s\r\nX-Xiaowei-Signature: %s\r\n\r\n%s"
                               % (len(raw), stamp_bytes, signature.encode(), raw))
    await check_answer(service, before, status_of(answer), payload)
