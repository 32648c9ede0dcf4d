"""The AI bot (智能机器人) callback: group messages that @-mention the bot, and its one-to-one chats (JSON).

Each field is checked against its documented shape (path/100719) before anything is stored."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from bot.channels.shapes import TEXT_MAX, WECOM_ORIGIN, ident, items, obj, optional_ident, origin, reply_url, text
from bot.config import Config
from bot.crypto import CallbackCrypto, MalformedCallback
from bot.inbox import Message

CHATTYPES = ("group", "single")


def open_aibot(config: Config, crypto: CallbackCrypto, query: Mapping[str, str], body: bytes,
               now: datetime) -> Message | None:
    data = crypto.open_aibot_json(query, body)
    msgid = ident(data.get("msgid"), "msgid")
    sender = ident(obj(data.get("from"), "from").get("userid"), "from.userid")
    optional_ident(data.get("aibotid"), "aibotid")
    chattype = data.get("chattype", "single")
    if chattype not in CHATTYPES:
        raise MalformedCallback("chattype is neither group nor single")
    chat_id = ident(data.get("chatid"), "chatid") if chattype == "group" else optional_ident(data.get("chatid"),
                                                                                              "chatid")
    msgtype = ident(data.get("msgtype"), "msgtype")
    if msgtype == "event":
        return None  # enter_chat and the like: nothing to keep
    words = _content(data, msgtype, "")
    quoted = ""
    if data.get("quote") is not None:
        quote = obj(data["quote"], "quote")
        quoted = _content(quote, ident(quote.get("msgtype"), "quote.msgtype"), "quote.")
    response_url = data.get("response_url")
    if response_url is not None:
        reply_url(response_url, "response_url", (WECOM_ORIGIN, origin(config.wecom.api_base)))
    # A voice message arrives transcribed (voice.content) and is read as text; an image, a file or a voice
    # without words is kept as media, so the bot can ask for a few words instead of guessing.
    media = "" if words.strip() else msgtype if msgtype != "text" else ""
    if msgtype == "mixed" and any(part.get("msgtype") == "image" for part in data["mixed"]["msg_item"]):
        media = "image"     # words with a picture (a cadre's 公示 with its photo): the words are read, the picture noted
    return Message(channel="aibot", msgid=msgid, chattype=chattype, sender=sender, text=words, media=media,
                   received_at=now, chat_id=chat_id,
                   village=config.village_by_chat(chat_id) if chattype == "group" else None,
                   response_url=response_url, mentions_bot=True, quote=quoted)


def _content(data: dict[str, Any], msgtype: str, where: str) -> str:
    """What the message says, from the part its msgtype names; other msgtypes (image, file…) say nothing."""
    if msgtype == "text":
        return text(obj(data.get("text"), f"{where}text").get("content"), f"{where}text.content")
    if msgtype == "voice":
        return text(obj(data.get("voice"), f"{where}voice").get("content"), f"{where}voice.content")
    if msgtype == "mixed":
        parts = items(obj(data.get("mixed"), f"{where}mixed").get("msg_item"), f"{where}mixed.msg_item")
        said = []
        for part in parts:
            kind = ident(part.get("msgtype"), f"{where}mixed.msg_item[].msgtype")
            if kind == "text":
                said.append(_content(part, kind, f"{where}mixed.msg_item[]."))
            elif kind == "image":
                text(obj(part.get("image"), f"{where}mixed.msg_item[].image").get("url"),
                     f"{where}mixed.msg_item[].image.url")
        return text("".join(said), f"{where}mixed", TEXT_MAX)
    if msgtype in ("image", "file") and data.get(msgtype) is not None:
        obj(data[msgtype], f"{where}{msgtype}")
    return ""
