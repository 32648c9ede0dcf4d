"""CallbackCrypto against the stand-in (sealed by wechatpy) and against hand-crafted forgeries."""
from __future__ import annotations

import base64
import json
import os
import struct

import pytest
import xmltodict
from wechatpy.crypto.base import WeChatCipher
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.clock import ManualClock
from bot.crypto import BadSignature, CallbackCrypto, CallbackError, MalformedCallback, WrongReceiver
from bot.sandbox.standin import WeComStandIn

SECRET = "村里的秘密"  # must never show up in an error message


@pytest.fixture
def standin() -> WeComStandIn:
    return WeComStandIn(ManualClock("2025-03-01T09:00:00"))


@pytest.fixture
def app(standin: WeComStandIn) -> CallbackCrypto:
    return CallbackCrypto(standin.app_token, standin.app_aes_key, standin.corp_id)


@pytest.fixture
def aibot(standin: WeComStandIn) -> CallbackCrypto:
    return CallbackCrypto(standin.aibot_token, standin.aibot_aes_key, "")


def raw_ciphertext(aes_key: str, framed: bytes) -> str:
    """Encrypt already-padded bytes, so tests can forge any padding/length framing."""
    key = base64.b64decode(aes_key + "=")
    return base64.b64encode(WeChatCipher(key).encrypt(framed)).decode()


def frame(message: bytes, receive_id: bytes, *, length: int | None = None) -> bytes:
    return os.urandom(16) + struct.pack(">I", len(message) if length is None else length) + message + receive_id


def pad(data: bytes, pad_bytes: bytes | None = None) -> bytes:
    n = 32 - len(data) % 32
    return data + (pad_bytes if pad_bytes is not None else bytes([n]) * n)


def signed(crypto: CallbackCrypto, ciphertext: str) -> tuple[str, str, str, str]:
    return crypto.signature("1740790800", "42", ciphertext), "1740790800", "42", ciphertext


# -- round trips ------------------------------------------------------------------------
def test_app_xml_round_trip(standin: WeComStandIn, app: CallbackCrypto) -> None:
    text = "你好 <b>&amp; ]]> 小微"
    query, body = standin.seal_app(userid="zhangsan", text=text, msgid="123456789")
    msg = app.open_app_xml(query, body)
    assert msg["Content"] == text
    assert msg["FromUserName"] == "zhangsan"
    assert msg["ToUserName"] == standin.corp_id
    assert msg["MsgType"] == "text"
    assert msg["MsgId"] == "123456789"
    assert msg["AgentID"] == str(standin.agent_id)
    assert msg["CreateTime"] == "1740790800"


def test_wechatpy_agrees_on_app_xml(standin: WeComStandIn, app: CallbackCrypto) -> None:
    query, body = standin.seal_app(userid="lisi", text="低保怎么申请")
    theirs = WeChatCrypto(standin.app_token, standin.app_aes_key, standin.corp_id).decrypt_message(
        body, query["msg_signature"], query["timestamp"], query["nonce"])
    assert xmltodict.parse(theirs)["xml"] == app.open_app_xml(query, body)


def test_wechatpy_decrypts_what_we_encrypt(standin: WeComStandIn, app: CallbackCrypto) -> None:
    ciphertext, sig = app.encrypt(SECRET, "nonce1", "1740790800")
    theirs = WeChatCrypto(standin.app_token, standin.app_aes_key, standin.corp_id)
    assert theirs.check_signature(sig, "1740790800", "nonce1", ciphertext) == SECRET


@pytest.mark.parametrize("which", ["app", "aibot"])
def test_url_verification(standin: WeComStandIn, app: CallbackCrypto, aibot: CallbackCrypto, which: str) -> None:
    query, expected = standin.url_check(which)  # type: ignore[arg-type]
    crypto = app if which == "app" else aibot
    assert crypto.verify_url(query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]) == expected


async def test_aibot_json_round_trip(standin: WeComStandIn, aibot: CallbackCrypto) -> None:
    async with standin:
        payload = standin.aibot_message(chatid="wrgroup1", userid="wangwu", text="今天停水吗", quote="通知")
    query, body = standin.seal_aibot(payload)
    opened = aibot.open_aibot_json(query, body)
    assert opened == payload
    assert opened["text"]["content"] == "@小微 今天停水吗"
    assert opened["response_url"].startswith(standin.url + "/cgi-bin/aibot/response?response_code=")


