"""The AI bot (智能机器人) callback: group messages that @-mention the bot, and its one-to-one chats (JSON)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from bot.config import Config
from bot.crypto import CallbackCrypto, MalformedCallback
from bot.inbox import Message


def open_aibot(config: Config, crypto: CallbackCrypto, query: Mapping[str, str], body: bytes,
               now: datetime) -> Message | None:
    data = crypto.open_aibot_json(query, body)
    try:
        msgid = str(data["msgid"])
        msgtype = data.get("msgtype", "")
        chattype = "group" if data.get("chattype") == "group" else "single"
        sender = str(data["from"]["userid"])
    except (KeyError, TypeError) as exc:
        raise MalformedCallback(f"aibot message lacks {exc}") from None
    if msgtype == "event":
        return None  # enter_chat and the like: nothing to keep
    return Message(channel="aibot", msgid=msgid, chattype=chattype, sender=sender, text=_text(data),
                   received_at=now, chat_id=data.get("chatid"),
                   village=config.village_by_chat(data.get("chatid")) if chattype == "group" else None,
                   response_url=data.get("response_url"), mentions_bot=True)


def _text(data: dict[str, Any]) -> str:
    if data.get("msgtype") == "text":
        return str((data.get("text") or {}).get("content", ""))
    if data.get("msgtype") == "mixed":
        items = (data.get("mixed") or {}).get("msg_item", [])
        return "".join(str((i.get("text") or {}).get("content", "")) for i in items if i.get("msgtype") == "text")
    if data.get("msgtype") == "voice":
        return str((data.get("voice") or {}).get("content", ""))
    return ""
