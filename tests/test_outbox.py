"""The durable outbox against the stand-in: limits, retries, restarts, order, once-only delivery."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import Bot
from bot.cli import main
from bot.clock import TZ
from bot.config import load_config
from bot.inbox import Message
from bot.outbox import BACKOFF_CAP, RETRY_FOR
from bot.sandbox.config import sandbox_config
from tests.conftest import CHENGNAN, CHENGNAN_ROBOT, new_bot, robot_texts, rows

ROOT = Path(__file__).resolve().parent.parent
IT_ROBOT = "robot-key-it-officers"


async def enqueue_group(bot: Bot, texts: list[str], key: str = "burst") -> None:
    village = bot.config.village_by_name("城南村")

    def tx(db, out):
        for text in texts:
            out.group(village, text)
    await bot.commit(tx, key=key)


async def started(config, clock) -> Bot:
    bot = new_bot(config, clock)
    await bot.start(background=False)
    return bot


async def test_a_burst_of_50_for_one_group_respects_20_per_minute_and_keeps_order(config, clock, standin):
    bot = await started(config, clock)
    texts = [f"第{i}条" for i in range(50)]
    await enqueue_group(bot, texts)
    minutes = []
    while len(robot_texts(standin)) < 50:
        before = len(robot_texts(standin))
        await bot.outbox.drain()
        minutes.append(len(robot_texts(standin)) - before)
        clock.advance(seconds=60)
        assert len(minutes) < 10
    assert minutes == [20, 20, 10]
    assert robot_texts(standin) == texts
    assert not [r for r in standin.requests if r.errcode == 45009]
    await bot.stop()


async def test_45009_backs_off_and_drops_nothing(config, clock, standin):
    bot = await started(config, clock)
    standin.fail_next("webhook", 45009, times=1)
    await enqueue_group(bot, ["一", "二"])
    await bot.outbox.drain()
    assert robot_texts(standin) == []
    clock.advance(seconds=30)
    await bot.outbox.drain()
    assert robot_texts(standin) == []         # still inside the back-off minute
    clock.advance(seconds=31)
    await bot.outbox.drain()
    assert robot_texts(standin) == ["一", "二"]
    assert rows(bot, "SELECT attempts FROM outbox") == [{"attempts": 0}] * 2   # a wait, not a failure
    await bot.stop()


async def test_network_errors_and_error_codes_are_retried_with_backoff(config, clock, standin):
    bot = await started(config, clock)
    standin.disconnect_next("webhook", times=2)
    standin.fail_next("webhook", 40035, times=1)
    await enqueue_group(bot, ["重要通知"])
    delays = []
    for _ in range(4):
        delays.append(await bot.outbox.drain())
        if robot_texts(standin):
            break
        clock.advance(seconds=delays[-1])
    assert robot_texts(standin) == ["重要通知"]
    assert delays[:2] == [5.0, 10.0]          # exponential back-off, by the clock
    assert rows(bot, "SELECT status, attempts FROM outbox") == [{"status": "sent", "attempts": 3}]
    await bot.stop()


async def test_pending_messages_survive_a_restart_and_are_delivered_once(config, clock, standin):
    first = await started(config, clock)
    standin.disconnect_next("webhook", times=1)
    await enqueue_group(first, ["甲", "乙", "丙"])
    await first.outbox.drain()                  # the first send fails, the process then stops
    await first.stop()
    assert robot_texts(standin) == []

    clock.advance(minutes=5)
    second = await started(config, clock)
    await second.outbox.drain()
    await second.outbox.drain()
    assert robot_texts(standin) == ["甲", "乙", "丙"]
    await enqueue_group(second, ["甲", "乙", "丙"])  # the same work committed again (same dedupe keys)
    await second.outbox.drain()
    assert robot_texts(standin) == ["甲", "乙", "丙"]
    await second.stop()


async def test_app_messages_refetch_an_expired_token(config, clock, standin):
    bot = await started(config, clock)
    await bot.commit(lambda db, out: out.members(["cn-li"], "第一条"), key="a")
    await bot.outbox.drain()
    standin.expire_tokens()
    await bot.commit(lambda db, out: out.members(["cn-li"], "第二条"), key="b")
    await bot.outbox.drain()
    assert [m["text"]["content"] for m in standin.app_messages] == ["第一条", "第二条"]
    assert sum(1 for r in standin.requests if r.endpoint == "gettoken") == 2
    await bot.stop()


async def test_a_message_refused_for_good_is_parked_at_once_and_the_admins_told_who_and_what(config, clock, standin):
    """93000 can never succeed: the row is parked on the first answer (not retried 100 times, not dropped), and
    the alert names the group, the error and the first words."""
    bot = await started(config, clock)
    standin.fail_next("webhook", 93000, times=100)
    await enqueue_group(bot, ["发不出去的"])
    for _ in range(20):
        delay = await bot.outbox.drain()
        if delay is None or not rows(bot, "SELECT 1 FROM outbox WHERE kind = 'robot' AND status = 'pending'"):
            break
        clock.advance(seconds=delay)
    assert rows(bot, "SELECT status, attempts, parked_at IS NOT NULL AS parked FROM outbox WHERE kind = 'robot'") \
        == [{"status": "parked", "attempts": 1, "parked": 1}]
    assert len([r for r in standin.requests if r.endpoint == "webhook"]) == 1
    await bot.outbox.drain()
    [alert] = [m["text"]["content"] for m in standin.app_messages]
    assert alert.startswith("【小微告警】发往城南村群的群消息")
    assert "已停止发送" in alert and "93000" in alert and "「发不出去的」" in alert
    assert "xiaowei outbox retry 1" in alert
    await bot.stop()


async def test_text_over_wecom_limit_is_clipped_not_refused(config, clock, standin):
    bot = await started(config, clock)
    await enqueue_group(bot, ["长" * 1000])
    await bot.outbox.drain()
    [text] = robot_texts(standin)
    assert len(text.encode()) <= 2048 and text.endswith("…")
    await bot.stop()


async def fail_until(bot: Bot, clock, standin, until: timedelta) -> list[float]:
    """Advance the clock by each delay drain() returns, as the outbox's loop would, while WeCom stays down."""
    start, delays = clock.now(), []
    while clock.now() - start < until:
        delay = await bot.outbox.drain()
        if delay is None:
            break
        delays.append(delay)
        clock.advance(seconds=max(delay, 0.001))
    return delays


