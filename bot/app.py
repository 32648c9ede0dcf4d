"""The application: builds every part from the configuration and runs them for the server's lifetime.

It knows no plugin: the handler table and the daily jobs are given to it (`Bot(config, handlers=…, jobs=…)`),
and the serving command composes them from the installed plugins (bot/plugins.py)."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import Awaitable, Callable, Sequence, TypeVar

import aiohttp
from sqlite_utils import Database

from bot import app_inbox, cases, data, identity, inbox, ledger
from bot.app_inbox import AppEvents
from bot.channels import bridge
from bot.channels.app_events import Received
from bot.channels.cards import CHANNEL as CARD_CHANNEL, CardTap, tap_command
from bot.channels.archive import ArchiveReader
from bot.channels.wecom import WeComClient
from bot.classifier import Verdict, load as load_classifier
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import Context, MessageContext
from bot.crypto import CallbackCrypto
from bot.dispatch import Dispatcher, Handler
from bot.inbox import Message
from bot.jobs import Job, JobError, JobRunner, Scheduler
from bot.kf_reader import KfReader
from bot.outbound import Outgoing
from bot.outbox import ALERT_PREFIX, Outbox
from bot.roles import Roles
from bot.routes import CASE_NUMBER, Circumstances
from bot.storage import Store
from bot.undelivered import parked_alert
from bot.workdays import WorkCalendar

log = logging.getLogger("xiaowei")
T = TypeVar("T")


def _warm_up() -> None:
    try:
        load_classifier().classify("预热")
    except Exception as exc:  # noqa: BLE001 - the first message meets the same error, on the one error path
        log.error("classifier warm-up failed: %s", type(exc).__name__)


def _rows_and_open_counts(db: Database, message_ids: list[int]) -> tuple[list[dict], dict[tuple[str, str], int]]:
    rows = inbox.load_rows(db, message_ids)
    return rows, cases.open_counts(db, (r["sender"] for r in rows))


class AlreadyRunning(RuntimeError):
    pass


class _Rehearsal(Exception):
    """Raised inside a dry-run transaction so that SQLite rolls it back; carries what it would have sent."""

    def __init__(self, result: object, rows: list[dict]):
        self.result, self.rows = result, rows


class Bot:
    def __init__(self, config: Config, *, handlers: Sequence[Handler] = (), jobs: Sequence[Job] = (),
                 clock: Clock | None = None, schedule: bool = True, dry_run: bool = False):
        self.config = config
        self.clock = clock or SystemClock()
        # Every fact is sealed with the audit key. A dry run records nothing, so it makes no key file either: a
        # throwaway key seals what it rolls back, and it adopts no old records (that would commit).
        key = ledger.signing_key(config, create=not dry_run)
        self.store = Store(config.storage_path, audit_key=key or secrets.token_bytes(32), adopt=not dry_run)
        self.calendar = WorkCalendar((Path(str(data("holidays"))), *config.rules.holiday_dirs), clock=self.clock,
                                     on_fallback=self._calendar_fallback)
        self.app_crypto = CallbackCrypto(config.wecom.token, config.wecom.encoding_aes_key, config.wecom.corp_id) \
            if config.wecom.encoding_aes_key else None
        self.aibot_crypto = CallbackCrypto(config.aibot.token, config.aibot.encoding_aes_key, "") \
            if config.aibot.encoding_aes_key else None
        self.roles = Roles(config)
        self.base = Context(config=config, roles=self.roles, calendar=self.calendar, clock=self.clock,
                            commit=self.commit, read=self.store.read, wecom=lambda: self.client, rehearsal=dry_run)
        self.dispatcher = Dispatcher(handlers, load=self.load_messages, context=self.message_context,
                                     done=self._handled, failed=self._handler_failed)
        self.jobs = JobRunner(jobs, self.base, self._job_failed)
        self.kf = KfReader(config, self.clock, lambda: self.client, self.commit, self.store.read,
                           self.dispatcher.submit)
        self.app_events = AppEvents(clock=self.clock, read=self.store.read, write=self.store.write,
                                    pull_kf=self._kf_notice,
                                    tap=self._card_tapped, group_changed=lambda c: identity.group_changed(self, c),
                                    failed=lambda key, alert, exc: self.report_failure(key, alert, exc))
        self.session: aiohttp.ClientSession | None = None
        self.client: WeComClient | None = None
        self.outbox: Outbox | None = None
        self.archive: ArchiveReader | None = None
        self.scheduler: Scheduler | None = None
        self.sending = False
        self._schedule = schedule
        # Dry run: every transaction is rolled back; the outbox rows it wrote are kept here instead.
        self.rehearsed: list[dict] | None = [] if dry_run else None
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_handle = None
        self._readings: dict[int, Verdict] = {}
        self._open: dict[int, int] = {}     # message id -> its sender's open cases in its village, at load
        self._marked: set[int] = set()

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self, *, background: bool = True) -> None:
        """background: the serving instance (dispatcher, outbox sender, scheduler). Only one process may send
        from a database at a time, or two could send the same outbox row; a second server refuses to start."""
        self.sending = self._take_sender_lock()
        if background and not self.sending:
            raise AlreadyRunning(f"另一个小微进程正在使用数据库 {self.config.storage_path}，不能同时运行两个。")
        self._loop = asyncio.get_running_loop()
        # The classifier and jieba take ~0.5 s to load: on a thread before the server listens, so that the
        # first message does not pay for them on the event loop (which keeps running meanwhile). Classifying
        # itself takes ~0.04 ms a message, so it stays on the loop, in `match`.
        await self._loop.run_in_executor(None, _warm_up)
        self.session = aiohttp.ClientSession()
        self.client = WeComClient(self.session, self.config.wecom, self.clock)
        self.outbox = Outbox(self.store, self.client, self.clock, on_parked=self._outbox_parked,
                             gateway=self._push_to_gateway if self.config.bridge.push_url else None)
        if background:
            recovered = await self.store.read(inbox.pending_ids)
            for message_id in recovered:
                self.dispatcher.submit(message_id)
            if recovered:
                log.info("recovered %s stored messages that were not handled before the last stop", len(recovered))
            events = await self.store.read(app_inbox.pending_ids)
            for event_id in events:
                self.app_events.submit(event_id)
            if events:
                log.info("recovered %s stored app events that were not handled before the last stop", len(events))
            self._tasks = [asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
                           asyncio.create_task(self.app_events.run(), name="app-events"),
                           asyncio.create_task(self.outbox.run(), name="outbox")]
            if self.config.archive.library:   # customer groups heard through the chat archive
                self.archive = ArchiveReader(self.config, self.clock, self.commit, self.store.read,
                                             self.dispatcher.submit)
            if self._schedule:
                self.scheduler = Scheduler(self.jobs, self.config)
                self.scheduler.start()
                if self.archive:           # tests drive archive.pull_once() themselves
                    self._tasks.append(asyncio.create_task(self.archive.run(), name="archive"))

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
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.archive is not None:
            self.archive.close()
        if self.session:
            await self.session.close()
        self.store.close()
        if self._lock_handle is not None:
            self._lock_handle.close()     # closing releases the lock
            self._lock_handle = None

    # --- what handlers and jobs use ---------------------------------------------------------------------
    def message_context(self, msg: Message, handler: str | None = None) -> MessageContext:
        def commit(fn: Callable[[Database, Outgoing], T], key: str | None = None) -> Awaitable[T]:
            def tx(db: Database, out: Outgoing) -> T:
                result = fn(db, out)
                if handler is not None:
                    inbox.mark(db, msg.id, "done", handler, self.clock.now())
                    self._marked.add(msg.id)
                return result
            return self.commit(tx, key)
        return MessageContext(config=self.config, roles=self.roles, calendar=self.calendar, clock=self.clock,
                              commit=commit, read=self.store.read, rehearsal=self.base.rehearsal, message=msg,
                              classify=self.reading, handler=handler, about=self.circumstances(msg))

    def circumstances(self, msg: Message) -> Circumstances:
        return Circumstances(speaker="cadre" if self.roles.is_staff(msg.sender) else "resident",
                             addressed=msg.mentions_bot or not msg.in_group, open_cases=self._open.get(msg.id),
                             quoting=bool(msg.quoted), names_case=bool(CASE_NUMBER.search(msg.words)))

    def reading(self, msg: Message) -> Verdict:
        """The classifier's reading of a message, computed once however many handlers ask."""
        if msg.id not in self._readings:
            if len(self._readings) > 1000:
                self._readings.clear()
            self._readings[msg.id] = load_classifier().classify(msg.text, msg.plain)
        return self._readings[msg.id]

    async def commit(self, fn: Callable[[Database, Outgoing], T], key: str | None = None) -> T:
        """Run fn(db, out) in one write transaction; whatever it sends is committed with it."""
        now = self.clock.now()
        # Without a key the work has no identity to repeat, so its sends get a fresh one. (It was id(fn): at one
        # instant of an injected clock, a second commit of the same or a reused function object sent nothing.)
        key = key or f"tx:{now.isoformat()}:{secrets.token_hex(8)}"
        if self.rehearsed is not None:
            return await self._rehearse(fn, now, key)
        outs: list[Outgoing] = []

        def tx(db: Database) -> T:
            outs.append(Outgoing(db, self.config, now, key))
            return fn(db, outs[-1])
        result = await self.store.write(tx)
        # Only a transaction that queued something wakes the sender (a stored callback does not: in a burst,
        # waking it per message had it re-read the outbox for every message).
        if self.outbox and any(out.queued for out in outs):
            self.outbox.wake()
        return result

    async def _rehearse(self, fn: Callable[[Database, Outgoing], T], now: datetime, key: str) -> T:
        def tx(db: Database) -> None:
            before = db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
            result = fn(db, Outgoing(db, self.config, now, key))
            raise _Rehearsal(result, list(db["outbox"].rows_where("id > ?", [before], order_by="id")))
        try:
            await self.store.write(tx)
        except _Rehearsal as done:
            assert self.rehearsed is not None
            self.rehearsed += done.rows
            return done.result  # type: ignore[return-value]
        raise AssertionError("a rehearsal always rolls back")

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

    async def receive_event(self, received: Received) -> tuple[int, bool]:
        """Store an app event (committed before the caller answers WeCom) and hand it over; a retry folds."""
        event_id, new = await self.store.write(app_inbox.record, received.fields, received.event, self.clock.now())
        if new:
            self.app_events.submit(event_id)
        return event_id, new

    async def _kf_notice(self, notice) -> None:
        if notice.open_kfid != self.config.kf.open_kfid:
            # Not our account (or kf is off): nothing to pull, and a forged notice makes us call nobody.
            log.warning("kf notice for an account that is not configured; ignored")
            return
        await self.kf.pull(notice.open_kfid, notice.token)

    async def _card_tapped(self, tap: CardTap) -> None:
        """A tap is the command its button stands for, as if the cadre had typed it to the app: stored as a message
        (its msgid the tap's single-use ResponseCode) and handled by the same handlers."""
        command = tap_command(tap.key)
        if command is None:
            log.warning("card tap with a key that is not ours; ignored")
            return
        await self.receive(Message(channel=CARD_CHANNEL, msgid=tap.response_code, chattype="single",
                                   sender=tap.userid, text=command, received_at=tap.at or self.clock.now()))

    async def load_messages(self, message_ids: list[int]) -> list[Message]:
        rows, counts = await self.store.read(_rows_and_open_counts, message_ids)
        if len(self._open) > 1000:
            self._open.clear()
        # As the batch is loaded: a sender's second message in one burst sees the cases open before the burst.
        self._open.update({r["id"]: counts.get((r["sender"], r["village"]), 0) for r in rows})
        return [inbox.from_row(row, self.config) for row in rows]

    async def _push_to_gateway(self, row_id: int, payload: dict) -> None:
        assert self.session is not None
        await bridge.push(self.session, self.config.bridge.secret, self.config.bridge.push_url, row_id, payload,
                          self.clock.now())

    async def settle(self) -> None:
        """Handle everything received and send everything due (tests and the demo; no sleeping)."""
        await self.app_events.idle()
        await self.dispatcher.idle()
        if self.outbox and self.sending:
            await self.outbox.drain()

    # --- the one error path -----------------------------------------------------------------------------
    async def report_failure(self, key: str, alert: str, exc: BaseException,
                             mark: Callable[[Database], object] | None = None) -> None:
        """Handlers and jobs fail here alike: logged without message text, marked, admins alerted once per key."""
        log.error("%s failed", key, exc_info=exc)

        def tx(db: Database, out: Outgoing) -> None:
            if mark is not None:
                mark(db)
            out.alert_admins(key, alert)
        with contextlib.suppress(Exception):   # the alert itself must never take the service down
            await self.commit(tx)

    async def _handled(self, message_id: int, handler: str | None) -> None:
        self._readings.pop(message_id, None)
        if message_id in self._marked:          # marked in the handler's own transaction already
            self._marked.discard(message_id)
            return
        await self.store.write(inbox.mark, message_id, "done", handler, self.clock.now())

    async def _handler_failed(self, message_id: int, handler: str | None, exc: BaseException) -> None:
        self._readings.pop(message_id, None)
        await self.report_failure(
            f"handler-failed:{message_id}", f"消息 {message_id} 处理出错（{handler}），请查看日志", exc,
            mark=lambda db: inbox.mark(db, message_id, "failed", handler, self.clock.now(), type(exc).__name__))

    async def _job_failed(self, err: JobError) -> None:
        await self.report_failure(
            f"job-error:{err.job.name}:{err.target}:{err.day}",
            f"定时任务「{err.job.title}」在{err.target}出错：{type(err.cause).__name__}: {err.cause}。"
            "其他村不受影响；这个村今天的这项任务没有完成，请查看日志。", err.cause)

    def _calendar_fallback(self, year: int) -> None:
        text = (f"{year} 年的节假日安排尚未录入，期限暂按法定节假日和周末计算，调休未计入。"
                f"请在 data/holidays/{year}.toml 中录入国务院公布的放假和调休安排。")
        day = self.clock.now().date()
        if self._loop is None:
            return  # CLI use: the calendar's own warning in the log is the alert
        # May be called from the writer thread (a deadline computed inside a transaction): hop to the loop.
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(
            self.commit(lambda db, out: out.alert_admins(f"calendar:{year}:{day}", text))))

    def _outbox_parked(self, db: Database, row: dict) -> None:
        """Runs inside the transaction that parks the row. One alert per recipient and day: a removed robot
        parks every message of its group, and the listing (`xiaowei outbox`) shows them all."""
        if (row.get("dedupe") or "").startswith(ALERT_PREFIX):
            # An alert that cannot be delivered is not alerted about (that could loop); the other admin
            # channel carries the same alert, and `xiaowei outbox` lists this one.
            log.error("admin alert (outbox row %s) parked: %s", row["id"], row["last_error"])
            return
        now = self.clock.now()
        to = row["fallback_target"] if row["kind"] == "response" else row["target"]
        Outgoing(db, self.config, now, f"outbox-parked:{row['id']}").alert_admins(
            f"outbox-parked:{row['kind']}:{to}:{now.date()}",
            parked_alert(self.config, row) + "同一收件方今天再有消息停发，不再另行提醒。")
