"""微信客服 (kf): a resident's private chat from personal WeChat. The callback only signals; the messages are
pulled with sync_msg; replies go through send_msg inside WeCom's 48 h / 5-message window."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from bot.channels.wecom import WeComClient
from bot.clock import TZ

KF = "/cgi-bin/kf"
CUSTOMER, SYSTEM_EVENT, SERVICER = 3, 4, 5    # msg_list origin


@dataclass(frozen=True)
class KfNotice:
    """kf_msg_or_event: there is something to pull for this account; Token is good for 10 minutes."""
    open_kfid: str
    token: str
    at: datetime | None


@dataclass(frozen=True)
class KfMessage:
    msgid: str
    msgtype: str               # text, voice, image, … or event
    origin: int
    send_time: datetime | None
    open_kfid: str = ""
    external_userid: str = ""
    text: str = ""             # text.content
    media_id: str = ""         # voice/image/video/file: media only, no transcript
    event_type: str = ""       # enter_session, msg_send_fail, session_status_change, …
    scene: str = ""
    scene_param: str = ""      # enter_session: what our kf link carried (the village)
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def from_customer(self) -> bool:
        return self.origin == CUSTOMER


def _message(m: Mapping) -> KfMessage:
    event = m.get("event") or {}
    body = m.get(m.get("msgtype", "")) if isinstance(m.get(m.get("msgtype", "")), dict) else {}
    return KfMessage(
        msgid=str(m.get("msgid", "")), msgtype=str(m.get("msgtype", "")), origin=int(m.get("origin", 0)),
        send_time=datetime.fromtimestamp(int(m["send_time"]), TZ) if m.get("send_time") else None,
        open_kfid=str(m.get("open_kfid") or event.get("open_kfid", "")),
        external_userid=str(m.get("external_userid") or event.get("external_userid", "")),
        text=str(body.get("content", "")) if m.get("msgtype") == "text" else "",
        media_id=str(body.get("media_id", "")), event_type=str(event.get("event_type", "")),
        scene=str(event.get("scene", "")), scene_param=str(event.get("scene_param", "")), raw=m)


async def kf_link(client: WeComClient, open_kfid: str, scene: str, scene_param: str | None = None) -> str:
    """The account's link for one scene; scene_param (e.g. a village id) comes back in enter_session."""
    answer = await client.post(f"{KF}/add_contact_way", {"open_kfid": open_kfid, "scene": scene})
    url = str(answer["url"])
    return url if scene_param is None else with_scene_param(url, scene_param)


def with_scene_param(url: str, scene_param: str) -> str:
    """add_contact_way's link carrying scene_param, which WeCom hands back in enter_session (path/94665)."""
    return f"{url}&scene_param={quote(scene_param, safe='')}"


@dataclass(frozen=True)
class KfPage:
    messages: list[KfMessage]
    next_cursor: str
    has_more: bool


async def kf_page(client: WeComClient, open_kfid: str, cursor: str, token: str, limit: int = 1000) -> KfPage:
    """One sync_msg call: the messages after `cursor`, the cursor after them, and whether more wait."""
    body = {"cursor": cursor, "token": token, "limit": limit, "open_kfid": open_kfid}
    page = await client.post(f"{KF}/sync_msg", body)
    return KfPage([_message(m) for m in page.get("msg_list", []) if isinstance(m, Mapping)],
                  str(page.get("next_cursor") or cursor), bool(page.get("has_more")))


async def kf_sync(client: WeComClient, open_kfid: str, cursor: str, token: str,
                  limit: int = 1000) -> tuple[list[KfMessage], str]:
    """Pull everything after `cursor`; keep pulling while has_more, even past an empty page.
    Persist the returned cursor only after the messages are safely stored."""
    messages: list[KfMessage] = []
    while True:
        page = await kf_page(client, open_kfid, cursor, token, limit)
        messages += page.messages
        cursor = page.next_cursor
        if not page.has_more:
            return messages, cursor


async def kf_send(client: WeComClient, open_kfid: str, external_userid: str, text: str,
                  msgid: str | None = None) -> str:
    """Reply as the kf account. Accepted is not delivered: a msg_send_fail event may follow in sync."""
    body: dict = {"touser": external_userid, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}}
    if msgid:
        body["msgid"] = msgid  # lets a retried send keep one id
    answer = await client.post(f"{KF}/send_msg", body)
    return str(answer.get("msgid", msgid or ""))


def parse_kf_notice(data: Mapping[str, str]) -> KfNotice | None:
    if data.get("Event") != "kf_msg_or_event" or not data.get("OpenKfId"):
        return None
    created = data.get("CreateTime")
    return KfNotice(open_kfid=data["OpenKfId"], token=data.get("Token", ""),
                    at=datetime.fromtimestamp(int(created), TZ) if created and created.isdigit() else None)