# --- days of retries, then parked ----------------------------------------------------------------------------
@pytest.mark.parametrize("outage", ["disconnect", "system-busy"])
async def test_a_72_hour_outage_is_retried_through_and_the_group_gets_its_message_once(config, clock, standin,
                                                                                       outage):
    bot = await started(config, clock)
    if outage == "disconnect":
        standin.disconnect_next("webhook", times=10_000)
    else:
        standin.fail_next("webhook", -1, times=10_000)
    await enqueue_group(bot, ["停电前的通知", "第二条"])
    delays = await fail_until(bot, clock, standin, timedelta(hours=72))
    assert max(delays) == BACKOFF_CAP and delays[:3] == [5.0, 10.0, 20.0]
    assert rows(bot, "SELECT status FROM outbox") == [{"status": "pending"}] * 2
    assert standin.app_messages == []          # retrying is not failing: nobody is alarmed yet
    standin.clear_faults()
    while (delay := await bot.outbox.drain()) is not None:
        clock.advance(seconds=delay)
    assert robot_texts(standin) == ["停电前的通知", "第二条"]
    [first] = rows(bot, "SELECT attempts, first_error FROM outbox WHERE id = 1")
    assert first["attempts"] > 140 and first["first_error"]
    await bot.stop()


async def test_http_5xx_is_retried_at_a_robot_and_never_repeated_into_a_response_url(config, clock, standin):
    bot = await started(config, clock)
    standin.http_error_next("webhook", 502, times=2)
    await enqueue_group(bot, ["网关出错时的通知"])
    delays = [await bot.outbox.drain()]
    clock.advance(seconds=delays[-1])
    delays.append(await bot.outbox.drain())
    clock.advance(seconds=delays[-1])
    await bot.outbox.drain()
    assert delays == [5.0, 10.0] and robot_texts(standin) == ["网关出错时的通知"]
    standin.http_error_next("response", 503)      # WeCom may have taken it before its front end failed
    msg = group_message(bot, standin)
    await bot.commit(lambda db, out: out.reply(msg, "已登记，编号 104"), key="r")
    await bot.outbox.drain()
    await bot.outbox.drain()
    assert robot_texts(standin)[-1] == "已登记，编号 104"
    assert sum(1 for r in standin.requests if r.endpoint == "response") == 1
    await bot.stop()


