"""The self-built app's callback (自建应用 接收消息): what a member writes to the app privately (XML)."""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from bot.channels.app_events import Received, check_event, parse_app_event
from bot.channels.shapes import ident, text
from bot.crypto import CallbackCrypto, MalformedCallback
from bot.inbox import Message


MEDIA = ("image", "voice", "video", "file", "location", "link")


def open_app(crypto: CallbackCrypto, query: Mapping[str, str], body: bytes,
             now: datetime) -> Message | Received | None:
    """A member's private message to the app, or an event the bot acts on (kf, card taps, customer groups)."""
    data = crypto.open_app_xml(query, body)
    if data.get("MsgType") == "event":
        try:
            event = parse_app_event(data)
        except (ValueError, OverflowError, OSError):     # a CreateTime no clock can hold
            raise MalformedCallback("event CreateTime is not a time") from None
        return None if event is None else Received(dict(data), check_event(event))
    if data.get("MsgType") in MEDIA:
        # A photo or a voice note sent to the app: kept, so the resident is asked for a few words of text.
        if not data.get("MsgId") or not data.get("FromUserName"):
            raise MalformedCallback("app message lacks MsgId or FromUserName")
        return Message(channel="app", msgid=ident(data["MsgId"], "MsgId"), chattype="single",
                       sender=ident(data["FromUserName"], "FromUserName"), text="", media=data["MsgType"],
                       received_at=now, mentions_bot=True)
    if data.get("MsgType") != "text":
        return None  # nothing the bot reads
    if not data.get("MsgId") or not data.get("FromUserName"):
        raise MalformedCallback("app message lacks MsgId or FromUserName")
    if "Content" not in data:       # absent, or nested XML that open_app_xml leaves out
        raise MalformedCallback("app text message has no Content")
    return Message(channel="app", msgid=ident(data["MsgId"], "MsgId"), chattype="single",
                   sender=ident(data["FromUserName"], "FromUserName"), text=text(data["Content"], "Content"),
                   received_at=now, mentions_bot=True)
