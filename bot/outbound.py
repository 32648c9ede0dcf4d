"""Ways out, as used inside a write transaction: what a handler or job says is committed with what it did,
and each send carries a dedupe key so that re-running the same work after a crash sends nothing twice."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlite_utils import Database

from bot.config import Config, Village
from bot.inbox import Message
from bot.outbox import ALERT_PREFIX, APP_MARKDOWN_LIMIT, enqueue, markdown_payload, text_payload
from bot.storage import insert_once


class Outgoing:
    def __init__(self, db: Database, config: Config, now: datetime, key: str):
        self.db, self.config, self.now, self.key = db, config, now, key
        self._n = 0

    def _dedupe(self) -> str:
        self._n += 1
        return f"{self.key}:{self._n}"

    def reply(self, msg: Message, text: str) -> None:
        """Answer where the message came from: the AI bot's response_url, the member privately, or the group."""
        if msg.channel == "aibot" and msg.response_url:
            # A response_url takes one post; if that post's fate is unknown, the answer goes where the message
            # came from instead: the village's group, or the member privately (never a private chat's answer
            # into a group).
            fallback = (("robot", msg.village.webhook_key) if msg.in_group and msg.village is not None
                        else ("app", msg.sender))
            enqueue(self.db, kind="response", target=msg.response_url, payload=markdown_payload(text),
                    now=self.now, dedupe=self._dedupe(), fallback=fallback)
        elif msg.in_group and msg.village is not None:
            self.group(msg.village, text)
        else:
            self.members([msg.sender], text)

    def group(self, village: Village, text: str, *, mentions: Iterable[str] = (), markdown: bool = False) -> None:
        payload = markdown_payload(text) if markdown else text_payload(text, tuple(mentions))
        enqueue(self.db, kind="robot", target=village.webhook_key, payload=payload, now=self.now,
                dedupe=self._dedupe())

    def robot(self, key: str, text: str, *, markdown: bool = True) -> None:
        payload = markdown_payload(text) if markdown else text_payload(text)
        enqueue(self.db, kind="robot", target=key, payload=payload, now=self.now, dedupe=self._dedupe())

    def members(self, userids: Iterable[str], text: str, *, markdown: bool = False) -> None:
        # One row per member: each member is its own lane (WeCom limits 30 a minute to one member).
        for userid in dict.fromkeys(userids):
            body = (markdown_payload(text, APP_MARKDOWN_LIMIT) if markdown
                    else {"msgtype": "text", "text": {"content": text}})
            enqueue(self.db, kind="app", target=userid, now=self.now, dedupe=self._dedupe(),
                    payload={"touser": userid, **body})

    def alert_admins(self, key: str, text: str) -> bool:
        """Tell the admins once per key (include the day in the key for a daily reminder), by every channel
        configured: each admin's app message and the IT officers' group robot. Every row's dedupe key starts
        with ALERT_PREFIX, so that an alert that cannot be delivered is logged, not alerted about again."""
        new = insert_once(self.db, "alerts", {"key": key, "text": text, "created_at": self.now.isoformat()})
        if new:
            content = f"【小微告警】{text}"
            for userid in self.config.admins:
                enqueue(self.db, kind="app", target=userid, now=self.now, dedupe=f"{ALERT_PREFIX}{key}:{userid}",
                        payload={"touser": userid, **text_payload(content)})
            if self.config.admin_webhook_key:
                enqueue(self.db, kind="robot", target=self.config.admin_webhook_key, now=self.now,
                        dedupe=f"{ALERT_PREFIX}{key}:robot", payload=text_payload(content))
        return new
