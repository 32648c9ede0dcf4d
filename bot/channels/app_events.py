"""The app callback's events for customer groups, 微信客服 and cards, from `CallbackCrypto.open_app_xml`'s
flat dict: one matcher per event, tried in turn; anything else is not ours (None)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.cards import CardTap, parse_card_tap
from bot.channels.customer import GroupChange, parse_group_change
from bot.channels.kf import KfNotice, parse_kf_notice
from bot.channels.shapes import ident, text

AppEvent = KfNotice | CardTap | GroupChange
_PARSERS = (parse_kf_notice, parse_card_tap, parse_group_change)


def parse_app_event(data: Mapping[str, str]) -> AppEvent | None:
    if data.get("MsgType") != "event":
        return None
    for parse in _PARSERS:
        if (event := parse(data)) is not None:
            return event
    return None


@dataclass(frozen=True)
class Received:
    """An app event as its callback carried it: `fields` are what is stored, `event` what they say."""
    fields: dict[str, str]
    event: AppEvent


def check_event(event: AppEvent) -> AppEvent:
    """The ids an event is acted on by must be well-formed (MalformedCallback: a 400, nothing stored)."""
    if isinstance(event, KfNotice):
        ident(event.open_kfid, "OpenKfId")
        text(event.token, "Token", 512)
    elif isinstance(event, CardTap):
        ident(event.userid, "FromUserName")
        ident(event.response_code, "ResponseCode")
        ident(event.task_id, "TaskId")
        text(event.key, "EventKey", 256)
    else:
        ident(event.chat_id, "ChatId")
    return event
