"""微信客服 in: on a kf_msg_or_event notice, pull the account's messages with sync_msg from the stored cursor and
store each resident's message as the other channels do (channel "kf", a private chat), then hand it over.

Each page is stored in one transaction with the cursor after it: a crash re-reads a page (folded by msgid),
never skips one. enter_session names the village (the scene_param of the village's kf link). Message text is
never logged: it is residents' speech."""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Awaitable, Callable

from sqlite_utils import Database

from bot import inbox, kf_window
from bot.channels.kf import KfMessage, KfPage, kf_page
from bot.channels.shapes import TEXT_MAX
from bot.channels.wecom import WeComClient
from bot.clock import Clock
from bot.config import Config
from bot.inbox import Message
from bot.outbound import Outgoing

log = logging.getLogger("xiaowei.kf")

CHANNEL = "kf"
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class KfReader:
    page_size = 1000        # sync_msg's maximum; tests lower it to see several pages

    def __init__(self, config: Config, clock: Clock, client: Callable[[], WeComClient | None],
                 commit: Callable[..., Awaitable], read: Callable[..., Awaitable], submit: Callable[[int], None]):
        self.config, self.clock, self._client = config, clock, client
        self._commit, self._read, self._submit = commit, read, submit
        self._lock = asyncio.Lock()

    async def pull(self, open_kfid: str, token: str) -> int:
        """Pull until has_more is 0 (an empty page with has_more set is pulled past). Returns messages stored."""
        client = self._client()
        if client is None:
            raise RuntimeError("the WeCom client is not started")
        async with self._lock:
            stored = 0
            while True:
                cursor = await self._read(stored_cursor, open_kfid)
                page = await kf_page(client, open_kfid, cursor, token, self.page_size)
                new_ids = await self._commit(lambda db, out: self._store(db, out, open_kfid, cursor, page),
                                             key=f"kf:{open_kfid}:{cursor}")
                stored += len(new_ids)
                for message_id in new_ids:
                    self._submit(message_id)
                if not page.has_more:
                    return stored
                if page.next_cursor == cursor and not page.messages:
                    # More promised but nothing moved: asking again would loop forever on the same answer.
                    raise RuntimeError("kf sync_msg said has_more without moving the cursor")

    def _store(self, db: Database, out: Outgoing, open_kfid: str, cursor: str, page: KfPage) -> list[int]:
        if stored_cursor(db, open_kfid) != cursor:
            raise RuntimeError("the kf cursor moved while this page was being pulled")
        now = self.clock.now()
        new_ids = []
        for m in page.messages:
            if m.msgtype == "event":
                self._event(db, m, open_kfid, now)
            elif m.from_customer and m.external_userid and m.msgid:
                message_id = self._message(db, out, m, open_kfid, now)
                if message_id is not None:
                    new_ids.append(message_id)
        db.execute("INSERT INTO kf_cursors (open_kfid, cursor, pulled_at) VALUES (?, ?, ?) ON CONFLICT (open_kfid) "
                   "DO UPDATE SET cursor = excluded.cursor, pulled_at = excluded.pulled_at",
                   [open_kfid, page.next_cursor, now.isoformat()])
        return new_ids

    def _event(self, db: Database, m: KfMessage, open_kfid: str, now: datetime) -> None:
        if m.event_type == "enter_session" and m.external_userid:
            village = self.config.village_by_name(m.scene_param)
            if village is None:
                log.warning("kf enter_session with a scene_param that names no village")
            kf_window.entered(db, m.external_userid, m.open_kfid or open_kfid, village.name if village else None,
                              m.scene, m.send_time or now)
        elif m.event_type == "msg_send_fail":
            log.warning("kf reply not delivered (fail_type %s)", (m.raw.get("event") or {}).get("fail_type"))

    def _message(self, db: Database, out: Outgoing, m: KfMessage, open_kfid: str, now: datetime) -> int | None:
        at = m.send_time or now
        found = kf_window.customer(db, m.external_userid)
        village = self.config.village_by_name(found.village) if found and found.village else None
        text = _UNSTORABLE.sub("", m.text)[:TEXT_MAX] if m.msgtype == "text" else ""
        message_id, new = inbox.record(db, Message(
            channel=CHANNEL, msgid=m.msgid, chattype="single", sender=m.external_userid, text=text, received_at=at,
            village=village, mentions_bot=True, media="" if m.msgtype == "text" else (m.msgtype or "unknown")))
        if not new:
            return None
        kf_window.wrote(db, m.external_userid, m.open_kfid or open_kfid, at)
        held = kf_window.take_held(db, m.external_userid, now)
        if held:                       # the window is open again: what could not be sent before goes first
            out.kf_reply(m.external_userid, held)
        return message_id


def stored_cursor(db: Database, open_kfid: str) -> str:
    row = db.execute("SELECT cursor FROM kf_cursors WHERE open_kfid = ?", [open_kfid]).fetchone()
    return row[0] if row else ""
