"""The app callback's events, durably: each is stored (committed before WeCom gets its 200; a retried callback has
the same fields, so the same fingerprint, and folds), then handled here, off the request, one at a time in
arrival order; what a crash left unhandled is picked up at start.

微信客服 notices pull the residents' messages (bot/kf_reader.py), a card tap becomes the command the cadre would
have typed, a customer-group change goes to bot.identity."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime
from typing import Awaitable, Callable

from sqlite_utils import Database

from bot.channels.app_events import AppEvent, parse_app_event
from bot.channels.cards import CardTap
from bot.channels.customer import GroupChange
from bot.channels.kf import KfNotice
from bot.channels.wecom import WeComError

log = logging.getLogger("xiaowei.app_events")

KINDS: dict[type, str] = {KfNotice: "kf", CardTap: "card", GroupChange: "group"}
KF_TOKEN_REFUSED = 95007     # the notice's Token expired (10 minutes) or is unknown: a later notice pulls instead


def fingerprint(fields: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def record(db: Database, fields: dict[str, str], event: AppEvent, now: datetime) -> tuple[int, bool]:
    key = fingerprint(fields)
    cursor = db.execute("INSERT OR IGNORE INTO app_events (kind, fingerprint, payload, received_at) "
                        "VALUES (?, ?, ?, ?)", [KINDS[type(event)], key, json.dumps(fields, ensure_ascii=False),
                                                now.isoformat()])
    new = bool(cursor.rowcount)
    row = db.execute("SELECT id FROM app_events WHERE fingerprint = ?", [key]).fetchone()
    return row[0], new


def pending_ids(db: Database) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM app_events WHERE status = 'new' ORDER BY id").fetchall()]


def load(db: Database, event_id: int) -> tuple[str, AppEvent | None] | None:
    row = db.execute("SELECT status, payload FROM app_events WHERE id = ?", [event_id]).fetchone()
    return None if row is None else (row[0], parse_app_event(json.loads(row[1])))


def mark(db: Database, event_id: int, status: str, now: datetime, error: str | None = None) -> None:
    db.execute("UPDATE app_events SET status = ?, handled_at = ?, error = ? WHERE id = ? AND status = 'new'",
               [status, now.isoformat(), error, event_id])


def mark_pulled(db: Database, event_id: int, open_kfid: str, now: datetime) -> None:
    """A pull covers every earlier notice of the same account: they are done too."""
    db.execute("UPDATE app_events SET status = 'done', handled_at = ? WHERE kind = 'kf' AND status = 'new' "
               "AND id <= ? AND json_extract(payload, '$.OpenKfId') = ?", [now.isoformat(), event_id, open_kfid])


class AppEvents:
    """Feeds stored app events to what handles each kind; the application passes those in."""

    def __init__(self, *, clock, read: Callable[..., Awaitable], write: Callable[..., Awaitable],
                 pull_kf: Callable[[KfNotice], Awaitable[object]], tap: Callable[[CardTap], Awaitable[object]],
                 group_changed: Callable[[GroupChange], Awaitable[object]],
                 failed: Callable[[str, str, BaseException], Awaitable[None]]):
        self.clock, self._read, self._write = clock, read, write
        self._pull_kf, self._tap, self._group_changed, self._failed = pull_kf, tap, group_changed, failed
        self.queue: asyncio.Queue[int] = asyncio.Queue()

    def submit(self, event_id: int) -> None:
        self.queue.put_nowait(event_id)

    async def run(self) -> None:
        while True:
            event_id = await self.queue.get()
            try:
                await self.handle(event_id)
            except Exception:   # noqa: BLE001 - the loop outlives a bug; handle() already said what failed
                log.exception("app event %s", event_id)
            finally:
                self.queue.task_done()

    async def idle(self) -> None:
        await self.queue.join()

    async def handle(self, event_id: int) -> None:
        found = await self._read(load, event_id)
        if found is None or found[0] != "new":
            return                        # done already (a pull covered it, or handled before a restart)
        event = found[1]
        try:
            if isinstance(event, KfNotice):
                await self._pull_kf(event)
                await self._write(mark_pulled, event_id, event.open_kfid, self.clock.now())
                return
            if isinstance(event, CardTap):
                await self._tap(event)
            elif isinstance(event, GroupChange):
                await self._group_changed(event)
        except WeComError as exc:
            if isinstance(event, KfNotice) and exc.errcode == KF_TOKEN_REFUSED:
                # Nothing is lost: the cursor did not move, and the next notice's pull starts from it.
                log.warning("kf notice %s: its token is no longer valid; the next notice pulls", event_id)
                await self._write(mark, event_id, "failed", self.clock.now(), str(exc))
                return
            await self._fail(event_id, event, exc)
            return
        except Exception as exc:  # noqa: BLE001 - the one error path
            await self._fail(event_id, event, exc)
            return
        await self._write(mark, event_id, "done", self.clock.now())

    async def _fail(self, event_id: int, event: AppEvent | None, exc: BaseException) -> None:
        day = self.clock.now().date().isoformat()
        if isinstance(event, KfNotice):
            # Left 'new': picked up again at start, or covered by the next notice's pull from the stored cursor.
            await self._failed(f"kf-pull:{day}", f"微信客服消息拉取失败（{type(exc).__name__}），消息没有丢失："
                                                 "下一位群众发消息或服务重启时，会从断点接着拉取；请查看日志。", exc)
            return
        await self._write(mark, event_id, "failed", self.clock.now(), type(exc).__name__)
        await self._failed(f"app-event:{event_id}", f"应用回调事件 {event_id} 处理出错，请查看日志。", exc)
