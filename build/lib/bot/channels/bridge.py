"""The bridge: every group message from a gateway (a chat-archive export or another IM), as signed JSON.
Format: see README, "The bridge format"."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from bot.clock import local
from bot.config import Config
from bot.crypto import BadSignature, MalformedCallback
from bot.inbox import Message


def bridge_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def open_bridge(config: Config, headers: Any, body: bytes, now: datetime) -> Message:
    secret = config.bridge.secret
    stamp = headers.get("X-Xiaowei-Timestamp", "")
    given = headers.get("X-Xiaowei-Signature", "")
    expected = bridge_signature(secret, stamp, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise BadSignature("signature mismatch")
    if not stamp.isdigit() or abs(now.timestamp() - int(stamp)) > config.bridge.max_age_seconds:
        raise BadSignature("stale timestamp")
    try:
        data = json.loads(body)
        return Message(
            channel="bridge", msgid=str(data["msgid"]), chattype="group", sender=str(data["sender"]["userid"]),
            sender_name=str(data["sender"].get("name", "")), text=str(data.get("text", "")),
            received_at=local(data["sent_at"]) if data.get("sent_at") is not None else now,
            chat_id=str(data["chat_id"]), village=config.village_by_chat(str(data["chat_id"])),
            mentions_bot=bool(data.get("mentions_bot")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedCallback(f"malformed bridge message ({type(exc).__name__})") from None
