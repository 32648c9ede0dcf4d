"""Hearing customer groups through the chat archive (会话内容存档): pull by seq, store each configured group's
messages as the other channels do, and hand them to the dispatcher.

The stored seq advances in the same transaction as the messages it covered: a crash re-reads a page (folded by
msgid), never skips one. Message text is never logged: it is residents' speech.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from sqlite_utils import Database

from bot import cases, inbox
from bot.channels.archive_sdk import MAX_LIMIT, ArchivedMessage, FinanceSdk, FinanceSdkError, Record, \
    parse_message
from bot.clock import Clock
from bot.config import Config
from bot.inbox import Message

log = logging.getLogger("xiaowei.archive")

CHANNEL = "archive"
TEXT_TYPES = ("text", "mixed")
RETRY_FIRST_SECONDS = 5
# What the admins can do about each code; the SDK's own meaning comes first in the alert.
HINTS = {
    10000: "请检查 [archive] secret（会话内容存档 Secret）和 wecom.corp_id。",
    10004: "请检查管理后台「聊天内容存档」里设置的公钥是否与私钥成对。",
    10007: "请把该版本的私钥文件加到 [archive.private_keys] 后重启；补上之前不会跳过任何消息。",
    10009: "服务器 IP 不在可信IP列表：请在企业微信管理后台把本服务器的出口 IP 加入可信IP。",
    10010: "数据已超过可拉取的 5 天，之前的消息可能已无法读取；请尽快恢复拉取。",
    10011: "请检查服务器的证书和时间设置。",
}

Commit = Callable[..., Awaitable]
OpenSdk = Callable[[], FinanceSdk]


class ArchiveReader:
    """One reader per serving process (the sender lock keeps it so). `pull_once` is the unit tests drive."""

    def __init__(self, config: Config, clock: Clock, commit: Commit, read: Callable[..., Awaitable],
                 submit: Callable[[int], None], open_sdk: OpenSdk | None = None):
        self.config, self.clock, self._commit, self._read, self._submit = config, clock, commit, read, submit
        self._open_sdk = open_sdk or self._default_sdk
        self._sdk: FinanceSdk | None = None
        self._busy: asyncio.Future | None = None
        self._lock = asyncio.Lock()
        self.last_success = clock.now()
        self.failures = 0                      # consecutive retryable failures: the back-off grows with them
        self.last_error: str | None = None

    def _default_sdk(self) -> FinanceSdk:
        keys = {ver: path.read_bytes() for ver, path in self.config.archive.private_keys}
        return FinanceSdk(self.config.archive.library, self.config.wecom.corp_id, self.config.archive.secret, keys)

    # --- the loop (production) --------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while True:
                await self.pull_once()
                await asyncio.sleep(self.next_delay())
        finally:
            self.close()

    def next_delay(self) -> float:
        poll = self.config.archive.poll_seconds
        return poll if not self.failures else min(poll, RETRY_FIRST_SECONDS * 2 ** (self.failures - 1))

    def close(self) -> None:
        # A pull still running in its thread owns the handle; the process is stopping anyway.
        if self._sdk is not None and (self._busy is None or self._busy.done()):
            self._sdk.close()
            self._sdk = None

    # --- one round ----------------------------------------------------------------------------------------
    async def pull_once(self) -> int:
        """Pull until a page comes back short; store each page in one transaction. Returns messages stored."""
        async with self._lock:
            stored = 0
            while True:
                try:
                    seq = await self._read(stored_seq)
                    records = await self._call(lambda: self._pull_page(seq))
                    new_ids = await self._commit(lambda db, out: self._store(db, seq, records),
                                                 key=f"archive:{seq}")
                except FinanceSdkError as exc:
                    await self._failed(exc)
                    return stored
                except Exception as exc:  # noqa: BLE001 - a broken library, key file or our own bug: alert, retry later
                    log.error("chat archive pull failed", exc_info=exc)
                    await self._alert(f"archive-broken:{type(exc).__name__}",
                                      f"会话存档读取出错（{type(exc).__name__}），消息没有丢失，恢复后会从断点续读；请查看日志。")
                    return stored
                self.last_success, self.failures, self.last_error = self.clock.now(), 0, None
                stored += len(new_ids)
                for message_id in new_ids:
                    self._submit(message_id)
                if len(records) < MAX_LIMIT:
                    if stored:
                        log.info("chat archive: %s new group messages", stored)
                    return stored

    async def _call(self, fn: Callable[[], list[Record]]) -> list[Record]:
        # The SDK blocks (network, libcurl): off the event loop, one call at a time.
        self._busy = asyncio.ensure_future(asyncio.to_thread(fn))
        return await self._busy

    def _pull_page(self, seq: int) -> list[Record]:
        if self._sdk is None:
            self._sdk = self._open_sdk()
        return self._sdk.pull(seq, MAX_LIMIT)

    # --- storing a page -------------------------------------------------------------------------------------
    def _store(self, db: Database, seq: int, records: list[Record]) -> list[int]:
        if stored_seq(db) != seq:
            # Someone else stored this page meanwhile (a second process on the database): theirs stands.
            raise RuntimeError("the archive cursor moved while this page was being pulled")
        now = self.clock.now()
        new_ids = []
        for record in records:
            msg = parse_message(record.message)
            if msg is None:                               # switch (切换企业日志), or nothing we know
                continue
            if msg.action == "recall":
                _recall(db, msg, now)
                continue
            village = self.config.village_by_room(msg.roomid) if msg.roomid else None
            if village is None:                           # a 1:1 chat or a group that is no village's: not ours
                continue
            if msg.msgtype not in TEXT_TYPES or msg.text is None:
                _count(db, village.name, (msg.sent_at or now).date().isoformat(), msg.msgtype or "unknown")
                continue
            message_id, new = inbox.record(db, Message(
                channel=CHANNEL, msgid=msg.msgid, chattype="group", sender=msg.sender, text=msg.text,
                received_at=msg.sent_at or now, chat_id=village.chat_id, village=village,
                mentions_bot=f"@{self.config.aibot.name}" in msg.text))
            if new:
                new_ids.append(message_id)
        _note_recalls(db, now)
        db.execute("INSERT INTO archive_cursor (id, seq, pulled_at) VALUES (1, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, pulled_at = excluded.pulled_at",
                   [max([seq, *(r.seq for r in records)]), now.isoformat()])
        return new_ids

    # --- when it goes wrong ---------------------------------------------------------------------------------
    async def _failed(self, exc: FinanceSdkError) -> None:
        log.warning("chat archive pull failed: SDK code %s", exc.code)
        self.last_error = f"{exc.code} {exc.meaning}"
        if exc.retryable:
            self.failures += 1
            stalled = self.clock.now() - self.last_success
            if stalled >= timedelta(minutes=self.config.archive.stall_minutes):
                await self._alert("archive-stalled", (
                    f"会话存档已 {int(stalled.total_seconds() // 60)} 分钟没有拉取成功（最近的错误：{self.last_error}）。"
                    "客户群的消息暂时听不到；存档只保留 5 天，请尽快处理。"))
            return
        await self._alert(f"archive-error:{exc.code}",
                          f"会话存档拉取失败：{exc.code} {exc.meaning}。{HINTS.get(exc.code, '')}"
                          "在解决之前不会跳过任何消息。")

    async def _alert(self, kind: str, text: str) -> None:
        day = self.clock.now().date().isoformat()
        await self._commit(lambda db, out: out.alert_admins(f"{kind}:{day}", text), key=f"{kind}:{day}")


def stored_seq(db: Database) -> int:
    row = db.execute("SELECT seq FROM archive_cursor WHERE id = 1").fetchone()
    return row[0] if row else 0


def _recall(db: Database, msg: ArchivedMessage, now: datetime) -> None:
    row = db.execute("SELECT id FROM messages WHERE channel = ? AND msgid = ?", [CHANNEL, msg.pre_msgid]).fetchone()
    if row is None:                                       # a message we never stored (another chat, or long gone)
        return
    db.execute("INSERT OR IGNORE INTO archive_recalls (message_id, recall_msgid, recalled_at) VALUES (?, ?, ?)",
               [row[0], msg.msgid, (msg.sent_at or now).isoformat()])


def _note_recalls(db: Database, now: datetime) -> None:
    """Each recalled message that a case was opened from gets the case event 'recalled', once. Run on every page,
    since the case may be opened (by the dispatcher) only after the recall was read."""
    rows = db.execute("SELECT r.message_id, r.recalled_at, c.id, m.sender FROM archive_recalls r "
                      "JOIN cases c ON c.message_id = r.message_id JOIN messages m ON m.id = r.message_id "
                      "WHERE r.case_noted = 0").fetchall()
    for message_id, recalled_at, case_id, sender in rows:
        cases.append(db, case_id, actor=sender, action="recalled", now=now, recalled_at=recalled_at,
                     note="群众在群里撤回了这条消息；诉求按原话保留，照常办理。")
        db.execute("UPDATE archive_recalls SET case_noted = 1 WHERE message_id = ?", [message_id])


def _count(db: Database, village: str, day: str, msgtype: str) -> None:
    db.execute("INSERT INTO archive_activity (village, day, msgtype, count) VALUES (?, ?, ?, 1) "
               "ON CONFLICT (village, day, msgtype) DO UPDATE SET count = count + 1", [village, day, msgtype])
