"""Tap-cards for cadres: an app template_card (button_interaction) through message/send, the
template_card_event a tap raises, and update_template_card to grey the button (each response_code once, 72 h)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.channels.wecom import WeComClient
from bot.clock import TZ


@dataclass(frozen=True)
class CardButton:
    text: str                  # what the cadre reads, e.g. 认领
    key: str                   # comes back as EventKey
    style: int = 1


@dataclass(frozen=True)
class SentCard:
    msgid: str
    response_code: str         # lets the bot update the card once, within 72 h


@dataclass(frozen=True)
class CardTap:
    userid: str                # the member who tapped
    task_id: str
    key: str                   # the button's key
    card_type: str
    response_code: str         # a fresh single-use code for update_template_card
    at: datetime | None


CHANNEL = "card"     # a tap, stored as the message the cadre would have typed (its msgid: the tap's ResponseCode)
# Each button's key is "action:case number"; the action is the command a cadre would type, and what the
# buttons grey to once it is done (查看 changes nothing, so its card stays live).
ACTIONS = {"claim": "认领", "up": "上报", "show": "查看"}
UP_NOTE = "村里解决不了，请镇里办理"
DONE = {"认领": "已认领", "上报": "已转镇里"}


def case_buttons(number: str) -> list[CardButton]:
    return [CardButton("认领", f"claim:{number}"), CardButton("转镇里", f"up:{number}", style=2),
            CardButton("查看", f"show:{number}", style=2)]


def card_body(task_id: str, title: str, desc: str, buttons: Iterable[CardButton], sub_title: str = "") -> dict:
    card = {"card_type": "button_interaction", "task_id": task_id,
            "main_title": {"title": title, "desc": desc},
            "button_list": [{"text": b.text, "style": b.style, "key": b.key} for b in buttons]}
    if sub_title:
        card["sub_title_text"] = sub_title
    return card


def tap_command(key: str) -> str | None:
    """The command a tap stands for ("认领 101"), or None for a key that is not ours."""
    action, _, number = key.partition(":")
    verb = ACTIONS.get(action)
    if verb is None or not number.isascii() or not number.isdigit():
        return None
    return f"{verb} {number}" + (f" {UP_NOTE}" if verb == "上报" else "")


async def send_card(client: WeComClient, userid: str, task_id: str, title: str, desc: str,
                    buttons: Iterable[CardButton]) -> SentCard:
    card = card_body(task_id, title, desc, buttons)
    answer = await client.post("/cgi-bin/message/send", {
        "touser": userid, "msgtype": "template_card", "agentid": client.config.agent_id, "template_card": card})
    return SentCard(msgid=str(answer.get("msgid", "")), response_code=str(answer.get("response_code", "")))


async def update_card(client: WeComClient, userids: Iterable[str], response_code: str, replace_name: str) -> None:
    """Grey the tapped button for these members and relabel it (e.g. 已认领)."""
    await client.post("/cgi-bin/message/update_template_card", {
        "userids": list(userids), "agentid": client.config.agent_id, "response_code": response_code,
        "button": {"replace_name": replace_name}})


def parse_card_tap(data: Mapping[str, str]) -> CardTap | None:
    if data.get("Event") != "template_card_event" or not data.get("TaskId") or not data.get("FromUserName"):
        return None
    created = data.get("CreateTime", "")
    return CardTap(userid=data["FromUserName"], task_id=data["TaskId"], key=data.get("EventKey", ""),
                   card_type=data.get("CardType", ""), response_code=data.get("ResponseCode", ""),
                   at=datetime.fromtimestamp(int(created), TZ) if created.isdigit() else None)