async def test_a_row_failing_past_the_retry_window_is_parked_and_announced(config, clock, standin):
    bot = await started(config, clock)
    standin.disconnect_next("webhook", times=10_000)
    await enqueue_group(bot, ["一直发不出去"])
    await fail_until(bot, clock, standin, RETRY_FOR + timedelta(hours=1))
    [row] = rows(bot, "SELECT status, created_at, parked_at FROM outbox WHERE kind = 'robot'")
    assert row["status"] == "parked"
    assert datetime.fromisoformat(row["parked_at"]) - datetime.fromisoformat(row["created_at"]) >= RETRY_FOR
    await bot.outbox.drain()
    [alert] = [m["text"]["content"] for m in standin.app_messages]
    assert "城南村群" in alert and "连不上企业微信" in alert and "「一直发不出去」" in alert
    await bot.stop()


@pytest.mark.parametrize("errcode", [93000, 40008, 44004, 40058])
async def test_robot_answers_that_can_never_succeed_park_at_once(config, clock, standin, errcode):
    bot = await started(config, clock)
    standin.fail_next("webhook", errcode, times=1)
    await enqueue_group(bot, ["甲", "乙"])
    await bot.outbox.drain()
    assert rows(bot, "SELECT status FROM outbox WHERE kind = 'robot' ORDER BY id") == \
        [{"status": "parked"}, {"status": "sent"}]   # the lane goes on with the next row
    assert robot_texts(standin) == ["乙"]
    await bot.stop()


@pytest.mark.parametrize("errcode", [81013, 40056, 40013])
async def test_app_answers_that_can_never_succeed_park_at_once(config, clock, standin, errcode):
    bot = await started(config, clock)
    await bot.commit(lambda db, out: out.members(["cn-li"], "私信"), key="a")
    standin.fail_next("gettoken" if errcode == 40013 else "message", errcode, times=1)
    await bot.outbox.drain()
    assert rows(bot, "SELECT status FROM outbox WHERE target = 'cn-li'") == [{"status": "parked"}]
    await bot.outbox.drain()
    [alert] = [m["text"]["content"] for m in standin.app_messages]
    assert "发往村委会主任李明的私信" in alert and str(errcode) in alert
    assert "cn-li" not in alert                # a name, not an id
    await bot.stop()


async def test_40001_is_retried_with_a_new_token_once_then_parked(config, clock, standin):
    bot = await started(config, clock)
    standin.fail_next("message", 40001, times=1)
    await bot.commit(lambda db, out: out.members(["cn-li"], "第一条"), key="a")
    await bot.outbox.drain()
    assert [m["text"]["content"] for m in standin.app_messages] == ["第一条"]
    standin.fail_next("message", 40001, times=2)
    await bot.commit(lambda db, out: out.members(["cn-li"], "第二条"), key="b")
    await bot.outbox.drain()
    assert rows(bot, "SELECT status FROM outbox WHERE target = 'cn-li' ORDER BY id") == \
        [{"status": "sent"}, {"status": "parked"}]
    assert sum(1 for r in standin.requests if r.endpoint == "gettoken") == 3
    await bot.stop()


