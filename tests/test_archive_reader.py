"""The chat-archive reader inside `xiaowei serve`: the Finance SDK stand-in (real ctypes, RSA, AES) feeds it, and
what it stores goes through the real handler table, the real store and the outbox to the WeCom stand-in."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from datetime import datetime, timezone

import pytest

from bot.clock import TZ
from bot.config import Archive, ConfigError, load_config
from bot.sandbox.standin import app_text
from tests.conftest import CHENGNAN_ROBOT, robot_texts, rows, start_service, stop_service
from tests.finance_sdk.build import finance_sdk_build  # noqa: F401  (a fixture)
from tests.finance_sdk.feed import FEED_ENV, ROOM, Feed, text_message

SECRET = "archive-secret"
NINE_AM = int(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp() * 1000)   # 09:00 in Fujian
LAMP = "村口路灯坏了一个多星期了，晚上黑乎乎的，麻烦派人来修一下"


@pytest.fixture
def feed(tmp_path, monkeypatch) -> Feed:
    f = Feed(tmp_path / "feed")
    monkeypatch.setenv(FEED_ENV, str(f.path))
    f.secret(SECRET)
    return f


def with_archive(config, feed: Feed, library, versions=(1,)):
    keys = []
    for ver in versions:
        path = feed.path.parent / f"archive_v{ver}.pem"
        path.write_bytes(feed.key_version(ver))
        keys.append((ver, path))
    return replace(config, archive=Archive(library=str(library), secret=SECRET, private_keys=tuple(keys)))


@pytest.fixture
async def served(config, clock, feed, finance_sdk_build):
    svc = await start_service(with_archive(config, feed, finance_sdk_build.library), clock)
    yield svc
    await stop_service(svc)


def message(msgid: str, msgtype: str, body: dict, *, roomid: str = ROOM, sender: str = "wmResident1",
            action: str = "send") -> dict:
    return {"msgid": msgid, "action": action, "from": sender, "tolist": ["cn-zhang"], "roomid": roomid,
            "msgtime": NINE_AM, "msgtype": msgtype, msgtype: body}


def recall(msgid: str, pre_msgid: str) -> dict:
    return message(msgid, "revoke", {"pre_msgid": pre_msgid}, action="recall")


def alerts(bot) -> list[dict]:
    return rows(bot, "SELECT key, text FROM alerts WHERE key LIKE 'archive%' ORDER BY id")


def cursor(bot) -> int | None:
    got = rows(bot, "SELECT seq FROM archive_cursor")
    return got[0]["seq"] if got else None


async def test_a_residents_text_from_the_archive_becomes_a_case(served, feed, standin):
    feed.add_many([
        (1, {"msgid": "sw1", "action": "switch", "time": NINE_AM, "user": "cn-zhang"}),
        (2, text_message("t1_external", LAMP, msgtime=NINE_AM)),
        (3, text_message("other-room", LAMP, roomid="wrSomeoneElsesGroup")),
        (4, text_message("one-to-one", LAMP, roomid="")),
    ])
    bot = served.bot

    assert await bot.archive.pull_once() == 1
    await bot.settle()

    [stored] = rows(bot, "SELECT channel, msgid, chattype, village, sender, text, received_at, mentions_bot, status "
                         "FROM messages")
    assert stored == {"channel": "archive", "msgid": "t1_external", "chattype": "group", "village": "城南村",
                      "sender": "wmResident1", "text": LAMP, "mentions_bot": 0, "status": "done",
                      "received_at": datetime(2026, 12, 1, 9, 0, tzinfo=TZ).isoformat()}
    [case] = rows(bot, "SELECT number, village, requester, text FROM cases")
    assert (case["village"], case["requester"], case["text"]) == ("城南村", "wmResident1", LAMP)
    assert any(f"编号 {case['number']}" in t for t in robot_texts(standin, CHENGNAN_ROBOT))
    assert cursor(bot) == 4


async def test_a_mention_of_the_bot_is_marked_and_a_mixed_message_is_read(served, feed):
    feed.add_many([
        (1, text_message("at1", f"@{served.bot.config.aibot.name} 你好", msgtime=NINE_AM)),
        (2, message("mx1", "mixed", {"item": [
            {"type": "text", "content": json.dumps({"content": "路灯坏了，照片在这里\n"}, ensure_ascii=False)},
            {"type": "image", "content": json.dumps({"md5sum": "abc", "filesize": 13177, "sdkfileid": "f"})},
        ]})),
    ])

    assert await served.bot.archive.pull_once() == 2

    got = rows(served.bot, "SELECT msgid, text, mentions_bot FROM messages ORDER BY id")
    assert got == [{"msgid": "at1", "text": "@小微 你好", "mentions_bot": 1},
                   {"msgid": "mx1", "text": "路灯坏了，照片在这里", "mentions_bot": 0}]


async def test_a_recall_marks_the_message_and_the_case_keeps_what_was_said(served, feed):
    bot = served.bot
    feed.add(1, text_message("t1", LAMP, msgtime=NINE_AM))
    await bot.archive.pull_once()
    await bot.settle()
    [case] = rows(bot, "SELECT c.id, s.status FROM cases c JOIN case_state s ON s.case_id = c.id")
    feed.add(2, recall("r1", "t1"))

    assert await bot.archive.pull_once() == 0

    [mark] = rows(bot, "SELECT m.msgid, m.text, r.recall_msgid FROM archive_recalls r JOIN messages m ON m.id = r.message_id")
    assert mark == {"msgid": "t1", "text": LAMP, "recall_msgid": "r1"}
    events = rows(bot, "SELECT action FROM events WHERE case_id = ? ORDER BY id", [case["id"]])
    assert [e["action"] for e in events][-1] == "recalled"
    assert rows(bot, "SELECT status FROM case_state WHERE case_id = ?", [case["id"]]) == [{"status": case["status"]}]
    assert rows(bot, "SELECT text FROM cases") == [{"text": LAMP}]
    await bot.archive.pull_once()      # nothing new: the event is not added twice
    assert len(rows(bot, "SELECT id FROM events WHERE action = 'recalled'")) == 1


async def test_a_recall_read_before_the_case_was_opened_reaches_the_case_later(served, feed):
    bot = served.bot
    feed.add_many([(1, text_message("t1", LAMP, msgtime=NINE_AM)), (2, recall("r1", "t1"))])
    await bot.archive.pull_once()            # message and recall in one page: no case yet
    await bot.settle()                       # now the handler opens it
    assert rows(bot, "SELECT id FROM events WHERE action = 'recalled'") == []

    await bot.archive.pull_once()

    assert len(rows(bot, "SELECT id FROM events WHERE action = 'recalled'")) == 1


async def test_other_types_are_counted_per_village_and_day_not_stored(served, feed):
    feed.add_many([
        (1, message("i1", "image", {"md5sum": "a", "filesize": 1, "sdkfileid": "f1"})),
        (2, message("v1", "voice", {"voice_size": 1, "play_length": 3, "sdkfileid": "f2", "md5sum": "b"})),
        (3, message("v2", "voice", {"voice_size": 1, "play_length": 4, "sdkfileid": "f3", "md5sum": "c"})),
        (4, message("e1", "emotion", {"type": 1})),
        (5, message("i2", "image", {"sdkfileid": "f4"}, roomid="wrSomeoneElsesGroup")),
    ])

    assert await served.bot.archive.pull_once() == 0

    assert rows(served.bot, "SELECT count(*) AS n FROM messages") == [{"n": 0}]
    assert rows(served.bot, "SELECT village, day, msgtype, count FROM archive_activity ORDER BY msgtype") == [
        {"village": "城南村", "day": "2026-12-01", "msgtype": "emotion", "count": 1},
        {"village": "城南村", "day": "2026-12-01", "msgtype": "image", "count": 1},
        {"village": "城南村", "day": "2026-12-01", "msgtype": "voice", "count": 2},
    ]


async def test_2500_records_come_in_three_pulls_stored_once_in_order(served, feed):
    seqs = [10 * i + 3 for i in range(2500)]
    feed.add_many([(s, text_message(f"m{s}", "大家好", msgtime=NINE_AM)) for s in seqs])
    feed.fault(0, 0, 0, 10001)             # the 4th call would fail: there must be exactly 3

    assert await served.bot.archive.pull_once() == 2500

    assert feed.pending_faults() == [10001]
    got = rows(served.bot, "SELECT msgid FROM messages ORDER BY id")
    assert [r["msgid"] for r in got] == [f"m{s}" for s in seqs]
    assert cursor(served.bot) == seqs[-1]
    assert await served.bot.archive.pull_once() == 0       # the 10001, retried later
    assert await served.bot.archive.pull_once() == 0       # nothing new
    assert rows(served.bot, "SELECT count(*) AS n FROM messages") == [{"n": 2500}]


async def test_a_page_whose_transaction_failed_is_read_again_by_the_next_reader(config, clock, feed,
                                                                                finance_sdk_build):
    archive_config = with_archive(config, feed, finance_sdk_build.library)
    seqs = list(range(1, 1501))
    feed.add_many([(s, text_message(f"m{s}", "大家好", msgtime=NINE_AM)) for s in seqs])
    first = await start_service(archive_config, clock)
    try:
        # The process "dies" while committing the second page: SQLite rolls back all of that page's rows.
        await first.bot.store.write(lambda db: db.execute(
            "CREATE TRIGGER crash BEFORE UPDATE ON archive_cursor WHEN NEW.seq > 1000 "
            "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"))
        assert await first.bot.archive.pull_once() == 1000
        assert cursor(first.bot) == 1000
        assert rows(first.bot, "SELECT count(*) AS n FROM messages") == [{"n": 1000}]
        await first.bot.store.write(lambda db: db.execute("DROP TRIGGER crash"))
    finally:
        await stop_service(first)
    # WeCom serves a message again under a new seq: it folds by msgid.
    feed.add(1501, text_message("m1200", "大家好", msgtime=NINE_AM))
    second = await start_service(archive_config, clock)
    try:
        assert await second.bot.archive.pull_once() == 500

        got = rows(second.bot, "SELECT msgid FROM messages ORDER BY id")
        assert [r["msgid"] for r in got] == [f"m{s}" for s in seqs]
        assert cursor(second.bot) == 1501
    finally:
        await stop_service(second)


async def test_an_sdk_error_alerts_the_admins_once_and_nothing_is_skipped(served, feed, standin):
    bot = served.bot
    feed.add(1, text_message("t1", "大家好", msgtime=NINE_AM))
    feed.fault(10009, 10009)

    assert await bot.archive.pull_once() == 0
    assert await bot.archive.pull_once() == 0
    await bot.settle()

    [alert] = alerts(bot)
    assert "服务器 IP 不在可信IP列表" in alert["text"] and "10009" in alert["text"]
    assert [app_text(m) for m in standin.app_messages if "会话存档" in app_text(m)] == \
        [f"【小微告警】{alert['text']}"]
    assert cursor(bot) is None
    assert await bot.archive.pull_once() == 1               # the fault cleared: the message was not skipped


async def test_network_errors_back_off_and_a_stall_alerts_once(served, feed, clock):
    reader = served.bot.archive
    feed.fault(10001, 10001, 10001)

    assert await reader.pull_once() == 0
    assert (reader.failures, alerts(served.bot)) == (1, [])     # a blip: retried soon, nobody woken
    assert reader.next_delay() < served.bot.config.archive.poll_seconds
    clock.advance(minutes=121)
    await reader.pull_once()
    await reader.pull_once()

    [stall] = alerts(served.bot)
    assert stall["key"].startswith("archive-stalled:") and "121 分钟" in stall["text"] and "10001" in stall["text"]
    feed.add(1, text_message("t1", "大家好", msgtime=NINE_AM))
    assert await reader.pull_once() == 1
    assert (reader.failures, reader.next_delay()) == (0, served.bot.config.archive.poll_seconds)


async def test_a_missing_private_key_alerts_and_keeps_seq(config, clock, feed, finance_sdk_build):
    feed.add(1, text_message("old", "大家好", msgtime=NINE_AM), ver=1)
    feed.add(2, text_message("new", "大家好", msgtime=NINE_AM), ver=2)
    feed.key_version(2)
    only_v1 = await start_service(with_archive(config, feed, finance_sdk_build.library, versions=(1,)), clock)
    try:
        assert await only_v1.bot.archive.pull_once() == 0
        assert await only_v1.bot.archive.pull_once() == 0

        [alert] = alerts(only_v1.bot)
        assert "第 2 版私钥" in alert["text"] and "[archive.private_keys]" in alert["text"]
        assert cursor(only_v1.bot) is None
        assert rows(only_v1.bot, "SELECT count(*) AS n FROM messages") == [{"n": 0}]
    finally:
        await stop_service(only_v1)
    both = await start_service(with_archive(config, feed, finance_sdk_build.library, versions=(1, 2)), clock)
    try:
        assert await both.bot.archive.pull_once() == 2
    finally:
        await stop_service(both)


# ---- configuration -----------------------------------------------------------------------------------------

_HEAD, _, _REST = open("config.example.toml", encoding="utf-8").read().partition("\n[archive]\n")
EXAMPLE = _HEAD + "\n# ---" + _REST.partition("\n# ---")[2]     # the example without its (empty) [archive]
ARCHIVE = '''
[archive]
library = "/opt/wecom/libWeWorkFinanceSdk_C.so"
secret = "env:ARCHIVE_SECRET"
stall_minutes = 90

[archive.private_keys]
1 = "keys/archive_v1.pem"
2 = "/etc/xiaowei/archive_v2.pem"
'''


def load(tmp_path, text: str):
    path = tmp_path / "xiaowei.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={"ARCHIVE_SECRET": "s3cret"})


def test_archive_section_and_village_roomid_are_read(tmp_path):
    text = ARCHIVE + EXAMPLE.replace('chat_id = "wrkSFfCgAAcnchengnan"',
                                     'chat_id = "wrkSFfCgAAcnchengnan"\nroomid = "wrArchiveChengnan"', 1)
    config = load(tmp_path, text)

    a = config.archive
    assert (a.library, a.secret, a.poll_seconds, a.stall_minutes) == \
        ("/opt/wecom/libWeWorkFinanceSdk_C.so", "s3cret", 60, 90)
    assert a.private_keys == ((1, tmp_path / "keys/archive_v1.pem"), (2, Path("/etc/xiaowei/archive_v2.pem")))
    assert config.village_by_room("wrArchiveChengnan").name == "城南村"
    assert config.village_by_room("wrkSFfCgAAcnchengnan") is None        # its roomid replaces the chat_id here
    assert config.village_by_room(config.village_by_name("双虹村").chat_id).name == "双虹村"   # default: chat_id
    assert load(tmp_path, EXAMPLE).archive.library == ""                  # no [archive]: no reader


@pytest.mark.parametrize("section, key", [
    ("[archive]\nlibary = \"x.so\"\n", "archive.libary"),
    ("[archive]\nlibrary = \"x.so\"\n", "archive.secret"),
    ("[archive]\nlibrary = \"x.so\"\nsecret = \"s\"\n", "archive.private_keys"),
    ("[archive]\nlibrary = \"x.so\"\nsecret = \"s\"\n[archive.private_keys]\nv1 = \"k.pem\"\n",
     "archive.private_keys.v1"),
])
def test_archive_mistakes_name_the_key(tmp_path, section, key):
    with pytest.raises(ConfigError) as e:
        load(tmp_path, section + EXAMPLE)
    assert e.value.key == key


def test_two_villages_with_one_roomid_are_refused(tmp_path):
    text = EXAMPLE
    for chat_id in ("wrkSFfCgAAcnchengnan", "wrkSFfCgAAcnshuanghong"):
        text = text.replace(f'chat_id = "{chat_id}"', f'chat_id = "{chat_id}"\nroomid = "wrSame"', 1)
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text)
    assert e.value.key.endswith("双虹村.roomid")
