"""Issue 11 point 8: a real `xiaowei serve` reading the chat archive is killed with SIGKILL between pulls and
started again on the same database. Every archived group message must be stored exactly once, in seq order, and
no resident's request may open a second case.

The Finance SDK is the C stand-in (tests/finance_sdk), loaded by the server's own ctypes reader; WeCom is the
in-process stand-in on loopback. The database is only ever read from here, read-only, as an operator would."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.clock import SystemClock
from bot.sandbox.config import example_with, standin_settings
from tests.finance_sdk.build import finance_sdk_build  # noqa: F401  (a fixture)
from tests.finance_sdk.feed import FEED_ENV, ROOM, Feed, text_message
from tests.test_serve import free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "archive-secret"
RECORDS = 5000                    # five full pages of 1000: the kill lands after the first and before the last
REQUEST_EVERY = 100               # every 100th record is a resident's request, from a resident of its own
PAGE = 1000
DEADLINE = 60.0                   # seconds any one wait may take on a loaded machine before the test gives up
POLL = 0.02
MSGTIME = int(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp() * 1000)   # 09:00 in Fujian
REQUESTS = ("村口路灯坏了一个多星期了，晚上黑乎乎的，麻烦派人来修一下", "村道上有个大坑，电动车摔了好几次，请派人填一下",
            "自来水停了两天了，什么时候能来水", "垃圾好几天没人清运了，味道很大，麻烦安排人来清一下")


def seq_of(i: int) -> int:
    return 7 * i + 2              # gaps, as WeCom's seq has: the cursor must follow the records, not a count


def records() -> list[tuple[int, dict]]:
    out = []
    for i in range(RECORDS):
        seq = seq_of(i)
        if i % REQUEST_EVERY == REQUEST_EVERY - 1:
            out.append((seq, text_message(f"req-{seq}", REQUESTS[i // REQUEST_EVERY % len(REQUESTS)],
                                          msgtime=MSGTIME, sender=f"wmResident{i}")))
        else:
            out.append((seq, text_message(f"chat-{seq}", "大家好", msgtime=MSGTIME, sender="wmNeighbour")))
    return out


def write_config(path: Path, standin, library: Path, key_file: Path, port: int) -> None:
    """The shipped example, its WeCom endpoints pointed at the stand-in and its [archive] at the C stand-in."""
    far = (SystemClock().now() + timedelta(hours=12)).strftime("%H:%M")   # no daily job due during the test
    settings = standin_settings(standin, port=port, database=path.parent / "xiaowei.db") | {
        ("archive", "library"): json.dumps(str(library)),
        ("archive", "secret"): json.dumps(SECRET),
        ("archive", "poll_seconds"): "1",
        **{("schedule", job): json.dumps(far) for job in ("duty_notice", "news", "nags", "digest")},
    }
    keys = ["[archive.private_keys]", f"1 = {json.dumps(str(key_file))}", ""]
    path.write_text(example_with(settings, add={"archive": keys}), encoding="utf-8")


class Server:
    """`python -m bot serve` as a child process, which the test may kill -9 and start again."""

    def __init__(self, config: Path, feed: Feed, log: Path):
        self.config, self.log = config, log
        self.env = {**os.environ, FEED_ENV: str(feed.path), "PYTHONUNBUFFERED": "1"}
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--config", str(self.config), cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self.log.open("ab"))

    async def kill9(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> int | None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                return await asyncio.wait_for(self.proc.wait(), DEADLINE)
            except asyncio.TimeoutError:
                await self.kill9()
        return self.proc.returncode if self.proc else None

    def died(self) -> str | None:
        if self.proc and self.proc.returncode is not None:
            return f"the server exited with {self.proc.returncode}:\n{self.log.read_text(errors='replace')[-3000:]}"
        return None


def read(db: Path, sql: str) -> list[tuple]:
    """A read-only look at the live database (WAL): it never takes the writer's lock."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:            # the schema is not made yet
        return []
    finally:
        con.close()


def cursor(db: Path) -> int:
    got = read(db, "SELECT seq FROM archive_cursor WHERE id = 1")
    return got[0][0] if got else 0


def unhandled(db: Path) -> int:
    got = read(db, "SELECT count(*) FROM messages WHERE status = 'new'")
    return got[0][0] if got else -1


async def until(server: Server, what: str, done) -> None:
    t = time.monotonic()
    while not done():
        assert server.died() is None, server.died()
        assert time.monotonic() - t < DEADLINE, f"gave up waiting for {what}"
        await asyncio.sleep(POLL)


async def test_a_kill_9_between_pulls_loses_and_repeats_no_archived_message(tmp_path, standin, finance_sdk_build):
    feed = Feed(tmp_path / "feed")
    feed.secret(SECRET)
    key_file = tmp_path / "archive_v1.pem"
    key_file.write_bytes(feed.key_version(1))
    fed = records()
    feed.add_many(fed)
    config, db = tmp_path / "config.toml", tmp_path / "xiaowei.db"
    write_config(config, standin, finance_sdk_build.library, key_file, free_port())
    server = Server(config, feed, tmp_path / "server.log")
    last = fed[-1][0]
    try:
        await server.start()
        # Past the first page, short of the last: the kill falls while a later page is being pulled or stored.
        await until(server, "the first page", lambda: cursor(db) >= seq_of(PAGE - 1))
        await server.kill9()
        killed_at = cursor(db)
        assert seq_of(PAGE - 1) <= killed_at < last, "the whole feed was read before the kill"

        await server.start()
        await until(server, "the last seq", lambda: cursor(db) == last)
        await until(server, "every stored message handled", lambda: unhandled(db) == 0)
        assert await server.stop() == 0
    finally:
        await server.kill9()

    stored = [m for (m,) in read(db, "SELECT msgid FROM messages WHERE channel = 'archive' ORDER BY id")]
    assert stored == [message["msgid"] for _, message in fed]            # each once, in seq order
    # Each request has a resident of its own: it opens one case, or (the same problem again) seconds one, once.
    requests = {message["msgid"]: message["from"] for _, message in fed if message["msgid"].startswith("req-")}
    opened = read(db, "SELECT m.msgid FROM cases c JOIN messages m ON m.id = c.message_id")
    seconded = read(db, "SELECT actor FROM events WHERE action = 'seconded'")
    outcomes = Counter(msgid for (msgid,) in opened) + Counter(
        msgid for (actor,) in seconded for msgid, sender in requests.items() if sender == actor)
    assert outcomes == Counter(requests.keys())
    assert len(opened) == len(REQUESTS)                  # one case per problem, however often it was raised
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