# --- the admins hear of it by every channel -------------------------------------------------------------------
async def test_the_parked_alert_also_goes_by_the_it_officers_robot_when_app_messages_are_down(config, clock,
                                                                                             standin):
    bot = await started(replace(config, admin_webhook_key=IT_ROBOT), clock)
    standin.fail_next("webhook", 93000, times=1)
    standin.disconnect_next("message", times=10_000)      # the admins' app messages are down as well
    await enqueue_group(bot, ["值班公告：今天由李明值班"])
    await bot.outbox.drain()
    await bot.outbox.drain()
    [alert] = robot_texts(standin, IT_ROBOT)
    assert "城南村群" in alert and "「值班公告：今天由李明值班」" in alert
    await bot.stop()


async def test_an_alert_that_cannot_be_delivered_is_logged_not_alerted_about(config, clock, standin, caplog):
    bot = await started(replace(config, admin_webhook_key=IT_ROBOT), clock)
    standin.fail_next("webhook", 93000, times=3)           # the group, then the IT robot's alert
    standin.fail_next("message", 81013, times=3)           # and the admin's app alert
    await enqueue_group(bot, ["发不出去的"])
    for _ in range(5):
        await bot.outbox.drain()
    assert rows(bot, "SELECT kind, status FROM outbox ORDER BY id") == [
        {"kind": "robot", "status": "parked"}, {"kind": "app", "status": "parked"},
        {"kind": "robot", "status": "parked"}]
    assert rows(bot, "SELECT COUNT(*) AS n FROM alerts") == [{"n": 1}]
    assert "admin alert (outbox row 2) parked" in caplog.text
    await bot.stop()


async def test_parked_alerts_for_one_group_come_once_a_day(config, clock, standin):
    bot = await started(config, clock)
    standin.fail_next("webhook", 93000, times=3)
    await enqueue_group(bot, ["一", "二", "三"])
    await bot.outbox.drain()
    await bot.outbox.drain()
    assert len(standin.app_messages) == 1 and "不再另行提醒" in standin.app_messages[0]["text"]["content"]
    await bot.stop()


async def test_nothing_sent_to_the_inspectors_is_quoted_in_an_alert(config, clock, standin):
    bot = await started(config, clock)
    standin.fail_next("message", 81013, times=1)
    await bot.commit(lambda db, out: out.members(["zjw-hu"], "【举报线索】J1 反映某村干部优亲厚友"), key="a")
    await bot.outbox.drain()
    await bot.outbox.drain()
    [alert] = [m["text"]["content"] for m in standin.app_messages]
    assert "镇纪委书记胡纪" in alert and "举报" not in alert and "优亲厚友" not in alert
    await bot.stop()


# --- no busy loop while lanes wait ---------------------------------------------------------------------------
async def test_a_lane_in_back_off_lets_the_sender_sleep_until_its_head_is_due(config, clock, standin):
    """The head of 城南村's lane is in back-off with two rows behind it (those are 'due' by their own time, but not
    by the lane's): drain() sends nothing, says how long to wait, and does a fixed handful of reads each time."""
    bot = await started(config, clock)
    await bot.commit(lambda db, out: out.members(["cn-li"], "已发出的私信"), key="a")
    await bot.outbox.drain()
    standin.disconnect_next("webhook", times=4)
    await enqueue_group(bot, ["甲", "乙", "丙"])
    for _ in range(4):                           # back-offs 5, 10, 20, 40 s
        clock.advance(seconds=await bot.outbox.drain())
    requests = len(standin.requests)
    clock.advance(seconds=-40)                   # back to the moment the fourth failure was recorded
    clock.advance(seconds=1)
    remaining = []
    for _ in range(5):
        before = bot.outbox.queries
        remaining.append(await bot.outbox.drain())
        assert bot.outbox.queries - before <= 2   # the lane heads, then the earliest head's time
        clock.advance(seconds=1)
    assert remaining == [39.0, 38.0, 37.0, 36.0, 35.0]
    assert len(standin.requests) == requests    # nothing was sent or tried meanwhile
    clock.advance(seconds=35)
    await bot.outbox.drain()
    assert robot_texts(standin) == ["甲", "乙", "丙"]
    await bot.stop()


