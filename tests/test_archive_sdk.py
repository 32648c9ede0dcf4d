"""The chat-archive reader against the Finance SDK stand-in: real ctypes calls, real RSA, real AES."""
from __future__ import annotations

import base64
import json
import random
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from bot.channels.archive_sdk import (
    SHANGHAI, FinanceSdk, FinanceSdkError, MissingPrivateKey, Record, parse_message,
)
from tests.finance_sdk.build import finance_sdk_build  # noqa: F401  (a fixture)
from tests.finance_sdk.feed import FEED_ENV, ROOM, Feed, text_message

CORP, SECRET = "ww0123456789abcdef", "archive-secret"
CHUNK = 512 * 1024


@pytest.fixture
def feed(tmp_path, monkeypatch) -> Feed:
    f = Feed(tmp_path / "feed")
    monkeypatch.setenv(FEED_ENV, str(f.path))
    return f


@pytest.fixture
def open_sdk(finance_sdk_build, feed):
    opened: list[FinanceSdk] = []

    def open_(keys: dict[int, bytes], secret: str = SECRET) -> FinanceSdk:
        sdk = FinanceSdk(finance_sdk_build.library, CORP, secret, keys)
        opened.append(sdk)
        return sdk

    yield open_
    for sdk in opened:
        sdk.close()


def pull_all(sdk: FinanceSdk, seq: int = 0, max_calls: int = 10) -> list[list[Record]]:
    pages = []
    for _ in range(max_calls):   # a stand-in that re-serves seq would otherwise loop forever
        if not (page := sdk.pull(seq)):
            return pages
        pages.append(page)
        seq = page[-1].seq       # the header: pass back the largest seq seen
    raise AssertionError(f"still getting records after {max_calls} calls")


def test_standin_builds_without_warnings(finance_sdk_build):
    assert finance_sdk_build.library.exists()
    assert finance_sdk_build.warnings.strip() == ""


def test_pull_pages_through_2500_records_in_order(feed, open_sdk):
    keys = {1: feed.key_version(1)}
    seqs = [10 * i + 3 for i in range(2500)]        # WeCom's seqs need not be consecutive
    feed.add_many([(s, text_message(f"m{s}", f"第{s}条")) for s in seqs])
    sdk = open_sdk(keys)

    pages = pull_all(sdk)

    assert [len(p) for p in pages] == [1000, 1000, 500]
    records = [r for p in pages for r in p]
    assert [r.seq for r in records] == seqs
    assert len({r.msgid for r in records}) == 2500
    assert all(r.message["text"]["content"] == f"第{r.seq}条" for r in records)
    assert sdk.pull(seqs[-1]) == []


def test_records_appended_while_reading_are_picked_up_after_the_last_seq(feed, open_sdk):
    keys = {1: feed.key_version(1)}
    feed.add_many([(1, text_message("a", "一")), (2, text_message("b", "二"))])
    sdk = open_sdk(keys)
    first = sdk.pull(0)
    feed.add(3, text_message("c", "三"))

    assert [r.msgid for r in first] == ["a", "b"]
    assert [r.msgid for r in sdk.pull(first[-1].seq)] == ["c"]


def test_limit_over_1000_is_refused_with_10000(feed, open_sdk):
    feed.add(1, text_message("a", "一"))
    sdk = open_sdk({1: feed.key_version(1)})

    with pytest.raises(FinanceSdkError) as e:
        sdk.pull(0, limit=1001)
    assert e.value.code == 10000 and not e.value.retryable
    assert len(sdk.pull(0, limit=1000)) == 1


def test_two_key_versions_decrypt_with_their_own_private_keys(feed, open_sdk):
    keys = {1: feed.key_version(1), 2: feed.key_version(2)}
    feed.add_many([(1, text_message("old", "旧钥匙"))], ver=1)
    feed.add_many([(2, text_message("new", "新钥匙"))], ver=2)
    sdk = open_sdk(keys)

    records = sdk.pull(0)

    assert [(r.publickey_ver, r.message["text"]["content"]) for r in records] == [(1, "旧钥匙"), (2, "新钥匙")]


def test_a_version_without_a_private_key_raises_and_the_record_is_not_lost(feed, open_sdk):
    v1, v2 = feed.key_version(1), feed.key_version(2)
    feed.add(1, text_message("a", "一"), ver=1)
    feed.add(2, text_message("b", "二"), ver=2)

    with pytest.raises(MissingPrivateKey) as e:
        open_sdk({1: v1}).pull(0)
    assert e.value.version == 2 and e.value.code == 10007 and not e.value.retryable

    assert [r.msgid for r in open_sdk({1: v1, 2: v2}).pull(0)] == ["a", "b"]


def test_a_missing_public_key_in_the_feed_fails_the_call_with_10004(feed, open_sdk):
    keys = {1: feed.key_version(1)}
    feed.add(1, text_message("a", "一"), ver=5)

    with pytest.raises(FinanceSdkError) as e:
        open_sdk(keys).pull(0)
    assert e.value.code == 10004


def test_fault_codes_surface_one_per_call_with_retryable(feed, open_sdk):
    feed.add(1, text_message("a", "一"))
    sdk = open_sdk({1: feed.key_version(1)})
    feed.fault(10001, 10009)

    with pytest.raises(FinanceSdkError) as network:
        sdk.pull(0)
    with pytest.raises(FinanceSdkError) as ip:
        sdk.pull(0)

    assert (network.value.code, network.value.retryable) == (10001, True)
    assert (ip.value.code, ip.value.retryable) == (10009, False)
    assert "可信IP" in ip.value.meaning
    assert feed.pending_faults() == []
    assert [r.msgid for r in sdk.pull(0)] == ["a"]


