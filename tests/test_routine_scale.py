"""A town of 30 villages: every morning post arrives, through the outbox, without WeCom ever answering 45009."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from tests.conftest import robot_texts
from tests.schedule_helpers import big_town, rotation, started


async def drain_all(bot, clock) -> int:
    """Drain as the outbox's own loop would, moving the fake clock instead of sleeping; returns minutes taken."""
    start = clock.now()
    while (delay := await bot.outbox.drain()) is not None:
        clock.advance(seconds=max(delay, 1))
        assert clock.now() - start < timedelta(hours=1)
    return int((clock.now() - start).total_seconds() // 60)


def busiest_minute(standin) -> int:
    sent = defaultdict(list)
    for r in standin.requests:
        if r.endpoint == "webhook" and r.errcode == 0:
            sent[r.target].append(r.at)
    return max(sum(1 for t in times if at - timedelta(seconds=60) < t <= at) for times in sent.values() for at in times)


@pytest.mark.parametrize("shared", [False, True], ids=["a-robot-per-group", "one-robot-for-all"])
async def test_thirty_villages_get_every_morning_post_within_the_robot_limit(config, clock, standin, shared):
    config = big_town(config, 30, key="robot-shared" if shared else None)
    bot = await started(config, clock)
    for village in config.villages():
        rotation(bot, village.name, village.cadres[1].userid)
    clock.set("2026-12-01T08:00+08:00")
    await bot.jobs.run("duty_notice")
    minutes = await drain_all(bot, clock)
    clock.set("2026-12-01T09:00+08:00")
    await bot.jobs.run("news")
    minutes += await drain_all(bot, clock)

    keys = ["robot-shared"] if shared else [v.webhook_key for v in config.villages()]
    texts = [t for key in keys for t in robot_texts(standin, key)]
    assert len(texts) == 60
    assert sorted(t.split("\n")[2] for t in texts if t.startswith("【值班公告】")) == \
        sorted(f"村委委员值班{i} 1380000{i:04d}" for i in range(1, 31))
    assert sum(t.startswith("【正能量】") for t in texts) == 30
    assert not [r for r in standin.requests if r.errcode == 45009]
    assert busiest_minute(standin) <= 20
    assert minutes == (2 if shared else 0)          # one shared robot: each job's 30 posts spill into a second minute
    await bot.stop()