async def test_the_sender_loop_waits_instead_of_spinning(config, clock, standin):
    bot = await started(config, clock)
    standin.disconnect_next("webhook", times=1)
    await enqueue_group(bot, ["甲", "乙"])
    task = asyncio.create_task(bot.outbox.run())
    try:
        while bot.outbox.drains == 0 or not rows(bot, "SELECT 1 FROM outbox WHERE attempts = 1"):
            await bot.store.read(lambda db: None)
        for _ in range(50):                     # give a spinning loop every chance to go round again
            await bot.store.read(lambda db: None)
        assert bot.outbox.drains == 1
        bot.outbox.wake()                        # someone enqueued: it looks again at once
        while bot.outbox.drains == 1:
            await bot.store.read(lambda db: None)
        assert robot_texts(standin) == []        # still in its 5 s back-off by the clock
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await bot.stop()


def test_every_query_the_sender_makes_uses_an_index(tmp_path):
    """The statements themselves, traced as the sender's functions run them, are checked with EXPLAIN."""
    from bot import outbox
    from bot.storage import connect
    db = connect(tmp_path / "x.db")
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    assert outbox._lane_heads(db) == [] and outbox._next_due(db, datetime.now(TZ)) is None
    assert outbox._lane_rows(db, "robot:k", 32) == [] and outbox._sent_since(db, "robot:k", "2026-12-01") == []
    assert outbox._in_flight(db) == []
    db.conn.set_trace_callback(None)
    assert len(seen) == 5
    plans = {sql: [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()] for sql in seen}
    for sql, plan in plans.items():
        # A scan of the lane-heads query's own recursive table (one row per lane) is what it is made of.
        assert not [step for step in plan if step.startswith("SCAN") and step not in ("SCAN lanes",
                                                                                     "SCAN CONSTANT ROW")], (sql, plan)
    used = " ".join(step for plan in plans.values() for step in plan)
    assert "outbox_pending" in used and "outbox_lane_sent" in used


# --- a single-use response_url is never posted twice --------------------------------------------------------
def group_message(bot: Bot, standin, *, chattype: str = "group", sender: str = "resident-1") -> Message:
    village = bot.config.village_by_chat(CHENGNAN)
    return Message(channel="aibot", msgid="m-1", chattype=chattype, sender=sender, text="@小微 路灯坏了",
                   received_at=bot.clock.now(), chat_id=CHENGNAN if chattype == "group" else None,
                   village=village if chattype == "group" else None, response_url=standin.new_response_url())


async def test_a_reply_left_sending_by_a_crash_goes_to_the_group_and_the_url_is_not_called_again(
        config, clock, standin):
    """The state a crash leaves when WeCom accepted the post but the row was not yet marked sent: 'sending'.
    The next start sends the answer to the village group instead of posting to the spent URL."""
    first = await started(config, clock)
    msg = group_message(first, standin)
    await first.commit(lambda db, out: out.reply(msg, "已登记，编号 101"), key="r")
    [row] = rows(first, "SELECT id, payload FROM outbox")
    async with aiohttp.ClientSession() as http:     # what the dead process got through
        async with http.post(msg.response_url, json=json.loads(row["payload"])) as resp:
            assert (await resp.json())["errcode"] == 0
    first.store.write_sync(lambda db: db.execute("UPDATE outbox SET status = 'sending'"))
    await first.stop()

    second = await started(config, clock)
    await second.outbox.drain()
    await second.outbox.drain()
    assert robot_texts(standin) == ["已登记，编号 101"]
    assert sum(1 for r in standin.requests if r.endpoint == "response") == 1
    assert rows(second, "SELECT kind, status FROM outbox ORDER BY id") == [
        {"kind": "response", "status": "rerouted"}, {"kind": "robot", "status": "sent"}]
    await second.outbox.drain()                  # and a later start does not send it a third time
    assert len(robot_texts(standin)) == 1
    await second.stop()


