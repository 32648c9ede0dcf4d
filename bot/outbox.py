"""The durable outbox: every message the bot sends is first a row here, committed with whatever caused it.

A sender drains it lane by lane (one lane per group robot, per member, per response_url), in order, within
WeCom's rate limits, retrying with back-off for days; a row is marked sent only after WeCom accepted it, and a
row that cannot be sent is parked, listed and announced, never dropped."""
from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
from datetime import datetime, timedelta
from typing import Awaitable, Callable

import aiohttp
from sqlite_utils import Database

from bot import kf_window, ledger
from bot.clock import Clock
from bot.storage import Store
from bot.channels.cards import update_card
from bot.channels.customer import create_group_send
from bot.channels.kf import kf_send
from bot.channels.wecom import KF_WINDOW_CLOSED, RATE_LIMITED, TASK_ID_TAKEN, WeComClient, WeComError

log = logging.getLogger("xiaowei.outbox")

LIMITS = {"robot": 20, "app": 30}   # per lane per minute (WeCom's documented limits)
WINDOW = timedelta(seconds=60)
POLL = 30.0                         # rows may come from another process (`xiaowei run-job`): look this often
BACKOFF_FIRST, BACKOFF_CAP = 5, 1800  # seconds: 5, 10, 20 … then every 30 minutes
# Transient failures are retried this long from the first failure (a row is tried when it is made, so from
# its creation): a 72-hour outage — a long weekend without network — plus a day for rows queued just before it.
RETRY_FOR = timedelta(hours=96)
PARKED = ("parked", "dead")
ALERT_PREFIX = "alert:"             # dedupe keys of admin alerts: an alert that cannot be sent is not alerted about         # 'dead': rows given up before migration 0006, read and resent alike
TEXT_LIMIT = 2048                   # bytes, WeCom's limit for text; a robot's markdown allows 4096
MARKDOWN_LIMIT = 4096
LANE_BATCH = 32                     # a due lane's rows read at once (a robot's lane sends at most 20 a minute)
APP_MARKDOWN_LIMIT = 2048           # an app message's markdown (message/send) allows only 2048

OnParked = Callable[[Database, dict], None]


def enqueue(db: Database, *, kind: str, target: str, payload: dict, now: datetime,
            dedupe: str | None = None, lane: str | None = None,
            fallback: tuple[str, str] | None = None, status: str = "pending",
            not_before: datetime | None = None) -> int | None:
    """Add a message inside the caller's transaction. A repeated `dedupe` key adds nothing (returns None).
    `fallback` (kind, target): where a response row's text goes if its single-use URL cannot take it.
    status 'gateway': a bridge village's post that the county's gateway pulls (the sender leaves it alone).
    not_before: held until then (a cadre's alert waiting for working hours)."""
    lane = lane or f"{kind}:{target}"
    fallback_kind, fallback_target = fallback or (None, None)
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox (kind, target, lane, payload, dedupe, created_at, not_before, "
        "fallback_kind, fallback_target, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [kind, target, lane, json.dumps(payload, ensure_ascii=False), dedupe, now.isoformat(),
         max(now, not_before or now).isoformat(),
         fallback_kind, fallback_target, status])
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


def content_of(payload: dict) -> str:
    return str((payload.get(payload.get("msgtype", "")) or {}).get("content", ""))


