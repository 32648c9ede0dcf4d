"""The application: builds every part from the configuration and runs them for the server's lifetime."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import aiohttp
from sqlite_utils import Database

from bot import inbox
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.crypto import CallbackCrypto
from bot.dispatch import Dispatcher, Handler
from bot.inbox import Message
from bot.outbound import Outgoing
from bot.outbox import Outbox
from bot.roles import Roles
from bot.storage import Store
from bot.wecom import WeComClient
from bot.workdays import WorkCalendar
from bot import DATA_DIR

log = logging.getLogger("xiaowei")
FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)} \
    | {0xFF41 + i: 0x61 + i for i in range(26)} | {0x3000: 0x20}
T = TypeVar("T")


class AlreadyRunning(RuntimeError):
    pass


class Bot:
    def __init__(self, config: Config, *, clock: Clock | None = None, handlers: Sequence[Handler] | None = None,
                 schedule: bool = True):
        self.config = config
        self.clock = clock or SystemClock()
        self.store = Store(config.storage_path)
        self.calendar = WorkCalendar((DATA_DIR / "holidays", *config.rules.holiday_dirs), clock=self.clock,
                                     on_fallback=self._calendar_fallback)
        self.app_crypto = CallbackCrypto(config.wecom.token, config.wecom.encoding_aes_key, config.wecom.corp_id) \
            if config.wecom.encoding_aes_key else None
        self.aibot_crypto = CallbackCrypto(config.aibot.token, config.aibot.encoding_aes_key, "") \
            if config.aibot.encoding_aes_key else None
        if handlers is None:
            from handlers import default_handlers
            handlers = default_handlers()
        self.dispatcher = Dispatcher(self, handlers)
        self.roles = Roles(config)
        self.session: aiohttp.ClientSession | None = None
        self.client: WeComClient | None = None
        self.outbox: Outbox | None = None
        self._tasks: list[asyncio.Task] = []
        self._classifier = None
        self._verdicts: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_handle = None
        self.sending = False
        self.scheduler = None
        self._schedule = schedule

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self, *, background: bool = True) -> None:
        """background: the serving instance (dispatcher, outbox sender, scheduler). Only one process may send
        from a database at a time, or two could send the same outbox row; a second server refuses to start."""
        self.sending = self._take_sender_lock()
        if background and not self.sending:
            raise AlreadyRunning(f"另一个小微进程正在使用数据库 {self.config.storage_path}，不能同时运行两个。")
        self._loop = asyncio.get_running_loop()
        self.session = aiohttp.ClientSession()
        self.client = WeComClient(self.session, self.config.wecom, self.clock)
        self.outbox = Outbox(self.store, self.client, self.clock, on_dead=self._outbox_dead)
        recovered = await self.dispatcher.recover()
        if recovered:
            log.info("recovered %s stored messages that were not handled before the last stop", recovered)
        if background:
            from schedules.jobs import start_scheduler
            self._tasks = [asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
                           asyncio.create_task(self.outbox.run(), name="outbox")]
            if self._schedule:
                self.scheduler = await start_scheduler(self)

    def _take_sender_lock(self) -> bool:
        if str(self.config.storage_path) == ":memory:":
            return True
        path = Path(f"{self.config.storage_path}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_handle = handle
        return True

    async def stop(self) -> None:
        from schedules.jobs import stop_scheduler
        await stop_scheduler(self.scheduler)
        self.scheduler = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.session:
            await self.session.close()
        self.store.close()
        if self._lock_handle is not None:
            self._lock_handle.close()     # closing releases the lock
            self._lock_handle = None

    # --- what handlers and jobs use ---------------------------------------------------------------------
    @property
    def classifier(self):
        if self._classifier is None:
            from bot.classifier import load
            self._classifier = load()
        return self._classifier

    def verdict(self, msg: Message):
        """The classifier's reading of a message, computed once however many handlers ask."""
        if msg.id not in self._verdicts:
            if len(self._verdicts) > 1000:
                self._verdicts.clear()
            self._verdicts[msg.id] = self.classifier.classify(msg.text)
        return self._verdicts[msg.id]

    @staticmethod
    def own_words(msg: Message) -> str:
        """What the sender wrote, as they wrote it, without the @-mentions: what a case keeps and shows."""
        from bot.textnorm import strip_mentions
        # Full-width digits and Latin letters (phone keyboards) fold to ASCII so "办结 １０１" works.
        return strip_mentions(msg.text).translate(FULLWIDTH).strip()

    def due_at(self, kind: str, start: datetime) -> datetime:
        return self.calendar.due_at(kind, start, self.config.rules.close_time)

    async def commit(self, fn: Callable[[Database, Outgoing], T], key: str | None = None) -> T:
        """Run fn(db, out) in one write transaction; whatever it sends is committed with it."""
        now = self.clock.now()
        key = key or f"tx:{now.isoformat()}:{id(fn)}"
        result = await self.store.write(lambda db: fn(db, Outgoing(db, self.config, now, key)))
        if self.outbox:
            self.outbox.wake()
        return result

    async def receive(self, msg: Message) -> tuple[int, bool]:
        """Store an inbound message (committed before the caller answers WeCom) and hand it over."""
        def tx(db: Database, out: Outgoing) -> tuple[int, bool]:
            message_id, new = inbox.record(db, msg)
            if new and msg.in_group and msg.village is None:
                out.alert_admins(f"unknown-chat:{msg.chat_id}:{msg.received_at.date()}",
                                 f"收到未登记群（chatid {msg.chat_id}）的消息，已保存但未处理；"
                                 "请在配置中把这个群登记到对应的村。")
            return message_id, new
        message_id, new = await self.commit(tx, key=f"in:{msg.channel}:{msg.msgid}")
        if new and not (msg.in_group and msg.village is None):
            self.dispatcher.submit(message_id)
        return message_id, new

    async def load_message(self, message_id: int) -> Message | None:
        row = await self.store.read(inbox.load_row, message_id)
        if row is None:
            return None
        return Message(
            id=row["id"], channel=row["channel"], msgid=row["msgid"], chattype=row["chattype"],
            sender=row["sender"], sender_name=row["sender_name"] or "", text=row["text"],
            received_at=datetime.fromisoformat(row["received_at"]), chat_id=row["chat_id"],
            village=self.config.village_by_name(row["village"]) if row["village"] else None,
            mentions_bot=bool(row["mentions_bot"]), response_url=row["response_url"])

    async def settle(self) -> None:
        """Handle everything received and send everything due (tests and the demo; no sleeping)."""
        await self.dispatcher.idle()
        if self.outbox and self.sending:
            await self.outbox.drain()

    def _calendar_fallback(self, year: int) -> None:
        text = (f"{year} 年的法定节假日安排尚未录入，期限暂按周末计算。"
                f"请在 data/holidays/{year}.toml 中录入国务院公布的放假和调休安排。")
        day = self.clock.now().date()
        if self._loop is None:
            return  # CLI use: the calendar's own warning in the log is the alert
        # May be called from the writer thread (a deadline computed inside a transaction): hop to the loop.
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(
            self.commit(lambda db, out: out.alert_admins(f"calendar:{year}:{day}", text))))

    async def _outbox_dead(self, row: dict) -> None:
        await self.commit(lambda db, out: out.alert_admins(
            f"outbox-dead:{row['id']}", f"一条发往 {row['kind']} 的消息多次发送失败，已停止重试：{row['last_error']}"))