async def test_a_reply_cut_off_mid_call_goes_to_the_group_not_to_the_url_again(config, clock, standin):
    bot = await started(config, clock)
    standin.disconnect_next("response", times=1)
    msg = group_message(bot, standin)
    await bot.commit(lambda db, out: out.reply(msg, "已登记，编号 102"), key="r")
    await bot.outbox.drain()
    await bot.outbox.drain()
    assert robot_texts(standin) == ["已登记，编号 102"]
    assert sum(1 for r in standin.requests if r.endpoint == "response") == 1
    assert standin.app_messages == []            # delivered, so nobody is alarmed
    await bot.stop()


async def test_an_expired_response_url_hands_the_answer_to_the_group(config, clock, standin):
    bot = await started(config, clock)
    msg = group_message(bot, standin)
    clock.advance(hours=2)                       # a response_url lives one hour
    await bot.commit(lambda db, out: out.reply(msg, "已登记，编号 103"), key="r")
    await bot.outbox.drain()
    await bot.outbox.drain()
    assert robot_texts(standin) == ["已登记，编号 103"]
    await bot.stop()


async def test_a_private_chats_reply_falls_back_to_a_private_message_never_the_group(config, clock, standin):
    bot = await started(config, clock)
    standin.disconnect_next("response", times=1)
    msg = group_message(bot, standin, chattype="single", sender="cn-chen")
    await bot.commit(lambda db, out: out.reply(msg, "私聊的回答"), key="r")
    await bot.outbox.drain()
    await bot.outbox.drain()
    assert robot_texts(standin) == []
    assert [(m["touser"], m["text"]["content"]) for m in standin.app_messages] == [("cn-chen", "私聊的回答")]
    await bot.stop()


async def test_a_reply_that_never_connected_is_retried_at_its_url(config, clock, standin):
    bot = await started(config, clock)
    standin.fail_next("response", -1, times=1)   # WeCom answered "busy": the URL is not spent
    msg = group_message(bot, standin)
    await bot.commit(lambda db, out: out.reply(msg, "稍后送达"), key="r")
    clock.advance(seconds=await bot.outbox.drain())
    await bot.outbox.drain()
    assert [p["markdown"]["content"] for p in standin.response_posts.values()] == ["稍后送达"]
    assert robot_texts(standin) == []
    await bot.stop()


# --- xiaowei outbox: list, retry one, retry all ---------------------------------------------------------------
@pytest.fixture
def on_disk(tmp_path, standin):
    """The example configuration as a file (what the CLI reads), and the bot's sandbox config on the same DB."""
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return path, sandbox_config(standin, load_config(path).storage_path)


async def park_and_queue(bot: Bot, standin) -> None:
    standin.fail_next("webhook", 93000, times=2)
    await enqueue_group(bot, ["第一条停发的", "第二条停发的"], key="p")
    await bot.outbox.drain()
    standin.disconnect_next("webhook", times=1)
    await bot.commit(lambda db, out: out.group(bot.config.village_by_name("双虹村"), "双虹村的通知"), key="q")
    await bot.outbox.drain()


