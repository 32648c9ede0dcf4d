"""The durable outbox: every message the bot sends is first a row here, committed with whatever caused it.

A sender drains it lane by lane (one lane per group robot, per member, per response_url), in order, within
WeCom's rate limits, retrying with backoff; a row is marked sent only after WeCom accepted it."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Awaitable, Callable

import aiohttp
from sqlite_utils import Database

from bot import ledger
from bot.clock import Clock
from bot.storage import Store
from bot.channels.wecom import RATE_LIMITED, WeComClient, WeComError

log = logging.getLogger("xiaowei.outbox")

LIMITS = {"robot": 20, "app": 30}   # per lane per minute (WeCom's documented limits)
WINDOW = timedelta(seconds=60)
POLL = 30.0
MAX_ATTEMPTS = 12                   # then the row is given up and the admins are told (never silently)
TEXT_LIMIT = 2048                   # bytes, WeCom's limit for text; a robot's markdown allows 4096
MARKDOWN_LIMIT = 4096
APP_MARKDOWN_LIMIT = 2048           # an app message's markdown (message/send) allows only 2048


def enqueue(db: Database, *, kind: str, target: str, payload: dict, now: datetime,
            dedupe: str | None = None, lane: str | None = None) -> int | None:
    """Add a message inside the caller's transaction. A repeated `dedupe` key adds nothing (returns None)."""
    lane = lane or f"{kind}:{target}"
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox (kind, target, lane, payload, dedupe, created_at, not_before) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [kind, target, lane, json.dumps(payload, ensure_ascii=False), dedupe, now.isoformat(), now.isoformat()])
    return cursor.lastrowid if cursor.rowcount else None


def text_payload(content: str, mentions: tuple[str, ...] = (), phones: tuple[str, ...] = ()) -> dict:
    text: dict = {"content": clip(content, TEXT_LIMIT)}
    if mentions:
        text["mentioned_list"] = list(mentions)
    if phones:
        text["mentioned_mobile_list"] = list(phones)
    return {"msgtype": "text", "text": text}


def markdown_payload(content: str, limit: int = MARKDOWN_LIMIT) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": clip(content, limit)}}


def clip(content: str, limit: int) -> str:
    """Cut to WeCom's byte limit at a character boundary rather than have the whole message refused."""
    data = content.encode("utf-8")
    if len(data) <= limit:
        return content
    return data[: limit - len("…".encode())].decode("utf-8", "ignore") + "…"


class Outbox:
    def __init__(self, store: Store, client: WeComClient, clock: Clock,
                 on_dead: Callable[[dict], Awaitable[None]] | None = None):
        self.store, self.client, self.clock = store, client, clock
        self.on_dead = on_dead
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()   # one drain at a time, or two could send the same head row

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; sleeps until the next row is due or someone enqueues."""
        while True:
            delay = await self.drain()
            self._wake.clear()
            try:
                # Rows may also be added by another process (`xiaowei run-job`), so look again at least every 30 s.
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay if delay is not None else POLL, POLL))
            except asyncio.TimeoutError:
                pass

    async def drain(self) -> float | None:
        """Send what is due now in every lane; return seconds until the next row is due (None: nothing left)."""
        async with self._lock:
            lanes = await self.store.read(_pending_lanes)
            await asyncio.gather(*(self._drain_lane(lane) for lane in lanes))
            return await self.store.read(_next_due, self.clock.now())

    async def _drain_lane(self, lane: str) -> None:
        while True:
            now = self.clock.now()
            row = await self.store.read(_head, lane)
            if row is None or datetime.fromisoformat(row["not_before"]) > now:
                return
            limit = LIMITS.get(row["kind"])
            if limit:
                sent = await self.store.read(_sent_since, lane, (now - WINDOW).isoformat())
                if len(sent) >= limit:
                    # Wait for the oldest send to leave the window instead of earning a 45009.
                    await self.store.write(_defer, row["id"], datetime.fromisoformat(sent[0]) + WINDOW, None, False)
                    return
            if not await self._send(row, now):
                return

    async def _send(self, row: dict, now: datetime) -> bool:
        payload = json.loads(row["payload"])
        try:
            if row["kind"] == "robot":
                await self.client.send_robot(row["target"], payload)
            elif row["kind"] == "app":
                await self.client.send_app(payload)
            else:
                await self.client.post_response(row["target"], payload)
        except WeComError as exc:
            if exc.errcode == RATE_LIMITED:
                log.warning("outbox %s: rate limited by WeCom, backing off", row["lane"].split(":")[0])
                await self.store.write(_defer, row["id"], now + WINDOW, str(exc), False)
                return False
            return await self._failed(row, now, str(exc))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return await self._failed(row, now, f"{type(exc).__name__}: {exc}")
        await self.store.write(_mark_sent, row["id"], self.clock.now().isoformat())
        return True

    async def _failed(self, row: dict, now: datetime, error: str) -> bool:
        attempts = row["attempts"] + 1
        if attempts >= MAX_ATTEMPTS:
            log.error("outbox row %s given up after %s attempts: %s", row["id"], attempts, error)
            await self.store.write(_mark_dead, row["id"], error)
            if self.on_dead:
                await self.on_dead({**row, "last_error": error})
            return True
        backoff = timedelta(seconds=min(5 * 2 ** (attempts - 1), 1800))
        log.warning("outbox row %s attempt %s failed (%s); retry in %s", row["id"], attempts, error, backoff)
        await self.store.write(_defer, row["id"], now + backoff, error, True)
        return False


def _pending_lanes(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT lane FROM outbox WHERE status = 'pending'").fetchall()]


def _head(db: Database, lane: str) -> dict | None:
    return next(db["outbox"].rows_where("status = 'pending' AND lane = ?", [lane], order_by="id", limit=1), None)


def _sent_since(db: Database, lane: str, since: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT sent_at FROM outbox WHERE lane = ? AND status = 'sent' AND sent_at > ? ORDER BY sent_at",
        [lane, since]).fetchall()]


def _next_due(db: Database, now: datetime) -> float | None:
    row = db.execute("SELECT MIN(not_before) FROM outbox WHERE status = 'pending'").fetchone()
    if not row or row[0] is None:
        return None
    return max(0.0, (datetime.fromisoformat(row[0]) - now).total_seconds())


def _defer(db: Database, row_id: int, until: datetime, error: str | None, count: bool) -> None:
    db.execute("UPDATE outbox SET not_before = ?, last_error = COALESCE(?, last_error), attempts = attempts + ? "
               "WHERE id = ?", [until.isoformat(), error, int(count), row_id])


def _mark_sent(db: Database, row_id: int, at: str) -> None:
    # Once sent, a row is a fact: sealed in the same transaction, and only the first time.
    if db.execute("UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ? AND status != 'sent'",
                  [at, row_id]).rowcount:
        ledger.add(db, "outbox", row_id)


def _mark_dead(db: Database, row_id: int, error: str) -> None:
    db.execute("UPDATE outbox SET status = 'dead', last_error = ?, attempts = attempts + 1 WHERE id = ?",
               [error, row_id])
