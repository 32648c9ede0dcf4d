"""The durable outbox against the stand-in: limits, retries, restarts, order, once-only delivery."""
from __future__ import annotations

from bot.app import Bot
from tests.conftest import new_bot, robot_texts, rows


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


async def test_a_message_refused_for_good_is_given_up_loudly(config, clock, standin):
    bot = await started(config, clock)
    standin.fail_next("webhook", 93000, times=100)
    await enqueue_group(bot, ["发不出去的"])
    for _ in range(20):
        delay = await bot.outbox.drain()
        if delay is None or not rows(bot, "SELECT 1 FROM outbox WHERE kind = 'robot' AND status = 'pending'"):
            break
        clock.advance(seconds=delay)
    assert rows(bot, "SELECT status FROM outbox WHERE kind = 'robot'") == [{"status": "dead"}]
    await bot.outbox.drain()
    assert any("多次发送失败" in m["text"]["content"] for m in standin.app_messages)
    await bot.stop()


async def test_text_over_wecom_limit_is_clipped_not_refused(config, clock, standin):
    bot = await started(config, clock)
    await enqueue_group(bot, ["长" * 1000])
    await bot.outbox.drain()
    [text] = robot_texts(standin)
    assert len(text.encode()) <= 2048 and text.endswith("…")
    await bot.stop()
