"""The bridge: every group message from a gateway (a chat-archive export or another IM), as signed JSON.
Format: see README, "The bridge format"."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.shapes import ID_MAX, flag, ident, moment, obj, text
from bot.config import Config
from bot.crypto import INNER_DEPTH, BadSignature, check_fresh, parse_json
from bot.inbox import Message
from bot.outbox import mark_sent   # the one way a row becomes sent (and sealed in the ledger)

# The chat archive serves only its last 5 days, pulled hourly: an export may bring a message that old, but
# never one from the future (beyond clock skew) nor one from 1970.
BACKLOG = timedelta(days=5)


def bridge_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def open_bridge(config: Config, headers: Any, body: bytes, now: datetime) -> Message:
    secret = config.bridge.secret
    stamp = headers.get("X-Xiaowei-Timestamp", "")
    given = headers.get("X-Xiaowei-Signature", "")
    # Header values arrive as str with undecodable bytes escaped; only ASCII can be a hex digest or Unix seconds.
    if not (stamp.isascii() and given.isascii()):
        raise BadSignature("signature mismatch")
    if not hmac.compare_digest(given.encode(), bridge_signature(secret, stamp, body).encode()):
        raise BadSignature("signature mismatch")
    check_fresh(stamp, now, config.bridge.max_age_seconds)
    data = parse_json(body, "bridge", INNER_DEPTH)
    sender = obj(data.get("sender"), "sender")
    chat_id = ident(data.get("chat_id"), "chat_id")
    sent_at, name = data.get("sent_at"), sender.get("name")
    return Message(
        channel="bridge", msgid=ident(data.get("msgid"), "msgid"), chattype="group",
        sender=ident(sender.get("userid"), "sender.userid"),
        sender_name="" if name is None else text(name, "sender.name", ID_MAX), text=text(data.get("text", ""), "text"),
        received_at=now if sent_at is None else moment(
            sent_at, "sent_at", now, before=BACKLOG, after=timedelta(seconds=config.server.clock_skew_seconds)),
        chat_id=chat_id, village=config.village_by_chat(chat_id),
        mentions_bot=flag(data.get("mentions_bot", False), "mentions_bot"),
        quote=text(data.get("quote", ""), "quote"))


# --- out: group posts for the county's gateway ---------------------------------------------------------------
# Each post carries its outbox id: ids rise, so the gateway delivers in order per group and drops a repeat
# (delivery is at-least-once: a push whose answer was lost is pushed again).

def _post(row: dict) -> dict:
    payload = json.loads(row["payload"])
    return {"id": row["id"], "chat_id": payload["chat_id"], "text": payload["text"],
            "mentions": payload.get("mentions", []), "created_at": row["created_at"]}


async def push(session: aiohttp.ClientSession, secret: str, url: str, row_id: int, payload: dict,
               now: datetime) -> None:
    """POST one post, signed like the inbound bridge (HMAC-SHA256 over timestamp + "." + body); 2xx = taken."""
    body = json.dumps({"id": row_id, **payload}, ensure_ascii=False).encode()
    stamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json", "X-Xiaowei-Timestamp": stamp,
               "X-Xiaowei-Signature": bridge_signature(secret, stamp, body)}
    async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=15)) as resp:
        resp.raise_for_status()


def check_pull(config: Config, headers: Any, query: str, now: datetime) -> None:
    """The gateway signs its pull like a push: HMAC over timestamp + "." + the query string ("after=12")."""
    stamp, given = headers.get("X-Xiaowei-Timestamp", ""), headers.get("X-Xiaowei-Signature", "")
    if not stamp.isascii() or not given.isascii():
        raise BadSignature("non-ASCII signature header")
    if not hmac.compare_digest(given.encode(), bridge_signature(config.bridge.secret, stamp, query.encode()).encode()):
        raise BadSignature("signature mismatch")
    if not stamp.isdigit() or len(stamp) > 12 or abs(now.timestamp() - int(stamp)) > config.bridge.max_age_seconds:
        raise BadSignature("stale timestamp")


def pull(db, after: int, limit: int, at: str) -> dict:
    """The posts after `after`, in order. Asking for `after=N` acknowledges every post up to N: those are sent."""
    for (row_id,) in db.execute("SELECT id FROM outbox WHERE kind = 'bridge' AND status = 'gateway' AND id <= ?",
                                [after]).fetchall():
        mark_sent(db, row_id, at)
    rows = list(db.query("SELECT id, payload, created_at FROM outbox WHERE kind = 'bridge' "
                         "AND status IN ('gateway', 'sent') AND id > ? ORDER BY id LIMIT ?", [after, limit]))
    posts = [_post(r) for r in rows]
    return {"messages": posts, "last": posts[-1]["id"] if posts else after}