def test_aibot_reply_seal(standin: WeComStandIn, aibot: CallbackCrypto) -> None:
    payload = {"msgtype": "stream", "stream": {"id": "s1", "finish": True, "content": "**已收到**"}}
    sealed = aibot.seal_aibot_reply(payload, "nonce9", "1740790800")
    assert set(sealed) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert sealed["timestamp"] == "1740790800" and sealed["nonce"] == "nonce9"
    plain = aibot.decrypt(sealed["msgsignature"], sealed["timestamp"], sealed["nonce"], sealed["encrypt"])
    assert json.loads(plain) == payload
    key = base64.b64decode(standin.aibot_aes_key + "=")
    assert json.loads(PrpCrypto(key).decrypt(sealed["encrypt"], "")) == payload


# -- forgeries and garbage ------------------------------------------------------------------
def test_forged_signature_is_403(standin: WeComStandIn, app: CallbackCrypto) -> None:
    query, body = standin.seal_app(userid="zhangsan", text=SECRET)
    query["msg_signature"] = "0" * 40
    with pytest.raises(BadSignature) as err:
        app.open_app_xml(query, body)
    assert err.value.status == 403


def test_non_ascii_signature_is_bad_signature_not_type_error(app: CallbackCrypto) -> None:
    with pytest.raises(BadSignature):
        app.decrypt("签名", "1", "2", "AAAA")


def test_signature_is_checked_before_ciphertext_is_inspected(app: CallbackCrypto) -> None:
    # Garbage ciphertext but a wrong signature: a forger must learn nothing about our decryptor.
    with pytest.raises(BadSignature):
        app.decrypt("f" * 40, "1", "2", "!!not base64!!")


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<xml><ToUserName>x</ToUserName></xml>",
    b"<other><Encrypt>abc</Encrypt></other>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "boom">]><xml><Encrypt>&e;</Encrypt></xml>',
    b"\xff\xfe\x00<xml>",
])
def test_app_body_without_ciphertext_is_malformed(app: CallbackCrypto, body: bytes) -> None:
    query = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2"}
    with pytest.raises(MalformedCallback) as err:
        app.open_app_xml(query, body)
    assert err.value.status == 400


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"encrypt": 5}', b'{"other": "x"}', b"\xff\xfe"])
def test_aibot_body_without_ciphertext_is_malformed(aibot: CallbackCrypto, body: bytes) -> None:
    with pytest.raises(MalformedCallback):
        aibot.open_aibot_json({"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2"}, body)


@pytest.mark.parametrize("drop", ["msg_signature", "timestamp", "nonce"])
def test_missing_query_param_is_malformed(standin: WeComStandIn, app: CallbackCrypto, drop: str) -> None:
    query, body = standin.seal_app(userid="zhangsan", text="hi")
    del query[drop]
    with pytest.raises(MalformedCallback):
        app.open_app_xml(query, body)


@pytest.mark.parametrize("ciphertext", ["not base64!", "QUJD", "QUJDRA=", "QU JD" * 20, "中文"])
def test_bad_base64_or_length_is_malformed(app: CallbackCrypto, ciphertext: str) -> None:
    with pytest.raises(MalformedCallback):
        app.decrypt(*signed(app, ciphertext))


def test_truncated_ciphertext_is_malformed(standin: WeComStandIn, app: CallbackCrypto) -> None:
    ciphertext, _ = app.encrypt("x" * 100, "n", "1")
    raw = base64.b64decode(ciphertext)
    for cut in (raw[:-16], raw[:16], raw[:-1]):
        with pytest.raises(MalformedCallback):
            app.decrypt(*signed(app, base64.b64encode(cut).decode()))
    with pytest.raises(MalformedCallback):  # truncated text: no longer valid base64
        app.decrypt(*signed(app, ciphertext[:-3]))


@pytest.mark.parametrize("bad_pad", ["zero", "too_big", "uneven"])
def test_bad_padding_is_malformed(standin: WeComStandIn, app: CallbackCrypto, bad_pad: str) -> None:
    data = frame(SECRET.encode(), standin.corp_id.encode())  # 16 + 4 + 15 + 9 = 44 bytes -> 20 to pad
    assert len(data) == 44
    pads = {"zero": bytes(20), "too_big": bytes([33]) * 20, "uneven": bytes([7]) * 19 + bytes([20])}
    with pytest.raises(MalformedCallback) as err:
        app.decrypt(*signed(app, raw_ciphertext(standin.app_aes_key, pad(data, pads[bad_pad]))))
    assert SECRET not in str(err.value)


