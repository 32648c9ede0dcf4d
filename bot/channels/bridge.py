"""The bridge: every group message from a gateway (a chat-archive export or another IM), as signed JSON.
Format: see README, "The bridge format"."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from bot.channels.shapes import ID_MAX, flag, ident, moment, obj, text
from bot.config import Config
from bot.crypto import INNER_DEPTH, BadSignature, check_fresh, parse_json
from bot.inbox import Message

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
        mentions_bot=flag(data.get("mentions_bot", False), "mentions_bot"))