async def test_the_outbox_command_lists_pending_and_parked_rows_by_recipient(on_disk, clock, standin, capsys):
    path, cfg = on_disk
    bot = await started(cfg, clock)
    await park_and_queue(bot, standin)
    assert main(["outbox", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "已停止发送 2 条，待发送 1 条" in out
    parked, pending = out.split("待发送（会自动重试）：")
    assert "城南村群 · 群消息  2 条，最早 12-01 09:00" in parked
    assert "群机器人的 webhook 地址无效（机器人被移除或 key 填错），错误码 93000" in parked and "「第一条停发的」" in parked
    assert "编号：1、2" in parked and "xiaowei outbox retry" in pending
    assert "双虹村群 · 群消息  1 条" in pending and "连不上企业微信" in pending and "「双虹村的通知」" in pending
    await bot.stop()


async def test_retry_one_puts_it_back_in_line_and_it_is_sent(on_disk, clock, standin, capsys):
    path, cfg = on_disk
    bot = await started(cfg, clock)
    await park_and_queue(bot, standin)
    assert main(["outbox", "retry", "2", "--config", str(path)]) == 0
    assert "已重新排队 1 条消息（编号 2）" in capsys.readouterr().out
    assert rows(bot, "SELECT id, status, attempts FROM outbox WHERE id IN (1, 2) ORDER BY id") == [
        {"id": 1, "status": "parked", "attempts": 1}, {"id": 2, "status": "pending", "attempts": 0}]
    clock.set(datetime.now(TZ))                  # the command stamped it due at the wall clock's now
    await bot.outbox.drain()
    assert robot_texts(standin) == ["第二条停发的"]
    assert main(["outbox", "retry", "2", "--config", str(path)]) == 1   # sent: nothing to resend
    assert "不是停止发送的消息" in capsys.readouterr().out
    await bot.stop()


async def test_retry_all_resends_every_parked_row_in_order(on_disk, clock, standin, capsys):
    path, cfg = on_disk
    bot = await started(cfg, clock)
    await park_and_queue(bot, standin)
    bot.store.write_sync(lambda db: db.execute("UPDATE outbox SET status = 'dead' WHERE id = 1"))  # before 0006
    assert main(["outbox", "--config", str(path)]) == 0
    assert "城南村群 · 群消息  2 条" in capsys.readouterr().out.split("待发送（")[0]
    assert main(["outbox", "retry", "--all", "--config", str(path)]) == 0
    assert "已重新排队 2 条消息（编号 1、2）" in capsys.readouterr().out
    clock.set(datetime.now(TZ))
    await bot.outbox.drain()
    assert robot_texts(standin) == ["第一条停发的", "第二条停发的"]
    assert main(["outbox", "--config", str(path)]) == 0
    assert capsys.readouterr().out == "没有未送达的消息。\n"   # 双虹村's row went too, its back-off long over
    await bot.stop()


def test_retry_wants_one_id_or_all(on_disk, capsys):
    path, _ = on_disk
    assert main(["outbox", "retry", "--config", str(path)]) == 2
    assert "二者选一" in capsys.readouterr().err


# --- a drain costs what is due, not what is pending ----------------------------------------------------------
class Tally:
    """Every statement (sqlite3 trace) and every 10 SQLite VM steps (progress handler) the store's
    connections run, writer and readers alike, while `on`."""

    def __init__(self):
        self.statements: list[str] = []
        self.steps = 0
        self.on = False

    def _trace(self, sql: str) -> None:
        if self.on:
            self.statements.append(sql)

    def _step(self) -> int:
        if self.on:
            self.steps += 1
        return 0

    def install(self, db) -> None:
        db.conn.set_trace_callback(self._trace)
        db.conn.set_progress_handler(self._step, 10)

    async def attach(self, bot: Bot) -> None:
        import threading
        await bot.store.write(self.install)
        both = threading.Barrier(2, timeout=10)   # one read per reader thread: each installs on its connection

        def on_reader(db) -> None:
            self.install(db)
            both.wait()
        await asyncio.gather(bot.store.read(on_reader), bot.store.read(on_reader))


async def test_two_commits_without_a_key_at_one_instant_both_send(config, clock, standin):
    """Work committed without a key has no identity to repeat: each commit's sends go out, even at one instant of
    the clock and from one function (the key was the function's id, so the second sent nothing; a test whose
    two lambdas happened to share an address lost its second message about one run in eight)."""
    bot = await started(config, clock)
    chengnan = bot.config.village_by_name("城南村")

    def post(db, out):
        out.group(chengnan, "同一时刻")
    await bot.commit(post)
    await bot.commit(post)
    await bot.outbox.drain()
    assert robot_texts(standin, "robot-key-chengnan") == ["同一时刻", "同一时刻"]
    await bot.stop()


async def test_a_drain_costs_what_is_due_not_what_is_pending(config, clock, standin):
    """One lane blocked in its back-off with 10, then 1,000 rows behind its head, and one lane with one row due:
    the drain sends the due row and reads no more for 1,000 waiting rows than for 10 (statements and VM steps).
    (Finding the lane heads with GROUP BY read every pending row: 36× the steps for 1,000.)"""
    from bot import outbox
    bot = await started(config, clock)
    tally = Tally()
    await tally.attach(bot)
    shuanghong, village_keys = bot.config.village_by_name("双虹村"), iter(["城南村", "高峰村"])

    async def block(n: int) -> None:
        await bot.commit(lambda db, out: [out.group(shuanghong, f"第{i}条") for i in range(n)], key=f"block{n}")
        [head] = rows(bot, "SELECT MIN(id) AS id FROM outbox WHERE lane = 'robot:robot-key-shuanghong' "
                           "AND status = 'pending'")
        await bot.store.write(outbox._defer, head["id"], clock.now() + timedelta(hours=1), "停电", clock.now())

    async def drain_with_one_due() -> tuple[int, int]:
        await bot.commit(lambda db, out: out.group(bot.config.village_by_name(next(village_keys)), "到期的一条"))
        tally.statements, tally.steps, tally.on = [], 0, True
        await bot.outbox.drain()
        tally.on = False
        return tally.statements, tally.steps

    await block(10)
    await bot.outbox.drain()                    # the first drain also recovers rows left in flight
    few = await drain_with_one_due()
    await block(990)
    many = await drain_with_one_due()
    assert robot_texts(standin, "robot-key-chengnan") == robot_texts(standin, "robot-key-gaofeng") == ["到期的一条"]
    assert robot_texts(standin, "robot-key-shuanghong") == []
    assert rows(bot, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'") == [{"n": 1000}]
    # The statements themselves on failure, should a drain ever read more for more waiting rows.
    assert len(many[0]) == len(few[0]), (sorted(set(many[0]) ^ set(few[0])), few[0], many[0])
    assert many[1] <= few[1] * 1.2 + 5, (few[1], many[1], few[0], many[0])
    await bot.stop()


async def test_a_drain_reads_a_lane_once_however_many_of_its_rows_it_sends(config, clock, standin):
    """Five private messages to one cadre go out in order in one drain, which reads the outbox twice: the due
    lanes with their rows, then when the next head is due (it had read the lane head before every row, and the
    lane's sends in the rate window before every row as well: 13 reads)."""
    bot = await started(config, clock)
    texts = [f"私信{i}" for i in range(5)]
    await bot.commit(lambda db, out: [out.members(["cn-li"], text) for text in texts], key="five")
    assert rows(bot, "SELECT COUNT(DISTINCT lane) AS n FROM outbox") == [{"n": 1}]
    await bot.outbox.drain()                    # the first drain also recovers rows left in flight
    await bot.commit(lambda db, out: [out.members(["cn-li"], f"又{text}") for text in texts], key="five more")
    before = bot.outbox.queries
    await bot.outbox.drain()
    assert bot.outbox.queries - before == 2
    assert [m["text"]["content"] for m in standin.app_messages] == texts + [f"又{t}" for t in texts]
    assert rows(bot, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'") == [{"n": 10}]
    await bot.stop()