def test_full_block_of_padding_is_accepted() -> None:
    # Aligned data gets a whole 32-byte pad block: legal PKCS#7 that the strict check must allow.
    key = base64.b64encode(bytes(range(32))).decode().rstrip("=")
    crypto = CallbackCrypto("tok", key, "corp")
    msg = b"m" * 8  # 16 random + 4 length + 8 + "corp" == 32
    data = frame(msg, b"corp")
    assert len(data) == 32
    assert crypto.decrypt(*signed(crypto, raw_ciphertext(key, pad(data)))) == "m" * 8


@pytest.mark.parametrize("length", [10_000, 2**32 - 1, len(SECRET.encode()) + len("wwstandin") + 1])
def test_length_field_out_of_bounds_is_malformed(standin: WeComStandIn, app: CallbackCrypto, length: int) -> None:
    data = pad(frame(SECRET.encode(), standin.corp_id.encode(), length=length))
    with pytest.raises(MalformedCallback):
        app.decrypt(*signed(app, raw_ciphertext(standin.app_aes_key, data)))


def test_too_short_for_length_field_is_malformed(standin: WeComStandIn, app: CallbackCrypto) -> None:
    data = os.urandom(16) + b"\x00\x00" + bytes([14]) * 14  # 2 bytes where the 4-byte length belongs
    with pytest.raises(MalformedCallback):
        app.decrypt(*signed(app, raw_ciphertext(standin.app_aes_key, data)))


def test_wrong_receive_id(standin: WeComStandIn, app: CallbackCrypto) -> None:
    other = CallbackCrypto(standin.app_token, standin.app_aes_key, "wwsomeoneelse")
    ciphertext, sig = other.encrypt(SECRET, "n", "1")
    with pytest.raises(WrongReceiver) as err:
        app.decrypt(sig, "1", "n", ciphertext)
    assert err.value.status == 400 and SECRET not in str(err.value)


def test_app_message_sent_to_the_aibot_endpoint_is_wrong_receiver(standin: WeComStandIn) -> None:
    # Same token and key on both callbacks (a plausible misconfiguration): the receive id tells them apart.
    aibot = CallbackCrypto(standin.app_token, standin.app_aes_key, "")
    query, echo = standin.url_check("app")
    with pytest.raises(WrongReceiver):
        aibot.verify_url(query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])


def test_inner_payload_must_parse(app: CallbackCrypto, aibot: CallbackCrypto) -> None:
    ciphertext, sig = app.encrypt("not <xml", "n", "1")
    body = f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>".encode()
    with pytest.raises(MalformedCallback):
        app.open_app_xml({"msg_signature": sig, "timestamp": "1", "nonce": "n"}, body)
    ciphertext, sig = aibot.encrypt('["a list"]', "n", "1")
    with pytest.raises(MalformedCallback):
        aibot.open_aibot_json({"msg_signature": sig, "timestamp": "1", "nonce": "n"},
                              json.dumps({"encrypt": ciphertext}).encode())


def test_nested_inner_elements_are_dropped_not_fatal(app: CallbackCrypto) -> None:
    inner = "<xml><MsgType>event</MsgType><Event>pic</Event><SendPicsInfo><Count>1</Count></SendPicsInfo><Empty/></xml>"
    ciphertext, sig = app.encrypt(inner, "n", "1")
    body = f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>".encode()
    opened = app.open_app_xml({"msg_signature": sig, "timestamp": "1", "nonce": "n"}, body)
    assert opened == {"MsgType": "event", "Event": "pic", "Empty": ""}


def test_errors_share_a_base() -> None:
    assert issubclass(BadSignature, CallbackError) and issubclass(WrongReceiver, CallbackError)
    assert issubclass(MalformedCallback, CallbackError) and CallbackError.status == 400


# -- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["", "a" * 42, "a" * 44, "!" * 43, "中" * 43])
def test_bad_aes_key_is_value_error(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        CallbackCrypto("token", key, "corp")


def test_empty_token_is_value_error(standin: WeComStandIn) -> None:
    with pytest.raises(ValueError, match="token"):
        CallbackCrypto("", standin.app_aes_key, "corp")