def test_init_with_the_wrong_secret_fails(feed, open_sdk):
    feed.secret(SECRET)
    keys = {1: feed.key_version(1)}

    with pytest.raises(FinanceSdkError) as e:
        open_sdk(keys, secret="not-the-secret")
    assert e.value.code == 10000
    assert open_sdk(keys).pull(0) == []


def test_decrypt_data_opens_with_the_right_key_string_only(feed, open_sdk):
    pem = feed.key_version(1)
    feed.add(1, text_message("a", "一"))
    sdk = open_sdk({1: pem})
    [item] = sdk.chat_data(0)
    private = serialization.load_pem_private_key(pem, password=None)
    key_string = private.decrypt(base64.b64decode(item["encrypt_random_key"]), padding.PKCS1v15())

    assert json.loads(sdk.decrypt(key_string, item["encrypt_chat_msg"]))["text"]["content"] == "一"
    wrong = bytes(reversed(key_string))
    with pytest.raises(FinanceSdkError) as e:
        sdk.decrypt(wrong, item["encrypt_chat_msg"])
    assert e.value.code == 10006


def test_a_private_key_of_another_pair_fails_instead_of_returning_garbage(feed, open_sdk):
    feed.key_version(1)                          # the console holds this pair's public key
    other = Feed(feed.path.parent / "other").key_version(1, tag="someone-else")
    feed.add(1, text_message("a", "一"))

    with pytest.raises(FinanceSdkError) as e:
        open_sdk({1: other}).pull(0)
    # The RSA step cannot tell (implicit rejection returns random bytes); either it yields a NUL,
    # which we refuse (10008), or DecryptData's tag check catches it (10006).
    assert e.value.code in (10006, 10008)


def test_media_comes_in_512k_chunks_and_reassembles(feed, open_sdk):
    data = random.Random(7).randbytes(1_300_000)      # binary, with NULs a c_char_p would cut at
    exact = random.Random(8).randbytes(2 * CHUNK)
    feed.media("img1", data)
    feed.media("exact", exact)
    sdk = open_sdk({1: feed.key_version(1)})

    chunks = list(sdk.media_chunks("img1"))

    assert [len(c) for c in chunks] == [CHUNK, CHUNK, 1_300_000 - 2 * CHUNK]
    assert b"".join(chunks) == data
    assert [len(c) for c in sdk.media_chunks("exact")] == [CHUNK, CHUNK]
    assert sdk.media("exact") == exact


def test_unknown_media_file_id_is_10005(feed, open_sdk):
    sdk = open_sdk({1: feed.key_version(1)})
    with pytest.raises(FinanceSdkError) as e:
        sdk.media("no-such-file")
    assert e.value.code == 10005


# ---- parse_message: the decrypted shapes of [D 91774] ---------------------------------------

NINE_AM = int(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp() * 1000)   # 09:00 in Fujian


def test_parse_text():
    m = parse_message(text_message("t1_external", "村口路灯坏了", msgtime=NINE_AM))

    assert (m.action, m.msgtype, m.roomid, m.sender, m.text) == ("send", "text", ROOM, "wmResident1", "村口路灯坏了")
    assert m.sent_at == datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI) and m.sent_at.utcoffset().total_seconds() == 8 * 3600
    assert m.external and m.tolist == ("zhangsan",)


def test_parse_mixed_joins_the_text_items():
    msg = {"msgid": "x1", "action": "send", "from": "wmA", "roomid": ROOM, "msgtime": NINE_AM, "msgtype": "mixed",
           "mixed": {"item": [
               {"type": "text", "content": json.dumps({"content": "你好[微笑]\n"}, ensure_ascii=False)},
               {"type": "image", "content": json.dumps({"md5sum": "abc", "filesize": 13177, "sdkfileid": "f"})},
               {"type": "text", "content": json.dumps({"content": "路灯在这里"}, ensure_ascii=False)},
           ]}}

    m = parse_message(msg)

    assert (m.msgtype, m.text) == ("mixed", "你好[微笑]\n路灯在这里")
    assert not m.external


def test_parse_recall():
    msg = {"msgid": "r1", "action": "recall", "from": "wmA", "roomid": ROOM, "msgtime": NINE_AM,
           "msgtype": "revoke", "revoke": {"pre_msgid": "14822339130656386894_1603875600"}}

    m = parse_message(msg)

    assert (m.action, m.msgtype, m.pre_msgid, m.text) == ("recall", "revoke", "14822339130656386894_1603875600", None)


def test_parse_switch_is_not_a_message():
    assert parse_message({"msgid": "s1", "action": "switch", "time": NINE_AM, "user": "zhangsan"}) is None
    assert parse_message({"msgid": "u1", "action": "something-new", "msgtype": "text"}) is None


def test_parse_image_keeps_its_type_without_text():
    msg = {"msgid": "i1", "action": "send", "from": "wmA", "roomid": "", "msgtime": NINE_AM, "msgtype": "image",
           "image": {"md5sum": "abc", "filesize": 1, "sdkfileid": "f"}}

    m = parse_message(msg)

    assert (m.msgtype, m.text, m.roomid, m.pre_msgid) == ("image", None, "", None)


def test_pulled_records_parse_end_to_end(feed, open_sdk):
    feed.add(1, text_message("e1", "引号\"和\\反斜杠\t制表", msgtime=NINE_AM), msgid='e"1\\x')
    [record] = open_sdk({1: feed.key_version(1)}).pull(0)

    assert record.msgid == 'e"1\\x'            # the stand-in escapes msgid in its JSON
    assert parse_message(record.message).text == "引号\"和\\反斜杠\t制表"
