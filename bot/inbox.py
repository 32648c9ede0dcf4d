"""Inbound messages as the handlers see them, and their rows: stored once per (channel, msgid)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime

from sqlite_utils import Database

from bot import ledger
from bot.config import Config, Village
from bot.storage import insert_once
from bot.textnorm import normalize, quoted, strip_mentions

# Full-width digits and Latin letters (phone keyboards) fold to ASCII so "办结 １０１" works.
FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)} \
    | {0xFF41 + i: 0x61 + i for i in range(26)} | {0x3000: 0x20}


@dataclass(frozen=True)
class Message:
    channel: str            # aibot | app | bridge | archive | kf (微信客服) | card (a tap on a template card)
    msgid: str
    chattype: str           # group | single
    sender: str             # WeCom userid (or the bridge's sender id); never shown in public
    text: str
    received_at: datetime
    chat_id: str | None = None
    village: Village | None = None
    sender_name: str = ""
    mentions_bot: bool = True
    response_url: str | None = None
    id: int = 0
    media: str = ""          # image | file | voice | video …: something with no words the bot can read
    quote: str = ""          # the words of the message this one quotes (a reply to it), if any

    @property
    def in_group(self) -> bool:
        return self.chattype == "group"

    # Worked out once per message (cached on the instance; a frozen dataclass's fields cannot change): every
    # handler's match asks for them.
    @cached_property
    def words(self) -> str:
        """What the sender wrote, as they wrote it, without the @-mentions: what a case keeps and shows."""
        return strip_mentions(self.text).translate(FULLWIDTH).strip()

    @cached_property
    def plain(self) -> str:
        """The text as the classifier reads it (bot/textnorm.py normalize)."""
        return normalize(self.text)

    @property
    def quoted(self) -> str:
        """The quoted words: the callback's own quote, or a WeChat-style 「name：words」 inside the text."""
        if self.quote:
            return self.quote
        inline = quoted(self.text)
        return inline[1].strip() if inline else ""


def record(db: Database, msg: Message) -> tuple[int, bool]:
    """Store a message; returns (row id, True) the first time and (row id, False) for a redelivery."""
    new = insert_once(db, "messages", {
        "channel": msg.channel, "msgid": msg.msgid, "chat_id": msg.chat_id, "chattype": msg.chattype,
        "village": msg.village.name if msg.village else None, "sender": msg.sender, "sender_name": msg.sender_name,
        "text": msg.text, "mentions_bot": int(msg.mentions_bot), "response_url": msg.response_url,
        "received_at": msg.received_at.isoformat(), "media": msg.media or None,
        "quote": msg.quote or None,
        "status": "unrouted" if msg.in_group and msg.village is None else "new"}, sealed=True)
    # By its UNIQUE key, not last_insert_rowid(): sealing the row inserted a ledger row after it.
    row = db.conn.execute("SELECT id FROM messages WHERE channel = ? AND msgid = ?", [msg.channel, msg.msgid])
    message_id = row.fetchone()[0]
    if new and (msg.media or msg.quote):
        ledger.add(db, "message_extras", message_id)     # sealed apart: they came after messages were (0021)
    return message_id, new


def load_row(db: Database, message_id: int) -> dict | None:
    found = load_rows(db, [message_id])
    return found[0] if found else None


def load_rows(db: Database, message_ids: list[int]) -> list[dict]:
    """The rows of these messages, in id order, in one query."""
    cursor = db.conn.execute(f"SELECT * FROM messages WHERE id IN ({', '.join('?' * len(message_ids))}) ORDER BY id",
                             message_ids)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, values)) for values in cursor.fetchall()]


def from_row(row: dict, config: Config) -> Message:
    return Message(
        id=row["id"], channel=row["channel"], msgid=row["msgid"], chattype=row["chattype"], sender=row["sender"],
        sender_name=row["sender_name"] or "", text=row["text"], received_at=datetime.fromisoformat(row["received_at"]),
        chat_id=row["chat_id"], village=config.village_by_name(row["village"]) if row["village"] else None,
        mentions_bot=bool(row["mentions_bot"]), response_url=row["response_url"], media=row.get("media") or "",
        quote=row.get("quote") or "")


def pending_ids(db: Database) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM messages WHERE status = 'new' ORDER BY id").fetchall()]


def mark(db: Database, message_id: int, status: str, handler: str | None, at: datetime, error: str | None = None):
    db.execute("UPDATE messages SET status = ?, handler = ?, handled_at = ?, error = ? WHERE id = ? "
               "AND status = 'new'", [status, handler, at.isoformat(), error, message_id])


def last_village(db: Database, sender: str) -> str | None:
    row = db.execute("SELECT village FROM messages WHERE sender = ? AND village IS NOT NULL ORDER BY id DESC LIMIT 1",
                     [sender]).fetchone()
    return row[0] if row else None