def clip(content: str, limit: int) -> str:
    """Cut to WeCom's byte limit at a character boundary rather than have the whole message refused."""
    data = content.encode("utf-8")
    if len(data) <= limit:
        return content
    return data[: limit - len("…".encode())].decode("utf-8", "ignore") + "…"


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 5 s doubling, capped. No jitter: each lane waits on its own
    head, and the rate limit, not the retry time, keeps a recovering lane from flooding WeCom."""
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_CAP))


class Outbox:
    def __init__(self, store: Store, client: WeComClient, clock: Clock, on_parked: OnParked | None = None,
                 gateway: Callable[[int, dict], Awaitable[None]] | None = None):
        """on_parked(db, row) runs inside the transaction that parks the row, so the alert it writes is
        committed with the parking: a crash cannot park a row silently. gateway(payload) pushes a bridge
        village's post (its id, its payload) to the county's gateway."""
        self.store, self.client, self.clock = store, client, clock
        self.gateway = gateway
        self.on_parked = on_parked
        self.drains = self.queries = 0   # what the sender did, for tests and benchmarks
        self._recovered = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()   # one drain at a time, or two could send the same head row

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; sleeps until the earliest lane head is due, someone enqueues, or POLL passes."""
        while True:
            # Cleared before the drain, not after: a row committed while the drain runs wakes the next one.
            self._wake.clear()
            try:
                delay = await self.drain()
            except Exception:   # the sender must outlive a bug or a database hiccup; say so and look again
                log.exception("outbox drain failed; trying again in %s s", POLL)
                delay = POLL
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands as the wake-up fires,
            # and Bot.stop then waits for this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(delay if delay is not None else POLL, POLL)):
                    await self._wake.wait()

    async def drain(self) -> float | None:
        """Send what is due now in every lane; return seconds until the earliest lane head is due (back-offs and
        rate-limit waits included; None: nothing pending). Only heads count: a row behind a waiting head is
        not due, however old it is."""
        async with self._lock:
            self.drains += 1
            if not self._recovered:
                # Only the process holding the sender lock drains, so a 'sending' row now is one a dead
                # process left in flight.
                await self.store.write(self._recover_in_flight, self.clock.now())
                self._recovered = True
            now = self.clock.now()
            # One read for every due lane's first rows (and a rate-limited lane's recent sends), not one read a
            # row: the drain alone sends and marks rows, so what it read stays true while it works through them.
            due = await self._read(_due_lanes, now, LANE_BATCH)
            # Every lane is awaited to its end even if one fails, so that the lock covers all sends in flight.
            done = await asyncio.gather(*(self._drain_lane(lane, found, sent) for lane, (found, sent) in due.items()),
                                        return_exceptions=True)
            for failure in (d for d in done if isinstance(d, BaseException)):
                log.error("outbox lane failed", exc_info=failure)
            return await self._read(_next_due, self.clock.now())

    async def _read(self, fn, *args):
        self.queries += 1
        return await self.store.read(fn, *args)

    async def _drain_lane(self, lane: str, found: list[dict], sent: list[str] | None) -> None:
        """Send the lane's rows in order until one is not due, is refused, or must wait for the rate limit.
        `sent`: the lane's send times within the rate window when it was read (None: not read, as none of its rows
        read so far has a rate limit), kept up to date here."""
        while True:
            for row in found:
                now = self.clock.now()
                if datetime.fromisoformat(row["not_before"]) > now:
                    return
                limit = LIMITS.get(row["kind"])
                if limit:
                    since = (now - WINDOW).isoformat()
                    if sent is None:
                        sent = await self._read(_sent_since, lane, since)
                    recent = [at for at in sent if at > since]
                    if len(recent) >= limit:
                        # Wait for the oldest send to leave the window instead of earning a 45009.
                        await self.store.write(_defer, row["id"], datetime.fromisoformat(recent[0]) + WINDOW)
                        return
                if not await self._send(row, now, sent if sent is not None else []):
                    return
            if len(found) < LANE_BATCH:
                # The lane held no more when read. A row queued since woke the sender (or is due by _next_due),
                # so the next drain sends it.
                return
            found = await self._read(_lane_rows, lane, LANE_BATCH)
            if not found:
                return

    async def _send(self, row: dict, now: datetime, sent: list[str]) -> bool:
        """One attempt at the lane's head; True when the lane may go on to its next row. A row marked sent adds
        its time to `sent`."""
        payload = json.loads(row["payload"])
        if row["kind"] == "response":
            return await self._respond(row, payload, now)    # (no rate limit: its lane holds one row)
        group_send = None
        try:
            if row["kind"] == "robot":
                await self.client.send_robot(row["target"], payload)
            elif row["kind"] == "bridge":
                if self.gateway is None:
                    raise ValueError("no bridge push_url configured")
                await self.gateway(row["id"], payload)
            elif row["kind"] == "groupsend":
                group_send = await create_group_send(self.client, payload["sender"], payload["chat_id_list"],
                                                     payload["text"]["content"])
            elif row["kind"] == "kf":
                await kf_send(self.client, payload["open_kfid"], payload["touser"], payload["text"]["content"])
            elif row["kind"] == "card_update":
                await update_card(self.client, payload["userids"], payload["response_code"],
                                  payload["button"]["replace_name"])
            else:
                await self.client.send_app(payload)
        except WeComError as exc:
            if exc.errcode == RATE_LIMITED:
                return await self._rate_limited(row, now, exc)
            if exc.errcode == KF_WINDOW_CLOSED and row["kind"] == "kf":
                return await self.store.write(_hold_kf, row, now, str(exc))
            if exc.errcode == TASK_ID_TAKEN and payload.get("msgtype") == "template_card":
                # Each card row has a task_id of its own (casework.announce), non-empty and short: WeCom knows it
                # because this row's card went out before the process died, unmarked. Sending again cannot
                # duplicate a card; it is sent, not an undelivered message to alert about.
                log.info("outbox row %s: its card had gone out before a restart", row["id"])
                await self.store.write(mark_sent, row["id"], self.clock.now().isoformat(), None)
                return True
            return await self._failed(row, now, str(exc), permanent=exc.permanent)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return await self._failed(row, now, _describe(exc), permanent=False)
        at = self.clock.now().isoformat()
        await self.store.write(mark_sent, row["id"], at, group_send)
        bisect.insort(sent, at)
        return True

    async def _respond(self, row: dict, payload: dict, now: datetime) -> bool:
        """A response_url takes one post. Once a call may have reached WeCom (cut off, timed out, 5xx), it is not
        called again: the text goes to the fallback instead. Only a clear refusal leaves the URL unspent."""
        await self.store.write(_mark, row["id"], "sending")
        try:
            await self.client.post_response(row["target"], payload)
        except WeComError as exc:
            if exc.errcode == RATE_LIMITED:
                return await self._rate_limited(row, now, exc)
            if exc.permanent:   # spent or expired: the group (or the member) still gets the answer
                return await self.store.write(self._reroute_or_park, row, now, str(exc))
            return await self._failed(row, now, str(exc), permanent=False)
        except aiohttp.ClientConnectorError as exc:   # never connected: nothing reached WeCom
            return await self._failed(row, now, _describe(exc), permanent=False)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return await self.store.write(self._reroute_or_park, row, now, f"结果不明：{_describe(exc)}")
        await self.store.write(mark_sent, row["id"], self.clock.now().isoformat())
        return True

    async def _rate_limited(self, row: dict, now: datetime, exc: WeComError) -> bool:
        log.warning("outbox %s: rate limited by WeCom, backing off", row["lane"].split(":")[0])
        await self.store.write(_defer, row["id"], now + WINDOW, str(exc))
        return False

    async def _failed(self, row: dict, now: datetime, error: str, *, permanent: bool) -> bool:
        first = datetime.fromisoformat(row["first_failed_at"]) if row["first_failed_at"] else now
        if permanent or now - first >= RETRY_FOR:
            await self.store.write(self._park, row, now, error)
            return True
        attempt = row["attempts"] + 1
        wait = backoff(attempt)
        # An outage fails every lane every half hour for days: say so at the first failure and then about
        # once a day per row, not 48 times a day.
        log.log(logging.WARNING if attempt == 1 or attempt % 48 == 0 else logging.DEBUG,
                "outbox row %s attempt %s failed (%s); retry in %s", row["id"], attempt, error, wait)
        await self.store.write(_defer, row["id"], now + wait, error, now)
        return False

    def _park(self, db: Database, row: dict, now: datetime, error: str) -> bool:
        log.error("outbox row %s (%s) parked after %s attempts: %s", row["id"], row["kind"], row["attempts"] + 1,
                  error)
        _mark_parked(db, row["id"], now, error)
        if self.on_parked is not None:
            try:
                self.on_parked(db, {**row, "status": "parked", "last_error": error, "parked_at": now.isoformat(),
                                    "attempts": row["attempts"] + 1})
            except Exception:   # a broken alert must not keep the row pending forever; the listing shows it
                log.exception("alert for parked outbox row %s failed", row["id"])
        return True

    def _reroute_or_park(self, db: Database, row: dict, now: datetime, error: str) -> bool:
        if _reroute(db, row, now, error) is None:
            self._park(db, row, now, f"{error}；回复地址只能用一次，未重发")
        return True

    def _recover_in_flight(self, db: Database, now: datetime) -> None:
        for row in _in_flight(db):
            self._reroute_or_park(db, row, now, "上次发送时进程中断，结果不明")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# --- queries and updates (each runs inside the store's read or write transaction) ---------------------------
