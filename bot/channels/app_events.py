"""The app callback's events for customer groups, 微信客服 and cards, from `CallbackCrypto.open_app_xml`'s
flat dict: one matcher per event, tried in turn; anything else is not ours (None)."""
from __future__ import annotations

from collections.abc import Mapping

from bot.channels.cards import CardTap, parse_card_tap
from bot.channels.customer import GroupChange, parse_group_change
from bot.channels.kf import KfNotice, parse_kf_notice

AppEvent = KfNotice | CardTap | GroupChange
_PARSERS = (parse_kf_notice, parse_card_tap, parse_group_change)


def parse_app_event(data: Mapping[str, str]) -> AppEvent | None:
    if data.get("MsgType") != "event":
        return None
    for parse in _PARSERS:
        if (event := parse(data)) is not None:
            return event
    return None
