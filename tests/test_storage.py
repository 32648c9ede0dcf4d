"""The store: one writer thread, group commit, and each write its own savepoint."""
from __future__ import annotations

import asyncio
import threading

import pytest

from bot.storage import Store


async def hold_the_writer(store: Store) -> tuple[asyncio.Future, threading.Event]:
    """Keep the writer busy in a write of its own, so that what follows queues up behind it."""
    started, gate = threading.Event(), threading.Event()
    busy = asyncio.ensure_future(store.write(lambda db: (started.set(), gate.wait(5))))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    return busy, gate


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "x.db")
    s.write_sync(lambda db: db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield s
    s.close()


async def test_concurrent_writes_share_commits_and_each_caller_sees_only_durable_work(store):
    first, gate = await hold_the_writer(store)   # the writes below queue up, as concurrent callbacks do
    others = [asyncio.ensure_future(store.write(lambda db, i=i: db["t"].insert({"v": f"v{i}"}))) for i in range(40)]
    await asyncio.sleep(0)
    before = store.commits
    gate.set()
    await asyncio.gather(first, *others)
    assert store.commits - before < 10                       # 40 writes, a handful of fsyncs
    assert await store.read(lambda db: db["t"].count) == 40


async def test_a_failing_write_rolls_back_only_itself(store):
    busy, gate = await hold_the_writer(store)
    good = asyncio.ensure_future(store.write(lambda db: db["t"].insert({"v": "a"})))
    bad = asyncio.ensure_future(store.write(lambda db: (db["t"].insert({"v": "b"}), 1 / 0)))
    also = asyncio.ensure_future(store.write(lambda db: db["t"].insert({"v": "c"})))
    await asyncio.sleep(0)
    gate.set()
    await busy
    await good, await also
    with pytest.raises(ZeroDivisionError):
        await bad
    assert await store.read(lambda db: [r["v"] for r in db["t"].rows]) == ["a", "c"]


async def test_a_cancelled_caller_does_not_stop_the_writer(store):
    busy, gate = await hold_the_writer(store)
    doomed = asyncio.ensure_future(store.write(lambda db: db["t"].insert({"v": "never"})))
    await asyncio.sleep(0)
    doomed.cancel()                                           # e.g. a task cancelled while the service stops
    await asyncio.sleep(0)                                    # the loop passes the cancel on to the writer's side
    gate.set()
    await busy
    await store.write(lambda db: db["t"].insert({"v": "after"}))
    assert await store.read(lambda db: [r["v"] for r in db["t"].rows]) == ["after"]


async def test_a_batch_of_writes_is_answered_in_a_few_hops_to_the_loop(store):
    """40 writes that queued up together are answered after their COMMIT in one call onto the event loop per
    batch, not one each (each call wakes the loop through its self-pipe). The loop's own method is counted."""
    loop = asyncio.get_running_loop()
    hops = []
    real = loop.call_soon_threadsafe

    def counted(callback, *args, **kwargs):
        if threading.current_thread().name == "sqlite-writer":
            hops.append(callback)
        return real(callback, *args, **kwargs)
    first, gate = await hold_the_writer(store)
    others = [asyncio.ensure_future(store.write(lambda db, i=i: db["t"].insert({"v": f"v{i}"}).last_pk))
              for i in range(40)]
    await asyncio.sleep(0)
    loop.call_soon_threadsafe = counted
    try:
        gate.set()
        await first
        assert sorted(await asyncio.gather(*others)) == list(range(1, 41))
    finally:
        del loop.call_soon_threadsafe
    assert 1 <= len(hops) < 10, len(hops)