# The first pending row of every lane, found by skipping from lane to lane on the (status, lane, id) index: a
# few index seeks per lane, however many rows wait behind each head (a GROUP BY would read every pending row,
# and a lane blocked for days by an outage can hold thousands).
_HEADS = """
    WITH RECURSIVE lanes(lane) AS (
        SELECT (SELECT MIN(lane) FROM outbox WHERE status = 'pending')
        UNION ALL
        SELECT (SELECT MIN(lane) FROM outbox WHERE status = 'pending' AND lane > lanes.lane)
        FROM lanes WHERE lane IS NOT NULL)
    SELECT o.id, o.lane, o.not_before FROM lanes JOIN outbox AS o
        ON o.id = (SELECT MIN(id) FROM outbox WHERE status = 'pending' AND lane = lanes.lane)"""


def _lane_heads(db: Database) -> list[dict]:
    return [dict(zip(("id", "lane", "not_before"), r)) for r in db.conn.execute(_HEADS).fetchall()]


def _next_due(db: Database, now: datetime) -> float | None:
    row = db.conn.execute(f"SELECT MIN(not_before) FROM ({_HEADS})").fetchone()
    if not row or row[0] is None:
        return None
    return max(0.0, (datetime.fromisoformat(row[0]) - now).total_seconds())


def _due_lanes(db: Database, now: datetime, size: int) -> dict[str, tuple[list[dict], list[str] | None]]:
    """Every lane whose head is due now: its first `size` pending rows, and, if a rate limit applies to them, the
    times of its sends within the window (else None)."""
    due: dict[str, tuple[list[dict], list[str] | None]] = {}
    for head in _lane_heads(db):
        if datetime.fromisoformat(head["not_before"]) <= now:
            found = _lane_rows(db, head["lane"], size)
            limited = any(LIMITS.get(row["kind"]) for row in found)
            due[head["lane"]] = (found, _sent_since(db, head["lane"], (now - WINDOW).isoformat()) if limited else None)
    return due


def _lane_rows(db: Database, lane: str, size: int) -> list[dict]:
    # Plain SQL, without the schema look-ups a sqlite-utils table query makes first.
    return _rows(db, "SELECT * FROM outbox WHERE status = 'pending' AND lane = ? ORDER BY id LIMIT ?", [lane, size])


def _in_flight(db: Database) -> list[dict]:
    return _rows(db, "SELECT * FROM outbox WHERE status = 'sending' ORDER BY id")


def _rows(db: Database, sql: str, args: list | None = None) -> list[dict]:
    cursor = db.execute(sql, args or [])
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, values)) for values in cursor.fetchall()]


def _sent_since(db: Database, lane: str, since: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT sent_at FROM outbox WHERE lane = ? AND status = 'sent' AND sent_at > ? ORDER BY sent_at",
        [lane, since]).fetchall()]


def _defer(db: Database, row_id: int, until: datetime, error: str | None = None,
           failed_at: datetime | None = None) -> None:
    """Back to pending until `until`. A failure (failed_at given) counts as an attempt and starts the retry
    window if none is running; a rate-limit wait counts for nothing."""
    at = failed_at.isoformat() if failed_at else None
    db.execute("UPDATE outbox SET status = 'pending', not_before = ?, last_error = COALESCE(?, last_error), "
               "attempts = attempts + ?, first_failed_at = COALESCE(first_failed_at, ?), "
               "first_error = COALESCE(first_error, ?) WHERE id = ?",
               [until.isoformat(), error, int(failed_at is not None), at, error if at else None, row_id])


def _hold_kf(db: Database, row: dict, now: datetime, error: str) -> bool:
    """WeCom refused a kf reply as outside its window: kept to go out when the resident next writes
    (bot/kf_window.py); the row is 'held', neither pending nor parked."""
    log.warning("outbox row %s: kf reply outside WeCom's window; held for the resident's next message", row["id"])
    db.execute("UPDATE outbox SET status = 'held', last_error = ? WHERE id = ?", [error, row["id"]])
    kf_window.hold(db, row["target"], content_of(json.loads(row["payload"])), "refused", now)
    return True


def _mark(db: Database, row_id: int, status: str) -> None:
    db.execute("UPDATE outbox SET status = ? WHERE id = ?", [status, row_id])


def mark_sent(db: Database, row_id: int, at: str, group_send: str | None = None) -> None:
    # Once sent, a row is a fact: sealed in the same transaction, and only the first time.
    if db.execute("UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ? AND status != 'sent'",
                  [at, row_id]).rowcount:
        ledger.add(db, "outbox", row_id)
        if group_send is not None:
            # WeCom made the group send; it waits for the owner's tap, which the check job follows up.
            db.execute("UPDATE group_sends SET msgid = ?, created_at = ? WHERE outbox_id = ?", [group_send, at, row_id])


def _mark_parked(db: Database, row_id: int, now: datetime, error: str) -> None:
    db.execute("UPDATE outbox SET status = 'parked', parked_at = ?, last_error = ?, attempts = attempts + 1, "
               "first_error = COALESCE(first_error, ?), first_failed_at = COALESCE(first_failed_at, ?) WHERE id = ?",
               [now.isoformat(), error, error, now.isoformat(), row_id])


def _reroute(db: Database, row: dict, now: datetime, reason: str) -> int | None:
    """Send a response row's text to its fallback instead; the response row is kept, 'rerouted'. Returns the new
    row's id (None when the row has no fallback). The dedupe key makes a second reroute of the same row a no-op."""
    kind, target = row.get("fallback_kind"), row.get("fallback_target")
    if not kind or not target:
        return None
    content = content_of(json.loads(row["payload"]))
    payload = markdown_payload(content) if kind == "robot" else {"touser": target, **text_payload(content)}
    log.warning("outbox row %s: response_url not usable (%s); sent to its %s fallback", row["id"], reason, kind)
    db.execute("UPDATE outbox SET status = 'rerouted', last_error = ? WHERE id = ?", [reason, row["id"]])
    new = enqueue(db, kind=kind, target=target, payload=payload, now=now, dedupe=f"reroute:{row['id']}")
    return new if new is not None else 0

